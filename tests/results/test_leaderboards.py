from __future__ import annotations

import pytest
from sqlmodel import select

from db.errors import InvalidInputError, NotFoundError
from db.models import Comparison, Judge, Judgment
from results.leaderboards import LeaderboardQuery, compute_leaderboard, outcome_aggregates
from results.votes import VoteFilter, votes_frame
from tests import factory

# strong beats mid 8 of 10, mid beats weak 7 of 10, strong beats weak 9 of 10 (1 tie)
HUMAN = {
    ("strong", "mid"): [-1] * 8 + [1] * 2,
    ("mid", "weak"): [-1] * 7 + [1] * 3,
    ("strong", "weak"): [-1] * 9 + [0],
}
# a judge that agrees on order but always prefers strong
JUDGE = {pair: [-1] * len(v) for pair, v in HUMAN.items()}


@pytest.fixture
def campaign_id(engine) -> int:
    with factory.session(engine) as s:
        data = factory.voted_campaign(s, HUMAN, judge_votes=JUDGE)
        s.commit()
        return data["campaign"].id


def _board(engine, campaign_id, **kwargs):
    return compute_leaderboard(
        engine,
        LeaderboardQuery(campaign_id, rounds=200, **kwargs),
        actor_id=factory.admin_id(engine),
    )


def test_human_leaderboard_ranks_by_bradley_terry_with_intervals(engine, campaign_id) -> None:
    result = _board(engine, campaign_id)
    table = result.table
    assert list(table.model) == ["strong", "mid", "weak"]
    assert (table.ci_low <= table.rating).all() and (table.rating <= table.ci_high).all()
    strong = table.iloc[0]
    # strong: 8 wins of 10 vs mid, 9 wins + 1 tie of 10 vs weak -> (8 + 9.5) / 20
    assert strong.win_rate == pytest.approx(17.5 / 20)
    assert strong.n == 20
    assert result.n_votes == 30
    assert result.records()[0]["model"] == "strong"


def test_judge_source_uses_only_that_judges_verdicts(engine, campaign_id) -> None:
    result = _board(engine, campaign_id, source="judge")
    assert result.judge_label == "voted-judge@v1"
    assert result.n_votes == 60  # both swapped verdicts on 30 comparisons
    assert list(result.table.model) == ["strong", "mid", "weak"]


def test_blend_weights_move_from_human_to_judge(engine, campaign_id) -> None:
    human = _board(engine, campaign_id).table.set_index("model")
    judge = _board(engine, campaign_id, source="judge").table.set_index("model")
    blend = _board(engine, campaign_id, source="blend", weight=0.5).table.set_index("model")
    assert (
        human.loc["strong", "win_rate"]
        <= blend.loc["strong", "win_rate"]
        <= judge.loc["strong", "win_rate"]
    )


def test_ppi_reports_how_much_narrower_it_is(engine, campaign_id) -> None:
    result = _board(engine, campaign_id, source="ppi")
    assert set(result.table.model) == {"strong", "mid", "weak"}
    assert result.width_ratio is not None and result.width_ratio > 0
    assert "PPI" in result.notes[0]


def test_a_new_vote_invalidates_the_cache(engine, campaign_id) -> None:
    before = _board(engine, campaign_id)
    assert _board(engine, campaign_id) is before
    with factory.session(engine) as s:
        extra = factory.voted_campaign(s, {("strong", "mid"): [1]}, name="other")
        s.commit()
        assert extra["campaign"].id != campaign_id
    assert _board(engine, campaign_id) is before
    with factory.session(engine) as s:
        first = s.exec(select(Comparison).where(Comparison.campaign_id == campaign_id)).first()
        factory.human_judgment(s, first, factory.user(s, "late@x.org"), 1)
        s.commit()
    after = _board(engine, campaign_id)
    assert after is not before and after.n_votes == 31


def test_unknown_source_is_refused(engine, campaign_id) -> None:
    with pytest.raises(InvalidInputError, match="human, judge, blend, ppi"):
        _board(engine, campaign_id, source="vibes")


def test_a_campaign_without_judges_says_how_to_get_verdicts(engine) -> None:
    with factory.session(engine) as s:
        cid = factory.voted_campaign(s, {("a", "b"): [-1, 1]}, name="nojudge")["campaign"].id
        s.commit()
    with pytest.raises(NotFoundError, match="judgeboard judge run"):
        _board(engine, cid, source="judge")


def test_length_control_reports_a_length_coefficient(engine, campaign_id) -> None:
    result = _board(engine, campaign_id, length_control=True)
    assert result.length_coef is not None
    assert set(result.table.model) == {"strong", "mid", "weak"}


def _python_counts(engine, flt: VoteFilter) -> dict[tuple[str, str, int], int]:
    votes = votes_frame(engine, flt).dropna(subset=["preference"])
    outcome = votes.preference.clip(-1, 1).astype(int)
    grouped = votes.assign(outcome=outcome).groupby(["model_a", "model_b", "outcome"]).size()
    return {key: int(n) for key, n in grouped.items()}


def _sql_counts(frame) -> dict[tuple[str, str, int], int]:
    return {(a, b, o): n for a, b, o, n in frame.itertuples(index=False)}


def test_sql_aggregation_matches_counting_every_vote(engine, campaign_id) -> None:
    with factory.session(engine) as s:
        old = s.exec(select(Judgment).where(Judgment.rater_kind == "human")).first()
        old.is_current = False
        s.add(old)
        revised = old.model_dump(exclude={"id", "version", "is_current", "preference"})
        s.add(Judgment(**revised, version=old.version + 1, is_current=True, preference=2))
        s.commit()
        judge_id = s.exec(select(Judge.id).where(Judge.name == "voted-judge")).one()
    cases = [
        (LeaderboardQuery(campaign_id).votes(rater_kind="human"), VoteFilter(campaign_id, "human")),
        (
            LeaderboardQuery(campaign_id).votes(judge_id=judge_id),
            VoteFilter(campaign_id, judge_id=judge_id),
        ),
        (
            LeaderboardQuery(campaign_id, category="coding").votes(rater_kind="human"),
            VoteFilter(campaign_id, "human", category="coding"),
        ),
    ]
    for scoped, flt in cases:
        expected = _python_counts(engine, flt)
        assert expected
        assert _sql_counts(outcome_aggregates(engine, scoped)) == expected
        assert _sql_counts(outcome_aggregates(engine, flt)) == expected
