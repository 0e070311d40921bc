"""Soak (issue 13, standing suite): 16 raters and 2 admins writing at once for a while.

Every thread drives the domain calls a browser session would (each call opens its own
session): raters take the next item and answer it, sometimes undo, flag or revise their
last answer; admins save campaign settings, invite addresses, change a role and create
campaigns. The run must end with no error and with the queue's invariants intact.

``JUDGEBOARD_SOAK_SECONDS`` sets the length (default 60 s) so developers can shorten it.
Run with ``pytest -s`` to see the figures. The ``engine`` fixture gives SQLite (a file
shared by all threads) and PostgreSQL.
"""

from __future__ import annotations

import os
import random
import threading
import time
import traceback
from collections import Counter

import pytest
from sqlalchemy import and_, func, select

from annotate import team
from annotate.campaign_setup import CampaignSettings, save_campaign
from annotate.campaigns import create_campaign
from annotate.history import revise
from annotate.items import Answer
from annotate.queue import next_item
from annotate.submission import flag, submit, undo_last
from db.engine import is_sqlite
from db.models import Assignment, Campaign, Comparison, Invite, Judgment, utcnow
from tests import factory

RATERS = 16
ADMINS = 2
SPARE_USERS = 4  # whose roles the admins change
SOAK_SECONDS = float(os.environ.get("JUDGEBOARD_SOAK_SECONDS", "60"))
PROMPTS = 3000  # x 3 pairs x overlap 3: more slots than 16 raters fill in a minute
OVERLAP = 3


