"""Writing interactions: one transaction per batch, one bulk insert-or-ignore.

(stream, trace id, span id) is unique, so a batch an exporter retries is stored once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from db.engine import is_sqlite
from db.models import Interaction, utcnow
from db.upsert import insert_ignore

COLUMNS = (
    "started_at",
    "operation",
    "model",
    "response_model",
    "version_tags",
    "messages",
    "output",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "error",
    "trace_id",
    "span_id",
    "response_id",
    "meta",
)


def _row(record: dict[str, Any], stream_id: int, received_at: datetime) -> dict[str, Any]:
    row = {c: record.get(c) for c in COLUMNS}
    row["stream_id"] = stream_id
    row["received_at"] = received_at
    if row["started_at"] is None:
        row["started_at"] = received_at
    return row


def write_interactions(
    engine: Engine,
    stream_id: int,
    records: Iterable[dict[str, Any]],
    *,
    received_at: datetime | None = None,
) -> int:
    """Store interaction records in one transaction; returns how many were sent to the table."""
    when = received_at or utcnow()
    rows = [_row(r, stream_id, when) for r in records]
    if not rows:
        return 0
    writer = engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(engine) else engine
    with writer.begin() as conn:
        insert_ignore(conn, Interaction.__table__, rows)
    return len(rows)
