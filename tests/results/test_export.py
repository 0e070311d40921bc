from __future__ import annotations

import json

import pandas as pd
import pytest

from db.errors import InvalidInputError
from results.export import export_judgments
from tests import factory


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


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
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


def test_export_of_an_empty_campaign_still_has_the_columns(engine, tmp_path) -> None:
    with factory.session(engine) as s:
        campaign_id = factory.campaign_with_outputs(s, n_prompts=1)["campaign"].id
        s.commit()
    dest = tmp_path / "empty.parquet"
    assert (
        export_judgments(engine, campaign_id, "parquet", dest, actor_id=factory.admin_id(engine))
        == 0
    )
    assert "paired_preference" in pd.read_parquet(dest).columns


def test_unknown_export_format_names_the_supported_ones(engine, tmp_path) -> None:
    with pytest.raises(InvalidInputError, match="parquet, csv, jsonl"):
        export_judgments(engine, 1, "xlsx", tmp_path / "x.xlsx", actor_id=factory.admin_id(engine))
