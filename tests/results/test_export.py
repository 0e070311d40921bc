from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import select

from annotate.campaigns import CriterionSpec
from db.errors import InvalidInputError
from db.models import Prompt
from results.export import (
    BASE_SCHEMA,
    EXPORT_FORMATS,
    export_judgments,
    safe_file_stem,
    score_column_stems,
)
from tests import factory

ROOT = Path(__file__).resolve().parents[2]
CRITERIA = [CriterionSpec("Helpfulness"), CriterionSpec("safety / harm", scale="binary")]


def _campaign(engine) -> int:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=1, models=("m1", "m2"))
        comp = data["comparisons"][0]
        rater = factory.user(s, "alice@x.org")
        factory.human_judgment(
            s, comp, rater, -2, shown_order="ba", time_on_task_ms=5100, rationale='says "hi"\nok'
        )
        judge = factory.judge(s)
        for order, pref in (("ab", -1), ("ba", 0)):
            factory.judge_judgment(s, comp, judge, pref, order)
        s.commit()
        return data["campaign"].id


def _read(fmt: str, path) -> pd.DataFrame:
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path)
    return pd.DataFrame([json.loads(line) for line in path.read_text().splitlines()])


def _export(engine, campaign_id: int, fmt: str, tmp_path, **kwargs) -> pd.DataFrame:
    dest = tmp_path / f"out.{fmt}"
    export_judgments(engine, campaign_id, fmt, dest, actor_id=factory.admin_id(engine), **kwargs)
    return _read(fmt, dest).sort_values("judgment_id").reset_index(drop=True)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_export_writes_every_judgment_with_provenance(engine, tmp_path, fmt) -> None:
    campaign_id = _campaign(engine)
    dest = tmp_path / f"out.{fmt}"
    assert export_judgments(engine, campaign_id, fmt, dest, actor_id=factory.admin_id(engine)) == 3
    frame = _read(fmt, dest).sort_values("judgment_id")
    human = frame[frame.rater_kind == "human"].iloc[0]
    assert human.rater == "alice@x.org"
    assert (human.model_a, human.model_b, human.shown_order) == ("m1", "m2", "ba")
    assert (human.preference, human.winner, human.time_on_task_ms) == (-2, "a", 5100)
    assert human.rationale == 'says "hi"\nok'
    assert bool(human.rater_active)
    judge_rows = frame[frame.rater_kind == "llm"]
    assert set(judge_rows.rater) == {"gpt-judge@v1"}
    assert sorted(zip(judge_rows.preference, judge_rows.paired_preference, strict=True)) == [
        (-1, 0),
        (0, -1),
    ]


