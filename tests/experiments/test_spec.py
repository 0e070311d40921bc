"""Evaluation specs: the documented example parses; mistakes are named by file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from db.errors import InvalidInputError
from experiments.spec import load_spec, parse_spec

DOC = Path(__file__).resolve().parents[2] / "docs" / "EVAL_SPEC.md"

MINIMAL = """
name = "m"
[dataset]
ref = "qa@1"
[candidates]
baseline = "base"
compare = ["new@v2"]
[[judges]]
name = "j"
[[criteria]]
name = "wins"
statistic = "win_rate"
op = ">="
threshold = 0.5
"""


def _doc_example() -> str:
    return re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S).group(1)


def test_the_documented_example_parses_into_every_part() -> None:
    spec = parse_spec(_doc_example(), "EVAL_SPEC.md")
    assert spec.dataset.ref == "support-qa@3" and spec.dataset.eval_split == "test"
    assert spec.candidates == ("support-bot@v1", "support-bot@v2")
    assert spec.judges == ("gpt-judge", "gpt-grader")
    assert [(r.name, r.scale) for r in spec.rubric] == [("helpfulness", "likert5")]
    assert [c.kind for c in spec.checks] == [
        "json", "max_length", "refusal", "not_contains", "regex",
    ]  # fmt: skip
    assert spec.checks[0].schema == {"type": "object", "required": ["answer"]}
    by_name = {c.name: c for c in spec.criteria}
    assert by_name["beats the baseline"].judge == "gpt-judge"
    assert (by_name["p95 latency"].op, by_name["p95 latency"].threshold) == ("<=", 2000.0)
    assert by_name["valid JSON"].check == "json"
    assert (by_name["helpful"].rubric, by_name["helpful"].judge) == ("helpfulness", "gpt-grader")
    assert spec.inconclusive_exit == 2 and len(spec.content_hash) == 64


def test_defaults_of_a_minimal_spec(tmp_path) -> None:
    path = tmp_path / "eval.toml"
    path.write_text(MINIMAL)
    spec = load_spec(path)
    assert (spec.dataset.eval_split, spec.dataset.dev_split) == ("test", "dev")
    assert spec.criteria[0].level == 0.95 and spec.criteria[0].candidate is None
    assert spec.source == str(path) and spec.text == MINIMAL


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("threshold = 0.5", 'threshold = "0.5"'),
         r"eval\.toml: criteria\[0\]\.threshold: must be a number"),
        (('op = ">="', 'op = ">"'), r"criteria\[0\]\.op: '>' must be '>=' or '<='"),
        (('statistic = "win_rate"', 'statistic = "winrate"'),
         r"criteria\[0\]\.statistic: 'winrate' is not one of: win_rate"),
        (('ref = "qa@1"', 'ref = "qa"'), r"dataset\.ref: 'qa' must pin a version"),
        (('compare = ["new@v2"]', 'compare = ["base"]'),
         r"candidates\.compare\[0\]: 'base' is the"),
        (('name = "j"', 'nmae = "j"'), r"judges\[0\]\.nmae: unknown key\. Known keys here: name"),
        (('name = "m"', 'name = "m"\ncolour = 1'),
         r"eval\.toml: colour: unknown key\. Known keys here: name, description, dataset"),
        (("[[judges]]\nname = \"j\"\n", ""), r"criteria\[0\]: a win_rate criterion needs a judge"),
        (("threshold = 0.5", "threshold = 1.5"), r"a win rate is between 0 and 1"),
        (('name = "m"', 'name = "m" ='), r"eval\.toml: not valid TOML"),
    ],
)  # fmt: skip
def test_a_mistake_names_the_file_the_key_and_the_fix(tmp_path, edit, message) -> None:
    path = tmp_path / "eval.toml"
    path.write_text(MINIMAL.replace(*edit, 1))
    with pytest.raises(InvalidInputError, match=message):
        load_spec(path)


def test_check_definitions_are_validated_when_the_spec_is_read() -> None:
    bad_regex = MINIMAL + '[[checks]]\nname = "r"\nkind = "regex"\npattern = "(oops"\n'
    with pytest.raises(InvalidInputError, match=r"checks\[0\]: Check 'r'.*not a valid regex"):
        parse_spec(bad_regex, "s.toml")
    wrong_key = MINIMAL + '[[checks]]\nname = "l"\nkind = "max_length"\nvalue = "x"\n'
    with pytest.raises(InvalidInputError, match=r"checks\[0\]\.value: unknown key.*max_chars"):
        parse_spec(wrong_key, "s.toml")
    unknown_check = MINIMAL + (
        '[[checks]]\nname = "a"\nkind = "json"\n'
        '[[criteria]]\nname = "p"\nstatistic = "check_pass_rate"\ncheck = "b"\n'
        'op = ">="\nthreshold = 0.9\n'
    )
    with pytest.raises(InvalidInputError, match=r"criteria\[1\]\.check: no check named 'b'"):
        parse_spec(unknown_check, "s.toml")


def test_rubric_criteria_are_named_and_typed() -> None:
    rubric = MINIMAL + ('[[rubric]]\nname = "clarity"\nscale = "categories"\n')
    with pytest.raises(InvalidInputError, match=r"rubric\[0\]\.scale: 'categories' is not one of"):
        parse_spec(rubric, "s.toml")
    no_rubric = MINIMAL + (
        '[[criteria]]\nname = "clear"\nstatistic = "rubric_mean"\nop = ">="\nthreshold = 4\n'
    )
    with pytest.raises(InvalidInputError, match=r"criteria\[1\]: a rubric_mean criterion needs"):
        parse_spec(no_rubric, "s.toml")


def test_a_missing_file_names_the_path(tmp_path) -> None:
    with pytest.raises(InvalidInputError, match="Cannot read the evaluation spec .*nope.toml"):
        load_spec(tmp_path / "nope.toml")
