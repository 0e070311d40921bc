from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from db.errors import ImportFileError
from db.models import Campaign, Candidate, Output, Prompt
from ingest import outputs as importers
from ingest.outputs import import_outputs
from tests import factory


def stored(engine, campaign: str) -> tuple[dict[str, Prompt], dict[tuple[str, str], Output]]:
    """A campaign's prompts by external id and outputs by (external id, model name)."""
    with factory.session(engine) as s:
        camp = s.exec(select(Campaign).where(Campaign.name == campaign)).one()
        prompts = {
            p.external_id: p for p in s.exec(select(Prompt).where(Prompt.campaign_id == camp.id))
        }
        by_id = {p.id: p.external_id for p in prompts.values()}
        rows = s.exec(
            select(Output, Candidate.name)
            .join(Candidate, Candidate.id == Output.candidate_id)
            .where(Output.prompt_id.in_(by_id))
        ).all()
        return prompts, {(by_id[o.prompt_id], name): o for o, name in rows}


def test_jsonl_with_text_prompts(engine, tmp_path: Path) -> None:
    rows = factory.output_rows(n_prompts=3, models=("m1", "m2"))
    rows[0] |= {"latency_ms": 812.5, "cost_usd": 0.0021, "tokens": 93, "split": "test"}
    rows[0] |= {"reference": "Answer 0.", "metadata": {"temperature": 0.7, "seed": 1}}
    path = factory.write_jsonl(tmp_path / "outputs.jsonl", rows)

    result = import_outputs(engine, path, "eval-1", actor_id=factory.admin_id(engine))

    assert (result.rows_read, result.outputs_added, result.prompts_added) == (6, 6, 3)
    assert (result.candidates_added, result.outputs_existing, result.campaign_created) == (
        2,
        0,
        True,
    )
    assert (result.format, result.shape) == ("jsonl", "long")
    assert "6 outputs" in result.summary() and "eval-1" in result.summary()
    prompts, outputs = stored(engine, "eval-1")
    assert prompts["p0"].messages == [{"role": "user", "content": "Question 0?"}]
    assert (prompts["p0"].reference, prompts["p0"].category, prompts["p0"].split) == (
        "Answer 0.",
        "writing",
        "test",
    )
    first = outputs[("p0", "m1")]
    assert first.content == "m1 says 0"
    assert (first.latency_ms, first.cost_usd, first.tokens) == (812.5, 0.0021, 93)
    assert first.meta == {"temperature": 0.7, "seed": 1}
    assert outputs[("p2", "m2")].content == "m2 says 2"
    assert outputs[("p2", "m2")].latency_ms is None and outputs[("p2", "m2")].meta is None


def test_jsonl_with_message_list_prompts_and_integer_ids(engine, tmp_path: Path) -> None:
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Name a prime."},
    ]
    rows = [
        {"prompt_id": 7, "prompt": conversation, "model": m, "output": f"{m}: 7"}
        for m in ("a", "b")
    ]
    result = import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "o.ndjson", rows),
        "c",
        actor_id=factory.admin_id(engine),
    )
    assert result.outputs_added == 2
    prompts, outputs = stored(engine, "c")
    assert list(prompts) == ["7"]
    assert prompts["7"].messages == conversation
    assert outputs[("7", "b")].content == "b: 7"


def test_import_twice_changes_nothing(engine, tmp_path: Path) -> None:
    path = factory.write_jsonl(tmp_path / "o.jsonl", factory.output_rows(4, ("m1", "m2", "m3")))
    import_outputs(engine, path, "c", actor_id=factory.admin_id(engine))
    factory.admin_id(engine)  # the acting admin exists before counting
    before = factory.table_counts(engine)

    again = import_outputs(engine, path, "c", actor_id=factory.admin_id(engine))

    assert factory.table_counts(engine) == before
    assert (again.outputs_added, again.prompts_added, again.candidates_added) == (0, 0, 0)
    assert (again.outputs_existing, again.prompts_existing, again.candidates_existing) == (
        12,
        4,
        3,
    )
    assert again.campaign_created is False
    assert "Already there" in again.summary()


def test_adds_only_new_outputs_and_shares_candidates_across_campaigns(
    engine, tmp_path: Path
) -> None:
    import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "a.jsonl", factory.output_rows(2)),
        "c",
        actor_id=factory.admin_id(engine),
    )
    more = factory.output_rows(3, ("m1", "m2", "m3"))
    result = import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "b.jsonl", more),
        "c",
        actor_id=factory.admin_id(engine),
    )
    assert (result.outputs_added, result.outputs_existing) == (5, 4)
    assert (result.prompts_added, result.candidates_added) == (1, 1)

    other = import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "c.jsonl", more),
        "other",
        actor_id=factory.admin_id(engine),
    )
    assert (other.outputs_added, other.prompts_added, other.candidates_added) == (9, 3, 0)


