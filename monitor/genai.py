"""From one OTLP span (with its resource) to one interaction record, per the GenAI conventions.

Pure: decoded protobuf in, a dict of ``interactions`` columns out (no stream, no time of
receipt). Messages are read, first found wins, from

1. the ``gen_ai.input.messages`` / ``gen_ai.output.messages`` span attributes (JSON strings
   or structured values; ``gen_ai.system_instructions`` becomes a leading system message),
2. the same attributes on a ``gen_ai.client.inference.operation.details`` span event,
3. per-message span events (``gen_ai.system.message``, ``gen_ai.user.message``,
   ``gen_ai.assistant.message``, ``gen_ai.tool.message``, ``gen_ai.choice``),
4. the older ``gen_ai.prompt`` / ``gen_ai.completion`` attributes (JSON, plain text, or the
   indexed ``gen_ai.prompt.0.role`` / ``gen_ai.prompt.0.content`` form), also as
   ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` span events.

A span is a GenAI call when it carries ``gen_ai.operation.name``, ``gen_ai.request.model``
or ``gen_ai.system``; other spans map to None (the receiver counts and drops them).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from judges.pricing import price_for

GENAI_MARKERS = ("gen_ai.operation.name", "gen_ai.request.model", "gen_ai.system")
VERSION_KEYS = (
    "service.name",
    "service.version",
    "service.namespace",
    "deployment.environment",
    "deployment.environment.name",
)
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
LEGACY_PROMPT_EVENT = "gen_ai.content.prompt"
LEGACY_COMPLETION_EVENT = "gen_ai.content.completion"

# Column widths of ``interactions`` (db/models.py): longer values are refused, not cut.
FIELD_LIMITS = {"operation": 64, "model": 200, "response_model": 200, "response_id": 200}

_EXTRA_KEYS = ("name", "finish_reason", "tool_calls", "tool_call_id")
_INDEXED = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(\w+)$")
_INDEXED_PREFIXES = ("gen_ai.prompt.", "gen_ai.completion.")
_CONSUMED = {
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.prompt",
    "gen_ai.completion",
}


class SpanLimitError(ValueError):
    """A value in a span is larger than the receiver accepts."""

    def __init__(self, field: str, size: int, limit: int, unit: str = "bytes") -> None:
        self.field, self.size, self.limit = field, size, limit
        super().__init__(f"'{field}' is {size:,} {unit}, over the limit of {limit:,} {unit}")


def any_value(value: AnyValue, key: str = "", max_bytes: int | None = None) -> Any:
    """An OTLP AnyValue as plain Python; a string or bytes value over ``max_bytes`` raises."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        if max_bytes is not None and len(text) > max_bytes // 4:
            size = len(text.encode("utf-8"))
            if size > max_bytes:
                raise SpanLimitError(key, size, max_bytes)
        return text
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [any_value(v, key, max_bytes) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values, max_bytes)
    if kind == "bytes_value":
        if max_bytes is not None and len(value.bytes_value) > max_bytes:
            raise SpanLimitError(key, len(value.bytes_value), max_bytes)
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def attributes(kvs: Iterable[KeyValue], max_bytes: int | None = None) -> dict[str, Any]:
    return {kv.key: any_value(kv.value, kv.key, max_bytes) for kv in kvs}


def is_genai(attrs: Mapping[str, Any]) -> bool:
    return any(key in attrs for key in GENAI_MARKERS)


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _part_text(part: Any) -> str | None:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and part.get("type", "text") == "text":
        text = part.get("content", part.get("text"))
        return text if isinstance(text, str) else None
    return None


