from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

from db.errors import InvalidInputError, NotFoundError
from db.models import Comparison, Judge, Judgment
from results.gate import gate
from results.leaderboards import (
    LeaderboardQuery,
    cluster_aggregates,
    compute_leaderboard,
    markdown_table,
    outcome_aggregates,
)
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


def _python_clusters(engine, flt: VoteFilter, strong_weight: int = 1) -> dict[tuple, int]:
    votes = votes_frame(engine, flt).dropna(subset=["preference"])
    w = votes.preference.abs().ge(2).map({True: strong_weight, False: 1})
    per = (
        votes.assign(
            a=(votes.preference < 0) * w,
            t=(votes.preference == 0) * 1,
            b=(votes.preference > 0) * w,
        )
        .groupby(["comparison_id", "model_a", "model_b"])[["a", "t", "b"]]
        .sum()
    )
    return per.groupby(["model_a", "model_b", "a", "t", "b"]).size().to_dict()


@pytest.mark.parametrize("strong_weight", [1, 3])
def test_sql_cluster_aggregates_match_grouping_every_vote_per_comparison(
    engine, campaign_id, strong_weight
) -> None:
    with factory.session(engine) as s:
        first = s.exec(select(Judgment).where(Judgment.rater_kind == "human")).first()
        comp = s.get(Comparison, first.comparison_id)
        factory.human_judgment(s, comp, factory.user(s, "second@x.org"), 2)
        factory.human_judgment(s, comp, factory.user(s, "third@x.org"), 0)
        s.commit()
        judge_id = s.exec(select(Judge.id).where(Judge.name == "voted-judge")).one()
    for flt in (VoteFilter(campaign_id, "human"), VoteFilter(campaign_id, judge_id=judge_id)):
        frame = cluster_aggregates(engine, flt, strong_weight=strong_weight)
        got = {(a, b, wa, t, wb): n for a, b, wa, t, wb, n in frame.itertuples(index=False)}
        assert got == _python_clusters(engine, flt, strong_weight)


def _copy_every_human_vote(engine, campaign_id: int, k: int) -> None:
    """Give every comparison k - 1 more raters who vote exactly as its first rater did."""
    with factory.session(engine) as s:
        firsts = s.exec(
            select(Judgment).where(
                Judgment.campaign_id == campaign_id, Judgment.rater_kind == "human"
            )
        ).all()
        extra = [factory.user(s, f"copy{i}-{campaign_id}@x.org") for i in range(k - 1)]
        for j in firsts:
            comp = s.get(Comparison, j.comparison_id)
            for rater in extra:
                factory.human_judgment(s, comp, rater, j.preference)
        s.commit()


def test_copying_every_vote_k_times_leaves_the_intervals_unchanged(engine) -> None:
    """The bootstrap resamples comparisons, so k identical votes per comparison carry no
    more evidence than one: same seed, same resampled comparisons, same intervals, up to
    the ridge prior's pull, which weakens as counts triple (0.2% of the distance from the
    baseline here). The per-vote bootstrap would have narrowed them by sqrt(3)."""
    votes = {
        ("strong", "mid"): [-1] * 18 + [1] * 12,
        ("mid", "weak"): [-1] * 17 + [1] * 13,
        ("strong", "weak"): [-1] * 20 + [1] * 8 + [0] * 2,
    }
    ids = []
    for name in ("once", "thrice"):
        with factory.session(engine) as s:
            ids.append(factory.voted_campaign(s, votes, name=name)["campaign"].id)
            s.commit()
    _copy_every_human_vote(engine, ids[1], 3)
    once, thrice = (_board(engine, cid, baseline="weak") for cid in ids)
    assert thrice.n_votes == 3 * once.n_votes == 270
    assert once.table.model.tolist() == thrice.table.model.tolist()
    for col in ("rating", "ci_low", "ci_high"):
        np.testing.assert_allclose(thrice.table[col] - 1000, once.table[col] - 1000, rtol=0.005)
    width = once.table.ci_high - once.table.ci_low
    np.testing.assert_allclose(thrice.table.ci_high - thrice.table.ci_low, width, rtol=0.01)
    for col in ("rank_low", "rank_high"):
        assert thrice.table[col].tolist() == once.table[col].tolist()
    assert any("resamples comparisons" in note for note in thrice.notes)


