"""Review and adjudication (issue 14, point 6): every action, who and when, reversals, and
the refusal of every write for a rater with the database left as it was."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from annotate import review
from annotate.queue import next_item
from annotate.submission import skip
from db.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from db.models import (
    Adjudication,
    Assignment,
    Comparison,
    Judgment,
    RaterExclusion,
    ReviewAction,
)
from tests import factory


@pytest.fixture
def flagged(engine) -> dict[str, Any]:
    """A blind campaign of 3 prompts (3 comparisons), a rater who rated one item and
    flagged the next, and an admin."""
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=3)
        rater = factory.raters(s, 1)[0]
        s.commit()
        campaign_id, rater_id = data["campaign"].id, rater.id
        comparisons = [c.id for c in data["comparisons"]]
    factory.rate_items(engine, rater_id, campaign_id, 1)
    [flagged_comparison] = factory.flag_items(engine, rater_id, campaign_id, ["cut off"])
    with factory.session(engine) as s:
        flag_id = s.exec(
            select(Assignment.id).where(Assignment.status == "flagged")
        ).scalar_one()
    return {
        "campaign": campaign_id,
        "rater": rater_id,
        "admin": factory.admin_id(engine),
        "flag": flag_id,
        "flagged_comparison": flagged_comparison,
        "comparisons": comparisons,
    }


def _actions(engine) -> list[ReviewAction]:
    with factory.session(engine) as s:
        return list(s.exec(select(ReviewAction).order_by(ReviewAction.id)).scalars())


def _get(engine, table: Any, row_id: int) -> Any:
    with factory.session(engine) as s:
        return s.get(table, row_id)


def test_resolving_a_flag_records_the_resolution_who_and_when(engine, flagged) -> None:
    review.resolve_flag(engine, flagged["flag"], "reviewed", actor_id=flagged["admin"])
    flag = _get(engine, Assignment, flagged["flag"])
    assert flag.flag_status == "reviewed"
    assert flag.flag_resolved_by == flagged["admin"] and flag.flag_resolved_at is not None
    [action] = _actions(engine)
    assert (action.action, action.actor_id, action.comparison_id, action.rater_key) == (
        "resolve_flag", flagged["admin"], flagged["flagged_comparison"], f"u:{flagged['rater']}"
    )
    assert action.detail == "reviewed" and action.created_at is not None


def test_resolving_a_flag_as_fixed_keeps_the_note(engine, flagged) -> None:
    review.resolve_flag(
        engine, flagged["flag"], "fixed", actor_id=flagged["admin"], note="re-imported B"
    )
    assert _get(engine, Assignment, flagged["flag"]).flag_status == "fixed"
    assert _actions(engine)[-1].detail == "fixed: re-imported B"
    assert _get(engine, Comparison, flagged["flagged_comparison"]).retired_at is None


def test_resolving_a_flag_as_retired_retires_the_comparison(engine, flagged) -> None:
    review.resolve_flag(engine, flagged["flag"], "retired", actor_id=flagged["admin"])
    assert _get(engine, Comparison, flagged["flagged_comparison"]).retired_at is not None
    assert [a.action for a in _actions(engine)] == ["resolve_flag", "retire"]


def test_a_reopened_flag_is_open_again_and_the_reopening_is_logged(engine, flagged) -> None:
    review.resolve_flag(engine, flagged["flag"], "reviewed", actor_id=flagged["admin"])
    review.reopen_flag(engine, flagged["flag"], actor_id=flagged["admin"])
    flag = _get(engine, Assignment, flagged["flag"])
    assert flag.flag_status is None and flag.flag_resolved_by is None
    assert [(a.action, a.detail) for a in _actions(engine)][-1] == ("reopen_flag", "was reviewed")


def test_only_a_flag_can_be_resolved_and_only_as_a_known_resolution(engine, flagged) -> None:
    with pytest.raises(InvalidInputError, match="reviewed, fixed, retired"):
        review.resolve_flag(engine, flagged["flag"], "ignored", actor_id=flagged["admin"])
    with factory.session(engine) as s:
        done = s.exec(select(Assignment.id).where(Assignment.status == "done")).scalar_one()
    with pytest.raises(NotFoundError, match="No flag"):
        review.resolve_flag(engine, done, "reviewed", actor_id=flagged["admin"])
    assert _actions(engine) == []


def test_an_adjudication_is_stored_apart_from_rater_votes(engine, flagged) -> None:
    comparison = flagged["comparisons"][0]
    before = factory.table_counts(engine)["judgments"]
    review.adjudicate(engine, comparison, -2, note="A is right", actor_id=flagged["admin"])
    assert factory.table_counts(engine)["judgments"] == before
    with factory.session(engine) as s:
        adj = s.exec(select(Adjudication)).scalar_one()
    assert (adj.comparison_id, adj.preference, adj.both_bad, adj.note, adj.admin_id) == (
        comparison, -2, False, "A is right", flagged["admin"]
    )
    [action] = _actions(engine)
    assert (action.action, action.comparison_id, action.detail) == (
        "adjudicate", comparison, "preference -2: A is right"
    )


def test_adjudicating_again_replaces_the_verdict_and_removing_it_is_logged(
    engine, flagged
) -> None:
    comparison = flagged["comparisons"][0]
    review.adjudicate(engine, comparison, -1, actor_id=flagged["admin"])
    review.adjudicate(engine, comparison, None, both_bad=True, actor_id=flagged["admin"])
    with factory.session(engine) as s:
        [adj] = s.exec(select(Adjudication)).scalars().all()
    assert (adj.preference, adj.both_bad) == (None, True)
    review.remove_adjudication(engine, comparison, actor_id=flagged["admin"])
    assert factory.table_counts(engine)["adjudications"] == 0
    assert [a.action for a in _actions(engine)] == [
        "adjudicate", "adjudicate", "remove_adjudication"
    ]


@pytest.mark.parametrize("preference", [3, -3, True])
def test_an_adjudication_outside_the_scale_is_refused(engine, flagged, preference) -> None:
    with pytest.raises(InvalidInputError, match="-2"):
        review.adjudicate(
            engine, flagged["comparisons"][0], preference, actor_id=flagged["admin"]
        )
    assert factory.table_counts(engine)["adjudications"] == 0


def test_an_adjudication_becomes_the_gold_answer(engine, flagged) -> None:
    comparison = flagged["comparisons"][1]
    review.adjudicate(engine, comparison, 1, actor_id=flagged["admin"])
    review.use_adjudication_as_gold(engine, comparison, actor_id=flagged["admin"])
    comp = _get(engine, Comparison, comparison)
    assert (comp.check_kind, comp.expected_preference) == ("gold", 1)
    assert _actions(engine)[-1].action == "adjudication_as_gold"


def test_gold_needs_an_adjudication_with_a_preference(engine, flagged) -> None:
    comparison = flagged["comparisons"][1]
    with pytest.raises(NotFoundError, match="Adjudicate this comparison first"):
        review.use_adjudication_as_gold(engine, comparison, actor_id=flagged["admin"])
    review.adjudicate(engine, comparison, None, both_bad=True, actor_id=flagged["admin"])
    with pytest.raises(InvalidInputError, match="pick A, tie or B"):
        review.use_adjudication_as_gold(engine, comparison, actor_id=flagged["admin"])
    assert _get(engine, Comparison, comparison).check_kind is None


def test_retiring_and_unretiring_a_comparison_are_logged_and_reversible(engine, flagged) -> None:
    comparison = flagged["comparisons"][2]
    assert review.retire_comparison(engine, comparison, actor_id=flagged["admin"], note="dup")
    assert not review.retire_comparison(engine, comparison, actor_id=flagged["admin"])
    assert _get(engine, Comparison, comparison).retired_at is not None
    assert review.unretire_comparison(engine, comparison, actor_id=flagged["admin"])
    assert _get(engine, Comparison, comparison).retired_at is None
    assert not review.unretire_comparison(engine, comparison, actor_id=flagged["admin"])
    logged = [(a.action, a.detail) for a in _actions(engine)]
    assert logged == [("retire", "dup"), ("unretire", None)]


def test_a_retired_comparison_is_no_longer_served(engine, flagged) -> None:
    retired = set(flagged["comparisons"][:2])
    for comparison in retired:
        review.retire_comparison(engine, comparison, actor_id=flagged["admin"])
    with factory.session(engine) as s:
        newcomer = factory.user(s, "newcomer@example.com")
        s.commit()
    served = []
    while (item := next_item(engine, newcomer.id, flagged["campaign"])) is not None:
        served.append(_get(engine, Assignment, item.assignment_id).comparison_id)
        skip(engine, newcomer.id, item.assignment_id)
    assert served == [c for c in flagged["comparisons"] if c not in retired]


def test_retiring_hands_back_open_leases_without_votes(engine, flagged) -> None:
    with factory.session(engine) as s:
        newcomer = factory.user(s, "newcomer@example.com")
        s.commit()
    item = next_item(engine, newcomer.id, flagged["campaign"])
    leased = _get(engine, Assignment, item.assignment_id).comparison_id
    review.retire_comparison(engine, leased, actor_id=flagged["admin"])
    assert _get(engine, Assignment, item.assignment_id) is None


def test_excluding_and_including_a_rater_are_logged_and_reversible(engine, flagged) -> None:
    key = f"u:{flagged['rater']}"
    campaign = flagged["campaign"]
    votes_before = factory.table_counts(engine)["judgments"]
    assert review.exclude_rater(engine, campaign, key, actor_id=flagged["admin"], reason="spam")
    assert not review.exclude_rater(engine, campaign, key, actor_id=flagged["admin"])
    with factory.session(engine) as s:
        [row] = s.exec(select(RaterExclusion)).scalars().all()
    assert (row.rater_key, row.excluded_by, row.reason) == (key, flagged["admin"], "spam")
    assert factory.table_counts(engine)["judgments"] == votes_before
    excluded = review.excluded_raters(engine, campaign, actor_id=flagged["admin"])
    assert list(excluded.rater) == ["rater0@example.com"]
    assert review.include_rater(engine, campaign, key, actor_id=flagged["admin"])
    assert not review.include_rater(engine, campaign, key, actor_id=flagged["admin"])
    assert factory.table_counts(engine)["rater_exclusions"] == 0
    assert [(a.action, a.rater_key) for a in _actions(engine)] == [
        ("exclude_rater", key), ("include_rater", key)
    ]


@pytest.mark.parametrize("key", ["12", "u:", "x:1", "u:999999"])
def test_excluding_needs_a_real_rater_key(engine, flagged, key) -> None:
    with pytest.raises((InvalidInputError, NotFoundError), match="rater"):
        review.exclude_rater(engine, flagged["campaign"], key, actor_id=flagged["admin"])
    assert factory.table_counts(engine)["rater_exclusions"] == 0


def test_the_review_log_names_the_admin_newest_first(engine, flagged) -> None:
    review.retire_comparison(engine, flagged["comparisons"][0], actor_id=flagged["admin"])
    review.exclude_rater(
        engine, flagged["campaign"], f"u:{flagged['rater']}", actor_id=flagged["admin"]
    )
    log = review.review_log(engine, flagged["campaign"], actor_id=flagged["admin"])
    assert list(log.columns) == review.LOG_COLUMNS
    assert list(log.action) == ["exclude_rater", "retire"]
    assert set(log.admin) == {"admin@example.com"}
    assert log.rater.tolist()[0] == "rater0@example.com" and log.rater.isna().tolist()[1]
    assert log["when"].notna().all()


def _state(engine) -> tuple:
    with factory.session(engine) as s:
        comparisons = s.exec(
            select(Comparison.id, Comparison.retired_at, Comparison.check_kind).order_by(
                Comparison.id
            )
        ).all()
        flags = s.exec(
            select(Assignment.id, Assignment.flag_status).order_by(Assignment.id)
        ).all()
    return factory.table_counts(engine), comparisons, flags


WRITES = {
    "resolve_flag": lambda e, d: review.resolve_flag(e, d["flag"], "retired", actor_id=d["as"]),
    "reopen_flag": lambda e, d: review.reopen_flag(e, d["flag"], actor_id=d["as"]),
    "adjudicate": lambda e, d: review.adjudicate(e, d["comparisons"][0], 1, actor_id=d["as"]),
    "remove_adjudication": lambda e, d: review.remove_adjudication(
        e, d["comparisons"][1], actor_id=d["as"]
    ),
    "use_adjudication_as_gold": lambda e, d: review.use_adjudication_as_gold(
        e, d["comparisons"][1], actor_id=d["as"]
    ),
    "retire": lambda e, d: review.retire_comparison(e, d["comparisons"][0], actor_id=d["as"]),
    "unretire": lambda e, d: review.unretire_comparison(e, d["comparisons"][2], actor_id=d["as"]),
    "exclude": lambda e, d: review.exclude_rater(
        e, d["campaign"], f"u:{d['rater']}", actor_id=d["as"]
    ),
    "include": lambda e, d: review.include_rater(e, d["campaign"], "u:1", actor_id=d["as"]),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_review_write_is_refused_for_a_rater_and_changes_nothing(
    engine, flagged, write
) -> None:
    admin = flagged["admin"]
    review.resolve_flag(engine, flagged["flag"], "reviewed", actor_id=admin)
    review.adjudicate(engine, flagged["comparisons"][1], -1, actor_id=admin)
    review.retire_comparison(engine, flagged["comparisons"][2], actor_id=admin)
    with factory.session(engine) as s:
        s.add(RaterExclusion(campaign_id=flagged["campaign"], rater_key="u:1", excluded_by=admin))
        s.commit()
    before = _state(engine)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        WRITES[write](engine, {**flagged, "as": flagged["rater"]})
    assert _state(engine) == before


@pytest.mark.parametrize(
    "read",
    [
        lambda e, d: review.review_log(e, d["campaign"], actor_id=d["rater"]),
        lambda e, d: review.excluded_raters(e, d["campaign"], actor_id=d["rater"]),
    ],
)
def test_the_review_reads_are_for_admins_only(engine, flagged, read) -> None:
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        read(engine, flagged)


def test_judgments_are_untouched_by_every_review_action(engine, flagged) -> None:
    with factory.session(engine) as s:
        before = s.exec(select(Judgment.id, Judgment.preference, Judgment.is_current)).all()
    admin, campaign = flagged["admin"], flagged["campaign"]
    review.resolve_flag(engine, flagged["flag"], "retired", actor_id=admin)
    review.adjudicate(engine, flagged["comparisons"][0], 2, actor_id=admin)
    review.exclude_rater(engine, campaign, f"u:{flagged['rater']}", actor_id=admin)
    with factory.session(engine) as s:
        after = s.exec(select(Judgment.id, Judgment.preference, Judgment.is_current)).all()
    assert after == before
