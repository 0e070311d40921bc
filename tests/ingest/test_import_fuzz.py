"""Bad input must name the file, line and field, and leave every table as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from db.errors import ImportFileError
from db.models import Output
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from tests import factory

GOOD = {"prompt_id": "p1", "prompt": "Hi?", "model": "m1", "output": "Hello."}


def _jl(*records: object) -> bytes:
    return b"".join(
        (r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records
    )


def _vote(**changes: object) -> dict:
    return factory.vote_rows(1)[0] | changes


# (file name, content, expected line, expected field, a phrase of the message)
OUTPUT_CASES = {
    "malformed-json": ("o.jsonl", _jl(GOOD, b'{"prompt_id": "p2",'), 2, None, "malformed JSON"),
    "not-an-object": ("o.jsonl", _jl(GOOD, [1, 2]), 2, None, "expected an object"),
    "missing-model": (
        "o.jsonl",
        _jl(GOOD, {k: v for k, v in GOOD.items() if k != "model"}),
        2,
        "model",
        "missing",
    ),
    "latency-not-a-number": (
        "o.jsonl",
        _jl(GOOD, GOOD | {"model": "m2", "latency_ms": "fast"}),
        2,
        "latency_ms",
        "must be a number, got 'fast'",
    ),
    "negative-tokens": ("o.jsonl", _jl(GOOD | {"tokens": -3}), 1, "tokens", "non-negative"),
    "prompt-is-null": ("o.jsonl", _jl(GOOD | {"prompt": None}), 1, "prompt", "missing"),
    "prompt-is-an-object": ("o.jsonl", _jl(GOOD | {"prompt": {"x": 1}}), 1, "prompt", "an object"),
    "output-is-null": ("o.jsonl", _jl(GOOD | {"output": None}), 1, "output", "missing"),
    "message-without-role": (
        "o.jsonl",
        _jl(GOOD | {"prompt": [{"content": "Hi"}]}),
        1,
        "prompt",
        "has no 'role'",
    ),
    "metadata-not-an-object": (
        "o.jsonl",
        _jl(GOOD | {"metadata": "x"}),
        1,
        "metadata",
        "must be an object",
    ),
    "prompt-id-too-long": (
        "o.jsonl",
        _jl(GOOD | {"prompt_id": "x" * 201}),
        1,
        "prompt_id",
        "at most 200",
    ),
    "duplicate-prompt-and-model": (
        "o.jsonl",
        _jl(GOOD, GOOD | {"model": "m2"}, GOOD),
        3,
        "model",
        "also on line 1",
    ),
    "same-id-other-prompt": (
        "o.jsonl",
        _jl(GOOD, GOOD | {"model": "m2", "prompt": "Other?"}),
        2,
        "prompt",
        "different prompt than on line 1",
    ),
    "invalid-utf8": (
        "o.jsonl",
        _jl(GOOD) + b'{"prompt_id": "p2", "prompt": "caf\xe9"}\n',
        2,
        None,
        "invalid UTF-8",
    ),
    "unpaired-surrogate-escape": (
        "o.jsonl",
        _jl(GOOD, b'{"prompt_id": "p2", "prompt": "Hi", "model": "m", "output": "\\ud800"}'),
        2,
        None,
        "unpaired surrogate",
    ),
    "empty-file": ("o.jsonl", b"", None, None, "is empty"),
    "blank-lines-only": ("o.jsonl", b"\n  \n\n", None, None, "is empty"),
    "unknown-extension": ("o.xlsx", _jl(GOOD), None, None, "supported are .jsonl"),
    "json-list-malformed": (
        "o.json",
        b'[\n {"instruction": "a", "output": "b", "generator": "g"},\n {"x": }\n]',
        3,
        None,
        "malformed JSON",
    ),
    "json-list-invalid-utf8": (
        "o.json",
        b'[\n{"instruction": "a", "output": "b", "generator": "g"},\n{"instruction":'
        b' "\xff", "output": "b", "generator": "g"}]',
        3,
        None,
        "invalid UTF-8",
    ),
    "alpaca-missing-generator": (
        "o.json",
        json.dumps(
            [
                {"instruction": "a", "output": "b", "generator": "g"},
                {"instruction": "c", "output": "d"},
            ]
        ).encode(),
        1,
        "generator",
        "missing",
    ),
    "mt-bench-bad-turns": (
        "a.jsonl",
        _jl({"question_id": 81, "model_id": "m", "choices": [{"turns": [None]}]}),
        1,
        "choices[0].turns",
        "turn 1 must be a string",
    ),
    "csv-missing-column": (
        "o.csv",
        b"prompt_id,prompt,output\n1,Hi,Yo\n",
        1,
        "model",
        "no 'model' column",
    ),
    "csv-bad-number-after-multiline-record": (
        "o.csv",
        b'prompt_id,prompt,model,output,latency_ms\n1,"Hi\nthere\n",m1,"Yo",5\n2,Hey,m1,Yo,fast\n',
        5,
        "latency_ms",
        "got 'fast'",
    ),
    "csv-wrong-field-count": (
        "o.csv",
        b"prompt_id,prompt,model,output\n1,Hi,m1\n",
        2,
        None,
        "3 fields but the header has 4",
    ),
    "csv-header-only": ("o.csv", b"prompt_id,prompt,model,output\n", None, None, "is empty"),
}


@pytest.fixture
def populated(engine):
    """A database with data in it, so 'unchanged' means more than 'still empty'."""
    with factory.session(engine) as s:
        factory.campaign_with_outputs(s, "existing")
        s.commit()
    return engine


def _assert_rejected(engine, call, line, field, phrase, unit="line") -> ImportFileError:
    factory.admin_id(engine)  # the acting admin exists before counting
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as info:
        call()
    err = info.value
    assert (err.line, err.field) == (line, field), str(err)
    assert phrase in str(err)
    if line is not None:
        assert f"{unit} {line}" in str(err)
    assert factory.table_counts(engine) == before
    return err


@pytest.mark.parametrize("case", OUTPUT_CASES.values(), ids=OUTPUT_CASES.keys())
def test_bad_outputs_file(populated, tmp_path: Path, case) -> None:
    name, content, line, field, phrase = case
    path = tmp_path / name
    path.write_bytes(content)
    err = _assert_rejected(
        populated,
        lambda: import_outputs(populated, path, "new", actor_id=factory.admin_id(populated)),
        line,
        field,
        phrase,
    )
    assert str(path) in str(err)


def test_bad_rows_into_an_existing_campaign_roll_back_the_good_ones(populated, tmp_path) -> None:
    rows = factory.output_rows(3) + [GOOD | {"latency_ms": "fast"}]
    path = factory.write_jsonl(tmp_path / "o.jsonl", rows)
    _assert_rejected(
        populated,
        lambda: import_outputs(populated, path, "existing", actor_id=factory.admin_id(populated)),
        7,
        "latency_ms",
        "fast",
    )


def test_an_error_after_a_written_batch_rolls_everything_back(
    populated, tmp_path, monkeypatch
) -> None:
    from ingest import outputs as importers

    monkeypatch.setattr(importers, "BATCH_ROWS", 2)
    rows = factory.output_rows(3) + [GOOD | {"tokens": 1.5}]
    path = factory.write_jsonl(tmp_path / "o.jsonl", rows)
    _assert_rejected(
        populated,
        lambda: import_outputs(populated, path, "new", actor_id=factory.admin_id(populated)),
        7,
        "tokens",
        "1.5",
    )


def test_parquet_errors_name_the_row(populated, tmp_path: Path) -> None:
    rows = [GOOD, GOOD | {"model": "m2", "output": None}]
    path = factory.write_parquet(tmp_path / "o.parquet", rows)
    err = _assert_rejected(
        populated,
        lambda: import_outputs(populated, path, "new", actor_id=factory.admin_id(populated)),
        2,
        "output",
        "missing",
        "row",
    )
    assert f"{path}, row 2: field 'output'" in str(err)


def test_several_problems_are_listed_together(sqlite_engine, tmp_path: Path) -> None:
    rows = [GOOD | {"prompt_id": f"p{i}", "tokens": "many"} for i in range(3)]
    path = factory.write_jsonl(tmp_path / "o.jsonl", rows)
    with pytest.raises(ImportFileError) as info:
        import_outputs(sqlite_engine, path, "c", actor_id=factory.admin_id(sqlite_engine))
    msg = str(info.value)
    assert "3 problems found; nothing was imported" in msg
    assert all(f"line {n}, field 'tokens'" in msg for n in (1, 2, 3))


def test_collection_stops_at_twenty_problems(sqlite_engine, tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_bytes(b"{oops\n" * 1000)
    with pytest.raises(ImportFileError) as info:
        import_outputs(sqlite_engine, path, "c", actor_id=factory.admin_id(sqlite_engine))
    assert "The first 20 problems" in str(info.value)
    assert "line 20:" in str(info.value) and "line 21:" not in str(info.value)


def test_stream_errors_use_the_given_filename(sqlite_engine) -> None:
    import io

    with pytest.raises(ImportFileError, match=r"^upload\.jsonl, line 1: field 'model'"):
        import_outputs(
            sqlite_engine,
            io.BytesIO(_jl(GOOD | {"model": ""})),
            "c",
            filename="upload.jsonl",
            actor_id=factory.admin_id(sqlite_engine),
        )


VOTE_CASES = {
    "unknown-winner": (_jl(_vote(), _vote(winner="model_c")), 2, "winner", "got 'model_c'"),
    "unknown-rater-kind": (_jl(_vote(rater_kind="robot")), 1, "rater_kind", "human or llm"),
    "same-model-twice": (_jl(_vote(model_b="m1")), 1, "model_b", "same model"),
    "missing-judge": (
        _jl({k: v for k, v in _vote().items() if k != "judge"}),
        1,
        "judge",
        "missing",
    ),
    "conversation-without-answer": (
        _jl(_vote(conversation_a=[{"role": "user", "content": "Hi"}])),
        1,
        "conversation_a",
        "must end with the model's answer",
    ),
    "no-output-in-a-new-campaign": (
        _jl(_vote(), {k: v for k, v in _vote(question_id=9).items() if k != "output_b"}),
        None,
        None,
        "no such campaign 'new'",
    ),
    "malformed-json": (_jl(_vote()) + b"{]\n", 2, None, "malformed JSON"),
    "invalid-utf8": (b'{"question_id": "\xc3\x28"}\n', 1, None, "invalid UTF-8"),
    "empty": (b"", None, None, "is empty"),
}


@pytest.mark.parametrize("case", VOTE_CASES.values(), ids=VOTE_CASES.keys())
def test_bad_votes_file(populated, tmp_path: Path, case) -> None:
    content, line, field, phrase = case
    path = tmp_path / "votes.jsonl"
    path.write_bytes(content)
    _assert_rejected(
        populated,
        lambda: import_votes(populated, path, "new", actor_id=factory.admin_id(populated)),
        line,
        field,
        phrase,
    )


def test_a_ten_megabyte_output_is_stored_exactly(engine, tmp_path: Path) -> None:
    big = ('Ünïcødé ✓ 😀 "quoted" \\ back\nslash ' * 300_000)[:10_000_000]
    rows = [GOOD | {"output": big}, GOOD | {"model": "m2"}]
    jsonl = factory.write_jsonl(tmp_path / "big.jsonl", rows)
    as_list = tmp_path / "big.json"
    as_list.write_text(json.dumps([r | {"model": r["model"] + "-list"} for r in rows]), "utf-8")

    assert import_outputs(engine, jsonl, "c", actor_id=factory.admin_id(engine)).outputs_added == 2
    assert (
        import_outputs(engine, as_list, "c", actor_id=factory.admin_id(engine)).outputs_added == 2
    )
    with factory.session(engine) as s:
        contents = {o.content for o in s.exec(select(Output))}
    assert big in contents and len(contents) == 2


def test_csv_with_embedded_newlines_quotes_and_commas(engine, tmp_path: Path) -> None:
    tricky = 'Line one,\n"quoted", and\r\nline three\n\n  indented\tend ✓'
    big = "x" * 300_000  # longer than the csv module's default field limit
    rows = [
        {"prompt_id": "a", "prompt": 'Say "hi",\nplease', "model": "m1", "output": tricky},
        {"prompt_id": "b", "prompt": "Plain", "model": "m1", "output": big},
    ]
    path = factory.write_csv(tmp_path / "tricky.csv", rows)

    result = import_outputs(engine, path, "c", actor_id=factory.admin_id(engine))

    assert result.outputs_added == 2
    with factory.session(engine) as s:
        contents = {o.content for o in s.exec(select(Output))}
    assert contents == {tricky, big}


def test_json_list_in_tiny_chunks_keeps_line_numbers(sqlite_engine, tmp_path, monkeypatch) -> None:
    from ingest import readers as import_readers

    monkeypatch.setattr(import_readers, "_CHUNK_CHARS", 7)
    rows = [{"instruction": f"Q{i} ✓", "output": "x" * i, "generator": "g"} for i in range(30)]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    assert (
        import_outputs(
            sqlite_engine, path, "ok", actor_id=factory.admin_id(sqlite_engine)
        ).outputs_added
        == 30
    )

    rows[17]["generator"] = 5  # element 17 starts on line 2 + 5 * 17 = 87
    text = json.dumps(rows, indent=1, ensure_ascii=False)
    path.write_text(text[:-40], encoding="utf-8")  # cut off inside the last element
    factory.admin_id(sqlite_engine)  # the acting admin exists before counting
    before = factory.table_counts(sqlite_engine)
    with pytest.raises(ImportFileError) as info:
        import_outputs(sqlite_engine, path, "bad", actor_id=factory.admin_id(sqlite_engine))
    assert (info.value.line, info.value.field) == (87, "generator")
    assert "2 problems found" in str(info.value) and "malformed JSON" in str(info.value)
    assert factory.table_counts(sqlite_engine) == before
