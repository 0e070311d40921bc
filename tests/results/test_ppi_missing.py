"""Missing is missing in PPI: a model no human labelled gets no human-only figure."""

from __future__ import annotations

import math

import pytest

from db.errors import NotFoundError
from db.models import Candidate, Output
from results.gate import gate
from results.leaderboards import LeaderboardQuery, compute_leaderboard
from tests import factory

HUMAN = {
    ("strong", "mid"): [-1] * 8 + [1] * 2,
    ("mid", "weak"): [-1] * 7 + [1] * 3,
    ("strong", "weak"): [-1] * 9 + [0],
}


@pytest.fixture
def campaign_id(engine) -> int:
    return campaign_with_newcomer(engine)


def campaign_with_newcomer(engine) -> int:
    """strong, mid and weak with human votes and judge verdicts; "newcomer" judged only."""
    with factory.session(engine) as s:
        data = factory.voted_campaign(s, HUMAN, judge_votes=HUMAN)
        newcomer = Candidate(name="newcomer")
        s.add(newcomer)
        s.flush()
        for i, prompt in enumerate(data["prompts"]):
            out = Output(prompt_id=prompt.id, candidate_id=newcomer.id, content=f"newcomer {i}")
            s.add(out)
            s.flush()
            for rival in ("strong", "weak"):
                comp = factory.comparison(s, prompt, out, data["outputs"][(prompt.id, rival)])
                s.flush()
                verdict = (-1 if comp.output_a_id == out.id else 1) * (1 if i % 3 else -1)
                factory.judge_judgment(s, comp, data["judge"], verdict, "ab")
                factory.judge_judgment(s, comp, data["judge"], verdict, "ba")
        s.commit()
        return data["campaign"].id


def test_the_ppi_table_leaves_the_unlabelled_model_missing(engine, campaign_id) -> None:
    result = compute_leaderboard(
        engine,
        LeaderboardQuery(campaign_id, source="ppi", rounds=200),
        actor_id=factory.admin_id(engine),
    )
    table = result.table.set_index("model")
    assert table.loc["newcomer", "n_labelled"] == 0
    human_cols = ["human_rating", "human_ci_low", "human_ci_high", "width_ratio"]
    assert table.loc["newcomer", human_cols].isna().all()
    assert table.drop(index="newcomer")[human_cols].notna().all().all()
    record = next(r for r in result.records() if r["model"] == "newcomer")
    assert all(record[c] is None for c in human_cols)
    labelled = table.drop(index="newcomer")
    ratios = (labelled["ci_high"] - labelled["ci_low"]) / (
        labelled["human_ci_high"] - labelled["human_ci_low"]
    )
    assert result.width_ratio == pytest.approx(float(ratios.median()))
    assert not math.isinf(result.width_ratio)
    assert "1 model has no human label" in result.notes[0]


def test_the_ppi_gate_refuses_a_pair_no_human_labelled(engine, campaign_id) -> None:
    q = LeaderboardQuery(campaign_id, source="ppi")
    with pytest.raises(NotFoundError, match="No human-labelled comparison of 'newcomer'"):
        gate(engine, q, "newcomer", "weak", 0.5, actor_id=factory.admin_id(engine))
    with pytest.raises(NotFoundError, match="no verdicts comparing 'newcomer' with 'mid'"):
        gate(engine, q, "newcomer", "mid", 0.5, actor_id=factory.admin_id(engine))
    labelled = gate(engine, q, "strong", "weak", 0.5, actor_id=factory.admin_id(engine))
    assert labelled.passed and not math.isnan(labelled.win_rate)
