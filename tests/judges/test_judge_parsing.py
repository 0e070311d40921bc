"""Pure parts of the judges package: parsing, templates, hashing, requests, prices."""

from __future__ import annotations

import json

import httpx
import pytest

from db.errors import InvalidInputError
from judges.config import JudgeSpec, config_hash
from judges.parsing import parse_pairwise, parse_score, to_canonical
from judges.pricing import cost_of, load_prices
from judges.providers import (
    ProviderError,
    build_request,
    parse_reply,
    redact,
    resolve_api_key,
    retry_after_seconds,
)
from judges.templates import builtin_template, placeholders, validate_template
from judges.verdicts import resolve_pair

PAIRWISE_CASES = [
    # (reply, 5-way shown preference, how)
    ('{"reason": "A is right", "verdict": "A"}', -1, "json"),
    ('{"verdict": "B", "strength": "much"}', 2, "json"),
    ('{"verdict": "tie"}', 0, "json"),
    ('{"winner": "Assistant B"}', 1, "json"),
    ('{"verdict": "A>>B"}', -2, "json"),
    ('{"verdict": "B>A"}', 1, "json"),
    ('{"preference": -2}', -2, "json"),
    ('{"verdict": "both bad"}', 0, "json"),
    ('Reasoning...\n```json\n{"reason": "x", "verdict": "B"}\n```', 1, "json"),
    ('B is longer. {"reason": "shorter is fine", "verdict": "A"} done', -1, "json"),
    ("After careful thought: [[A]]", -1, "brackets"),
    ("[[B]]", 1, "brackets"),
    ("They are equally good. [[C]]", 0, "brackets"),
    ("My final verdict is tie: [[A=B]]", 0, "brackets"),
    ("[[A>>B]]", -2, "brackets"),
    ("[[B>A]]", 1, "brackets"),
    # Judges restate the format first; the last marker is the verdict.
    ('Output "[[A]]" if A is better, "[[B]]" if B is better. Verdict: [[B]]', 1, "brackets"),
    ("Verdict: A", -1, "label"),
    ("Final verdict: Assistant B", 1, "label"),
    ("verdict: tie", 0, "label"),
    ("Winner: B (much better)", 2, "label"),
    ("Overall, Assistant A is much better than B.", -2, "prose"),
    ("Response B is slightly better.", 1, "prose"),
    ("I cannot decide which one is better.", None, "unparsed"),
    ("", None, "empty"),
    ('{"verdict": "maybe"}', None, "unparsed"),
    ('{"verdict": 7}', None, "unparsed"),
]


@pytest.mark.parametrize(("reply", "expected", "how"), PAIRWISE_CASES)
def test_pairwise_verdicts_are_read_from_json_brackets_labels_and_prose(
    reply: str, expected: int | None, how: str
) -> None:
    verdict = parse_pairwise(reply, scale="5way")
    assert verdict.preference == expected
    assert verdict.how == how


def test_three_way_scale_drops_strength_and_json_rationale_is_kept() -> None:
    v = parse_pairwise('{"reason": "clearer", "verdict": "A>>B"}', scale="3way")
    assert (v.preference, v.rationale) == (-1, "clearer")
    assert parse_pairwise('{"verdict": "both bad"}').both_bad


@pytest.mark.parametrize(
    ("shown", "order", "canonical"),
    [(-1, "ab", -1), (-1, "ba", 1), (2, "ba", -2), (0, "ba", 0), (None, "ba", None)],
)
def test_a_verdict_about_shown_positions_becomes_a_canonical_preference(
    shown: int | None, order: str, canonical: int | None
) -> None:
    assert to_canonical(shown, order) == canonical


