"""OTLP/HTTP trace payloads: decoding (protobuf, JSON, gzip) and the batch's interactions.

Decoding is the ``opentelemetry-proto`` classes' own; OTLP/JSON differs from protobuf's
canonical JSON mapping only in trace and span ids, which are hex instead of base64, so
those are rewritten before ``json_format.ParseDict``.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from monitor.genai import (
    SpanLimitError,
    attributes,
    event_from_log_record,
    interaction_from_span,
    messages_from_events,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_ATTRIBUTE_BYTES = 1024 * 1024


class PayloadError(ValueError):
    """A request the receiver refuses whole: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_attribute_bytes: int = DEFAULT_MAX_ATTRIBUTE_BYTES


@dataclass
class Batch:
    """What one request holds: interaction records and the spans that were left out."""

    records: list[dict[str, Any]] = field(default_factory=list)
    not_genai: int = 0
    invalid: int = 0

    @property
    def rejected(self) -> int:
        return self.not_genai + self.invalid

    def message(self) -> str:
        parts = []
        if self.not_genai:
            parts.append(
                f"{self.not_genai} span(s) are not GenAI calls (no gen_ai.operation.name,"
                " gen_ai.request.model or gen_ai.system attribute) and were dropped"
            )
        if self.invalid:
            parts.append(
                f"{self.invalid} span(s) have no valid trace id (16 bytes) and span id"
                " (8 bytes) and were dropped"
            )
        return "; ".join(parts)


