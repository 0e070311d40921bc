"""Hostile import files (issue 13): each is imported correctly or refused with a message
naming the file, line and field, with the database unchanged, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from db.errors import ImportFileError
from db.models import Candidate, Judgment, Output, Prompt
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from tests import factory


def _refused(engine, run, path: Path) -> ImportFileError:
    """Run an import expected to fail; assert nothing was written and return the error."""
    factory.admin_id(engine)  # the acting admin exists before counting
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as info:
        run(engine, path, "hostile", actor_id=factory.admin_id(engine))
    assert factory.table_counts(engine) == before
    assert str(path) in str(info.value)
    return info.value


# ---- 14. NUL characters --------------------------------------------------------------------


def test_nul_characters_in_outputs_are_removed_and_counted(engine, tmp_path: Path) -> None:
    rows = [
        {
            "prompt_id": "p\u00001",
            "prompt": "Ques\u0000tion?",
            "model": "m\u00001",
            "output": "ans\u0000wer",
            "metadata": {"note": "a\u0000b", "k\u0000": 1},
        }
    ]
    path = factory.write_jsonl(tmp_path / "o.jsonl", rows)

    result = import_outputs(engine, path, "nul", actor_id=factory.admin_id(engine))

    assert result.outputs_added == 1
    assert "6 NUL characters were removed" in result.summary()
    with factory.session(engine) as s:
        prompt = s.exec(select(Prompt)).one()
        output = s.exec(select(Output)).one()
        assert prompt.external_id == "p1"
        assert prompt.messages == [{"role": "user", "content": "Question?"}]
        assert s.exec(select(Candidate.name)).one() == "m1"
        assert output.content == "answer" and output.meta == {"note": "ab", "k": 1}


def test_nul_characters_in_csv_and_parquet_are_removed(engine, tmp_path: Path) -> None:
    rows = [{"prompt_id": "p1", "prompt": "Q\u0000?", "model": "m1", "output": "a\u0000"}]
    pq_path = factory.write_parquet(tmp_path / "o.parquet", [rows[0] | {"model": "m2"}])
    rows[0]["metadata"] = '{"note": "x\\u0000"}'  # JSON text in a CSV cell
    csv_path = factory.write_csv(tmp_path / "o.csv", rows)

    first = import_outputs(engine, csv_path, "nul", actor_id=factory.admin_id(engine))
    second = import_outputs(engine, pq_path, "nul", actor_id=factory.admin_id(engine))

    assert "3 NUL characters were removed" in first.summary()
    assert "2 NUL characters were removed" in second.summary()
    with factory.session(engine) as s:
        assert sorted(o.content for o in s.exec(select(Output))) == ["a", "a"]


def test_nul_characters_in_votes_are_removed_and_counted(engine, tmp_path: Path) -> None:
    rows = factory.vote_rows(n_questions=1, judge="rater\u00001", rationale="be\u0000cause")
    rows[0]["output_a"] += "\u0000"
    path = factory.write_jsonl(tmp_path / "v.jsonl", rows)

    result = import_votes(engine, path, "nul", actor_id=factory.admin_id(engine))

    assert result.judgments_added == 1
    assert "3 NUL characters were removed" in result.summary()
    with factory.session(engine) as s:
        assert s.exec(select(Judgment.rationale)).one() == "because"
        assert "\u0000" not in "".join(o.content for o in s.exec(select(Output)))


# ---- 13. tracebacks instead of messages: nesting, numeric ranges, corrupt Parquet --------


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_deeply_nested_metadata_is_refused_naming_the_field(
    engine, tmp_path: Path, suffix: str
) -> None:
    good = '{"prompt_id": "p1", "prompt": "Q?", "model": "m1", "output": "A"}'
    bad = '{"prompt_id": "p2", "prompt": "Q?", "model": "m1", "output": "A", "metadata": '
    bad += '{"x": ' + _deep(200_000) + "}}"
    text = f"{good}\n{bad}\n" if suffix == ".jsonl" else f"[{good},\n{bad}]\n"
    path = tmp_path / f"deep{suffix}"
    path.write_text(text, encoding="utf-8")

    err = _refused(engine, import_outputs, path)

    assert (err.line, err.field) == (2, "metadata")
    assert "nested more than 64 levels" in str(err)


def test_deeply_nested_metadata_in_a_csv_cell_is_refused(engine, tmp_path: Path) -> None:
    rows = [{"prompt_id": "p1", "prompt": "Q?", "model": "m1", "output": "A"}]
    rows[0]["metadata"] = '{"x": ' + _deep(100_000) + "}"
    err = _refused(engine, import_outputs, factory.write_csv(tmp_path / "deep.csv", rows))
    assert (err.line, err.field) == (2, "metadata")


@pytest.mark.parametrize(
    ("field", "value"),
    [("tokens", 2**63), ("tokens", 3_000_000_000), ("latency_ms", 1e300), ("cost_usd", 1e300)],
)
def test_numbers_out_of_their_documented_range_are_refused(
    engine, tmp_path: Path, field: str, value: float
) -> None:
    rows = [{"prompt_id": "p1", "prompt": "Q?", "model": "m1", "output": "A", field: value}]
    err = _refused(engine, import_outputs, factory.write_jsonl(tmp_path / "n.jsonl", rows))
    assert (err.line, err.field) == (1, field)
    assert "at most" in str(err)


def test_the_largest_token_count_in_range_imports(engine, tmp_path: Path) -> None:
    rows = [{"prompt_id": "p1", "prompt": "Q?", "model": "m1", "output": "A"}]
    rows[0]["tokens"] = 2**31 - 1
    path = factory.write_jsonl(tmp_path / "n.jsonl", rows)
    import_outputs(engine, path, "ok", actor_id=factory.admin_id(engine))
    with factory.session(engine) as s:
        assert s.exec(select(Output.tokens)).one() == 2**31 - 1


@pytest.mark.parametrize("tstamp", [1e12, 1e20, -5])
def test_vote_timestamps_outside_plausible_epoch_seconds_are_refused(
    engine, tmp_path: Path, tstamp: float
) -> None:
    rows = factory.vote_rows(n_questions=1, tstamp=tstamp)
    err = _refused(engine, import_votes, factory.write_jsonl(tmp_path / "v.jsonl", rows))
    assert (err.line, err.field) == (1, "tstamp")


def test_a_corrupt_parquet_data_page_is_one_clear_error(engine, tmp_path: Path) -> None:
    rows = [
        {"prompt_id": f"p{i}", "prompt": f"Question {i}?" * 50, "model": "m1", "output": "A" * 500}
        for i in range(200)
    ]
    path = factory.write_parquet(tmp_path / "bad.parquet", rows)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 400] = b"\xff" * 400
    path.write_bytes(bytes(data))

    err = _refused(engine, import_outputs, path)

    assert "Parquet" in str(err)


# ---- 15. amplification: a count-like field is bounded before anything is allocated --------


def test_a_turn_beyond_the_documented_maximum_is_refused(engine, tmp_path: Path) -> None:
    row = {"question_id": 1, "model_a": "a", "model_b": "b", "winner": "tie", "judge": "r"}
    row |= {"output_a": "x", "output_b": "y", "turn": 2_000_000}
    err = _refused(engine, import_votes, factory.write_jsonl(tmp_path / "v.jsonl", [row]))
    assert (err.line, err.field) == (1, "turn")
    assert "at most 100" in str(err)


def test_a_turn_the_conversation_does_not_have_is_refused(engine, tmp_path: Path) -> None:
    conv = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    row = {"question_id": 1, "model_a": "a", "model_b": "b", "winner": "tie", "judge": "r"}
    row |= {"conversation_a": conv, "conversation_b": conv[:1] + [conv[1] | {"content": "Yo"}]}
    row["turn"] = 3
    err = _refused(engine, import_votes, factory.write_jsonl(tmp_path / "v.jsonl", [row]))
    assert (err.line, err.field) == (1, "turn")
    assert "has 1" in str(err)


# ---- 12. CSV quoting that swallows rows -------------------------------------------------


def test_an_unterminated_csv_quote_is_refused_naming_where_it_opened(
    engine, tmp_path: Path
) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(
        "prompt_id,prompt,model,output\n"
        "p1,Q1?,m1,fine\n"
        'p2,Q2?,m1,"never closed\n'
        "p3,Q3?,m1,swallowed\n"
        "p4,Q4?,m1,swallowed too\n",
        encoding="utf-8",
    )
    err = _refused(engine, import_outputs, path)
    assert (err.line, err.field) == (3, "output")
    assert "never closed" in str(err)


def test_a_quoted_csv_field_spanning_many_lines_is_warned_about(engine, tmp_path: Path) -> None:
    rows = [{"prompt_id": "p1", "prompt": "Q?", "model": "m1", "output": "line\n" * 250}]
    rows.append({"prompt_id": "p2", "prompt": "Q?", "model": "m1", "output": "short"})
    path = factory.write_csv(tmp_path / "long.csv", rows)

    result = import_outputs(engine, path, "long", actor_id=factory.admin_id(engine))

    assert result.outputs_added == 2
    assert "line 2, field 'output' spans 251 lines" in result.summary()


# ---- 17. smaller messages: one object in .json, CR line endings, duplicate keys ----------


@pytest.mark.parametrize("run", [import_outputs, import_votes])
def test_a_json_file_holding_one_object_says_expected_a_json_list_once(
    engine, tmp_path: Path, run
) -> None:
    path = tmp_path / "one.json"
    path.write_text(
        '{\n  "prompt_id": "p1",\n  "prompt": "Q?",\n  "model": "m1",\n  "output": "A"\n}\n',
        encoding="utf-8",
    )
    err = _refused(engine, run, path)
    assert "expected a JSON list" in str(err)
    assert "malformed" not in str(err) and "problems" not in str(err)


def test_cr_only_line_endings_are_line_endings(engine, tmp_path: Path) -> None:
    rows = factory.output_rows(n_prompts=2, models=("m1",))
    jsonl = tmp_path / "cr.jsonl"
    jsonl.write_bytes(factory.write_jsonl(jsonl, rows).read_bytes().replace(b"\n", b"\r"))
    csv_path = tmp_path / "cr.csv"
    csv_rows = [r | {"model": "m2"} for r in rows]
    csv_path.write_bytes(factory.write_csv(csv_path, csv_rows).read_bytes().replace(b"\r\n", b"\r"))

    first = import_outputs(engine, jsonl, "cr", actor_id=factory.admin_id(engine))
    second = import_outputs(engine, csv_path, "cr", actor_id=factory.admin_id(engine))

    assert (first.outputs_added, second.outputs_added) == (2, 2)


def test_a_cr_only_file_names_the_right_line(engine, tmp_path: Path) -> None:
    path = tmp_path / "cr.jsonl"
    good = '{"prompt_id": "p1", "prompt": "Q?", "model": "m1", "output": "A"}'
    path.write_bytes(f"{good}\r{good.replace('p1', 'p2')}\r{{broken\r".encode())
    err = _refused(engine, import_outputs, path)
    assert err.line == 3


def test_duplicate_json_keys_are_refused_naming_the_key(engine, tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    good = '{"prompt_id": "p1", "prompt": "Q?", "model": "m1", "output": "A"}'
    bad = '{"prompt_id": "p2", "prompt": "Q?", "model": "m1", "output": "A", "model": "m2"}'
    path.write_text(f"{good}\n{bad}\n", encoding="utf-8")
    err = _refused(engine, import_outputs, path)
    assert (err.line, err.field) == (2, "model")
    assert "twice" in str(err)


def test_duplicate_keys_in_a_vote_are_refused(engine, tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    row = factory.vote_rows(n_questions=1)[0]
    text = json.dumps(row)[:-1] + ', "winner": "model_b"}'
    path.write_text(f"[\n{text}\n]\n", encoding="utf-8")
    err = _refused(engine, import_votes, path)
    assert (err.line, err.field) == (2, "winner")


def test_duplicate_csv_headers_are_refused_naming_the_header(engine, tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("prompt_id,prompt,model,output,model\np1,Q?,m1,A,m2\n", encoding="utf-8")
    err = _refused(engine, import_outputs, path)
    assert (err.line, err.field) == (1, "model")
    assert "twice" in str(err)


# ---- 10. size limits on imported text fields -----------------------------------------------

_BIG = 10_000_001


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("output", "x" * _BIG),
        ("prompt", "q" * _BIG),
        ("prompt", [{"role": "user", "content": "q" * _BIG}]),
        ("reference", "r" * _BIG),
        ("metadata", {"blob": "m" * 1_000_001}),
        ("prompt_id", 10**250),
        ("prompt_id", 1e300),
        ("model", "m" * 201),
        ("category", "c" * 101),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else type(v).__name__,
)
def test_an_outputs_field_over_its_size_limit_is_refused_naming_it(
    engine, tmp_path: Path, field: str, value: object
) -> None:
    row = {"prompt_id": "p1", "prompt": "Q?", "model": "m1", "output": "A", field: value}
    err = _refused(engine, import_outputs, factory.write_jsonl(tmp_path / "big.jsonl", [row]))
    assert (err.line, err.field) == (1, field)
    assert "at most" in str(err)


@pytest.mark.parametrize(
    ("field", "value"),
    [("rationale", "r" * 100_001), ("output_a", "a" * _BIG), ("judge", "j" * 201)],
    ids=lambda v: v if len(v) < 20 else "long",
)
def test_a_vote_field_over_its_size_limit_is_refused_naming_it(
    engine, tmp_path: Path, field: str, value: str
) -> None:
    rows = factory.vote_rows(n_questions=1)
    rows[0][field] = value
    err = _refused(engine, import_votes, factory.write_jsonl(tmp_path / "big.jsonl", rows))
    assert (err.line, err.field) == (1, field)
    assert "at most" in str(err)


def test_an_answer_turn_over_the_size_limit_is_refused(engine, tmp_path: Path) -> None:
    row = {"question_id": 1, "model_id": "m1", "choices": [{"turns": ["ok", "t" * _BIG]}]}
    err = _refused(engine, import_outputs, factory.write_jsonl(tmp_path / "big.jsonl", [row]))
    assert (err.line, err.field) == (1, "choices[0].turns")
