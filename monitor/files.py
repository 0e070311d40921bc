"""``judgeboard ingest traces FILE``: interactions from a JSONL file (docs/FORMATS.md).

Each line is either an OTLP/JSON ExportTraceServiceRequest (an object with
``resourceSpans``, as the OpenTelemetry Collector's file exporter writes) or one interaction
record (an object with ``trace_id``, ``span_id`` and ``started_at``). The whole file is
read and checked first; nothing is stored unless every line is good, and then it is stored
in one transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.access import admin_only
from db.errors import ImportFileError
from db.models import Interaction
from judges.pricing import load_prices, price_for
from monitor.genai import FIELD_LIMITS
from monitor.otlp import Limits, PayloadError, batch_of, parse_json
from monitor.store import write_interactions
from monitor.streams import ensure_stream

_HEX = re.compile(r"^[0-9a-f]+$")
TEXT_FIELDS = ("operation", "model", "response_model", "output", "error", "response_id")
NUMBER_FIELDS = ("latency_ms", "cost_usd")
INT_FIELDS = ("input_tokens", "output_tokens")
RECORD_FIELDS = frozenset(
    (
        "started_at",
        "trace_id",
        "span_id",
        "version_tags",
        "messages",
        "meta",
        *TEXT_FIELDS,
        *NUMBER_FIELDS,
        *INT_FIELDS,
    )
)


@dataclass(frozen=True)
class TraceImport:
    stream: str
    lines: int
    interactions: int
    new: int
    not_genai: int
    invalid: int

    def summary(self) -> str:
        text = (
            f"Read {self.lines:,} line(s) into stream '{self.stream}': {self.new:,} new"
            f" interaction(s), {self.interactions - self.new:,} already stored."
        )
        if self.not_genai or self.invalid:
            text += (
                f" Dropped {self.not_genai:,} span(s) that are not GenAI calls and"
                f" {self.invalid:,} without valid ids."
            )
        return text


def _when(value: Any, path: str, line: int) -> datetime:
    if not isinstance(value, str):
        raise ImportFileError(path, line, "started_at", "must be an ISO 8601 time string.")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ImportFileError(
            path, line, "started_at", f"'{value[:40]}' is not an ISO 8601 time."
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _hex(value: Any, size: int, field: str, path: str, line: int) -> str:
    if not isinstance(value, str) or len(value) != size or not _HEX.match(value.lower()):
        raise ImportFileError(path, line, field, f"must be {size} hex characters.")
    return value.lower()


def record_from_row(
    row: Mapping[str, Any],
    path: str,
    line: int,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """One interaction record line, checked field by field."""
    unknown = sorted(set(row) - RECORD_FIELDS)
    if unknown:
        raise ImportFileError(
            path,
            line,
            unknown[0],
            f"is not an interaction field; use {', '.join(sorted(RECORD_FIELDS))}.",
        )
    for required in ("started_at", "trace_id", "span_id"):
        if required not in row:
            raise ImportFileError(path, line, required, "is required.")
    record: dict[str, Any] = {
        "started_at": _when(row["started_at"], path, line),
        "trace_id": _hex(row["trace_id"], 32, "trace_id", path, line),
        "span_id": _hex(row["span_id"], 16, "span_id", path, line),
    }
    for field in TEXT_FIELDS:
        value = row.get(field)
        if value is not None and not isinstance(value, str):
            raise ImportFileError(path, line, field, "must be a string.")
        limit = FIELD_LIMITS.get(field)
        if value is not None and limit is not None and len(value) > limit:
            raise ImportFileError(path, line, field, f"is longer than {limit} characters.")
        record[field] = value
    for field in NUMBER_FIELDS:
        value = row.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ImportFileError(path, line, field, "must be a number.")
        record[field] = None if value is None else float(value)
    for field in INT_FIELDS:
        value = row.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ImportFileError(path, line, field, "must be a whole number.")
        record[field] = value
    tags = row.get("version_tags")
    if tags is not None and not (
        isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values())
    ):
        raise ImportFileError(path, line, "version_tags", "must be an object of strings.")
    record["version_tags"] = tags
    record["messages"] = _messages(row.get("messages"), path, line)
    meta = row.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise ImportFileError(path, line, "meta", "must be an object.")
    record["meta"] = meta
    if record["cost_usd"] is None:
        record["cost_usd"] = _cost(record, prices)
    return record


def _messages(value: Any, path: str, line: int) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    ok = isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m for m in value
    )
    if not ok:
        raise ImportFileError(
            path, line, "messages", 'must be a list of {"role": ..., "content": ...} objects.'
        )
    return value


def _cost(record: dict[str, Any], prices: Mapping[str, tuple[float, float]] | None) -> float | None:
    model = record["response_model"] or record["model"]
    tin, tout = record["input_tokens"], record["output_tokens"]
    if not model or tin is None or tout is None:
        return None
    price = price_for(model, prices)
    return None if price is None else tin / 1e6 * price[0] + tout / 1e6 * price[1]


def read_traces(
    path: Path, limits: Limits | None = None
) -> tuple[list[dict[str, Any]], int, int, int]:
    """(records, lines, non-GenAI spans, spans without valid ids) from a JSONL file."""
    limits = limits or Limits()
    prices = load_prices()
    where = str(path)
    records: list[dict[str, Any]] = []
    not_genai = invalid = lines = 0
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ImportFileError(where, None, None, f"cannot be read: {exc.strerror}.") from None
    with handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            lines += 1
            try:
                row = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise ImportFileError(where, number, None, f"is not JSON: {exc}.") from None
            if not isinstance(row, dict):
                raise ImportFileError(where, number, None, "must be a JSON object.")
            if "resourceSpans" in row or "resource_spans" in row:
                try:
                    batch = batch_of(parse_json(row), limits, prices)
                except PayloadError as exc:
                    raise ImportFileError(where, number, "resourceSpans", str(exc)) from None
                records.extend(batch.records)
                not_genai += batch.not_genai
                invalid += batch.invalid
            else:
                records.append(record_from_row(row, where, number, prices))
    return records, lines, not_genai, invalid


def import_traces(
    engine: Engine, path: Path, stream: str, *, actor_id: int, limits: Limits | None = None
) -> TraceImport:
    """Store a JSONL file's interactions in ``stream`` (made if missing); admins only."""
    admin_only(engine, actor_id)
    records, lines, not_genai, invalid = read_traces(path, limits)
    stream_id = ensure_stream(engine, stream, actor_id=actor_id)
    count = select(func.count()).select_from(Interaction).where(Interaction.stream_id == stream_id)
    with engine.connect() as conn:
        before = conn.execute(count).scalar_one()
    write_interactions(engine, stream_id, records)
    with engine.connect() as conn:
        after = conn.execute(count).scalar_one()
    return TraceImport(stream, lines, len(records), after - before, not_genai, invalid)