def _too_large(limit: int) -> PayloadError:
    return PayloadError(
        413,
        f"Request body is over the receiver's limit of {limit:,} bytes: send smaller batches"
        " (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) or start serve-otlp with a larger --max-body-bytes.",
    )


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """The body without its Content-Encoding; gzip and deflate, never more than ``limit``."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise PayloadError(
            415, f"Content-Encoding '{encoding}' is not supported: send gzip or no compression."
        )
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise PayloadError(400, f"Body is not valid {encoding} data: {exc}.") from None
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _hex_to_b64(value: Any, where: str) -> Any:
    if not isinstance(value, str) or value == "":
        return value
    try:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    except ValueError:
        raise PayloadError(
            400, f"{where} '{value[:40]}' is not hex: OTLP/JSON ids are hex strings."
        ) from None


def _fix_ids(doc: Any) -> None:
    """Hex trace and span ids (OTLP/JSON) to the base64 that json_format expects for bytes."""
    if not isinstance(doc, Mapping):
        raise PayloadError(
            400, "OTLP/JSON body must be a JSON object with resourceSpans or resourceLogs."
        )
    for rs in doc.get("resourceSpans") or doc.get("resource_spans") or []:
        for ss in rs.get("scopeSpans") or rs.get("scope_spans") or []:
            for span in ss.get("spans") or []:
                for obj in [span, *(span.get("links") or [])]:
                    _fix_obj(obj)
    for rl in doc.get("resourceLogs") or doc.get("resource_logs") or []:
        for sl in rl.get("scopeLogs") or rl.get("scope_logs") or []:
            for record in sl.get("logRecords") or sl.get("log_records") or []:
                _fix_obj(record)


_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _fix_obj(obj: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        if key in obj:
            obj[key] = _hex_to_b64(obj[key], key)


def parse_json(
    data: bytes | str | Mapping[str, Any], message: type[Message] = ExportTraceServiceRequest
) -> Any:
    """An OTLP/JSON request (text or an already parsed object) as ``message``."""
    try:
        doc = json.loads(data) if isinstance(data, bytes | str) else json.loads(json.dumps(data))
    except (ValueError, RecursionError) as exc:
        raise PayloadError(400, f"Body is not valid JSON: {exc}.") from None
    request = message()
    try:
        _fix_ids(doc)
        json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    except (json_format.ParseError, AttributeError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(
            400, f"Body is not an OTLP/JSON {message.DESCRIPTOR.name}: {exc}"
        ) from None
    return request


def decode(
    body: bytes,
    content_type: str,
    content_encoding: str,
    limits: Limits,
    message: type[Message] = ExportTraceServiceRequest,
) -> Any:
    """The ``message`` in a POST body, or PayloadError with the status to answer."""
    if len(body) > limits.max_body_bytes:
        raise _too_large(limits.max_body_bytes)
    data = decompress(body, content_encoding, limits.max_body_bytes)
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == JSON:
        return parse_json(data, message)
    if kind in (PROTOBUF, "application/protobuf"):
        request = message()
        try:
            request.ParseFromString(data)
        except DecodeError as exc:
            raise PayloadError(
                400, f"Body is not a protobuf {message.DESCRIPTOR.name}: {exc}."
            ) from None
        return request
    raise PayloadError(
        415,
        f"Content-Type '{kind or 'none'}' is not OTLP: send application/x-protobuf or"
        " application/json.",
    )


def batch_of(
    request: ExportTraceServiceRequest,
    limits: Limits,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> Batch:
    """Every GenAI span of the request as an interaction record (a value over a limit: 400)."""
    batch = Batch()
    for rs in request.resource_spans:
        try:
            resource = attributes(rs.resource.attributes, limits.max_attribute_bytes)
        except SpanLimitError as exc:
            raise PayloadError(400, f"Resource attribute {exc}{_ADVICE}") from None
        for ss in rs.scope_spans:
            for span in ss.spans:
                try:
                    record = interaction_from_span(
                        span,
                        resource,
                        ss.scope.name,
                        max_attribute_bytes=limits.max_attribute_bytes,
                        prices=prices,
                    )
                except SpanLimitError as exc:
                    raise PayloadError(
                        400,
                        f"Span {span.span_id.hex() or '?'} ('{span.name[:80]}'): {exc}{_ADVICE}",
                    ) from None
                if record is None:
                    batch.not_genai += 1
                elif len(record["trace_id"]) != 32 or len(record["span_id"]) != 16:
                    batch.invalid += 1
                else:
                    batch.records.append(record)
    return batch


_ADVICE = (
    ". Nothing in this request was stored: cap attribute values in the SDK"
    " (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT) or start serve-otlp with a larger"
    " --max-attribute-bytes."
)


def response_body(batch: Batch, as_json: bool) -> bytes:
    """ExportTraceServiceResponse, with partial_success when spans were dropped."""
    response = ExportTraceServiceResponse()
    if batch.rejected:
        response.partial_success.rejected_spans = batch.rejected
        response.partial_success.error_message = batch.message()
    if as_json:
        return json_format.MessageToJson(response, indent=None).encode()
    return response.SerializeToString()


@dataclass
class LogBatch:
    """GenAI events of one logs request, as messages per (trace id, span id)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    not_genai: int = 0
    invalid: int = 0

    @property
    def rejected(self) -> int:
        return self.not_genai + self.invalid

    def message(self) -> str:
        parts = []
        if self.not_genai:
            parts.append(
                f"{self.not_genai} log record(s) are not GenAI events (gen_ai.* event names)"
                " and were dropped"
            )
        if self.invalid:
            parts.append(
                f"{self.invalid} GenAI event(s) name no span (trace id and span id) and were"
                " dropped"
            )
        return "; ".join(parts)


def log_batch_of(request: ExportLogsServiceRequest, limits: Limits) -> LogBatch:
    """The messages GenAI event log records carry, one entry per span they belong to."""
    batch = LogBatch()
    per_span: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for record in sl.log_records:
                try:
                    event = event_from_log_record(record, limits.max_attribute_bytes)
                except SpanLimitError as exc:
                    raise PayloadError(400, f"Log record: {exc}{_ADVICE}") from None
                if event is None:
                    batch.not_genai += 1
                    continue
                key = (record.trace_id.hex(), record.span_id.hex())
                if len(key[0]) != 32 or len(key[1]) != 16:
                    batch.invalid += 1
                    continue
                per_span.setdefault(key, []).append(event)
    for (trace_id, span_id), events in per_span.items():
        inputs, outputs = messages_from_events(events)
        batch.messages.append(
            {
                "trace_id": trace_id,
                "span_id": span_id,
                "messages": inputs or None,
                "output": outputs[0]["content"] if outputs else None,
            }
        )
    return batch


def logs_response_body(batch: LogBatch, as_json: bool) -> bytes:
    response = ExportLogsServiceResponse()
    if batch.rejected:
        response.partial_success.rejected_log_records = batch.rejected
        response.partial_success.error_message = batch.message()
    if as_json:
        return json_format.MessageToJson(response, indent=None).encode()
    return response.SerializeToString()