def _message(role: Any, content: Any, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One stored message: role and text, and the raw parts when some are not text."""
    content = _maybe_json(content)
    msg: dict[str, Any] = {"role": str(role or "user")}
    if isinstance(content, list):
        texts = [_part_text(p) for p in content]
        msg["content"] = "".join(t for t in texts if t is not None)
        if any(t is None for t in texts):
            msg["parts"] = content
    elif isinstance(content, dict):
        text = _part_text(content)
        msg["content"] = text or ""
        if text is None:
            msg["parts"] = [content]
    else:
        msg["content"] = "" if content is None else str(content)
    for key, val in (extra or {}).items():
        if val not in (None, "", [], {}):
            msg[key] = val
    return msg


def _messages(value: Any, default_role: str) -> list[dict[str, Any]]:
    """Messages from a semconv/OpenAI-style list, a single message, or plain text."""
    value = _maybe_json(value)
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return [_message(default_role, value)]
    out = []
    for item in value:
        if not isinstance(item, dict):
            out.append(_message(default_role, item))
            continue
        if isinstance(item.get("message"), dict | str):
            item = dict(item)
            inner = _maybe_json(item.pop("message"))
            inner = inner if isinstance(inner, dict) else {"content": inner}
            item = {**item, **inner}
        content = item["parts"] if "parts" in item else item.get("content")
        extra = {k: item[k] for k in _EXTRA_KEYS if k in item}
        out.append(_message(item.get("role", default_role), content, extra))
    return out


def _system_instructions(value: Any) -> list[dict[str, Any]]:
    value = _maybe_json(value)
    if value in (None, "", []):
        return []
    return [_message("system", value)]


def _indexed(attrs: Mapping[str, Any], which: str) -> list[dict[str, Any]]:
    """OpenLLMetry's gen_ai.prompt.N.role / gen_ai.prompt.N.content attributes."""
    rows: dict[int, dict[str, Any]] = {}
    for key, val in attrs.items():
        m = _INDEXED.match(key) if key.startswith(_INDEXED_PREFIXES) else None
        if m and m.group(1) == which:
            rows.setdefault(int(m.group(2)), {})[m.group(3)] = val
    default = "user" if which == "prompt" else "assistant"
    return [
        _message(row.get("role", default), row.get("content")) for _, row in sorted(rows.items())
    ]


def _event_messages(
    events: list[tuple[str, dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    for name, attrs in events:
        if name in MESSAGE_EVENTS:
            content = attrs.get("content", attrs.get("gen_ai.event.content"))
            body = _maybe_json(content)
            if isinstance(body, dict) and "content" in body:
                inputs.extend(_messages(body, MESSAGE_EVENTS[name]))
            else:
                role = attrs.get("role", MESSAGE_EVENTS[name])
                extra = {k: attrs.get(k) for k in ("tool_calls", "id", "tool_call_id")}
                inputs.append(_message(role, content, extra))
        elif name == CHOICE_EVENT:
            message = _maybe_json(attrs.get("message", attrs.get("gen_ai.event.content")))
            if isinstance(message, dict):
                outputs.extend(
                    _messages({**message, "finish_reason": attrs.get("finish_reason")}, "assistant")
                )
            elif message is not None:
                outputs.append(_message("assistant", message))
        elif name == LEGACY_PROMPT_EVENT:
            inputs.extend(_messages(attrs.get("gen_ai.prompt"), "user"))
        elif name == LEGACY_COMPLETION_EVENT:
            outputs.extend(_messages(attrs.get("gen_ai.completion"), "assistant"))
    return inputs, outputs


def read_messages(
    attrs: Mapping[str, Any], events: list[tuple[str, dict[str, Any]]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """(input messages, output messages, the form they were read from)."""
    if "gen_ai.input.messages" in attrs or "gen_ai.output.messages" in attrs:
        inputs = _system_instructions(attrs.get("gen_ai.system_instructions"))
        inputs += _messages(attrs.get("gen_ai.input.messages"), "user")
        return inputs, _messages(attrs.get("gen_ai.output.messages"), "assistant"), "attributes"
    for name, ev in events:
        if name == DETAILS_EVENT:
            inputs = _system_instructions(ev.get("gen_ai.system_instructions"))
            inputs += _messages(ev.get("gen_ai.input.messages"), "user")
            outputs = _messages(ev.get("gen_ai.output.messages"), "assistant")
            return inputs, outputs, "details_event"
    inputs, outputs = _event_messages(events)
    if inputs or outputs:
        return inputs, outputs, "events"
    if "gen_ai.prompt" in attrs or "gen_ai.completion" in attrs:
        return (
            _messages(attrs.get("gen_ai.prompt"), "user"),
            _messages(attrs.get("gen_ai.completion"), "assistant"),
            "legacy",
        )
    inputs, outputs = _indexed(attrs, "prompt"), _indexed(attrs, "completion")
    if inputs or outputs:
        return inputs, outputs, "legacy_indexed"
    return [], [], "none"


def hex_id(raw: bytes) -> str:
    return raw.hex()


def _int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value)


def _bounded(record: dict[str, Any]) -> None:
    for field, limit in FIELD_LIMITS.items():
        value = record.get(field)
        if value is not None and len(value) > limit:
            raise SpanLimitError(field, len(value), limit, "characters")


def interaction_from_span(
    span: Span,
    resource: Mapping[str, Any],
    scope_name: str = "",
    *,
    max_attribute_bytes: int | None = None,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any] | None:
    """The interaction record for a GenAI span, None for any other span.

    ``prices`` are USD per 1M tokens overrides (judges/pricing.py); cost is None when the
    model has no price. Raises ``SpanLimitError`` for a value over the limits.
    """
    attrs = attributes(span.attributes, max_attribute_bytes)
    if not is_genai(attrs):
        return None
    events = [(e.name, attributes(e.attributes, max_attribute_bytes)) for e in span.events]
    inputs, outputs, form = read_messages(attrs, events)
    model = _str(attrs.get("gen_ai.request.model"))
    response_model = _str(attrs.get("gen_ai.response.model"))
    tokens_in = _int(
        attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens"))
    )
    tokens_out = _int(
        attrs.get("gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens"))
    )
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    meta = {
        k: v
        for k, v in attrs.items()
        if k not in _CONSUMED and not (k.startswith(_INDEXED_PREFIXES) and _INDEXED.match(k))
    }
    meta["span.name"] = span.name
    if scope_name:
        meta["scope.name"] = scope_name
    if form != "none":
        meta["messages.form"] = form
    if len(outputs) > 1 or any("parts" in m or "tool_calls" in m for m in outputs):
        meta["output.messages"] = outputs
    rest = {k: v for k, v in resource.items() if k not in VERSION_KEYS}
    if rest:
        meta["resource"] = rest
    record = {
        "started_at": datetime.fromtimestamp(start / 1e9, UTC) if start else None,
        "operation": _str(attrs.get("gen_ai.operation.name")),
        "model": model,
        "response_model": response_model,
        "version_tags": {k: str(resource[k]) for k in VERSION_KEYS if k in resource} or None,
        "messages": inputs or None,
        "output": outputs[0]["content"] if outputs else None,
        "latency_ms": (end - start) / 1e6 if start and end >= start else None,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "cost_usd": _cost(response_model or model, tokens_in, tokens_out, prices),
        "error": _error(span, attrs),
        "trace_id": hex_id(span.trace_id),
        "span_id": hex_id(span.span_id),
        "response_id": _str(attrs.get("gen_ai.response.id")),
        "meta": meta,
    }
    _bounded(record)
    return record


def _error(span: Span, attrs: Mapping[str, Any]) -> str | None:
    if span.status.code != Status.STATUS_CODE_ERROR:
        return None
    return span.status.message or _str(attrs.get("error.type")) or "error"


def _cost(
    model: str | None,
    tokens_in: int | None,
    tokens_out: int | None,
    prices: Mapping[str, tuple[float, float]] | None,
) -> float | None:
    if not model or tokens_in is None or tokens_out is None:
        return None
    price = price_for(model, prices)
    if price is None:
        return None
    return tokens_in / 1e6 * price[0] + tokens_out / 1e6 * price[1]


GENAI_EVENTS = frozenset(
    (DETAILS_EVENT, CHOICE_EVENT, LEGACY_PROMPT_EVENT, LEGACY_COMPLETION_EVENT, *MESSAGE_EVENTS)
)


def event_from_log_record(
    record: LogRecord, max_attribute_bytes: int | None = None
) -> tuple[str, dict[str, Any]] | None:
    """(event name, attributes with the body's fields) for a GenAI event log record, else None.

    Instrumentations emit GenAI events through the Logs API: the name is the record's
    ``event_name`` (or, from older SDKs, its ``event.name`` attribute) and message events
    carry their content in the body, e.g. ``{"content": "Hi"}``.
    """
    attrs = attributes(record.attributes, max_attribute_bytes)
    name = record.event_name or str(attrs.pop("event.name", ""))
    if name not in GENAI_EVENTS:
        return None
    if record.HasField("body"):
        body = any_value(record.body, "body", max_attribute_bytes)
        if isinstance(body, dict):
            attrs = {**body, **attrs}
        elif body is not None:
            attrs.setdefault("content", body)
    return name, attrs


def messages_from_events(
    events: list[tuple[str, dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(input messages, output messages) from one span's GenAI events."""
    inputs, outputs, _ = read_messages({}, events)
    return inputs, outputs
