"""Races between writers: two tabs of one rater, admins writing while raters rate.

Each case is run on SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

from sqlalchemy import select

from annotate.items import Answer
from annotate.queue import next_item
from annotate.submission import submit, undo_last
from db.models import Judgment
from tests import factory


def _rater_and_campaign(engine, n_prompts: int = 3) -> tuple[int, int]:
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=n_prompts)
        (rater,) = factory.raters(s, 1)
        s.commit()
        return rater.id, data["campaign"].id


def _current_judgments(engine) -> list[tuple[int, int]]:
    with factory.session(engine) as s:
        return [
            tuple(r)
            for r in s.execute(
                select(Judgment.assignment_id, Judgment.preference)
                .where(Judgment.is_current)
                .order_by(Judgment.id)
            ).all()
        ]


# --- issue 13, point 19: undo in one tab, submit in another -------------------------------


def test_undo_in_one_tab_does_not_lose_the_answer_submitted_in_another(engine) -> None:
    rater, cid = _rater_and_campaign(engine)
    first = next_item(engine, rater, cid)
    submit(engine, rater, first.assignment_id, Answer(-1))
    tab_one = next_item(engine, rater, cid)
    tab_two = next_item(engine, rater, cid)
    assert tab_one.assignment_id == tab_two.assignment_id  # both tabs show the held lease

    assert undo_last(engine, rater, cid) == first.assignment_id  # tab one takes back item 1
    submit(engine, rater, tab_two.assignment_id, Answer(1))  # tab two answers its item

    reopened = next_item(engine, rater, cid)
    assert reopened.assignment_id == first.assignment_id
    submit(engine, rater, reopened.assignment_id, Answer(0))
    stored = _current_judgments(engine)
    assert sorted(a for a, _ in stored) == sorted([first.assignment_id, tab_two.assignment_id])
