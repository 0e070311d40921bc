"""Production time series: per stream, model, version and hour or day, aggregated in SQL.

Buckets start on UTC hours or days (naive UTC datetimes). The version is the
``service.version`` resource attribute (``Interaction.version_tags``); the model is the
requested one, else the one that answered. Prompt length is the input token
count; the input mix is the share of each ``category`` span attribute (kept in ``meta``)
among the bucket's interactions that carry one.

Latency quantiles are ``percentile_cont`` on PostgreSQL. SQLite has no ordered-set
aggregates, so there one query hands over every bucket's latencies in key order and numpy
takes the same linearly interpolated quantiles per bucket.

Interactions are not partitioned by time yet (that needs ``started_at`` in the primary key
and the unique constraint, a migration of its own).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from db.access import admin_only
from db.engine import is_sqlite
from db.errors import InvalidInputError
from db.models import Interaction, Stream

BUCKETS = ("hour", "day")
VERSION_KEY = "service.version"
CATEGORY_KEY = "category"
_SQLITE_FORMAT = {"hour": "%Y-%m-%d %H:00:00", "day": "%Y-%m-%d 00:00:00"}


@dataclass(frozen=True)
class Bucket:
    stream: str
    model: str | None
    version: str | None
    start: datetime
    volume: int
    errors: int
    cost_per_request: float | None
    prompt_tokens: float | None
    output_tokens: float | None
    latency_p50: float | None
    latency_p95: float | None
    input_mix: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "model": self.model,
            "version": self.version,
            "start": self.start.isoformat(),
            "volume": self.volume,
            "errors": self.errors,
            "cost_per_request": self.cost_per_request,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "latency_p50_ms": self.latency_p50,
            "latency_p95_ms": self.latency_p95,
            "input_mix": self.input_mix,
        }


def require_bucket(by: str) -> None:
    if by not in BUCKETS:
        raise InvalidInputError(f"Bucket '{by}' is not one of {', '.join(BUCKETS)}: use --by day.")


def bucket_expr(engine: Engine, by: str) -> Any:
    require_bucket(by)
    if is_sqlite(engine):
        return func.strftime(_SQLITE_FORMAT[by], Interaction.started_at)
    return func.date_trunc(
        literal_column(f"'{by}'"), func.timezone(literal_column("'UTC'"), Interaction.started_at)
    )


def _base(
    engine: Engine, by: str, stream: str | None, since: datetime | None, until: datetime | None
) -> Select:
    query = select(
        Stream.name.label("stream"),
        func.coalesce(Interaction.model, Interaction.response_model).label("model"),
        Interaction.version_tags[VERSION_KEY].as_string().label("version"),
        bucket_expr(engine, by).label("bucket"),
        Interaction.latency_ms.label("latency"),
        Interaction.cost_usd.label("cost"),
        Interaction.input_tokens.label("prompt_tokens"),
        Interaction.output_tokens.label("output_tokens"),
        Interaction.error.label("error"),
        Interaction.meta[CATEGORY_KEY].as_string().label("category"),
    ).join(Stream, Stream.id == Interaction.stream_id)
    if stream is not None:
        query = query.where(Stream.name == stream)
    if since is not None:
        query = query.where(Interaction.started_at >= _utc(since))
    if until is not None:
        query = query.where(Interaction.started_at < _utc(until))
    return query


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _start(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value))


def time_series(
    engine: Engine,
    *,
    actor_id: int,
    stream: str | None = None,
    by: str = "day",
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Bucket]:
    """One row per stream, model, version and bucket, oldest first; admins only."""
    admin_only(engine, actor_id)
    rows = _base(engine, by, stream, since, until).subquery()
    keys = (rows.c.stream, rows.c.model, rows.c.version, rows.c.bucket)
    measures = [
        func.count().label("volume"),
        func.sum(case((rows.c.error.is_not(None), 1), else_=0)).label("errors"),
        func.avg(rows.c.cost).label("cost"),
        func.avg(rows.c.prompt_tokens).label("prompt_tokens"),
        func.avg(rows.c.output_tokens).label("output_tokens"),
    ]
    pg = not is_sqlite(engine)
    if pg:
        measures += [
            func.percentile_cont(0.5).within_group(rows.c.latency).label("p50"),
            func.percentile_cont(0.95).within_group(rows.c.latency).label("p95"),
        ]
    with engine.connect() as conn:
        summary = conn.execute(select(*keys, *measures).group_by(*keys).order_by(*keys)).all()
        mix = conn.execute(
            select(*keys, rows.c.category, func.count())
            .where(rows.c.category.is_not(None))
            .group_by(*keys, rows.c.category)
        ).all()
        quantiles = {} if pg else _sqlite_quantiles(conn, rows, keys)
    shares: dict[tuple, dict[str, float]] = defaultdict(dict)
    for *key, category, count in mix:
        shares[tuple(key)][category] = float(count)
    result = []
    for r in summary:
        key = (r.stream, r.model, r.version, r.bucket)
        counts = shares.get(key, {})
        total = sum(counts.values())
        p50, p95 = (r.p50, r.p95) if pg else quantiles.get(key, (None, None))
        result.append(
            Bucket(
                stream=r.stream,
                model=r.model,
                version=r.version,
                start=_start(r.bucket),
                volume=int(r.volume),
                errors=int(r.errors or 0),
                cost_per_request=_float(r.cost),
                prompt_tokens=_float(r.prompt_tokens),
                output_tokens=_float(r.output_tokens),
                latency_p50=_float(p50),
                latency_p95=_float(p95),
                input_mix={k: v / total for k, v in sorted(counts.items())},
            )
        )
    result.sort(key=lambda b: (b.start, b.stream, b.model or "", b.version or ""))
    return result


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _sqlite_quantiles(conn, rows, keys) -> dict[tuple, tuple[float, float]]:
    import numpy as np

    found: dict[tuple, list[float]] = defaultdict(list)
    for *key, latency in conn.execute(
        select(*keys, rows.c.latency).where(rows.c.latency.is_not(None)).order_by(*keys)
    ):
        found[tuple(key)].append(latency)
    return {
        key: tuple(float(q) for q in np.quantile(np.asarray(values), [0.5, 0.95]))
        for key, values in found.items()
    }
