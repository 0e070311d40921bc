"""Races between writers: two tabs of one rater, admins writing while raters rate.

Each case is run on SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from annotate import team
from annotate.campaign_setup import CampaignSettings, save_campaign
from annotate.campaigns import create_campaign
from annotate.items import Answer
from annotate.queue import next_item
from annotate.submission import submit, undo_last
from db.errors import InvalidInputError
from db.models import Campaign, Invite, Judgment
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


def test_undo_and_submit_racing_from_two_tabs_lose_no_answer(engine) -> None:
    rater, cid = _rater_and_campaign(engine, n_prompts=20)
    answered = []
    for _ in range(8):
        done = next_item(engine, rater, cid)
        submit(engine, rater, done.assignment_id, Answer(-1))
        held = next_item(engine, rater, cid)
        assert next_item(engine, rater, cid).assignment_id == held.assignment_id
        calls = (
            lambda: undo_last(engine, rater, cid),
            lambda held=held: submit(engine, rater, held.assignment_id, Answer(1)),
        )
        _, errors = _at_once(2, lambda i, calls=calls: calls[i]())
        assert errors == []
        # Undo takes back whichever item was finished last: the earlier one, or the one
        # the other tab submitted a moment before.
        reopened = next_item(engine, rater, cid)
        assert reopened.assignment_id in (done.assignment_id, held.assignment_id)
        submit(engine, rater, reopened.assignment_id, Answer(0))
        answered += [done.assignment_id, held.assignment_id]
    assert sorted(a for a, _ in _current_judgments(engine)) == sorted(answered)


# --- issue 13, point 20: concurrent admin writes -------------------------------------------


def _at_once(n: int, call: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``call(i)`` for i in range(n) in n threads released together."""
    start = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results.append(call(i))
        except BaseException as exc:  # noqa: BLE001 - counted by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_admins_creating_the_same_campaign_at_once_get_one_campaign(engine) -> None:
    admins = []
    with factory.session(engine) as s:
        for i in range(4):
            admins.append(factory.user(s, f"admin{i}@example.com", role="admin").id)
        s.commit()
    for round_ in range(3):
        name = f"launch {round_}"
        made, errors = _at_once(
            4, lambda i, name=name: create_campaign(engine, name, actor_id=admins[i], overlap=2).id
        )
        assert errors == []
        assert len(set(made)) == 1
    with factory.session(engine) as s:
        assert s.execute(select(func.count()).select_from(Campaign)).scalar_one() == 3


def test_admins_inviting_the_same_address_at_once_get_one_invite(engine) -> None:
    with factory.session(engine) as s:
        admins = [factory.user(s, f"admin{i}@example.com", role="admin").id for i in range(4)]
        s.commit()
    for round_ in range(3):
        address = f"new{round_}@example.com"
        _, errors = _at_once(
            4, lambda i, address=address: team.invite(engine, address, actor_id=admins[i])
        )
        assert errors == []
    with factory.session(engine) as s:
        assert s.execute(select(func.count()).select_from(Invite)).scalar_one() == 3


def test_creating_an_existing_campaign_with_other_settings_names_the_difference(engine) -> None:
    admin = factory.admin_id(engine)
    first = create_campaign(engine, "launch", actor_id=admin, overlap=2)
    assert create_campaign(engine, " launch ", actor_id=admin, overlap=2).id == first.id
    with pytest.raises(InvalidInputError, match="already exists with other settings.*overlap"):
        create_campaign(engine, "launch", actor_id=admin, overlap=5)


ADMIN_WRITES = 40
RATER_THREADS = 4


def test_admin_saves_and_invites_succeed_while_raters_rate(engine) -> None:
    campaign_id = factory.bulk_pairwise_campaign(engine, "busy", 200, ("m1", "m2", "m3"))
    admin = factory.admin_id(engine)
    with factory.session(engine) as s:
        raters = [u.id for u in factory.raters(s, RATER_THREADS)]
        s.commit()
    stop = threading.Event()
    rated = Counter()
    rater_errors: list[BaseException] = []

    def rate(rater_id: int) -> None:
        rng = random.Random(rater_id)
        try:
            while not stop.is_set():
                item = next_item(engine, rater_id, campaign_id, rng=rng)
                if item is None:
                    return
                submit(engine, rater_id, item.assignment_id, Answer(rng.choice((-1, 0, 1))))
                rated[rater_id] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            rater_errors.append(exc)

    def admin_write(i: int) -> None:
        if i % 2:
            team.invite(engine, f"guest{i}@example.com", actor_id=admin)
        else:
            settings = CampaignSettings(name="busy", overlap=3, instructions=f"Version {i}.")
            save_campaign(engine, settings, campaign_id, actor_id=admin)

    threads = [threading.Thread(target=rate, args=(r,)) for r in raters]
    for t in threads:
        t.start()
    failures: list[BaseException] = []
    try:
        for i in range(ADMIN_WRITES):
            try:
                admin_write(i)
            except BaseException as exc:  # noqa: BLE001 - counted below
                failures.append(exc)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert rater_errors == []
    assert sum(rated.values()) > 0
    assert failures == []
    with factory.session(engine) as s:
        assert s.get(Campaign, campaign_id).instructions == f"Version {ADMIN_WRITES - 2}."
        assert s.execute(select(func.count()).select_from(Invite)).scalar_one() == (
            ADMIN_WRITES // 2
        )