def _full_campaign(engine) -> dict:
    """One comparison with a revised human verdict, a re-show, a gold flag, rubric scores,
    and a real judge config's two swapped verdicts with raw replies."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=1, models=("m1", "m2"), criteria=CRITERIA)
        prompt = data["prompts"][0]
        prompt.split, prompt.reference = "test", "the reference"
        comp = data["comparisons"][0]
        comp.check_kind, comp.expected_preference = "gold", -1
        s.add_all([prompt, comp])
        out_a = data["outputs"][(prompt.id, "m1")]
        out_b = data["outputs"][(prompt.id, "m2")]
        ana = factory.user(s, "ana@x.org")
        old = factory.human_judgment(s, comp, ana, 1, version=1, is_current=False)
        new = factory.human_judgment(s, comp, ana, -1, version=2, time_on_task_ms=900)
        factory.score(s, new, out_a, "Helpfulness", 4)
        factory.score(s, new, out_b, "Helpfulness", 2)
        factory.score(s, new, out_b, "safety / harm", 1)
        reshow = factory.human_judgment(s, comp, ana, -1, shown_order="ba", is_reshow=True)
        judge = factory.judge_config(
            s, "exp-judge", template="Q: {question} A: {answer_a} B: {answer_b}"
        )
        verdicts = {}
        for order, pref, reply in (("ab", -1, "[[A]] first"), ("ba", 1, "[[B]] second")):
            row = factory.judge_judgment(s, comp, judge, pref, order)
            row.raw_reply = reply
            s.add(row)
            verdicts[order] = row.id
        s.commit()
        return {
            "campaign": data["campaign"].id,
            "old": old.id,
            "new": new.id,
            "reshow": reshow.id,
            "judge": judge,
            "verdicts": verdicts,
        }


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_export_carries_texts_scores_replies_revisions_and_flags(engine, tmp_path, fmt) -> None:
    made = _full_campaign(engine)
    frame = _export(engine, made["campaign"], fmt, tmp_path).set_index("judgment_id")
    assert len(frame) == 5
    row = frame.loc[made["new"]]
    assert (row.prompt, row.reference, row.category, row.split) == (
        "Question 0?",
        "the reference",
        "writing",
        "test",
    )
    assert (row.output_a, row.output_b) == ("m1 answer 0", "m2 answer 0")
    assert (row.score_helpfulness_a, row.score_helpfulness_b) == (4.0, 2.0)
    assert pd.isna(row.score_safety_harm_a) and row.score_safety_harm_b == 1.0
    assert (row.version, bool(row.is_current), row.time_on_task_ms) == (2, True, 900)
    assert bool(row.is_gold) and not bool(row.is_attention) and not bool(row.is_reshow)
    old = frame.loc[made["old"]]
    assert (old.version, bool(old.is_current)) == (1, False)
    assert pd.isna(old.score_helpfulness_a)
    assert bool(frame.loc[made["reshow"]].is_reshow)
    judge = made["judge"]
    template_hash = hashlib.sha256(judge.template.encode()).hexdigest()
    for order, other in (("ab", "ba"), ("ba", "ab")):
        verdict = frame.loc[made["verdicts"][order]]
        assert verdict.judge == "exp-judge@v1" and verdict.judge_version == 1
        assert verdict.judge_config_hash == judge.content_hash
        assert verdict.template_hash == template_hash
        assert verdict.shown_order == order and verdict.paired_shown_order == other
        assert verdict.paired_raw_reply == frame.loc[made["verdicts"][other]].raw_reply
    assert frame.loc[made["verdicts"]["ab"]].raw_reply == "[[A]] first"
    humans = frame[frame.rater_kind == "human"]
    assert humans.paired_raw_reply.isna().all() and humans.template_hash.isna().all()


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_a_column_empty_in_the_first_chunk_is_written_in_a_later_one(engine, tmp_path, fmt) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=3, models=("m1", "m2"), criteria=CRITERIA)
        comps = data["comparisons"]
        raters = factory.raters(s, 2)
        for comp in comps[:2]:  # the first chunk: no rationale, time, scores, judge or reply
            factory.human_judgment(s, comp, raters[0], None)
        late = factory.human_judgment(
            s, comps[2], raters[1], 2, rationale="B is better", time_on_task_ms=1234
        )
        prompt = next(p for p in data["prompts"] if p.id == comps[2].prompt_id)
        factory.score(s, late, data["outputs"][(prompt.id, "m2")], "Helpfulness", 5)
        judge = factory.judge(s)
        verdict = factory.judge_judgment(s, comps[2], judge, 1, "ab")
        verdict.raw_reply = "B wins"
        s.add(verdict)
        s.commit()
        campaign_id = data["campaign"].id
    frame = _export(engine, campaign_id, fmt, tmp_path, chunk_rows=2)
    assert len(frame) == 4
    assert frame.rationale.iloc[:2].isna().all() and frame.rationale.iloc[2] == "B is better"
    assert frame.time_on_task_ms.iloc[2] == 1234 and frame.preference.iloc[2] == 2
    assert frame.score_helpfulness_b.iloc[2] == 5.0
    assert frame.raw_reply.iloc[3] == "B wins" and frame.judge.iloc[3] == "gpt-judge@v1"
    assert frame.winner.iloc[:2].isna().all()


def test_parquet_has_one_schema_whatever_the_first_chunk_holds(engine, tmp_path) -> None:
    import pyarrow.parquet as pq

    campaign_id = _campaign(engine)
    dest = tmp_path / "one.parquet"
    export_judgments(
        engine, campaign_id, "parquet", dest, actor_id=factory.admin_id(engine), chunk_rows=1
    )
    schema = pq.read_schema(dest)
    assert pq.ParquetFile(dest).metadata.num_row_groups == 3
    assert schema.field("rationale").type == BASE_SCHEMA.field("rationale").type
    assert schema.field("time_on_task_ms").type == BASE_SCHEMA.field("time_on_task_ms").type


def test_a_conversation_prompt_is_exported_as_its_messages(engine, tmp_path) -> None:
    campaign_id = _campaign(engine)
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Now what?"},
    ]
    with factory.session(engine) as s:
        prompt = s.exec(select(Prompt).where(Prompt.campaign_id == campaign_id)).one()
        prompt.messages = messages
        s.add(prompt)
        s.commit()
    frame = _export(engine, campaign_id, "jsonl", tmp_path)
    assert json.loads(frame.prompt.iloc[0]) == messages


def test_criterion_columns_are_safe_and_unique() -> None:
    assert score_column_stems(["Tone", "tone!", "Ärger / Fehler", "?", "tone_2"]) == [
        "score_tone",
        "score_tone_2",
        "score_arger_fehler",
        "score_criterion",
        "score_tone_2_2",
    ]


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("Demo: assistant quality", "Demo-assistant-quality"),
        ("../../etc/passwd", "etc-passwd"),
        (".hidden", "hidden"),
        ("a\\b/c", "a-b-c"),
        ("Qualität März", "Qualität-März"),
        (":::", "campaign"),
        ("", "campaign"),
        ("CON", "CON_"),
        ("-rf", "rf"),
    ],
)
def test_file_stem_is_safe_for_any_campaign_name(name, stem) -> None:
    assert safe_file_stem(name) == stem


def test_file_stem_is_bounded() -> None:
    stem = safe_file_stem("ü" * 500)
    assert 0 < len(stem.encode("utf-8")) <= 80
    assert re.fullmatch(r"[\w.-]+", safe_file_stem("x" * 500 + ": y"))


def test_every_column_is_described_in_the_docs() -> None:
    docs = (ROOT / "docs" / "EXPORT.md").read_text(encoding="utf-8")
    missing = [name for name in BASE_SCHEMA.names if f"`{name}`" not in docs]
    assert not missing
    assert "score_<criterion>_a" in docs


def test_export_of_an_empty_campaign_still_has_the_columns(engine, tmp_path) -> None:
    with factory.session(engine) as s:
        campaign_id = factory.campaign_with_outputs(s, n_prompts=1, criteria=CRITERIA)[
            "campaign"
        ].id
        s.commit()
    dest = tmp_path / "empty.parquet"
    assert (
        export_judgments(engine, campaign_id, "parquet", dest, actor_id=factory.admin_id(engine))
        == 0
    )
    columns = pd.read_parquet(dest).columns
    assert {"paired_preference", "score_helpfulness_a", "score_safety_harm_b"} <= set(columns)


def test_unknown_export_format_names_the_supported_ones(engine, tmp_path) -> None:
    with pytest.raises(InvalidInputError, match="parquet, csv, jsonl"):
        export_judgments(engine, 1, "xlsx", tmp_path / "x.xlsx", actor_id=factory.admin_id(engine))
