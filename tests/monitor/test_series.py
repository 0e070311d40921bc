"""Production time series (issue 16, point 5): aggregated in SQL, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from db.errors import InvalidInputError, PermissionDeniedError
from monitor.series import time_series
from monitor.store import write_interactions
from monitor.streams import ensure_stream
from tests import factory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def record(i: int, minutes: float, **fields) -> dict:
    row = {
        "started_at": T0 + timedelta(minutes=minutes),
        "trace_id": f"{i:032x}",
        "span_id": f"{i:016x}",
        "model": "gpt-4o-mini",
        "version_tags": {"service.name": "bot", "service.version": "1.0"},
    }
    row.update(fields)
    return row


def store(engine: Engine, records: list[dict], stream: str = "chatbot") -> int:
    admin = factory.admin_id(engine)
    write_interactions(engine, ensure_stream(engine, stream, actor_id=admin), records)
    return admin


LATENCIES = [100.0, 200.0, 400.0, 800.0]


@pytest.fixture
def stored(engine: Engine) -> int:
    records = [
        record(
            i,
            10 * i,
            latency_ms=lat,
            cost_usd=0.01 * (i + 1),
            input_tokens=10 * (i + 1),
            output_tokens=5,
            meta={"category": "billing" if i < 3 else "code"},
        )
        for i, lat in enumerate(LATENCIES)
    ]
    records.append(record(10, 90, latency_ms=50.0, error="timeout"))  # 10:30, no cost/tokens
    records.append(record(11, 24 * 60, latency_ms=300.0, cost_usd=0.5))  # next day
    records.append(
        record(12, 5, latency_ms=1000.0, version_tags={"service.version": "2.0"}, model="big")
    )
    return store(engine, records)


def test_day_buckets_hold_volume_cost_tokens_and_latency_quantiles(engine, stored) -> None:
    rows = time_series(engine, actor_id=stored, by="day")
    day1 = [r for r in rows if r.start == datetime(2026, 11, 2) and r.version == "1.0"]
    assert len(day1) == 1
    b = day1[0]
    assert (b.stream, b.model, b.volume, b.errors) == ("chatbot", "gpt-4o-mini", 5, 1)
    assert b.cost_per_request == pytest.approx(np.mean([0.01, 0.02, 0.03, 0.04]))
    assert b.prompt_tokens == pytest.approx(25.0)
    lat = LATENCIES + [50.0]
    assert b.latency_p50 == pytest.approx(np.quantile(lat, 0.5))
    assert b.latency_p95 == pytest.approx(np.quantile(lat, 0.95))
    assert b.input_mix == pytest.approx({"billing": 0.75, "code": 0.25})


def test_versions_and_models_get_their_own_rows(engine, stored) -> None:
    rows = time_series(engine, actor_id=stored, by="day")
    keys = {(r.model, r.version, r.start.day, r.volume) for r in rows}
    assert keys == {
        ("gpt-4o-mini", "1.0", 2, 5),
        ("big", "2.0", 2, 1),
        ("gpt-4o-mini", "1.0", 3, 1),
    }


def test_hour_buckets_split_the_day(engine, stored) -> None:
    rows = time_series(engine, actor_id=stored, by="hour", until=T0 + timedelta(hours=3))
    v1 = {r.start.hour: r.volume for r in rows if r.version == "1.0"}
    assert v1 == {9: 4, 10: 1}


def test_since_leaves_earlier_interactions_out(engine, stored) -> None:
    rows = time_series(engine, actor_id=stored, since=T0 + timedelta(hours=12))
    assert [(r.start.day, r.volume) for r in rows] == [(3, 1)]


def test_stream_filter_and_unit_free_shares(engine, stored) -> None:
    store(engine, [record(20, 0, latency_ms=5.0)], stream="other")
    rows = time_series(engine, actor_id=stored, stream="other")
    assert [(r.stream, r.volume, r.input_mix) for r in rows] == [("other", 1, {})]


def test_a_rater_is_refused(engine, stored) -> None:
    with factory.session(engine) as s:
        rater = factory.user(s).id
        s.commit()
    with pytest.raises(PermissionDeniedError):
        time_series(engine, actor_id=rater)


def test_an_unknown_bucket_names_the_choices(engine, stored) -> None:
    with pytest.raises(InvalidInputError, match="hour, day"):
        time_series(engine, actor_id=stored, by="week")


def test_insertion_order_does_not_change_the_series(engine) -> None:
    records = [record(i, 7 * i, latency_ms=float(10 + (i * 37) % 101)) for i in range(40)]
    admin = store(engine, records[::-1], stream="backwards")
    store(engine, records, stream="forwards")
    by_stream = {
        s: [(r.start, r.volume, r.latency_p50, r.latency_p95) for r in rows]
        for s in ("backwards", "forwards")
        for rows in [time_series(engine, actor_id=admin, stream=s, by="hour")]
    }
    assert by_stream["backwards"] == by_stream["forwards"]
    assert sum(v for _, v, _, _ in by_stream["forwards"]) == 40