SCORE_CASES = [
    ('{"reason": "ok", "score": 4}', "likert5", None, 4.0),
    ("Rating: [[3]]", "likert5", None, 3.0),
    ("Score: 8/10", "likert10", None, 8.0),
    ("I'd give it 2/5.", "likert5", None, 2.0),
    ('{"score": 9}', "likert5", None, None),  # out of range: unscored, not clipped
    ('{"score": "yes"}', "binary", None, 1.0),
    ("It fails. No.", "binary", None, 0.0),
    ('{"category": "partly"}', "categories", ["no", "partly", "yes"], 1.0),
    ("[[yes]]", "categories", ["no", "partly", "yes"], 2.0),
    ("no idea", "likert5", None, None),
]


@pytest.mark.parametrize(("reply", "scale", "categories", "expected"), SCORE_CASES)
def test_rubric_scores_are_read_and_range_checked(
    reply: str, scale: str, categories: list[str] | None, expected: float | None
) -> None:
    assert parse_score(reply, scale, categories).score == expected


@pytest.mark.parametrize(
    ("ab", "ba", "policy", "expected"),
    [
        (-1, -1, "tie", (-1, True)),
        (-2, -1, "tie", (-1, True)),  # agree on A; the weaker strength stands
        (2, 2, "tie", (2, True)),
        (0, 0, "tie", (0, True)),
        (-1, 1, "tie", (0, False)),  # position bias: each order prefers the first shown
        (-1, 1, "unscored", (None, False)),
        (-1, 0, "tie", (0, False)),
        (None, 1, "tie", (1, None)),
        (None, None, "tie", (None, None)),
    ],
)
def test_swapped_verdicts_resolve_and_inconsistency_is_flagged(ab, ba, policy, expected) -> None:
    assert resolve_pair(ab, ba, policy) == expected


def test_builtin_templates_are_valid_and_use_their_placeholders() -> None:
    for kind in ("pairwise", "pairwise_reference", "rubric"):
        validate_template(kind, builtin_template(kind))
    assert "reference" in placeholders(builtin_template("pairwise_reference"))


@pytest.mark.parametrize(
    ("kind", "template", "message"),
    [
        ("pairwise", "{question} {answer_a} {answer_b} {answr}", "Unknown placeholder '{answr}'"),
        ("pairwise", "{question} {answer_a}", "must use {answer_b}"),
        ("pairwise_reference", "{question} {answer_a} {answer_b}", "must use {reference}"),
        ("rubric", "{question} {answer} {answer_a} {criterion}", "Unknown placeholder"),
        ("pairwise", '{question} {answer_a} {answer_b} {"verdict": "A"}', "not a plain name"),
        ("pairwise", "{question} {answer_a} {answer_b} {", "not valid"),
        ("pairwise", "{question!r} {answer_a} {answer_b}", "format spec"),
        ("scorecard", "{question}", "not one of"),
    ],
)
def test_template_errors_name_the_placeholder_and_the_allowed_ones(kind, template, message):
    with pytest.raises(InvalidInputError, match=message.replace("{", r"\{").replace("(", r"\(")):
        validate_template(kind, template)


def test_unknown_placeholder_error_lists_the_allowed_placeholders() -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_template("pairwise", "{question} {answer_a} {answer_b} {context}")
    assert "{context}" in str(info.value)
    assert "{question}, {answer_a}, {answer_b}" in str(info.value)


