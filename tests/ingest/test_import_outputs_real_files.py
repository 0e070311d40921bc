"""Outputs files as teams have them: scalar answers, a few bad rows, Arena-Hard answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from db.errors import ImportFileError, InvalidInputError
from ingest.outputs import import_outputs, load_questions
from tests import factory
from tests.ingest.test_import_outputs import stored


def test_numbers_and_booleans_in_text_fields_are_stored_as_their_json_text(
    engine, tmp_path: Path
) -> None:
    rows = factory.output_rows(2)
    rows[0]["output"] = True
    rows[1]["output"] = 42
    rows[2]["output"] = 1.5
    rows[2]["prompt"] = rows[3]["prompt"] = 7
    path = factory.write_jsonl(tmp_path / "o.jsonl", rows)

    result = import_outputs(engine, path, "c", actor_id=factory.admin_id(engine))

    assert result.values_as_text == 5
    assert "5 values were numbers or booleans and were stored as text" in result.summary()
    prompts, outputs = stored(engine, "c")
    assert [outputs[("p0", "m1")].content, outputs[("p0", "m2")].content] == ["true", "42"]
    assert outputs[("p1", "m1")].content == "1.5"
    assert prompts["p1"].messages == [{"role": "user", "content": "7"}]


def test_a_clean_import_says_nothing_about_scalars_or_skipped_rows(engine, tmp_path) -> None:
    path = factory.write_jsonl(tmp_path / "o.jsonl", factory.output_rows(1))
    summary = import_outputs(engine, path, "c", actor_id=factory.admin_id(engine)).summary()
    assert "stored as text" not in summary and "skipped" not in summary
    assert not (tmp_path / "o.jsonl.rejects.jsonl").exists()


def _with_bad_rows(tmp_path: Path) -> Path:
    rows: list = factory.output_rows(3)
    rows[1] = {**rows[1], "output": None}
    rows[3] = {**rows[3], "latency_ms": "fast"}
    rows.append(rows[0])  # a duplicate of line 1
    path = factory.write_jsonl(tmp_path / "o.jsonl", rows)
    with path.open("ab") as f:
        f.write(b'{"prompt_id": "p9",\n')
    return path


def test_by_default_one_bad_row_rejects_the_whole_file(engine, tmp_path: Path) -> None:
    path = _with_bad_rows(tmp_path)
    factory.admin_id(engine)
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as info:
        import_outputs(engine, path, "c", actor_id=factory.admin_id(engine))
    assert "line 2" in str(info.value) and "nothing was imported" in str(info.value)
    assert factory.table_counts(engine) == before
    assert not (tmp_path / "o.jsonl.rejects.jsonl").exists()


def test_skip_invalid_imports_the_valid_rows_and_lists_the_rest(engine, tmp_path: Path) -> None:
    path = _with_bad_rows(tmp_path)

    result = import_outputs(engine, path, "c", actor_id=factory.admin_id(engine), skip_invalid=True)

    rejects_path = tmp_path / "o.jsonl.rejects.jsonl"
    assert (result.outputs_added, result.rows_rejected) == (4, 4)
    assert result.rejects_path == str(rejects_path)
    assert f"4 invalid rows were skipped (listed in {rejects_path})" in result.summary()
    rejected = [json.loads(line) for line in rejects_path.read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rejected] == [
        (2, "output"),
        (4, "latency_ms"),
        (7, "model"),
        (8, None),
    ]
    assert rejected[0]["row"]["model"] == "m2" and "missing" in rejected[0]["reason"]
    assert "also on line 1" in rejected[2]["reason"]
    assert rejected[3]["row"] == '{"prompt_id": "p9",'
    _, outputs = stored(engine, "c")
    assert set(outputs) == {("p0", "m1"), ("p1", "m1"), ("p2", "m1"), ("p2", "m2")}


def test_skip_invalid_writes_rejects_where_asked(engine, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "bad.jsonl"
    dest.parent.mkdir()
    result = import_outputs(
        engine,
        _with_bad_rows(tmp_path),
        "c",
        actor_id=factory.admin_id(engine),
        skip_invalid=True,
        rejects=dest,
    )
    assert result.rejects_path == str(dest)
    assert len(dest.read_text().splitlines()) == 4


def test_skip_invalid_on_a_stream_needs_a_rejects_destination(engine, tmp_path: Path) -> None:
    with (
        _with_bad_rows(tmp_path).open("rb") as stream,
        pytest.raises(InvalidInputError, match="rejects"),
    ):
        import_outputs(engine, stream, "c", actor_id=factory.admin_id(engine), skip_invalid=True)


def test_a_broken_json_list_stops_even_a_lenient_import(engine, tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_bytes(b'[{"instruction": "a", "output": "b", "generator": "g"},\n {"x": }]')
    factory.admin_id(engine)
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError, match="malformed JSON"):
        import_outputs(engine, path, "c", actor_id=factory.admin_id(engine), skip_invalid=True)
    assert factory.table_counts(engine) == before
    assert not (tmp_path / "o.json.rejects.jsonl").exists()


def _arena_hard_answers(model: str, qids: list[str]) -> list[dict]:
    return [
        {
            "question_id": q,
            "answer_id": f"{model}-{q}",
            "model_id": model,
            "choices": [{"index": 0, "turns": [{"content": f"{model} on {q}", "token_len": 9}]}],
            "tstamp": 1712000000.5,
        }
        for q in qids
    ]


def _questions(tmp_path: Path) -> Path:
    return factory.write_jsonl(
        tmp_path / "question.jsonl",
        [
            {
                "question_id": "q1",
                "category": "arena-hard-v0.1",
                "cluster": "Python",
                "turns": [{"content": "Sort a list."}],
            },
            {"question_id": "q2", "category": "arena-hard-v0.1", "turns": [{"content": True}]},
        ],
    )


def test_arena_hard_answers_take_their_prompts_from_the_questions_file(
    engine, tmp_path: Path
) -> None:
    answers = factory.write_jsonl(
        tmp_path / "gpt-4-0314.jsonl", _arena_hard_answers("gpt-4-0314", ["q1", "q2"])
    )
    questions = load_questions(_questions(tmp_path))

    result = import_outputs(
        engine, answers, "ah", actor_id=factory.admin_id(engine), questions=questions
    )

    assert (result.shape, result.outputs_added, result.prompts_added) == ("mt-bench", 2, 2)
    prompts, outputs = stored(engine, "ah")
    assert prompts["q1"].messages == [{"role": "user", "content": "Sort a list."}]
    assert prompts["q1"].category == "arena-hard-v0.1"
    assert prompts["q2"].messages == [{"role": "user", "content": "true"}]
    assert "1 value was a number or boolean and was stored as text" in result.summary()
    assert outputs[("q1", "gpt-4-0314")].content == "gpt-4-0314 on q1"
    assert outputs[("q1", "gpt-4-0314")].turns == ["gpt-4-0314 on q1"]


def test_answers_imported_before_their_questions_get_the_text_later(engine, tmp_path: Path) -> None:
    answers = factory.write_jsonl(tmp_path / "a.jsonl", _arena_hard_answers("m", ["q1"]))
    import_outputs(engine, answers, "ah", actor_id=factory.admin_id(engine))
    assert stored(engine, "ah")[0]["q1"].messages[0]["content"] == "(question q1, turn 1)"

    import_outputs(
        engine,
        answers,
        "ah",
        actor_id=factory.admin_id(engine),
        questions=load_questions(_questions(tmp_path)),
    )

    assert stored(engine, "ah")[0]["q1"].messages == [{"role": "user", "content": "Sort a list."}]


def test_an_answer_to_a_question_not_in_the_questions_file_names_the_line(
    engine, tmp_path: Path
) -> None:
    answers = factory.write_jsonl(tmp_path / "a.jsonl", _arena_hard_answers("m", ["q1", "q7"]))
    with pytest.raises(ImportFileError) as info:
        import_outputs(
            engine,
            answers,
            "ah",
            actor_id=factory.admin_id(engine),
            questions=load_questions(_questions(tmp_path)),
        )
    assert (info.value.line, info.value.field) == (2, "question_id")
    assert "question 'q7' is not in the questions file" in str(info.value)


def test_a_questions_file_with_a_bad_line_names_it(tmp_path: Path) -> None:
    path = factory.write_jsonl(tmp_path / "q.jsonl", [{"question_id": "q1", "turns": []}])
    with pytest.raises(ImportFileError) as info:
        load_questions(path)
    assert (info.value.line, info.value.field) == (1, "turns")


def test_a_lenient_import_parsed_in_a_second_process_lists_the_same_rejects(
    sqlite_engine, tmp_path, monkeypatch
) -> None:
    from ingest import outputs as importers

    monkeypatch.setattr(importers, "PARALLEL_MIN_BYTES", 0)
    path = _with_bad_rows(tmp_path)
    result = import_outputs(
        sqlite_engine, path, "c", actor_id=factory.admin_id(sqlite_engine), skip_invalid=True
    )
    assert (result.outputs_added, result.rows_rejected) == (4, 4)
    rejects = (tmp_path / "o.jsonl.rejects.jsonl").read_text().splitlines()
    assert [json.loads(r)["line"] for r in rejects] == [2, 4, 7, 8]
    assert "4 invalid rows were skipped" in result.summary()


def test_the_rejects_file_cannot_be_the_input(engine, tmp_path: Path) -> None:
    path = _with_bad_rows(tmp_path)
    content = path.read_bytes()
    with pytest.raises(InvalidInputError, match="is the file being imported"):
        import_outputs(
            engine, path, "c", actor_id=factory.admin_id(engine), skip_invalid=True, rejects=path
        )
    assert path.read_bytes() == content
