from __future__ import annotations

import pytest

from db.errors import InvalidInputError, NotFoundError
from results.gate import gate
from results.leaderboards import LeaderboardQuery, compute_leaderboard
from tests import factory
from tests.results.test_leaderboards import HUMAN, JUDGE


@pytest.fixture
def campaign_id(engine) -> int:
    with factory.session(engine) as s:
        data = factory.voted_campaign(s, HUMAN, judge_votes=JUDGE)
        s.commit()
        return data["campaign"].id


def test_gate_passes_a_clear_winner_and_fails_a_close_call(engine, campaign_id) -> None:
    q = LeaderboardQuery(campaign_id)
    clear = gate(engine, q, "strong", "weak", 0.5, actor_id=factory.admin_id(engine))
    assert clear.passed and clear.ci_low >= 0.5 and clear.n == 10
    close = gate(
        engine, q, "mid", "weak", 0.5, actor_id=factory.admin_id(engine)
    )  # 7 of 10: Wilson lower bound ~0.40
    assert not close.passed and "FAIL" in close.message
    reverse = gate(engine, q, "weak", "strong", 0.5, actor_id=factory.admin_id(engine))
    assert reverse.win_rate == pytest.approx(0.05)


def test_gate_counts_a_judges_two_swapped_verdicts_as_one_comparison(engine, campaign_id) -> None:
    q = LeaderboardQuery(campaign_id, source="judge")
    result = gate(engine, q, "mid", "weak", 0.8, actor_id=factory.admin_id(engine))
    # 20 verdicts, all for mid, on 10 comparisons: Wilson on 10 (lower bound 0.72), not 20
    assert result.win_rate == 1.0 and result.n == 20
    assert result.ci_low == pytest.approx(0.7225, abs=1e-4)
    assert not result.passed
    assert "n=20 votes on 10 comparisons" in result.message


def test_gate_on_unknown_models_names_the_fix(engine, campaign_id) -> None:
    with pytest.raises(NotFoundError, match="No human votes compare"):
        gate(
            engine,
            LeaderboardQuery(campaign_id),
            "strong",
            "nobody",
            0.5,
            actor_id=factory.admin_id(engine),
        )


def test_gate_counts_strong_verdicts_as_the_leaderboard_does(engine) -> None:
    # cand: 3 strong wins, 2 wins, 1 tie, 4 losses (one of them strong)
    votes = {("cand", "base"): [-2, -2, -2, -1, -1, 0, 1, 1, 1, 2]}
    with factory.session(engine) as s:
        cid = factory.voted_campaign(s, votes, name="strong-gate")["campaign"].id
        s.commit()
    admin = factory.admin_id(engine)
    plain = gate(engine, LeaderboardQuery(cid), "cand", "base", 0.5, actor_id=admin)
    assert plain.n == 10 and plain.win_rate == pytest.approx(5.5 / 10)
    strong = gate(
        engine, LeaderboardQuery(cid, strong_weight=3), "cand", "base", 0.5, actor_id=admin
    )
    assert strong.n == 18 and strong.win_rate == pytest.approx((9 + 2 + 0.5) / 18)
    board = compute_leaderboard(
        engine, LeaderboardQuery(cid, strong_weight=3, rounds=50), actor_id=admin
    ).table.set_index("model")
    assert board.loc["cand", "win_rate"] == pytest.approx(strong.win_rate)
    with pytest.raises(InvalidInputError, match="whole number"):
        gate(engine, LeaderboardQuery(cid, strong_weight=0), "cand", "base", actor_id=admin)
