"""A re-shown comparison (a rater's second look, for the consistency check) counts once:
not a second vote on the human leaderboard or at the release gate; the export still
marks it."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from db.models import Judgment
from results.export import export_judgments
from results.gate import gate
from results.leaderboards import LeaderboardQuery, compute_leaderboard
from tests import factory
from tests.results.test_leaderboards import HUMAN


@pytest.fixture
def voted(engine) -> dict:
    with factory.session(engine) as s:
        data = factory.voted_campaign(s, HUMAN, name="reshown")
        s.commit()
        return {"campaign_id": data["campaign"].id}


def _reshow_every_vote(engine, campaign_id: int, flip: bool) -> int:
    """Each rater sees each of their comparisons again and answers the same (or, with
    ``flip``, the opposite); returns how many re-shows were stored."""
    with factory.session(engine) as s:
        firsts = s.exec(select(Judgment).where(Judgment.campaign_id == campaign_id)).all()
        for j in firsts:
            s.add(
                Judgment(
                    campaign_id=j.campaign_id,
                    comparison_id=j.comparison_id,
                    rater_key=j.rater_key,
                    rater_kind=j.rater_kind,
                    user_id=j.user_id,
                    preference=-j.preference if flip else j.preference,
                    shown_order="ba",
                    is_reshow=True,
                )
            )
        s.commit()
        return len(firsts)


def _board(engine, campaign_id):
    return compute_leaderboard(
        engine, LeaderboardQuery(campaign_id, rounds=100), actor_id=factory.admin_id(engine)
    )


@pytest.mark.parametrize("flip", [False, True], ids=["same answer", "opposite answer"])
def test_reshown_comparisons_add_no_vote_to_the_human_leaderboard(engine, voted, flip) -> None:
    before = _board(engine, voted["campaign_id"])
    assert _reshow_every_vote(engine, voted["campaign_id"], flip) == 30
    after = _board(engine, voted["campaign_id"])
    assert after.n_votes == before.n_votes == 30
    cols = ["model", "rating", "ci_low", "ci_high", "win_rate", "n"]
    assert after.table[cols].equals(before.table[cols])


@pytest.mark.parametrize("flip", [False, True], ids=["same answer", "opposite answer"])
def test_reshown_comparisons_add_no_vote_at_the_release_gate(engine, voted, flip) -> None:
    q = LeaderboardQuery(voted["campaign_id"])
    admin = factory.admin_id(engine)
    before = gate(engine, q, "strong", "weak", 0.5, actor_id=admin)
    _reshow_every_vote(engine, voted["campaign_id"], flip)
    after = gate(engine, q, "strong", "weak", 0.5, actor_id=admin)
    assert after.n == before.n == 10
    assert (after.win_rate, after.ci_low, after.ci_high) == (
        before.win_rate,
        before.ci_low,
        before.ci_high,
    )
    assert after.message == before.message


def test_export_keeps_reshown_rows_and_marks_them(engine, voted, tmp_path) -> None:
    _reshow_every_vote(engine, voted["campaign_id"], flip=False)
    dest = tmp_path / "judgments.jsonl"
    n = export_judgments(
        engine, voted["campaign_id"], "jsonl", dest, actor_id=factory.admin_id(engine)
    )
    rows = [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]
    assert n == len(rows) == 60
    flags = [row["is_reshow"] for row in rows]
    assert flags.count(True) == 30 and flags.count(False) == 30
    reshown = {(r["comparison_id"], r["rater"]) for r in rows if r["is_reshow"]}
    first = {(r["comparison_id"], r["rater"]) for r in rows if not r["is_reshow"]}
    assert reshown == first
