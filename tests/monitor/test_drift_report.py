"""Drift alarms for a stream (issue 16, point 6), read from stored interactions."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from db.errors import InvalidInputError, PermissionDeniedError
from monitor.drift import drift_report
from tests import factory
from tests.monitor.test_series import record, store

PER_DAY = 150
DAYS = 21
SLOWDOWN_DAY = 14


def traffic(seed: int = 4, slowdown: float = 1.5, mix_change: bool = False) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for day in range(DAYS):
        late = day >= SLOWDOWN_DAY
        p_code = 0.6 if (late and mix_change) else 0.3
        for k in range(PER_DAY):
            i = day * PER_DAY + k
            rows.append(
                record(
                    i,
                    day * 24 * 60 + k * 5,
                    latency_ms=float(500 * rng.lognormal(0, 0.5) * (slowdown if late else 1)),
                    cost_usd=float(rng.gamma(2.0, 0.001)),
                    input_tokens=int(rng.poisson(300)),
                    output_tokens=int(rng.poisson(120)),
                    meta={"category": "code" if rng.random() < p_code else "chat"},
                    version_tags={"service.version": "2.0" if late else "1.0"},
                )
            )
    return rows


@pytest.fixture
def slowed(engine: Engine) -> int:
    return store(engine, traffic())


def test_a_latency_slowdown_raises_one_alarm_dated_inside_its_interval(engine, slowed) -> None:
    report = drift_report(engine, "chatbot", actor_id=slowed, reference_days=7)
    assert report.windows == DAYS - 7
    assert set(report.series) == {
        "volume",
        "latency",
        "cost per request",
        "output tokens",
        "prompt length",
        "input mix",
    }
    assert [a.series for a in report.alarms] == ["latency"]
    alarm = report.alarms[0]
    change = datetime(2026, 11, 2 + SLOWDOWN_DAY)
    assert alarm.start_low.replace(tzinfo=None) <= change < alarm.start_high.replace(tzinfo=None)
    assert alarm.raised_at.replace(tzinfo=None) >= change
    assert alarm.size_low < 0.5 < alarm.size_high
    assert alarm.statistic > alarm.threshold


def test_the_report_states_its_false_alarm_rate_and_detectable_shifts(engine, slowed) -> None:
    data = drift_report(engine, "chatbot", actor_id=slowed).as_dict()
    assert data["false_alarm_rate"] == 0.05
    assert "6 series" in data["false_alarm_statement"]
    latency = data["smallest_detectable_shift"]["latency"]
    assert latency["relative"] and 0 < latency["shift"] < 0.5
    assert latency["per_window"] == PER_DAY


def test_reference_version_compares_the_new_version_with_it(engine, slowed) -> None:
    report = drift_report(engine, "chatbot", actor_id=slowed, reference_version="1.0")
    assert report.windows == DAYS - SLOWDOWN_DAY
    assert "volume" not in report.series
    assert [a.series for a in report.alarms] == ["latency"]


def test_a_model_filter_watches_that_model_only(engine, slowed) -> None:
    store(engine, [record(10**6, 20 * 24 * 60, model="other", latency_ms=5.0)])
    assert drift_report(engine, "chatbot", actor_id=slowed, model="gpt-4o-mini").alarms
    with pytest.raises(InvalidInputError, match="only within its 7-day reference"):
        drift_report(engine, "chatbot", actor_id=slowed, model="other")
    with pytest.raises(InvalidInputError, match="monitor status"):
        drift_report(engine, "chatbot", actor_id=slowed, model="missing")


def test_no_change_raises_no_alarm(engine) -> None:
    admin = store(engine, traffic(seed=9, slowdown=1.0))
    assert drift_report(engine, "chatbot", actor_id=admin).alarms == []


def test_a_mix_change_is_named_by_category(engine) -> None:
    admin = store(engine, traffic(seed=5, slowdown=1.0, mix_change=True))
    alarms = drift_report(engine, "chatbot", actor_id=admin).alarms
    mix = [a for a in alarms if a.series == "input mix"]
    assert mix and mix[0].extra["category"] in ("code", "chat")
    assert mix[0].size_low < 0.3 < mix[0].size_high or mix[0].size_low < -0.3 < mix[0].size_high


def test_a_reference_longer_than_the_traffic_names_the_fix(engine, slowed) -> None:
    with pytest.raises(InvalidInputError, match="shorter --reference-days"):
        drift_report(engine, "chatbot", actor_id=slowed, reference_days=60)


def test_a_rater_is_refused(engine, slowed) -> None:
    with factory.session(engine) as s:
        rater = factory.user(s).id
        s.commit()
    with pytest.raises(PermissionDeniedError):
        drift_report(engine, "chatbot", actor_id=rater)


def test_hourly_windows_promise_detection_within_24_hours(engine, slowed) -> None:
    report = drift_report(engine, "chatbot", actor_id=slowed, by="hour")
    assert report.windows == 13 * 24 + 22  # traffic runs 09:00 to 21:25 each day
    assert [a.series for a in report.alarms] == ["latency"]
    latency = next(d for d in report.detectable if d.series == "latency")
    assert latency.within == 24 and "within 24 hours" in latency.text("hour")
