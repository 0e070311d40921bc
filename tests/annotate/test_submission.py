from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from annotate.campaigns import CriterionSpec
from annotate.items import Answer
from annotate.queue import next_item
from annotate.submission import LeaseLostError, flag, skip, submit, undo_last
from db.errors import InvalidInputError, PermissionDeniedError
from db.models import (
    Assignment,
    Campaign,
    Comparison,
    Judgment,
    JudgmentScore,
    RubricCriterion,
    User,
    utcnow,
)
from tests import factory

RUBRIC = [
    CriterionSpec("Helpful", "Does it answer?", "likert5"),
    CriterionSpec("Safe", "", "binary"),
]


def _setup(engine, n_raters: int = 2, **kwargs):
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, **kwargs)
        users = factory.raters(s, n_raters)
        s.commit()
        return data, [u.id for u in users]


def _rows(engine, model):
    with factory.session(engine) as s:
        return [r for (r,) in s.execute(select(model).order_by(model.id)).all()]


def _lease(engine, rater, campaign_id, order: str):
    """Lease the next item, retrying seeds until it is shown in ``order``."""
    for seed in range(50):
        item = next_item(engine, rater, campaign_id, rng=random.Random(seed))
        with factory.session(engine) as s:
            a = s.get(Assignment, item.assignment_id)
            if a.shown_order == order:
                return item, a
            s.delete(a)
            s.commit()
    raise AssertionError("no seed gave that order")


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_submit_stores_the_answer_in_canonical_terms(engine, order) -> None:
    data, (r1, _) = _setup(engine, n_prompts=1, mode="both", criteria=RUBRIC)
    cid = data["campaign"].id
    item, a = _lease(engine, r1, cid, order)
    crit = {c.name: c.id for c in _rows(engine, RubricCriterion)}
    scores = {
        "A": {crit["Helpful"]: 5, crit["Safe"]: 1},
        "B": {crit["Helpful"]: 2, crit["Safe"]: 0},
    }
    jid = submit(engine, r1, item.assignment_id, Answer(-1, scores=scores, rationale=" ok "))
    (j,) = _rows(engine, Judgment)
    comp = _rows(engine, Comparison)[0]
    left = comp.output_a_id if order == "ab" else comp.output_b_id
    assert j.id == jid
    assert j.preference == (-1 if order == "ab" else 1)  # "A better" means the left one
    assert (j.shown_order, j.rater_key, j.user_id, j.rationale) == (order, f"u:{r1}", r1, "ok")
    assert j.time_on_task_ms is not None and j.time_on_task_ms >= 0
    assert (j.version, j.is_current, j.is_reshow, j.assignment_id) == (1, True, False, a.id)
    helpful = {
        s.output_id: s.value
        for s in _rows(engine, JudgmentScore)
        if s.criterion_id == crit["Helpful"]
    }
    assert helpful[left] == 5.0
    assert comp.n_done == 1
    assert _rows(engine, Assignment)[0].status == "done"


def test_time_on_task_is_measured_on_the_server(engine) -> None:
    data, (r1, _) = _setup(engine, n_prompts=1)
    item = next_item(engine, r1, data["campaign"].id)
    submit(engine, r1, item.assignment_id, Answer(1), now=item.shown_at + timedelta(seconds=42))
    assert _rows(engine, Judgment)[0].time_on_task_ms == 42_000


@pytest.mark.parametrize(
    ("kwargs", "answer", "message"),
    [
        ({}, Answer(), "Choose which response"),
        ({}, Answer(2), "not on this campaign's 3way scale"),
        ({"allow_both_bad": False}, Answer(both_bad=True), "no 'both bad'"),
        ({}, Answer(-1, scores={"A": {1: 3}}), "no rubric"),
    ],
)
def test_invalid_answers_are_refused_with_the_fix(engine, kwargs, answer, message) -> None:
    data, (r1, _) = _setup(engine, n_prompts=1, **kwargs)
    item = next_item(engine, r1, data["campaign"].id)
    with pytest.raises(InvalidInputError, match=message):
        submit(engine, r1, item.assignment_id, answer)
    assert _rows(engine, Judgment) == []


def test_a_preference_alone_is_enough_when_the_rubric_rides_along(engine) -> None:
    data, (r1, _) = _setup(engine, n_prompts=1, mode="both", criteria=RUBRIC)
    item = next_item(engine, r1, data["campaign"].id)
    submit(engine, r1, item.assignment_id, Answer(-1))
    assert [j.preference is not None for j in _rows(engine, Judgment)] == [True]
    assert _rows(engine, JudgmentScore) == []


def test_a_rubric_only_item_needs_every_score(engine) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s, n_prompts=1, models=("m1",), pairs=False, mode="rubric", criteria=RUBRIC
        )
        factory.rubric_items(s, data["outputs"])
        r1 = factory.user(s, "solo@example.com").id
        s.commit()
    item = next_item(engine, r1, data["campaign"].id)
    with pytest.raises(InvalidInputError, match="Score 'Helpful' for the response"):
        submit(engine, r1, item.assignment_id, Answer())
    assert _rows(engine, Judgment) == []


def test_five_way_scale_and_both_bad(engine) -> None:
    data, (r1, _) = _setup(engine, n_prompts=2, preference_scale="5way")
    cid = data["campaign"].id
    item = next_item(engine, r1, cid)
    submit(engine, r1, item.assignment_id, Answer(2))
    item = next_item(engine, r1, cid)
    submit(engine, r1, item.assignment_id, Answer(both_bad=True))
    prefs = [(abs(j.preference), j.both_bad) for j in _rows(engine, Judgment)]
    assert prefs == [(2, False), (0, True)]


