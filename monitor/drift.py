"""Drift alarms for one stream: its watched series against a reference, by hour or day.

The reference is either the stream's first ``reference_days`` days (a pinned period; the
windows after it are watched) or every interaction of one ``service.version`` (the other
versions' interactions are watched). The watched series are those the interactions carry:
volume (requests per window, Student t as the reference has few windows; not against a
version, whose traffic a rollout splits), latency (on the
log scale, so alarms do not depend on the unit and sizes read as relative changes), cost
per request, output tokens, prompt length (input tokens, two-sample KS) and the input mix
(the ``category`` attribute, chi-square), each kept when its reference has data.
``metrics.drift`` does the statistics; this module reads the values (the KS and chi-square
tests need them, not only sums) in one ordered query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.access import admin_only
from db.errors import InvalidInputError
from db.models import Interaction
from metrics.drift import (
    Alarm,
    CountSeries,
    Design,
    MeanSeries,
    detect,
    detectable_shift,
)
from monitor.series import CATEGORY_KEY, VERSION_KEY, require_bucket
from monitor.streams import stream_id_of

WIDTH = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
PROMISE_WINDOWS = {"hour": 24, "day": 7}
UNITS = {
    "volume": "requests per window",
    "latency": "ms",
    "cost per request": "USD",
    "output tokens": "tokens",
    "prompt length": "input tokens",
    "input mix": "share",
}


def _size(value: float, label: str) -> str:
    if label == "relative change":
        return f"{value:+.1%}"
    if label == "share change":
        return f"{100 * value:+.1f} points"
    return f"{value:+.4g}"


@dataclass(frozen=True)
class DriftAlarm:
    series: str
    test: str
    raised_at: datetime
    start: datetime
    start_low: datetime
    start_high: datetime
    size: float
    size_low: float
    size_high: float
    size_label: str
    statistic: float
    threshold: float
    p_value: float
    scan_windows: int
    extra: dict[str, str] = field(default_factory=dict)

    def size_text(self) -> str:
        what = self.size_label + (
            f" of {self.extra['category']}" if "category" in self.extra else ""
        )
        return (
            f"{_size(self.size, self.size_label)} ({_size(self.size_low, self.size_label)} to"
            f" {_size(self.size_high, self.size_label)}) {what}"
        )

    def evidence(self, by: str) -> str:
        return (
            f"{self.test} {self.statistic:.3g} > {self.threshold:.3g} over {self.scan_windows}"
            f" {by}(s), p = {self.p_value:.2g}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "test": self.test,
            "raised_at": self.raised_at.isoformat(),
            "change_start": self.start.isoformat(),
            "change_start_interval": [self.start_low.isoformat(), self.start_high.isoformat()],
            "size": self.size,
            "size_interval": [self.size_low, self.size_high],
            "size_is": self.size_label,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "p_value": self.p_value,
            "scan_windows": self.scan_windows,
            **self.extra,
        }


@dataclass(frozen=True)
class Detectable:
    series: str
    shift: float
    relative: bool
    within: int
    per_window: float

    def text(self, by: str) -> str:
        if math.isinf(self.shift):
            return f"too little traffic ({self.per_window:.0f} per {by}) to state"
        size = f"{self.shift:.1%}" if self.relative else f"{self.shift:.4g} {UNITS[self.series]}"
        return f"{size} within {self.within} {by}s at {self.per_window:,.0f} per {by}"


@dataclass(frozen=True)
class DriftReport:
    stream: str
    by: str
    reference: str
    watched_from: datetime
    windows: int
    design: Design
    series: list[str]
    alarms: list[DriftAlarm]
    detectable: list[Detectable]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "by": self.by,
            "reference": self.reference,
            "watched_from": self.watched_from.isoformat(),
            "windows": self.windows,
            "series": self.series,
            "false_alarm_rate": self.design.alpha,
            "false_alarm_statement": self.design.statement(),
            "detection_power": self.design.power,
            "alarms": [a.as_dict() for a in self.alarms],
            "smallest_detectable_shift": {
                d.series: {
                    "shift": None if math.isinf(d.shift) else d.shift,
                    "relative": d.relative,
                    "within_windows": d.within,
                    "per_window": d.per_window,
                }
                for d in self.detectable
            },
        }


def _floor(when: datetime, by: str) -> datetime:
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    if by == "day":
        return when.replace(hour=0, minute=0, second=0, microsecond=0)
    return when.replace(minute=0, second=0, microsecond=0)


def _rows(engine: Engine, stream_id: int, model: str | None) -> list[Any]:
    query = (
        select(
            Interaction.started_at,
            Interaction.latency_ms,
            Interaction.cost_usd,
            Interaction.output_tokens,
            Interaction.input_tokens,
            Interaction.meta[CATEGORY_KEY].as_string(),
            Interaction.version_tags[VERSION_KEY].as_string(),
        )
        .where(Interaction.stream_id == stream_id)
        .order_by(Interaction.started_at)
    )
    if model is not None:
        query = query.where(func.coalesce(Interaction.model, Interaction.response_model) == model)
    with engine.connect() as conn:
        return conn.execute(query).all()


def _numbers(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def drift_report(
    engine: Engine,
    stream: str,
    *,
    actor_id: int,
    by: str = "day",
    reference_days: int | None = 7,
    reference_version: str | None = None,
    model: str | None = None,
    alpha: float = 0.05,
) -> DriftReport:
    """The first alarm of each watched series of ``stream``, with what the detector promises."""
    admin_only(engine, actor_id)
    require_bucket(by)
    if not 0 < alpha < 1:
        raise InvalidInputError("--false-alarm-rate must be between 0 and 1, e.g. 0.05.")
    rows = _rows(engine, stream_id_of(engine, stream), model)
    if not rows:
        of = f" with model '{model}'" if model is not None else ""
        raise InvalidInputError(
            f"Stream '{stream}' has no interactions{of} yet: `judgeboard monitor status`"
            " lists its models; send traces before asking for drift."
        )
    width = WIDTH[by]
    times = [_floor(r[0], by) for r in rows]
    version = [r[6] for r in rows]
    if reference_version is not None:
        in_ref = np.array([v == reference_version for v in version])
        if not in_ref.any():
            raise InvalidInputError(
                f"No interaction of stream '{stream}' has service.version '{reference_version}':"
                " `judgeboard monitor status` lists the versions."
            )
        watched = ~in_ref
        if not watched.any():
            raise InvalidInputError(
                f"Every interaction of stream '{stream}' is version '{reference_version}':"
                " there is nothing to compare with it yet."
            )
        ref_origin = min(t for t, r in zip(times, in_ref, strict=True) if r)
        ref_end = max(t for t, r in zip(times, in_ref, strict=True) if r) + width
        origin = min(t for t, w in zip(times, watched, strict=True) if w)
        described = f"service.version {reference_version}"
    else:
        if reference_days is None or reference_days < 1:
            raise InvalidInputError("--reference-days must be at least 1, e.g. 7.")
        ref_origin = _floor(times[0], "day")
        origin = ref_end = ref_origin + timedelta(days=reference_days)
        in_ref = np.array([t < origin for t in times])
        watched = ~in_ref
        if not watched.any():
            raise InvalidInputError(
                f"Stream '{stream}' has traffic only within its {reference_days}-day reference"
                f" (from {ref_origin:%Y-%m-%d}): use a shorter --reference-days."
            )
        described = f"{ref_origin:%Y-%m-%d} to {origin:%Y-%m-%d} ({reference_days} days)"
    index = np.array([(t - origin) // width for t in times])
    n_windows = int(index[watched].max()) + 1
    ref_windows = max(int((ref_end - ref_origin) // width), 1)
    ref_index = np.array([(t - ref_origin) // width for t in times])

    values = {
        "latency": _numbers([r[1] for r in rows]),
        "cost per request": _numbers([r[2] for r in rows]),
        "output tokens": _numbers([r[3] for r in rows]),
        "prompt length": _numbers([r[4] for r in rows]),
    }
    categories = np.array([r[5] for r in rows], dtype=object)
    series: list[MeanSeries | CountSeries] = []
    counts_ref = np.bincount(ref_index[in_ref], minlength=ref_windows)[:ref_windows]
    counts = np.bincount(index[watched], minlength=n_windows)
    if ref_windows >= 3 and reference_version is None:
        series.append(MeanSeries.counts_per_window("volume", counts_ref, counts))

    def split(x: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        ok = keep & ~np.isnan(x) if x.dtype.kind == "f" else keep
        chosen = ok & watched
        bounds = np.searchsorted(index[chosen], np.arange(1, n_windows), side="left")
        return x[ok & in_ref], np.split(x[chosen], bounds)

    all_rows = np.ones(len(rows), dtype=bool)
    for name in ("latency", "cost per request", "output tokens"):
        x = values[name]
        keep = all_rows if name != "latency" else np.nan_to_num(x, nan=0.0) > 0
        ref, wins = split(x, keep)
        if ref.size >= 2:
            series.append(MeanSeries.from_values(name, ref, wins, log=name == "latency"))
    ref, wins = split(values["prompt length"], all_rows)
    if ref.size >= 2:
        series.append(CountSeries.binned("prompt length", ref, wins))
    has_category = np.array([c is not None for c in categories])
    ref_cat, cat_wins = split(categories, has_category)
    if len(set(ref_cat)) >= 2:
        series.append(
            CountSeries.categories(
                "input mix", [str(c) for c in ref_cat], [[str(c) for c in w] for w in cat_wins]
            )
        )

    design = Design(alpha=alpha, series=max(len(series), 1), horizon=max(1000, n_windows))
    alarms = [
        _dated(a, origin, width) for a in sorted(detect(series, design), key=lambda a: a.window)
    ]
    within = PROMISE_WINDOWS[by]
    recent = slice(max(0, n_windows - within), n_windows)
    detectable = [
        Detectable(
            series=s.name,
            shift=_promised(s, within, design),
            relative=s.log,
            within=within,
            per_window=float(s.n[recent].mean()),
        )
        for s in series
        if isinstance(s, MeanSeries) and s.ref_df is None
    ]
    return DriftReport(
        stream=stream,
        by=by,
        reference=described,
        watched_from=origin,
        windows=n_windows,
        design=design,
        series=[s.name for s in series],
        alarms=alarms,
        detectable=detectable,
    )


def _promised(s: MeanSeries, within: int, design: Design) -> float:
    recent = s.n[max(0, s.n.size - within) :]
    shift = detectable_shift(math.sqrt(s.ref_var), s.ref_n, float(recent.mean()), within, design)
    return math.expm1(shift) if s.log and math.isfinite(shift) else shift


def _dated(a: Alarm, origin: datetime, width: timedelta) -> DriftAlarm:
    return DriftAlarm(
        series=a.series,
        test=a.test,
        raised_at=origin + a.window * width,
        start=origin + a.start * width,
        start_low=origin + a.start_low * width,
        start_high=origin + (a.start_high + 1) * width,
        size=a.size,
        size_low=a.size_low,
        size_high=a.size_high,
        size_label=a.size_label,
        statistic=a.statistic,
        threshold=a.threshold,
        p_value=a.p_value,
        scan_windows=a.length,
        extra=a.extra,
    )
