"""OTLP payloads for the monitor tests: GenAI spans built with the opentelemetry-proto classes."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

START_NS = 1_796_000_000_000_000_000
INPUT = [
    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
    {"role": "user", "parts": [{"type": "text", "content": "What is 2+2?"}]},
]
OUTPUT = [
    {"role": "assistant", "parts": [{"type": "text", "content": "4"}], "finish_reason": "stop"}
]


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list | tuple):
        out = AnyValue()
        out.array_value.values.extend(value(x) for x in v)
        return out
    if isinstance(v, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(kv(k, x) for k, x in v.items())
        return out
    return AnyValue(string_value=str(v))


def kv(key: str, v: Any) -> KeyValue:
    return KeyValue(key=key, value=value(v))


def genai_attrs(**extra: Any) -> dict[str, Any]:
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
    }
    attrs.update(extra)
    return attrs


def span(
    attrs: dict[str, Any],
    *,
    n: int = 1,
    events: list[tuple[str, dict[str, Any]]] = (),
    name: str = "chat gpt-4o-mini",
    duration_ms: float = 250.0,
    trace: bytes | None = None,
) -> Span:
    s = Span(
        trace_id=trace or bytes.fromhex(f"{n:032x}"),
        span_id=bytes.fromhex(f"{n:016x}"),
        name=name,
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=START_NS + n * 1_000_000,
        end_time_unix_nano=START_NS + n * 1_000_000 + int(duration_ms * 1e6),
    )
    s.attributes.extend(kv(k, v) for k, v in attrs.items())
    for ev_name, ev_attrs in events:
        ev = s.events.add(name=ev_name, time_unix_nano=s.start_time_unix_nano)
        ev.attributes.extend(kv(k, v) for k, v in ev_attrs.items())
    return s


def request(spans: list[Span], resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    res = {"service.name": "chatbot", "service.version": "1.4.2"} if resource is None else resource
    rs.resource.attributes.extend(kv(k, v) for k, v in res.items())
    ss = rs.scope_spans.add()
    ss.scope.name = "opentelemetry.instrumentation.openai_v2"
    ss.spans.extend(spans)
    return req


def semconv_span(n: int = 1, **extra: Any) -> Span:
    """A chat span as opentelemetry-instrumentation-openai-v2 sends it with content capture."""
    return span(
        genai_attrs(
            **{
                "gen_ai.input.messages": json.dumps(INPUT),
                "gen_ai.output.messages": json.dumps(OUTPUT),
            },
            **extra,
        ),
        n=n,
    )


def plain_span(n: int = 100) -> Span:
    return span({"http.request.method": "GET", "url.path": "/health"}, n=n, name="GET /health")


def protobuf_body(spans: list[Span]) -> bytes:
    return request(spans).SerializeToString()


def json_body(spans: list[Span]) -> bytes:
    """OTLP/JSON: lowerCamelCase keys, hex trace and span ids (not protobuf's base64)."""
    from google.protobuf import json_format

    doc = json_format.MessageToDict(request(spans))
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                for key in ("traceId", "spanId"):
                    s[key] = _b64_to_hex(s[key])
    return json.dumps(doc).encode()


def _b64_to_hex(b64: str) -> str:
    import base64

    return base64.b64decode(b64).hex()


def log_record(n: int, event_name: str, attrs: dict[str, Any] | None = None, body: Any = None):
    """A GenAI event as the Logs API sends it, tied to the span ``n`` of ``span(n=n)``."""
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    record = LogRecord(
        time_unix_nano=START_NS + n * 1_000_000,
        trace_id=bytes.fromhex(f"{n:032x}"),
        span_id=bytes.fromhex(f"{n:016x}"),
        event_name=event_name,
    )
    record.attributes.extend(kv(k, v) for k, v in (attrs or {}).items())
    if body is not None:
        record.body.CopyFrom(value(body))
    return record


def logs_request(records: list):
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    req = ExportLogsServiceRequest()
    scope = req.resource_logs.add().scope_logs.add()
    scope.scope.name = "opentelemetry.instrumentation.openai_v2"
    scope.log_records.extend(records)
    return req


def details_record(n: int = 1):
    """What opentelemetry-instrumentation-openai-v2 2.4b0 emits with content capture on."""
    return log_record(
        n,
        "gen_ai.client.inference.operation.details",
        {"gen_ai.input.messages": INPUT, "gen_ai.output.messages": OUTPUT},
    )