def test_nobody_submits_for_someone_else_or_twice(engine) -> None:
    data, (r1, r2) = _setup(engine, n_prompts=1)
    item = next_item(engine, r1, data["campaign"].id)
    with pytest.raises(PermissionDeniedError):
        submit(engine, r2, item.assignment_id, Answer(1))
    submit(engine, r1, item.assignment_id, Answer(1))
    with pytest.raises(InvalidInputError, match="already done"):
        submit(engine, r1, item.assignment_id, Answer(-1))
    assert len(_rows(engine, Judgment)) == 1


def test_flag_needs_a_reason_and_keeps_it(engine) -> None:
    data, (r1, _) = _setup(engine, n_prompts=1)
    item = next_item(engine, r1, data["campaign"].id)
    with pytest.raises(InvalidInputError, match="Say why"):
        flag(engine, r1, item.assignment_id, "  ")
    flag(engine, r1, item.assignment_id, "output is truncated")
    (a,) = _rows(engine, Assignment)
    assert (a.status, a.flag_reason) == ("flagged", "output is truncated")
    assert next_item(engine, r1, data["campaign"].id) is None


def test_undo_retracts_the_judgment_and_shows_the_item_again(engine) -> None:
    data, (r1, _) = _setup(engine, n_prompts=3)
    cid = data["campaign"].id
    zeroth = next_item(engine, r1, cid)
    submit(engine, r1, zeroth.assignment_id, Answer(0))
    first = next_item(engine, r1, cid)
    submit(engine, r1, first.assignment_id, Answer(-1, rationale="left is right"))
    second = next_item(engine, r1, cid)
    assert second.assignment_id != first.assignment_id
    assert undo_last(engine, r1, cid) == first.assignment_id
    again = next_item(engine, r1, cid)
    assert again.assignment_id == first.assignment_id
    assert again.previous == Answer(-1, rationale="left is right")
    with factory.session(engine) as s:
        assert sum(c.n_done for (c,) in s.execute(select(Comparison)).all()) == 1
        # the lease on the second item stays the rater's (another tab may be showing it)
        assert s.get(Assignment, second.assignment_id).status == "leased"
    with pytest.raises(InvalidInputError, match="already reopened"):
        undo_last(engine, r1, cid)
    submit(engine, r1, again.assignment_id, Answer(1))
    _, old, new = _rows(engine, Judgment)
    assert (old.version, old.is_current, old.preference) == (1, False, old.preference)
    assert (new.version, new.is_current) == (2, True)
    assert new.comparison_id == old.comparison_id
    with factory.session(engine) as s:
        assert sum(c.n_done for (c,) in s.execute(select(Comparison)).all()) == 2


def test_undo_of_a_skip_refuses_when_others_filled_the_item(engine) -> None:
    data, (r1, r2) = _setup(engine, n_prompts=1, overlap=1)
    cid = data["campaign"].id
    item = next_item(engine, r1, cid)
    skip(engine, r1, item.assignment_id)
    other = next_item(engine, r2, cid)
    submit(engine, r2, other.assignment_id, Answer(0))
    with pytest.raises(InvalidInputError, match="cannot be reopened"):
        undo_last(engine, r1, cid)
    assert undo_last(engine, r2, cid) == other.assignment_id  # undo of a judgment is fine


def test_nothing_to_undo(engine) -> None:
    data, (r1, _) = _setup(engine, n_prompts=1)
    assert undo_last(engine, r1, data["campaign"].id) is None


def test_a_late_answer_is_kept_while_there_is_room_and_refused_once_full(engine) -> None:
    data, (r1, r2) = _setup(engine, n_prompts=2, overlap=1)
    cid = data["campaign"].id
    late = utcnow() + timedelta(hours=1)
    item = next_item(engine, r1, cid)
    submit(engine, r1, item.assignment_id, Answer(1), now=late)  # nobody took it: kept
    item = next_item(engine, r1, cid)
    stolen = next_item(engine, r2, cid, now=late)
    submit(engine, r2, stolen.assignment_id, Answer(0), now=late)
    with pytest.raises(LeaseLostError, match="not saved"):
        submit(engine, r1, item.assignment_id, Answer(-1), now=late)
    with factory.session(engine) as s:
        assert [c.n_done for (c,) in s.execute(select(Comparison)).all()] == [1, 1]
        assert s.get(Assignment, item.assignment_id).status == "expired"


def test_a_rater_removed_from_the_campaign_cannot_submit_their_lease(engine) -> None:
    data, (r1, r2) = _setup(engine, n_prompts=1)
    cid = data["campaign"].id
    item = next_item(engine, r1, cid)
    with factory.session(engine) as s:
        s.get(Campaign, cid).allowed_raters = [r2]
        s.commit()
    with pytest.raises(PermissionDeniedError, match="closed to you"):
        submit(engine, r1, item.assignment_id, Answer(1))
    with factory.session(engine) as s:
        s.get(Campaign, cid).allowed_raters = None
        s.get(User, r1).active = False
        s.commit()
    with pytest.raises(PermissionDeniedError, match="not active"):
        skip(engine, r1, item.assignment_id)
    assert _rows(engine, Judgment) == []
