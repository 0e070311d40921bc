"""Retired comparisons and excluded raters leave every result (issue 14, point 6).

Each figure of a campaign in which some comparisons were retired and one rater excluded
(through ``annotate.review``) must equal the same figure of a second campaign stored without
those comparisons and without that rater's votes: leaderboards (human, judge, blend, PPI),
the gate, agreement, calibration, rubric scores, and the export's counted rows. The retired
comparisons are the last ones stored, so the remaining comparisons line up by relative id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from annotate import review
from annotate.campaigns import CriterionSpec
from db.models import Comparison, Judgment, Output, User
from results.export import export_judgments
from results.gate import gate
from results.leaderboards import LeaderboardQuery, compute_leaderboard, judges_in_campaign
from results.rubrics import campaign_rubrics
from results.votes import LeftOut, VoteFilter, left_out, scoped, votes_frame
from tests import factory
from tests.results.test_invariance_properties import _assert_same, _figures, _store

SEED = 3
N_RETIRED = 3
EXCLUDED_RATER = 1
NOTE = "3 retired comparisons and 1 excluded rater are left out (see the Review page)."


def _without(data: dict[str, Any], n_retired: int, rater: int | str | None) -> dict[str, Any]:
    """``data`` (``factory.logical_votes``) without its last ``n_retired`` comparisons and
    without the votes of ``rater``."""
    kept = len(data["comparisons"]) - n_retired
    return {
        **data,
        "comparisons": data["comparisons"][:kept],
        "votes": [v for v in data["votes"] if v["c"] < kept and v["rater"] != rater],
    }


def _review(engine, stored: dict[str, Any], admin: int, n_retired: int, rater_key: str) -> None:
    campaign_id = stored["campaign"].id
    for comparison_id in _comparison_ids(engine, campaign_id)[-n_retired:]:
        review.retire_comparison(engine, comparison_id, actor_id=admin)
    review.exclude_rater(engine, campaign_id, rater_key, actor_id=admin)


def _comparison_ids(engine, campaign_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Comparison.id)
                .where(Comparison.campaign_id == campaign_id)
                .order_by(Comparison.id)
            ).scalars()
        )


def _drop_note(value: Any, note: str) -> Any:
    if isinstance(value, dict):
        return {k: _drop_note(v, note) for k, v in value.items()}
    if isinstance(value, list):
        return [_drop_note(v, note) for v in value if not (isinstance(v, str) and note in v)]
    return value


def _notes(figures: dict[str, Any]) -> list[str]:
    found = []
    for source in figures["leaderboards"].values():
        found += source["notes"]
    return found + figures["agreement"]["notes"] + figures["calibration"]["notes"]


@pytest.fixture
def pair(engine) -> dict[str, Any]:
    """The full campaign, reviewed, and the campaign stored without what review took out."""
    data = factory.logical_votes(SEED)
    admin = factory.admin_id(engine)
    full = _store(engine, data, "full")
    reduced = _store(engine, _without(data, N_RETIRED, EXCLUDED_RATER), "reduced")
    rater_key = f"u:{full['raters'][EXCLUDED_RATER].id}"
    _review(engine, full, admin, N_RETIRED, rater_key)
    return {"full": full, "reduced": reduced, "admin": admin, "rater_key": rater_key}


def test_every_figure_is_as_if_the_left_out_votes_were_never_imported(engine, pair) -> None:
    admin = pair["admin"]
    reviewed = _figures(engine, pair["full"], admin)
    plain = _figures(engine, pair["reduced"], admin)
    assert NOTE in _notes(reviewed) and not any("left out (see" in n for n in _notes(plain))
    _assert_same(_drop_note(reviewed, NOTE), plain)


def test_the_ppi_leaderboard_and_gate_leave_them_out_too(engine, pair) -> None:
    admin = pair["admin"]
    out = []
    for stored in (pair["full"], pair["reduced"]):
        q = LeaderboardQuery(stored["campaign"].id, source="ppi", rounds=100, seed=1)
        board = compute_leaderboard(engine, q, actor_id=admin)
        g = gate(engine, q, "m3", "m0", 0.5, actor_id=admin)
        out.append((board.table.sort_values("model").to_dict("records"), g))
    (board_full, gate_full), (board_reduced, gate_reduced) = out
    _assert_same(board_full, board_reduced)
    assert (gate_full.win_rate, gate_full.ci_low, gate_full.n) == pytest.approx(
        (gate_reduced.win_rate, gate_reduced.ci_low, gate_reduced.n)
    )
    assert gate_full.message.endswith(NOTE) and NOTE not in gate_reduced.message


def test_the_votes_frame_has_no_vote_of_either(engine, pair) -> None:
    full = votes_frame(engine, VoteFilter(pair["full"]["campaign"].id))
    reduced = votes_frame(engine, VoteFilter(pair["reduced"]["campaign"].id))
    assert len(full) == len(reduced)
    retired = set(_comparison_ids(engine, pair["full"]["campaign"].id)[-N_RETIRED:])
    assert not set(full.comparison_id) & retired
    assert pair["rater_key"] not in set(full.rater)


def test_the_export_keeps_the_rows_and_marks_them(engine, pair, tmp_path: Path) -> None:
    admin = pair["admin"]
    frames = []
    for name in ("full", "reduced"):
        dest = tmp_path / f"{name}.parquet"
        export_judgments(engine, pair[name]["campaign"].id, "parquet", dest, actor_id=admin)
        frames.append(pd.read_parquet(dest))
    full, reduced = frames
    counted = full[~full.comparison_retired & ~full.rater_excluded]
    columns = ["prompt_id", "model_a", "model_b", "rater", "shown_order", "preference"]
    assert len(full) > len(counted)
    assert counted[columns].reset_index(drop=True).equals(reduced[columns].reset_index(drop=True))
    assert not reduced.comparison_retired.any() and not reduced.rater_excluded.any()
    excluded_handle = f"logical-r{EXCLUDED_RATER}@x.org"
    assert (full.rater == excluded_handle).equals(full.rater_excluded)


def test_a_filter_not_yet_scoped_leaves_them_out_in_sql(engine, pair) -> None:
    flt = VoteFilter(pair["full"]["campaign"].id)
    count = select(func.count()).select_from(Judgment)
    with engine.connect() as conn:
        unscoped = conn.execute(flt.apply(count)).scalar_one()
        looked_up = conn.execute(scoped(engine, flt).apply(count)).scalar_one()
        reduced = conn.execute(
            VoteFilter(pair["reduced"]["campaign"].id).apply(count)
        ).scalar_one()
    assert unscoped == looked_up == reduced


def test_reversing_brings_every_vote_back(engine, pair) -> None:
    admin, campaign_id = pair["admin"], pair["full"]["campaign"].id
    before = votes_frame(engine, VoteFilter(campaign_id))
    for comparison_id in _comparison_ids(engine, campaign_id)[-N_RETIRED:]:
        review.unretire_comparison(engine, comparison_id, actor_id=admin)
    review.include_rater(engine, campaign_id, pair["rater_key"], actor_id=admin)
    after = votes_frame(engine, VoteFilter(campaign_id))
    data = factory.logical_votes(SEED)
    assert len(after) == len(data["votes"]) > len(before)
    assert left_out(engine, campaign_id) == LeftOut()


def test_a_reversal_changes_the_cached_leaderboard(engine, pair) -> None:
    admin, campaign_id = pair["admin"], pair["full"]["campaign"].id
    q = LeaderboardQuery(campaign_id, rounds=20)
    before = compute_leaderboard(engine, q, actor_id=admin)
    review.include_rater(engine, campaign_id, pair["rater_key"], actor_id=admin)
    after = compute_leaderboard(engine, q, actor_id=admin)
    assert after.n_votes > before.n_votes
    assert "1 excluded rater" not in " ".join(after.notes)


def test_an_excluded_judge_is_not_offered_and_ranks_nothing(engine) -> None:
    data = factory.logical_votes(SEED)
    admin = factory.admin_id(engine)
    stored = _store(engine, data, "judged")
    campaign_id = stored["campaign"].id
    review.exclude_rater(engine, campaign_id, f"j:{stored['judge'].id}", actor_id=admin)
    assert judges_in_campaign(engine, campaign_id, actor_id=admin) == []
    assert left_out(engine, campaign_id).note() == (
        "1 excluded rater is left out (see the Review page)."
    )


def test_an_unreviewed_campaign_adds_no_predicate(engine) -> None:
    stored = _store(engine, factory.logical_votes(SEED), "untouched")
    campaign_id = stored["campaign"].id
    known = left_out(engine, campaign_id)
    assert known == LeftOut() and known.note() is None
    clauses = VoteFilter(campaign_id, left_out=known).clauses()
    assert len(clauses) == len(VoteFilter(campaign_id, left_out=LeftOut()).clauses())
    assert "rater_exclusions" not in " ".join(str(c) for c in clauses)
    assert "retired_at" not in " ".join(str(c) for c in clauses)


CRITERIA = [CriterionSpec("helpfulness")]


def _rubric_campaign(engine, name: str, *, keep_last: bool, keep_second_rater: bool) -> int:
    """Two raters score both outputs of every comparison; optionally without the last
    comparison and without the second rater (the raters are shared by name)."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s, name, n_prompts=3, models=("m1", "m2"), criteria=CRITERIA
        )
        raters = [
            s.exec(select(User).where(User.handle == f"scorer{r}@x.org")).scalars().first()
            or factory.user(s, f"scorer{r}@x.org")
            for r in range(2)
        ]
        comparisons = data["comparisons"] if keep_last else data["comparisons"][:-1]
        for k, comp in enumerate(comparisons):
            for r, rater in enumerate(raters if keep_second_rater else raters[:1]):
                row = factory.human_judgment(s, comp, rater, -1)
                for side, output_id in enumerate((comp.output_a_id, comp.output_b_id)):
                    value = float(1 + (k * 2 + r * 3 + side) % 5)
                    factory.score(s, row, s.get(Output, output_id), "helpfulness", value)
        s.commit()
        return data["campaign"].id


def test_rubric_scores_leave_them_out(engine) -> None:
    admin = factory.admin_id(engine)
    full = _rubric_campaign(engine, "rubric-full", keep_last=True, keep_second_rater=True)
    reduced = _rubric_campaign(engine, "rubric-reduced", keep_last=False, keep_second_rater=False)
    review.retire_comparison(engine, _comparison_ids(engine, full)[-1], actor_id=admin)
    with factory.session(engine) as s:
        second = s.exec(select(User.id).where(User.handle == "scorer1@x.org")).scalar_one()
    review.exclude_rater(engine, full, f"u:{second}", actor_id=admin)
    a = campaign_rubrics(engine, full, actor_id=admin)
    b = campaign_rubrics(engine, reduced, actor_id=admin)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.distribution, b.distribution)
    assert a.notes == [*b.notes, "1 retired comparison and 1 excluded rater are left out (see"
                       " the Review page)."]