def test_config_hash_is_canonical_and_covers_every_judging_field() -> None:
    base = JudgeSpec(provider="openai", model="gpt-4o-mini", params={"temperature": 0})
    same = JudgeSpec(provider="OpenAI", model="gpt-4o-mini ", base_url="https://api.openai.com/v1/")
    assert base.content_hash() == same.content_hash() == config_hash(base.canonical())
    variants = [
        JudgeSpec(provider="openai", model="gpt-4o"),
        JudgeSpec(provider="openai", model="gpt-4o-mini", base_url="http://localhost:8000/v1"),
        JudgeSpec(provider="openai", model="gpt-4o-mini", params={"temperature": 0.5}),
        JudgeSpec(provider="openai", model="gpt-4o-mini", swap_policy="ab"),
        JudgeSpec(provider="openai", model="gpt-4o-mini", template_kind="pairwise_reference"),
        JudgeSpec(
            provider="openai",
            model="gpt-4o-mini",
            template=builtin_template("pairwise") + "\nBe brief.",
        ),
    ]
    hashes = {v.content_hash() for v in variants} | {base.content_hash()}
    assert len(hashes) == len(variants) + 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"provider": "cohere"}, "not one of openai, anthropic"),
        ({"params": {"temprature": 0}}, "Unknown judge parameter 'temprature'"),
        ({"swap_policy": "sometimes"}, "Swap policy"),
        ({"api_key_env": "sk-abcdef0123456789"}, "NAME of the environment variable"),
        ({"base_url": "api.openai.com"}, "must start with http"),
        ({"params": {"scale": "7way"}}, "'3way' or '5way'"),
    ],
)
def test_invalid_judge_specs_are_refused_with_the_fix(change, message) -> None:
    fields = {"provider": "openai", "model": "gpt-4o-mini", **change}
    with pytest.raises(InvalidInputError, match=message) as info:
        JudgeSpec(**fields).normalized()
    assert "sk-abcdef" not in str(info.value)


def test_openai_request_uses_bearer_json_mode_and_hashes_without_the_key() -> None:
    spec = JudgeSpec(provider="openai", model="gpt-4o-mini", api_key_env="OPENAI_API_KEY")
    spec = spec.normalized()
    one = build_request(spec, "hello", "sk-one")
    two = build_request(spec, "hello", "sk-two")
    assert one.url == "https://api.openai.com/v1/chat/completions"
    assert one.headers["authorization"] == "Bearer sk-one"
    body = json.loads(one.body)
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][-1] == {"role": "user", "content": "hello"}
    assert body["temperature"] == 0
    assert one.cache_key == two.cache_key
    assert "sk-one" not in repr(one)


def test_azure_style_base_url_gets_api_version_and_api_key_header() -> None:
    spec = JudgeSpec(
        provider="openai",
        model="gpt-4o",
        base_url="https://res.openai.azure.com/openai/deployments/gpt4o",
        params={"api_version": "2024-06-01"},
    ).normalized()
    req = build_request(spec, "hi", "k")
    assert req.url == (
        "https://res.openai.azure.com/openai/deployments/gpt4o/chat/completions"
        "?api-version=2024-06-01"
    )
    assert req.headers["api-key"] == "k"


def test_anthropic_request_and_reply_formats() -> None:
    spec = JudgeSpec(
        provider="anthropic", model="claude-3-5-haiku", params={"system": "Be fair."}
    ).normalized()
    req = build_request(spec, "hi", "ak")
    assert req.url == "https://api.anthropic.com/v1/messages"
    assert req.headers["x-api-key"] == "ak"
    assert req.headers["anthropic-version"] == "2023-06-01"
    body = json.loads(req.body)
    assert body["system"] == "Be fair." and body["max_tokens"] == 1024
    assert "response_format" not in body
    reply = parse_reply(
        "anthropic",
        {
            "content": [{"type": "text", "text": "[[A]]"}],
            "usage": {"input_tokens": 7, "output_tokens": 2},
        },
    )
    assert (reply.text, reply.tokens_in, reply.tokens_out) == ("[[A]]", 7, 2)


def test_missing_key_names_the_variable_to_set(monkeypatch) -> None:
    monkeypatch.delenv("JB_TEST_KEY", raising=False)
    spec = JudgeSpec(provider="openai", model="m", api_key_env="JB_TEST_KEY").normalized()
    with pytest.raises(ProviderError, match="No API key for provider 'openai': set JB_TEST_KEY"):
        resolve_api_key(spec)
    assert resolve_api_key(spec, {"JB_TEST_KEY": "from-secrets"}) == "from-secrets"
    monkeypatch.setenv("JB_TEST_KEY", "from-env")
    assert resolve_api_key(spec, {"JB_TEST_KEY": "from-secrets"}) == "from-env"
    local = JudgeSpec(provider="openai", model="m", base_url="http://localhost:11434/v1")
    assert resolve_api_key(local.normalized()) is None


