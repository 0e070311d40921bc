"""The item browser's query (issue 14, point 5): one SQL query whose disagreement columns
match a computation from the votes frame, with search and filters, for admins only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from annotate import review
from db.errors import PermissionDeniedError
from results.items import ITEM_COLUMNS, ItemQuery, browse_items, campaign_raters, item_detail
from results.votes import VoteFilter, votes_frame
from tests import factory


@pytest.fixture
def stored(engine) -> dict[str, Any]:
    with factory.session(engine) as s:
        out = factory.store_logical_votes(s, factory.logical_votes(7), "browse")
        s.commit()
    return {**out, "admin": factory.admin_id(engine)}


def _expected(engine, campaign_id: int) -> dict[int, tuple[bool, bool]]:
    """(humans disagree, judge vs humans) per comparison, from the votes frame in pandas."""
    votes = votes_frame(engine, VoteFilter(campaign_id, scored_only=True))
    votes["sign"] = np.sign(votes["preference"])
    out = {}
    for cid, group in votes.groupby("comparison_id"):
        humans = group[group.rater_kind == "human"]["sign"]
        judges = group[group.rater_kind == "llm"]["sign"]
        disagree = humans.nunique() > 1
        versus = len(humans) > 0 and len(judges) > 0 and np.sign(humans.sum()) != np.sign(
            judges.sum()
        )
        out[int(cid)] = (bool(disagree), bool(versus))
    return out


def test_disagreement_columns_match_a_computation_from_the_votes(engine, stored) -> None:
    campaign_id = stored["campaign"].id
    items = browse_items(engine, ItemQuery(campaign_id), actor_id=stored["admin"])
    assert list(items.columns) == ITEM_COLUMNS
    expected = _expected(engine, campaign_id)
    got = {
        int(row.comparison_id): (row.disagreement, row.judge_vs_humans)
        for row in items.itertuples()
        if row.comparison_id in expected
    }
    assert got == expected
    assert any(d for d, _ in expected.values()) and any(v for _, v in expected.values())


@pytest.mark.parametrize(
    ("flag", "column"), [("disagreement", "disagreement"), ("judge_vs_humans", "judge_vs_humans")]
)
def test_each_disagreement_filter_keeps_exactly_its_rows(engine, stored, flag, column) -> None:
    campaign_id = stored["campaign"].id
    everything = browse_items(engine, ItemQuery(campaign_id), actor_id=stored["admin"])
    narrowed = browse_items(
        engine, ItemQuery(campaign_id, **{flag: True}), actor_id=stored["admin"]
    )
    assert list(narrowed.comparison_id) == list(everything[everything[column]].comparison_id)


def test_an_excluded_rater_no_longer_makes_a_disagreement(engine, stored) -> None:
    campaign_id, admin = stored["campaign"].id, stored["admin"]
    for rater in stored["raters"][1:]:
        review.exclude_rater(engine, campaign_id, f"u:{rater.id}", actor_id=admin)
    items = browse_items(engine, ItemQuery(campaign_id), actor_id=admin)
    assert not items.disagreement.any()
    raters = campaign_raters(engine, campaign_id, actor_id=admin)
    assert raters.set_index("rater").excluded.to_dict() == {
        "logical-judge@v1": False,
        "logical-r0@x.org": False,
        "logical-r1@x.org": True,
        "logical-r2@x.org": True,
    }


def _ids(engine, campaign_id: int, admin: int, **kwargs: Any) -> list[int]:
    query = ItemQuery(campaign_id, **kwargs)
    return list(browse_items(engine, query, actor_id=admin).comparison_id)


def test_search_matches_prompt_text_model_and_category(engine, stored) -> None:
    campaign_id, admin = stored["campaign"].id, stored["admin"]
    everything = browse_items(engine, ItemQuery(campaign_id), actor_id=admin)

    def ids(**kwargs: Any) -> list[int]:
        return _ids(engine, campaign_id, admin, **kwargs)

    assert ids(search="QUESTION 3?") == list(everything[everything.prompt_id == "p3"].comparison_id)
    by_model = everything[(everything.model_a == "m2") | (everything.model_b == "m2")]
    assert ids(search="m2") == list(by_model.comparison_id)
    assert ids(search="coding") == list(everything[everything.category == "coding"].comparison_id)
    assert ids(search="100%_") == []


def test_retired_gold_and_flag_filters(engine, stored) -> None:
    campaign_id, admin = stored["campaign"].id, stored["admin"]
    first, second = browse_items(engine, ItemQuery(campaign_id), actor_id=admin).comparison_id[:2]
    review.retire_comparison(engine, int(first), actor_id=admin)
    review.adjudicate(engine, int(second), 1, actor_id=admin)
    review.use_adjudication_as_gold(engine, int(second), actor_id=admin)

    def ids(**kwargs: Any) -> list[int]:
        return _ids(engine, campaign_id, admin, **kwargs)

    assert ids(retired=True) == [first]
    assert first not in ids(retired=False)
    assert ids(gold=True) == [second]
    assert ids(flagged=True) == []
    row = browse_items(engine, ItemQuery(campaign_id, gold=True), actor_id=admin).iloc[0]
    assert (row.check_kind, row.expected_preference, row.adjudication) == ("gold", 1, 1)


def test_an_item_in_full_has_every_current_vote_by_whom_and_in_which_order(engine, stored) -> None:
    campaign_id, admin = stored["campaign"].id, stored["admin"]
    cid = stored["first_ids"]["comparison_id"]
    detail = item_detail(engine, cid, actor_id=admin)
    frame = votes_frame(engine, VoteFilter(campaign_id))
    mine = frame[frame.comparison_id == cid]
    assert sorted((v.shown_order, v.preference) for v in detail.votes) == sorted(
        zip(mine.shown_order, mine.preference.astype(int), strict=True)
    )
    assert {v.rater for v in detail.votes} <= {"logical-judge@v1"} | {
        r.handle for r in stored["raters"]
    }
    assert detail.messages[0]["content"] == "Question 0?"
    assert detail.adjudication is None and detail.flags == [] and detail.retired_at is None


@pytest.mark.parametrize(
    "read",
    [
        lambda e, c, a: browse_items(e, ItemQuery(c), actor_id=a),
        lambda e, c, a: item_detail(e, 1, actor_id=a),
        lambda e, c, a: campaign_raters(e, c, actor_id=a),
    ],
)
def test_the_item_browser_is_for_admins_only(engine, stored, read) -> None:
    rater = stored["raters"][0].id
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        read(engine, stored["campaign"].id, rater)