def test_csv_with_message_list_prompts_numbers_and_metadata(engine, tmp_path: Path) -> None:
    msgs = [{"role": "system", "content": "Terse."}, {"role": "user", "content": "2+2?"}]
    rows: list[dict[str, Any]] = [
        {
            "prompt_id": "q1",
            "prompt": json.dumps(msgs),
            "model": "m1",
            "output": "4",
            "latency_ms": "120.5",
            "tokens": "3",
            "cost_usd": "",
            "metadata": json.dumps({"run": "a"}),
        },
        {"prompt_id": "q2", "prompt": "[INST] say hi [/INST]", "model": "m1", "output": "hi"},
    ]
    path = factory.write_csv(tmp_path / "outputs.csv", rows)

    result = import_outputs(engine, path, "c", actor_id=factory.admin_id(engine))

    assert (result.format, result.outputs_added) == ("csv", 2)
    prompts, outputs = stored(engine, "c")
    assert prompts["q1"].messages == msgs
    assert prompts["q2"].messages == [{"role": "user", "content": "[INST] say hi [/INST]"}]
    o = outputs[("q1", "m1")]
    assert (o.latency_ms, o.tokens, o.cost_usd, o.meta) == (120.5, 3, None, {"run": "a"})


def test_parquet(engine, tmp_path: Path) -> None:
    rows = [
        {
            "prompt_id": i,
            "prompt": [{"role": "user", "content": f"Q{i}"}],
            "model": m,
            "output": f"{m}/{i}",
            "latency_ms": 10.0 * i,
            "tokens": i,
            "category": "math",
        }
        for i in range(3)
        for m in ("m1", "m2")
    ]
    path = factory.write_parquet(tmp_path / "outputs.parquet", rows)

    result = import_outputs(engine, path, "c", actor_id=factory.admin_id(engine))

    assert (result.format, result.outputs_added, result.prompts_added) == ("parquet", 6, 3)
    prompts, outputs = stored(engine, "c")
    assert prompts["2"].messages == [{"role": "user", "content": "Q2"}]
    assert prompts["2"].category == "math"
    assert (outputs[("2", "m2")].content, outputs[("2", "m2")].latency_ms) == ("m2/2", 20.0)


def test_alpaca_eval_json_list(engine, tmp_path: Path) -> None:
    rows = [
        {
            "instruction": "Write a haiku.",
            "output": "Leaves...",
            "generator": "gpt-x",
            "dataset": "helpful_base",
        },
        {
            "instruction": "Name a color.",
            "output": "Blue",
            "generator": "gpt-x",
            "dataset": "koala",
        },
    ]
    path = tmp_path / "alpaca_eval.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")

    result = import_outputs(engine, path, "alpaca", actor_id=factory.admin_id(engine))

    assert (result.format, result.shape, result.outputs_added) == ("json", "alpaca-eval", 2)
    prompts, outputs = stored(engine, "alpaca")
    pid = hashlib.sha256(b"Write a haiku.").hexdigest()[:16]
    assert prompts[pid].messages == [{"role": "user", "content": "Write a haiku."}]
    assert prompts[pid].category == "helpful_base"
    assert outputs[(pid, "gpt-x")].content == "Leaves..."
    # Another generator's outputs for the same instructions land on the same prompts.
    for r in rows:
        r["generator"] = "claude-y"
    path.write_text(json.dumps(rows), encoding="utf-8")
    again = import_outputs(engine, path, "alpaca", actor_id=factory.admin_id(engine))
    assert (again.prompts_added, again.prompts_existing, again.outputs_added) == (0, 2, 2)


def _mt_bench_answer(qid: int, model: str, turns: list[str]) -> dict:
    return {
        "question_id": qid,
        "answer_id": f"{model}-{qid}",
        "model_id": model,
        "choices": [{"index": 0, "turns": turns}],
        "tstamp": 1687221890.5,
    }


