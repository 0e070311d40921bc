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
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from monitor.genai import SpanLimitError, attributes, interaction_from_span

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
        raise PayloadError(400, "OTLP/JSON body must be a JSON object with resourceSpans.")
    for rs in doc.get("resourceSpans") or doc.get("resource_spans") or []:
        for ss in rs.get("scopeSpans") or rs.get("scope_spans") or []:
            for span in ss.get("spans") or []:
                targets = [span, *(span.get("links") or [])]
                for obj in targets:
                    for key in (
                        "traceId",
                        "spanId",
                        "parentSpanId",
                        "trace_id",
                        "span_id",
                        "parent_span_id",
                    ):
                        if key in obj:
                            obj[key] = _hex_to_b64(obj[key], key)


def parse_json(data: bytes | str | Mapping[str, Any]) -> ExportTraceServiceRequest:
    """An OTLP/JSON ExportTraceServiceRequest (text or an already parsed object)."""
    try:
        doc = json.loads(data) if isinstance(data, bytes | str) else json.loads(json.dumps(data))
    except (ValueError, RecursionError) as exc:
        raise PayloadError(400, f"Body is not valid JSON: {exc}.") from None
    request = ExportTraceServiceRequest()
    try:
        _fix_ids(doc)
        json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    except (json_format.ParseError, AttributeError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(
            400, f"Body is not an OTLP/JSON ExportTraceServiceRequest: {exc}"
        ) from None
    return request


def decode(
    body: bytes, content_type: str, content_encoding: str, limits: Limits
) -> ExportTraceServiceRequest:
    """The request in a POST /v1/traces body, or PayloadError with the status to answer."""
    if len(body) > limits.max_body_bytes:
        raise _too_large(limits.max_body_bytes)
    data = decompress(body, content_encoding, limits.max_body_bytes)
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == JSON:
        return parse_json(data)
    if kind in (PROTOBUF, "application/protobuf"):
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(data)
        except DecodeError as exc:
            raise PayloadError(
                400, f"Body is not a protobuf ExportTraceServiceRequest: {exc}."
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
