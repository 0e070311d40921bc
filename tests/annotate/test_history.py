from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from annotate.history import my_judgments, revisable, revise
from annotate.items import Answer
from annotate.queue import next_item
from annotate.submission import submit, undo_last
from db.errors import InvalidInputError, PermissionDeniedError
from db.models import Assignment, Campaign, Comparison, Judgment
from tests import factory


def _rated(engine, n: int = 2, **kwargs):
    """A blind campaign where rater 1 answered ``n`` items "A better"."""
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=n, **kwargs)
        r1, r2 = factory.raters(s, 2)
        s.commit()
    cid = data["campaign"].id
    rng = random.Random(5)
    for _ in range(n):
        item = next_item(engine, r1.id, cid, rng=rng)
        submit(engine, r1.id, item.assignment_id, Answer(-1, rationale="first"))
    return cid, r1.id, r2.id


def _judgments(engine) -> list[Judgment]:
    with factory.session(engine) as s:
        return list(s.execute(select(Judgment).order_by(Judgment.id)).scalars())


def test_history_shows_answers_as_seen_and_hides_models_when_blind(engine) -> None:
    cid, r1, r2 = _rated(engine)
    with factory.session(engine) as s:
        rows = my_judgments(engine, r1)
        assert [r.verdict for r in rows] == ["A better", "A better"]  # in the rater's terms
        assert {r.model_a for r in rows} == {None} and {r.model_b for r in rows} == {None}
        assert rows[0].prompt.startswith("Question")
        assert my_judgments(engine, r2) == []
        s.get(Campaign, cid).blind = False
        s.commit()
        rows = my_judgments(engine, r1)
    assert {r.model_a for r in rows} | {r.model_b for r in rows} <= set(factory.SECRET_MODELS)
    assert all(r.model_a != r.model_b for r in rows)


def test_revision_adds_a_version_and_keeps_the_old_row(engine) -> None:
    cid, r1, _ = _rated(engine, n=1)
    (original,) = _judgments(engine)
    with factory.session(engine) as s:
        target = revisable(engine, r1, original.id)
        n_done = s.get(Comparison, original.comparison_id).n_done
    assert target.answer == Answer(-1, rationale="first")
    assert target.item.response_a != target.item.response_b
    new_id = revise(engine, r1, original.id, Answer(1, rationale="second thoughts"))
    old, new = _judgments(engine)
    assert (old.id, old.is_current, old.version) == (original.id, False, 1)
    assert (new.id, new.is_current, new.version) == (new_id, True, 2)
    assert new.preference == -old.preference  # A better -> B better in the same shown order
    assert (new.shown_order, new.assignment_id) == (old.shown_order, old.assignment_id)
    assert new.time_on_task_ms == old.time_on_task_ms
    with factory.session(engine) as s:
        assert s.get(Comparison, original.comparison_id).n_done == n_done  # still one rating
        assert [r.verdict for r in my_judgments(engine, r1)] == ["B better"]
    with pytest.raises(InvalidInputError, match="already revised"):
        revise(engine, r1, original.id, Answer(0))


def test_only_your_own_current_answers_can_be_revised(engine) -> None:
    _, r1, r2 = _rated(engine, n=1)
    (j,) = _judgments(engine)
    with pytest.raises(PermissionDeniedError):
        revise(engine, r2, j.id, Answer(0))
    with pytest.raises(InvalidInputError, match="not on this campaign's 3way"):
        revise(engine, r1, j.id, Answer(2))
    assert len(_judgments(engine)) == 1


def test_undo_after_a_revision_retracts_the_revision(engine) -> None:
    cid, r1, _ = _rated(engine, n=1)
    (j,) = _judgments(engine)
    revise(engine, r1, j.id, Answer(0))
    assert undo_last(engine, r1, cid) == j.assignment_id
    assert [x.is_current for x in _judgments(engine)] == [False, False]
    item = next_item(engine, r1, cid)
    assert item.assignment_id == j.assignment_id and item.previous == Answer(0)
    submit(engine, r1, item.assignment_id, Answer(1))
    assert [(x.version, x.is_current) for x in _judgments(engine)] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    with factory.session(engine) as s:
        assert s.get(Assignment, j.assignment_id).status == "done"