def test_mt_bench_model_answers(engine, tmp_path: Path) -> None:
    # Question 81 already exists with its real text: the import must keep it.
    known = [
        {"prompt_id": 81, "prompt": "Compose a travel blog post.", "model": "ref", "output": "..."}
    ]
    import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "known.jsonl", known),
        "mt",
        actor_id=factory.admin_id(engine),
    )
    answers = [
        _mt_bench_answer(81, "vicuna-13b", ["Post about Hawaii.", "Rewritten with A words."]),
        _mt_bench_answer(82, "vicuna-13b", ["Draft email.", "Shorter draft."]),
        _mt_bench_answer(82, "alpaca-13b", ["Email.", "Short."]),
    ]
    path = factory.write_jsonl(tmp_path / "model_answer.jsonl", answers)

    result = import_outputs(engine, path, "mt", actor_id=factory.admin_id(engine))

    assert (result.shape, result.outputs_added) == ("mt-bench", 3)
    assert (result.prompts_added, result.prompts_existing) == (1, 1)
    prompts, outputs = stored(engine, "mt")
    assert prompts["81"].messages == [{"role": "user", "content": "Compose a travel blog post."}]
    assert prompts["82"].messages == [
        {"role": "user", "content": "(question 82, turn 1)"},
        {"role": "user", "content": "(question 82, turn 2)"},
    ]
    out = outputs[("82", "vicuna-13b")]
    assert (out.content, out.turns) == ("Shorter draft.", ["Draft email.", "Shorter draft."])
    assert out.meta == {"answer_id": "vicuna-13b-82", "tstamp": 1687221890.5}


def test_stream_with_filename_reports_progress(engine, monkeypatch) -> None:
    monkeypatch.setattr(importers, "BATCH_ROWS", 4)
    rows = factory.output_rows(5, ("m1", "m2"))
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    seen: list[int] = []

    result = import_outputs(
        engine,
        io.BytesIO(data),
        "c",
        filename="upload.jsonl",
        progress=seen.append,
        actor_id=factory.admin_id(engine),
    )

    assert result.outputs_added == 10 and result.source == "upload.jsonl"
    assert seen == [4, 8, 10]


def test_explicit_format_overrides_the_extension(sqlite_engine, tmp_path: Path) -> None:
    path = factory.write_jsonl(tmp_path / "outputs.txt", factory.output_rows(1))
    with pytest.raises(ImportFileError, match="supported are .jsonl, .ndjson, .json"):
        import_outputs(sqlite_engine, path, "c", actor_id=factory.admin_id(sqlite_engine))
    assert (
        import_outputs(
            sqlite_engine, path, "c", fmt="jsonl", actor_id=factory.admin_id(sqlite_engine)
        ).outputs_added
        == 2
    )


def test_ignored_fields_are_reported(sqlite_engine, tmp_path: Path) -> None:
    rows = [r | {"temperature": 0.2} for r in factory.output_rows(1)]
    result = import_outputs(
        sqlite_engine,
        factory.write_jsonl(tmp_path / "o.jsonl", rows),
        "c",
        actor_id=factory.admin_id(sqlite_engine),
    )
    assert result.ignored_fields == ["temperature"]
    assert "Ignored fields: temperature" in result.summary()


@pytest.fixture
def parse_in_a_second_process(monkeypatch):
    """Every file takes the big-file path: parsed in a spawned process, written here."""
    monkeypatch.setattr(importers, "PARALLEL_MIN_BYTES", 0)


def test_a_file_parsed_in_a_second_process_imports_the_same(
    sqlite_engine, tmp_path, parse_in_a_second_process
) -> None:
    path = factory.write_jsonl(tmp_path / "big.jsonl", factory.output_rows(30, ("m1", "m2")))
    result = import_outputs(sqlite_engine, path, "c", actor_id=factory.admin_id(sqlite_engine))
    assert (result.rows_read, result.outputs_added, result.prompts_added) == (60, 60, 30)
    assert factory.table_counts(sqlite_engine)["outputs"] == 60


def test_a_bad_line_found_by_the_parsing_process_writes_nothing(
    sqlite_engine, tmp_path, parse_in_a_second_process
) -> None:
    rows = factory.output_rows(30, ("m1", "m2"))
    rows[41]["latency_ms"] = "fast"
    path = factory.write_jsonl(tmp_path / "bad.jsonl", rows)
    factory.admin_id(sqlite_engine)  # the acting admin exists before counting
    before = factory.table_counts(sqlite_engine)
    with pytest.raises(ImportFileError, match=r"bad.jsonl, line 42: field 'latency_ms'"):
        import_outputs(sqlite_engine, path, "c", actor_id=factory.admin_id(sqlite_engine))
    assert factory.table_counts(sqlite_engine) == before
