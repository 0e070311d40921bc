"""The pure span -> interaction mapping, for every form of GenAI messages (issue 16, point 1)."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from monitor.genai import SpanLimitError, interaction_from_span
from tests.monitor import spans

RESOURCE = {"service.name": "chatbot", "service.version": "1.4.2", "host.name": "web-1"}
EXPECTED_INPUT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is 2+2?"},
]


def _map(span, resource=RESOURCE, **kw):
    return interaction_from_span(span, resource, "scope-x", **kw)


def test_semconv_attributes_give_model_tokens_latency_messages_and_ids() -> None:
    record = _map(spans.semconv_span(n=7))
    assert record["operation"] == "chat"
    assert record["model"] == "gpt-4o-mini"
    assert record["response_model"] == "gpt-4o-mini-2024-07-18"
    assert (record["input_tokens"], record["output_tokens"]) == (12, 3)
    assert record["latency_ms"] == pytest.approx(250.0)
    assert record["messages"] == EXPECTED_INPUT
    assert record["output"] == "4"
    assert record["trace_id"] == f"{7:032x}" and record["span_id"] == f"{7:016x}"
    assert record["response_id"] == "chatcmpl-1"
    assert record["meta"]["messages.form"] == "attributes"


def test_version_tags_come_from_resource_and_other_resource_attributes_go_to_meta() -> None:
    record = _map(spans.semconv_span())
    assert record["version_tags"] == {"service.name": "chatbot", "service.version": "1.4.2"}
    assert record["meta"]["resource"] == {"host.name": "web-1"}


def test_unconsumed_span_attributes_are_kept_as_metadata() -> None:
    record = _map(spans.semconv_span(**{"gen_ai.provider.name": "openai", "user.id": "u7"}))
    assert record["meta"]["gen_ai.provider.name"] == "openai"
    assert record["meta"]["user.id"] == "u7"
    assert "gen_ai.input.messages" not in record["meta"]


def test_system_instructions_become_a_leading_system_message() -> None:
    attrs = spans.genai_attrs(
        **{
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be kind."}]),
            "gen_ai.input.messages": json.dumps(spans.INPUT[1:]),
            "gen_ai.output.messages": json.dumps(spans.OUTPUT),
        }
    )
    record = _map(spans.span(attrs))
    assert record["messages"][0] == {"role": "system", "content": "Be kind."}


def test_details_event_carries_the_messages() -> None:
    event = (
        "gen_ai.client.inference.operation.details",
        {
            "gen_ai.input.messages": json.dumps(spans.INPUT),
            "gen_ai.output.messages": json.dumps(spans.OUTPUT),
        },
    )
    record = _map(spans.span(spans.genai_attrs(), events=[event]))
    assert record["messages"] == EXPECTED_INPUT
    assert record["output"] == "4"
    assert record["meta"]["messages.form"] == "details_event"


def test_per_message_events_and_choice_event() -> None:
    events = [
        ("gen_ai.system.message", {"content": "Be brief."}),
        ("gen_ai.user.message", {"content": "What is 2+2?"}),
        (
            "gen_ai.choice",
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "4"}},
        ),
    ]
    record = _map(spans.span(spans.genai_attrs(), events=events))
    assert record["messages"] == EXPECTED_INPUT
    assert record["output"] == "4"
    assert record["meta"]["messages.form"] == "events"


def test_choice_event_with_json_message_string() -> None:
    events = [
        ("gen_ai.user.message", {"content": "Hi"}),
        ("gen_ai.choice", {"message": json.dumps({"role": "assistant", "content": "Hello!"})}),
    ]
    record = _map(spans.span(spans.genai_attrs(), events=events))
    assert record["output"] == "Hello!"


def test_legacy_prompt_and_completion_json_attributes() -> None:
    attrs = spans.genai_attrs(
        **{
            "gen_ai.prompt": json.dumps([{"role": "user", "content": "What is 2+2?"}]),
            "gen_ai.completion": json.dumps([{"role": "assistant", "content": "4"}]),
        }
    )
    record = _map(spans.span(attrs))
    assert record["messages"] == [{"role": "user", "content": "What is 2+2?"}]
    assert record["output"] == "4"
    assert record["meta"]["messages.form"] == "legacy"


def test_legacy_plain_text_prompt_and_completion() -> None:
    attrs = spans.genai_attrs(**{"gen_ai.prompt": "Say hi", "gen_ai.completion": "hi"})
    record = _map(spans.span(attrs))
    assert record["messages"] == [{"role": "user", "content": "Say hi"}]
    assert record["output"] == "hi"


def test_legacy_indexed_attributes_in_index_order() -> None:
    attrs = spans.genai_attrs(
        **{
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "What is 2+2?",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "Be brief.",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "4",
        }
    )
    record = _map(spans.span(attrs))
    assert record["messages"] == EXPECTED_INPUT
    assert record["output"] == "4"
    assert not any(k.startswith("gen_ai.prompt.") for k in record["meta"])


def test_legacy_content_events() -> None:
    events = [
        ("gen_ai.content.prompt", {"gen_ai.prompt": "Say hi"}),
        ("gen_ai.content.completion", {"gen_ai.completion": "hi"}),
    ]
    record = _map(spans.span(spans.genai_attrs(), events=events))
    assert record["messages"] == [{"role": "user", "content": "Say hi"}]
    assert record["output"] == "hi"


def test_legacy_token_attribute_names() -> None:
    attrs = {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "m",
        "gen_ai.usage.prompt_tokens": 5,
        "gen_ai.usage.completion_tokens": 2,
    }
    record = _map(spans.span(attrs))
    assert (record["input_tokens"], record["output_tokens"]) == (5, 2)


def test_tool_call_parts_are_kept_alongside_the_text() -> None:
    output = [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "add", "arguments": {"a": 2}}],
            "finish_reason": "tool_call",
        }
    ]
    attrs = spans.genai_attrs(
        **{
            "gen_ai.input.messages": json.dumps(spans.INPUT),
            "gen_ai.output.messages": json.dumps(output),
        }
    )
    record = _map(spans.span(attrs))
    assert record["output"] == ""
    assert record["meta"]["output.messages"][0]["parts"][0]["name"] == "add"


def test_a_span_without_genai_attributes_maps_to_nothing() -> None:
    assert _map(spans.plain_span()) is None


def test_cost_from_prices_when_the_model_is_priced() -> None:
    record = _map(spans.semconv_span(), prices={"gpt-4o-mini": (1.0, 2.0)})
    assert record["cost_usd"] == pytest.approx(12 / 1e6 * 1.0 + 3 / 1e6 * 2.0)


def test_cost_is_unknown_for_an_unpriced_model() -> None:
    attrs = spans.genai_attrs(**{"gen_ai.request.model": "no-such-model-xyz"})
    del attrs["gen_ai.response.model"]
    assert _map(spans.span(attrs), prices={})["cost_usd"] is None


def test_error_status_is_recorded() -> None:
    s = spans.span(spans.genai_attrs(**{"error.type": "RateLimitError"}))
    s.status.code = Status.STATUS_CODE_ERROR
    assert _map(s)["error"] == "RateLimitError"


def test_an_attribute_over_the_size_limit_raises_naming_it() -> None:
    s = spans.semconv_span(**{"gen_ai.prompt": "x" * 5000})
    with pytest.raises(SpanLimitError, match="gen_ai.prompt"):
        _map(s, max_attribute_bytes=1000)


def test_a_model_name_longer_than_its_column_raises() -> None:
    s = spans.span(spans.genai_attrs(**{"gen_ai.request.model": "m" * 201}))
    with pytest.raises(SpanLimitError, match="model"):
        _map(s)