def test_retry_after_accepts_seconds_milliseconds_and_dates() -> None:
    assert retry_after_seconds(httpx.Headers({"retry-after": "3"})) == 3.0
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert retry_after_seconds(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after_seconds(httpx.Headers({})) is None


def test_costs_use_the_price_table_and_unknown_models_cost_zero_with_a_note() -> None:
    prices = {"gpt-4o": (2.5, 10.0), "gpt-4o-mini": (0.15, 0.6)}
    assert cost_of("gpt-4o-mini-2024-07-18", 1_000_000, 0, prices).usd == pytest.approx(0.15)
    assert cost_of("gpt-4o", 500_000, 100_000, prices).usd == pytest.approx(2.25)
    unknown = cost_of("llama3:8b", 10**6, 10**6, prices)
    assert unknown.usd == 0 and "No price for model 'llama3:8b'" in unknown.note


def test_prices_come_from_genai_prices_without_an_override(monkeypatch) -> None:
    monkeypatch.delenv("JUDGEBOARD_PRICES_FILE", raising=False)
    assert load_prices() == {}
    # Published list prices: gpt-4o-mini $0.15 / $0.60, claude-3-5-haiku $0.80 / $4 per 1M.
    assert cost_of("gpt-4o-mini-2024-07-18", 1_000_000, 0).usd == pytest.approx(0.15)
    assert cost_of("gpt-4o-mini", 0, 1_000_000).usd == pytest.approx(0.60)
    assert cost_of("claude-3-5-haiku", 10**6, 10**6).usd == pytest.approx(4.80)
    assert cost_of("gpt-4o-mini", 1, 1).note is None
    unknown = cost_of("fake-judge", 10**6, 10**6)
    assert unknown.usd == 0 and "No price for model 'fake-judge'" in unknown.note
    assert "JUDGEBOARD_PRICES_FILE" in unknown.note


def test_a_price_file_overrides_and_extends_genai_prices(tmp_path, monkeypatch) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"gpt-4o-mini": [1.0, 2.0], "fake-judge": [3, 4]}))
    monkeypatch.setenv("JUDGEBOARD_PRICES_FILE", str(path))
    assert load_prices() == {"gpt-4o-mini": (1.0, 2.0), "fake-judge": (3.0, 4.0)}
    # The override wins over the catalogue, for the model and the models it prefixes.
    assert cost_of("gpt-4o-mini-2024-07-18", 10**6, 10**6).usd == pytest.approx(3.0)
    assert cost_of("fake-judge", 10**6, 0).usd == pytest.approx(3.0)
    assert cost_of("gpt-4o", 10**6, 0).usd == pytest.approx(2.5)  # not overridden
    path.write_text("{not json")
    with pytest.raises(InvalidInputError, match="Price file .* is not readable JSON"):
        load_prices()


def test_redact_removes_the_key_from_messages() -> None:
    assert redact("bad key sk-secret-123 given", "sk-secret-123") == "bad key [redacted] given"


def test_runs_use_an_httpx_client_that_honours_the_environment(monkeypatch) -> None:
    from httpx_aiohttp import AiohttpTransport

    from judges.runs import RunOptions
    from judges.worker import make_client

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    client = make_client(RunOptions(concurrency=64))
    try:
        assert isinstance(client, httpx.AsyncClient) and client.trust_env
        transport = client._transport  # aiohttp's pool, sized from the concurrency
        assert isinstance(transport, AiohttpTransport)
        assert transport.limits.max_connections == 64
        proxied = client._transport_for_url(httpx.URL("https://api.example/v1"))
        direct = client._transport_for_url(httpx.URL("https://internal.example/v1"))
        assert proxied is not transport and direct is transport
    finally:
        import asyncio

        asyncio.run(client.aclose())