def test_two_model_leaderboard_interval_agrees_with_the_gate(engine) -> None:
    rng = np.random.default_rng(3)
    human = {("cand", "base"): rng.choice([-1, 0, 1], 80, p=[0.5, 0.2, 0.3]).tolist()}
    judge = {("cand", "base"): rng.choice([-1, 0, 1], 80, p=[0.6, 0.1, 0.3]).tolist()}
    with factory.session(engine) as s:
        cid = factory.voted_campaign(s, human, name="duel", judge_votes=judge)["campaign"].id
        s.commit()
    admin = factory.admin_id(engine)
    for source in ("human", "judge"):
        q = LeaderboardQuery(cid, source=source, baseline="base", rounds=2000)
        row = compute_leaderboard(engine, q, actor_id=admin).table.set_index("model").loc["cand"]
        verdict = gate(engine, q, "cand", "base", 0.5, actor_id=admin)
        assert row.win_rate_vs_baseline == pytest.approx(verdict.win_rate, abs=1e-4)
        assert row.win_rate_vs_baseline_ci_low == pytest.approx(verdict.ci_low, abs=0.02)
        assert row.win_rate_vs_baseline_ci_high == pytest.approx(verdict.ci_high, abs=0.02)


def test_notes_say_how_many_bootstrap_rounds_were_usable(engine, campaign_id) -> None:
    notes = _board(engine, campaign_id).notes
    assert any(note.startswith("200 of 200 bootstrap rounds were usable") for note in notes)


def test_disconnected_groups_are_ranked_within_themselves(engine) -> None:
    votes = {("a", "b"): [-1] * 9 + [1], ("c", "d"): [-1] * 9 + [1]}
    with factory.session(engine) as s:
        cid = factory.voted_campaign(s, votes, name="islands")["campaign"].id
        s.commit()
    result = _board(engine, cid)
    table = result.table.set_index("model")
    assert table.loc["a", "group"] != table.loc["c", "group"]
    assert (table.rank_high <= 2).all()
    assert any("ranked within their own group" in note for note in result.notes)


def test_notes_warn_when_the_fit_or_rounds_did_not_converge() -> None:
    from dataclasses import replace

    from metrics.counts import pair_counts_from_codes
    from metrics.leaderboard import leaderboard
    from results.leaderboards import leaderboard_notes

    board = leaderboard(
        pair_counts_from_codes(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([-1, 1, 0]), 2),
        rounds=20,
    )
    shaky = replace(board, converged=False, usable_rounds=17)
    notes = leaderboard_notes(shaky, clustered=False)
    assert notes[0].startswith("Warning: the Bradley–Terry fit did not converge")
    assert any(
        "17 of 20 bootstrap rounds were usable (3 did not converge and are left out)" in n
        for n in notes
    )
    assert any("resamples votes within each model pair" in n for n in notes)


def test_ppi_says_strong_weight_does_not_apply(engine, campaign_id) -> None:
    result = _board(engine, campaign_id, source="ppi", strong_weight=3)
    assert any("not to PPI" in note for note in result.notes)


def test_markdown_table_shows_missing_as_a_dash_and_user_text_as_written() -> None:
    frame = pd.DataFrame(
        {"model": ["a|b", "c"], "rating": [1012.34567, float("nan")], "n": [3, None]}
    )
    lines = markdown_table(frame).splitlines()
    assert lines[2] == "| a\\|b | 1012.346 | 3.000 |"
    assert lines[3] == "| c | — | — |"