class Tally:
    """Operation counts and errors, shared by the threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: Counter[str] = Counter()
        self.errors: list[str] = []

    def count(self, kind: str) -> None:
        with self.lock:
            self.ops[kind] += 1

    def error(self, who: str, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(
                f"{who}: {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exception(exc)[-4:])
            )


def _rater_loop(engine, rater_id: int, campaign_id: int, deadline: float, tally: Tally) -> None:
    rng = random.Random(rater_id)
    last_judgment: int | None = None
    while time.monotonic() < deadline:
        try:
            item = next_item(engine, rater_id, campaign_id, rng=rng)
            tally.count("next_item")
            if item is None:
                tally.count("queue_empty")
                return
            roll = rng.random()
            if roll < 0.05:
                flag(engine, rater_id, item.assignment_id, "output is truncated")
                tally.count("flag")
                last_judgment = None  # undo may now reopen the flagged item
                continue
            last_judgment = submit(
                engine, rater_id, item.assignment_id, Answer(rng.choice((-1, 0, 1)))
            )
            tally.count("submit")
            roll = rng.random()
            if roll < 0.10:
                if undo_last(engine, rater_id, campaign_id) is not None:
                    tally.count("undo")
                    last_judgment = None  # its judgment is no longer current
            elif roll < 0.20 and last_judgment is not None:
                last_judgment = revise(
                    engine, rater_id, last_judgment, Answer(rng.choice((-1, 0, 1)))
                )
                tally.count("revise")
        except BaseException as exc:  # noqa: BLE001 - every exception is a soak error
            tally.error(f"rater {rater_id}", exc)


def _admin_loop(
    engine,
    admin_id: int,
    campaign_id: int,
    spare_users: list[int],
    deadline: float,
    tally: Tally,
    tag: str,
) -> None:
    rng = random.Random(admin_id)
    step = 0
    while time.monotonic() < deadline:
        step += 1
        kind = ("save_campaign", "invite", "set_role", "create_campaign")[step % 4]
        try:
            if kind == "save_campaign":
                settings = CampaignSettings(
                    name="soak",
                    overlap=OVERLAP,
                    instructions=f"Version {tag}{admin_id}.{step}.",
                )
                save_campaign(engine, settings, campaign_id, actor_id=admin_id)
            elif kind == "invite":
                # Both admins invite the same addresses, so some invites race.
                team.invite(engine, f"guest{step % 50}@example.com", actor_id=admin_id)
            elif kind == "set_role":
                team.set_role(
                    engine,
                    rng.choice(spare_users),
                    rng.choice(("admin", "rater")),
                    actor_id=admin_id,
                )
            else:
                # Both admins create the same campaigns: the second call finds the first's.
                create_campaign(engine, f"soak extra {step % 40}", actor_id=admin_id, overlap=2)
            tally.count(kind)
        except BaseException as exc:  # noqa: BLE001 - every exception is a soak error
            tally.error(f"admin {admin_id} {kind}", exc)


def _check_invariants(engine, campaign_id: int) -> dict[str, int]:
    now = utcnow()
    A, C, J = Assignment.__table__, Comparison.__table__, Judgment.__table__
    with engine.connect() as conn:
        over = conn.execute(
            select(func.count())
            .select_from(C.join(Campaign.__table__, Campaign.__table__.c.id == C.c.campaign_id))
            .where(C.c.n_done > Campaign.__table__.c.overlap)
        ).scalar_one()
        assert over == 0, f"{over} comparisons have n_done above the campaign's overlap"

        current = (
            select(J.c.comparison_id, func.count().label("n"))
            .where(J.c.is_current, J.c.is_reshow.is_(False), J.c.rater_key.like("u:%"))
            .group_by(J.c.comparison_id)
            .subquery()
        )
        mismatched = conn.execute(
            select(func.count())
            .select_from(C.outerjoin(current, current.c.comparison_id == C.c.id))
            .where(C.c.campaign_id == campaign_id)
            .where(C.c.n_done != func.coalesce(current.c.n, 0))
        ).scalar_one()
        assert mismatched == 0, f"{mismatched} comparisons' n_done differs from their judgments"

        twice = conn.execute(
            select(func.count()).select_from(
                select(J.c.comparison_id)
                .where(J.c.is_current)
                .group_by(J.c.comparison_id, J.c.rater_key, J.c.shown_order)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        assert twice == 0, f"{twice} (comparison, rater, order) have two current judgments"

        twice_normal = conn.execute(
            select(func.count()).select_from(
                select(J.c.comparison_id)
                .where(J.c.is_current, J.c.is_reshow.is_(False))
                .group_by(J.c.comparison_id, J.c.rater_key)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        assert twice_normal == 0, f"{twice_normal} raters judged one comparison twice"

        orphans = conn.execute(
            select(func.count())
            .select_from(J.outerjoin(A, A.c.id == J.c.assignment_id))
            .where(J.c.assignment_id.is_not(None), A.c.id.is_(None))
        ).scalar_one()
        assert orphans == 0, f"{orphans} judgments point at a missing assignment"

        stale = conn.execute(
            select(func.count()).select_from(A).where(A.c.status == "leased", A.c.expires_at <= now)
        ).scalar_one()
        assert stale == 0, f"{stale} leases are still 'leased' past their expiry"

        many_leases = conn.execute(
            select(func.count()).select_from(
                select(A.c.rater_id)
                .where(A.c.status == "leased")
                .group_by(A.c.rater_id, A.c.campaign_id)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        assert many_leases == 0, f"{many_leases} raters hold more than one lease"

        done_without_judgment = conn.execute(
            select(func.count())
            .select_from(A.outerjoin(J, and_(J.c.assignment_id == A.c.id, J.c.is_current)))
            .where(A.c.status == "done", J.c.id.is_(None))
        ).scalar_one()
        assert done_without_judgment == 0, (
            f"{done_without_judgment} assignments are done without a current judgment"
        )

        return {
            "judgments": conn.execute(select(func.count()).select_from(J)).scalar_one(),
            "current judgments": conn.execute(
                select(func.count()).select_from(J).where(J.c.is_current)
            ).scalar_one(),
            "assignments": conn.execute(select(func.count()).select_from(A)).scalar_one(),
            "invites": conn.execute(
                select(func.count()).select_from(Invite.__table__)
            ).scalar_one(),
            "campaigns": conn.execute(
                select(func.count()).select_from(Campaign.__table__)
            ).scalar_one(),
        }


@pytest.mark.slow
def test_soak_raters_and_admins_writing_at_once(engine) -> None:
    backend = "sqlite" if is_sqlite(engine) else "postgresql"
    campaign_id = factory.bulk_pairwise_campaign(engine, "soak", PROMPTS, ("m1", "m2", "m3"))
    with factory.session(engine) as s:
        raters = [u.id for u in factory.raters(s, RATERS)]
        admins = [factory.user(s, f"boss{i}@example.com", role="admin").id for i in range(ADMINS)]
        spares = [u.id for u in factory.raters(s, SPARE_USERS, prefix="spare")]
        s.commit()
    admin = factory.admin_id(engine)
    save_campaign(
        engine, CampaignSettings(name="soak", overlap=OVERLAP), campaign_id, actor_id=admin
    )

    tally = Tally()
    deadline = time.monotonic() + SOAK_SECONDS
    threads = [
        threading.Thread(target=_rater_loop, args=(engine, r, campaign_id, deadline, tally))
        for r in raters
    ] + [
        threading.Thread(
            target=_admin_loop,
            args=(engine, a, campaign_id, spares, deadline, tally, backend[0]),
        )
        for a in admins
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SOAK_SECONDS + 300)
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "a soak thread did not finish"

    figures = _check_invariants(engine, campaign_id)
    admin_writes = sum(
        tally.ops[k] for k in ("save_campaign", "invite", "set_role", "create_campaign")
    )
    print(
        f"\nsoak {backend}: {SOAK_SECONDS:g} s requested, {elapsed:.1f} s run,"
        f" {RATERS} raters + {ADMINS} admins"
    )
    for kind, n in sorted(tally.ops.items()):
        print(f"  {kind:16} {n}")
    print(f"  {'admin writes':16} {admin_writes}")
    for name, n in figures.items():
        print(f"  {name:16} {n}")
    print(f"  {'errors':16} {len(tally.errors)}")
    for e in tally.errors[:10]:
        print("  ERROR", e)

    assert tally.errors == [], f"{len(tally.errors)} errors, first: {tally.errors[0]}"
    # Real work happened on both sides (counts, not speed: a slow machine still passes).
    assert tally.ops["submit"] >= RATERS
    assert tally.ops["submit"] > tally.ops["undo"]
    assert admin_writes >= 4 * ADMINS
    with factory.session(engine) as s:
        assert s.get(Campaign, campaign_id).overlap == OVERLAP
