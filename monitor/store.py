"""Writing interactions: one transaction per batch, one bulk insert-or-ignore.

(stream, trace id, span id) is unique, so a batch an exporter retries is stored once.

Messages sent as log-record events (``POST /v1/logs``) usually arrive before their span (the
SDK exports logs every second, spans every five): they wait in ``span_messages``, and every
write of either kind copies the waiting messages of its stream onto interactions that exist
by then. Two writes that miss each other on PostgreSQL (each committing while the other
looked) leave the messages waiting until the stream's next write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection, Engine

from db.engine import is_sqlite
from db.models import Interaction, SpanMessages, utcnow
from db.upsert import insert_ignore

WAITING_DAYS = 2

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
    with _writer(engine).begin() as conn:
        insert_ignore(conn, Interaction.__table__, rows)
        _attach_waiting(conn, stream_id)
    return len(rows)


def write_span_messages(
    engine: Engine,
    stream_id: int,
    rows: list[dict[str, Any]],
    *,
    received_at: datetime | None = None,
) -> int:
    """Keep event-borne messages (trace_id, span_id, messages, output) for their spans."""
    if not rows:
        return 0
    when = received_at or utcnow()
    with _writer(engine).begin() as conn:
        insert_ignore(
            conn,
            SpanMessages.__table__,
            [{**r, "stream_id": stream_id, "received_at": when} for r in rows],
        )
        _attach_waiting(conn, stream_id)
        conn.execute(
            delete(SpanMessages).where(
                SpanMessages.stream_id == stream_id,
                SpanMessages.received_at < when - timedelta(days=WAITING_DAYS),
            )
        )
    return len(rows)


def _writer(engine: Engine) -> Engine:
    return engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(engine) else engine


def _attach_waiting(conn: Connection, stream_id: int) -> None:
    """Copy waiting messages onto the stream's interactions that now exist, then drop them."""
    found = conn.execute(
        select(SpanMessages.id, Interaction.id, SpanMessages.messages, SpanMessages.output)
        .join(
            Interaction,
            (Interaction.stream_id == SpanMessages.stream_id)
            & (Interaction.trace_id == SpanMessages.trace_id)
            & (Interaction.span_id == SpanMessages.span_id),
        )
        .where(SpanMessages.stream_id == stream_id)
    ).all()
    if not found:
        return
    table = Interaction.__table__
    for _waiting, interaction_id, messages, output in found:
        values: dict[str, Any] = {}
        if messages is not None:
            values["messages"] = messages
        if output is not None:
            values["output"] = output
        if values:
            conn.execute(update(table).where(table.c.id == interaction_id).values(**values))
    conn.execute(
        delete(SpanMessages).where(SpanMessages.id.in_(bindparam("ids", expanding=True))),
        {"ids": [row[0] for row in found]},
    )
