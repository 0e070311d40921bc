"""Deterministic checks: each kind passing and failing, with its reason."""

from __future__ import annotations

import pytest

from db.errors import InvalidInputError
from experiments.checks import Check, compile_check, run_check


def test_contains_and_not_contains_with_and_without_case() -> None:
    has = Check("has", "contains", value="Paris")
    assert run_check(has, "It is Paris.").passed
    miss = run_check(has, "It is paris.")
    assert not miss.passed and "does not contain 'Paris'" in miss.detail
    assert run_check(Check("has", "contains", value="Paris", case_sensitive=False), "paris").passed
    assert not run_check(Check("no", "not_contains", value="TODO"), "a TODO left").passed
    assert run_check(Check("no", "not_contains", value="TODO"), "done").passed


def test_regex_searches_anywhere_and_names_the_match() -> None:
    check = Check("date", "regex", pattern=r"\d{4}-\d{2}-\d{2}")
    hit = run_check(check, "due 2026-11-30, ok")
    assert hit.passed and "2026-11-30" in hit.detail
    assert run_check(check, "tomorrow").detail == "no match"


def test_an_invalid_or_oversized_pattern_is_refused_naming_the_check() -> None:
    with pytest.raises(InvalidInputError, match="Check 'bad'.*not a valid regex"):
        compile_check(Check("bad", "regex", pattern="(unclosed"))
    with pytest.raises(InvalidInputError, match="at most 1,000"):
        compile_check(Check("big", "regex", pattern="a" * 1001))


def test_a_catastrophically_backtracking_pattern_fails_the_check_instead_of_hanging() -> None:
    result = run_check(Check("slow", "regex", pattern="(a|aa)+$"), "a" * 60 + "b")
    assert not result.passed and "longer than 0.5 s" in result.detail


def test_json_valid_invalid_and_against_a_schema() -> None:
    assert run_check(Check("j", "json"), ' {"a": 1}\n').passed
    bad = run_check(Check("j", "json"), "{'a': 1}")
    assert not bad.passed and bad.detail.startswith("not valid JSON")
    schema = {
        "type": "object",
        "required": ["answer"],
        "properties": {"answer": {"type": "integer"}},
    }
    typed = Check("j", "json", schema=schema)
    assert run_check(typed, '{"answer": 4}').passed
    wrong = run_check(typed, '{"answer": "four"}')
    assert not wrong.passed and "at answer" in wrong.detail and "integer" in wrong.detail
    with pytest.raises(InvalidInputError, match="not a valid JSON Schema"):
        compile_check(Check("j", "json", schema={"type": "nonsense"}))


def test_max_length_counts_characters() -> None:
    check = Check("short", "max_length", max_chars=5)
    assert run_check(check, "héllo").passed
    too_long = run_check(check, "hello!")
    assert not too_long.passed and too_long.detail == "6 characters (at most 5)"


@pytest.mark.parametrize(
    "text",
    ["I'm sorry, but I can't help with that.", "As an AI language model, I cannot do this.",
     "I must decline this request."],
)  # fmt: skip
def test_default_refusal_patterns_catch_common_refusals(text) -> None:
    result = run_check(Check("no-refusal", "refusal"), text)
    assert not result.passed and result.detail.startswith("refusal:")


def test_a_plain_answer_is_no_refusal_and_expect_refusal_turns_the_check_round() -> None:
    assert run_check(Check("r", "refusal"), "The capital of France is Paris.").passed
    must = Check("r", "refusal", expect_refusal=True)
    assert run_check(must, "I cannot help with that request.").passed
    assert not run_check(must, "Sure, here is how.").passed
    custom = Check("r", "refusal", patterns=("nope",))
    assert not run_check(custom, "NOPE.").passed


def test_an_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="contains, not_contains, regex, json"):
        compile_check(Check("x", "length"))
