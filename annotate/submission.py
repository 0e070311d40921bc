"""What a rater does with a leased item: submit, skip, flag, undo; and answer validation.

Every write locks the comparison row first (PostgreSQL ``FOR UPDATE``; on SQLite the
transaction already holds the database write lock from ``BEGIN IMMEDIATE``), the same order
the queue uses, so a lease decision never races a submission, and ``Comparison.n_done``
moves in the same transaction as the judgment it counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from annotate.items import MAX_RATER_TEXT, Answer, RatingSetup, without_nul
from annotate.queue_sql import (
    CP,
    FINISHED,
    A,
    C,
    J,
    U,
    is_postgres,
    read_setup,
    store_judgment,
    writing,
)
from db.errors import InvalidInputError, JudgeboardError, NotFoundError, PermissionDeniedError
from db.models import utcnow
from metrics.vocabulary import user_key


class LeaseLostError(JudgeboardError):
    """The lease ran out and other raters filled the comparison; the answer was not kept."""


Q_ASSIGNMENT = (
    select(
        A,
        *(c.label(f"cp__{c.name}") for c in CP.c),
        select(U.c.active).where(U.c.id == A.c.rater_id).scalar_subquery().label("rater_active"),
    )
    .join(CP, CP.c.id == A.c.campaign_id)
    .where(A.c.id == bindparam("aid"))
)
"""An assignment, its campaign's columns (prefixed ``cp__``) and whether its rater is still
active: one round trip."""
Q_COMPARISON_OF = select(C).join(A, A.c.comparison_id == C.c.id).where(A.c.id == bindparam("aid"))
Q_COMPARISON_OF_LOCK = Q_COMPARISON_OF.with_for_update(of=(C, A))
"""Locks the comparison and the assignment: a lease cannot vanish under a submission (its
judgment would then fail the foreign key and the answer would be lost)."""
Q_ACTIVE_LEASES = (
    select(func.count())
    .select_from(A)
    .where(
        A.c.comparison_id == bindparam("comp"),
        A.c.status == "leased",
        A.c.expires_at > bindparam("now"),
    )
)
Q_N_DONE = update(C).where(C.c.id == bindparam("comp")).values(n_done=C.c.n_done + bindparam("d"))
Q_FINISH = (
    update(A)
    .where(A.c.id == bindparam("aid"))
    .values(
        status=bindparam("new_status"),
        finished_at=bindparam("finished"),
        flag_reason=bindparam("reason"),
    )
)


def check_rater_text(field: str, text: str | None) -> None:
    """Refuse text a rater typed that is longer than ``MAX_RATER_TEXT``, naming the field.

    The pages stop typing at the limit already (``max_chars``); this is the check that holds
    for every caller.
    """
    if text is not None and len(text) > MAX_RATER_TEXT:
        raise InvalidInputError(
            f"{field} is {len(text):,} characters long; the limit is {MAX_RATER_TEXT:,}"
            " characters: shorten it and submit again."
        )


def validate_answer(setup: RatingSetup, answer: Answer, single: bool) -> None:
    """Raise InvalidInputError naming what is missing or out of range for this campaign."""
    check_rater_text("Rationale", (answer.rationale or "").strip())
    if setup.wants_preference and not single:
        allowed = {-1, 0, 1} if setup.preference_scale == "3way" else {-2, -1, 0, 1, 2}
        if answer.both_bad:
            if not setup.allow_both_bad:
                raise InvalidInputError(
                    "This campaign has no 'both bad' choice: pick a preference instead."
                )
        elif answer.preference is None:
            raise InvalidInputError("Choose which response is better (or a tie) to submit.")
        elif answer.preference not in allowed:
            raise InvalidInputError(
                f"Preference {answer.preference} is not on this campaign's"
                f" {setup.preference_scale} scale: use one of {sorted(allowed)}."
            )
    elif answer.preference is not None or answer.both_bad:
        raise InvalidInputError("This item takes rubric scores only: leave the preference empty.")
    if not setup.wants_scores:
        if answer.scores:
            raise InvalidInputError("This campaign has no rubric: submit without scores.")
        return
    sides = ("A",) if single else ("A", "B")
    # With a preference to give, the rubric is optional (a keyboard-only rater can press
    # one key); on rubric-only items the scores are the answer, so every one is needed.
    required = single or not setup.wants_preference
    extra = set(answer.scores) - set(sides)
    if extra:
        raise InvalidInputError(f"Scores for unknown response(s) {sorted(extra)}: use A or B.")
    known = {c.id for c in setup.criteria}
    for side in sides:
        given = answer.scores.get(side, {})
        label = "the response" if single else f"Response {side}"
        for c in setup.criteria:
            value = given.get(c.id)
            if value is None:
                if not required:
                    continue
                raise InvalidInputError(f"Score '{c.name}' for {label} before submitting.")
            if float(value) not in c.options():
                raise InvalidInputError(
                    f"'{c.name}' for {label}: {value} is not on its {c.scale} scale."
                )
        if set(given) - known:
            raise InvalidInputError(
                f"Unknown rubric criteria {sorted(set(given) - known)}: reload the page, the"
                " rubric changed."
            )


def _lock_assignment(
    conn: Connection, rater_id: int, assignment_id: int
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The rater's assignment and its comparison: the comparison is locked first, then the
    assignment read, so what we read cannot change before commit."""
    query = Q_COMPARISON_OF_LOCK if is_postgres(conn) else Q_COMPARISON_OF
    comparison = conn.execute(query, {"aid": assignment_id}).mappings().first()
    a = conn.execute(Q_ASSIGNMENT, {"aid": assignment_id}).mappings().first()
    if comparison is None or a is None:
        raise NotFoundError(
            f"Item {assignment_id} is no longer leased to you (it was handed back or removed),"
            " so this answer was not saved: reload the page and answer the item it shows."
        )
    if a["rater_id"] != rater_id:
        raise PermissionDeniedError("That item is leased to another rater: reload the page.")
    if not a["rater_active"]:
        raise PermissionDeniedError(
            "Your account is not active: ask an admin to reactivate it before rating."
        )
    allowed = a["cp__allowed_raters"]
    if a["cp__archived"] or (allowed is not None and rater_id not in allowed):
        raise PermissionDeniedError(
            f"Campaign '{a['cp__name']}' is closed to you now: ask an admin, or pick another"
            " campaign."
        )
    return a, comparison


def _campaign_row(a: Mapping[str, Any]) -> dict[str, Any]:
    """The campaign columns that Q_ASSIGNMENT carries along, under their own names."""
    return {k.removeprefix("cp__"): v for k, v in a.items() if k.startswith("cp__")}


def _room_left(
    conn: Connection, comparison: Mapping[str, Any], overlap: int, now: datetime
) -> bool:
    leases = conn.execute(Q_ACTIVE_LEASES, {"comp": comparison["id"], "now": now}).scalar_one()
    return comparison["n_done"] + leases < overlap


def submit(
    engine: Engine,
    rater_id: int,
    assignment_id: int,
    answer: Answer,
    *,
    now: datetime | None = None,
) -> int:
    """Store the rater's answer for a leased item; returns the new judgment's id.

    The rationale is stored without NUL characters (``Answer`` removes them).

    Time on task is measured on the server, from when the item was first shown. An answer
    that comes after the lease ran out is still kept while the comparison has room; once
    other raters filled it, LeaseLostError says so and nothing is stored.
    """
    now = now or utcnow()
    lost = None
    with writing(engine) as conn:
        a, comparison = _lock_assignment(conn, rater_id, assignment_id)
        if a["status"] != "leased":
            raise InvalidInputError(
                f"This item was already {a['status']}: change it on the My history page."
            )
        campaign = _campaign_row(a)
        setup = read_setup(conn, campaign)
        validate_answer(setup, answer, comparison["output_a_id"] == comparison["output_b_id"])
        if (
            a["expires_at"] <= now
            and a["kind"] == "normal"
            and not _room_left(conn, comparison, campaign["overlap"], now)
        ):
            conn.execute(
                Q_FINISH, {"aid": a["id"], "new_status": "expired", "finished": now, "reason": None}
            )
            lost = LeaseLostError(
                "You held this item longer than the campaign's lease"
                f" ({campaign['lease_seconds']} s) and other raters have since completed it;"
                " your answer was not saved. Carry on with the next item."
            )
        else:
            judgment_id = store_judgment(
                conn,
                comparison=comparison,
                rater_id=rater_id,
                shown_order=a["shown_order"],
                answer=answer,
                assignment_id=a["id"],
                is_reshow=a["kind"] == "reshow",
                time_on_task_ms=max(0, int((now - a["leased_at"]).total_seconds() * 1000)),
                now=now,
            )
            if a["kind"] != "reshow":
                conn.execute(Q_N_DONE, {"comp": comparison["id"], "d": 1})
            conn.execute(
                Q_FINISH, {"aid": a["id"], "new_status": "done", "finished": now, "reason": None}
            )
    if lost is not None:
        raise lost
    return judgment_id


def skip(engine: Engine, rater_id: int, assignment_id: int, *, now: datetime | None = None) -> None:
    """Pass on an item: it goes back to the pool for others and never returns to this rater."""
    _finish_without_judgment(engine, rater_id, assignment_id, "skipped", None, now)


def flag(
    engine: Engine,
    rater_id: int,
    assignment_id: int,
    reason: str,
    *,
    now: datetime | None = None,
) -> None:
    """Report an item (broken, offensive, unanswerable); the reason goes to the admins.

    The reason is at most ``MAX_RATER_TEXT`` characters; NUL characters are removed before
    storing, on both databases (PostgreSQL refuses them in text).
    """
    reason = (without_nul(reason) or "").strip()
    if not reason:
        raise InvalidInputError("Say why you flag this item (e.g. 'output is truncated').")
    check_rater_text("Flag reason", reason)
    _finish_without_judgment(engine, rater_id, assignment_id, "flagged", reason, now)


def _finish_without_judgment(
    engine: Engine,
    rater_id: int,
    assignment_id: int,
    status: str,
    reason: str | None,
    now: datetime | None,
) -> None:
    with writing(engine) as conn:
        a, _ = _lock_assignment(conn, rater_id, assignment_id)
        if a["status"] != "leased":
            raise InvalidInputError(f"This item was already {a['status']}: reload the page.")
        conn.execute(
            Q_FINISH,
            {"aid": a["id"], "new_status": status, "finished": now or utcnow(), "reason": reason},
        )


def undo_last(
    engine: Engine, rater_id: int, campaign_id: int, *, now: datetime | None = None
) -> int | None:
    """Take back this rater's last finished item in a campaign and show it again.

    A submitted judgment is kept but marked ``is_current = false`` (the resubmission is the
    next version); the item is leased to the rater again. Undo touches that assignment only:
    another lease the rater holds stays theirs, because another tab may be showing it and
    about to submit (deleting it lost that answer). The queue shows the reopened item first
    (the lower id), then that lease while it lasts. One step only: an item reopened by undo
    must be answered (or skipped) before undoing another. Returns the reopened assignment id,
    or None when there is nothing to undo.
    """
    now = now or utcnow()
    with writing(engine) as conn:
        last_id = conn.execute(
            select(A.c.id)
            .where(
                A.c.rater_id == rater_id,
                A.c.campaign_id == campaign_id,
                A.c.status.in_(FINISHED),
            )
            .order_by(A.c.finished_at.desc(), A.c.id.desc())
            .limit(1)
        ).scalar()
        if last_id is None:
            return None
        reopened = conn.execute(
            select(J.c.id)
            .join(A, A.c.id == J.c.assignment_id)
            .where(A.c.rater_id == rater_id, A.c.campaign_id == campaign_id)
            .where(A.c.status == "leased")
            .limit(1)
        ).first()
        if reopened is not None:
            raise InvalidInputError(
                "You already reopened an item: answer or skip it before undoing another."
            )
        a, comparison = _lock_assignment(conn, rater_id, last_id)
        campaign = _campaign_row(a)
        if a["status"] == "done":
            retracted = conn.execute(
                update(J)
                .where(
                    J.c.comparison_id == a["comparison_id"],
                    J.c.rater_key == user_key(rater_id),
                    J.c.assignment_id == a["id"],
                    J.c.is_current,
                )
                .values(is_current=False)
            ).rowcount
            if retracted and a["kind"] != "reshow":
                conn.execute(Q_N_DONE, {"comp": comparison["id"], "d": -1})
        elif a["kind"] == "normal" and not _room_left(conn, comparison, campaign["overlap"], now):
            raise InvalidInputError(
                "Other raters have completed that item since you"
                f" {a['status']} it, so it cannot be reopened. Carry on with the next item."
            )
        conn.execute(
            update(A)
            .where(A.c.id == a["id"])
            .values(
                status="leased",
                flag_reason=None,
                finished_at=None,
                leased_at=now,
                expires_at=now + timedelta(seconds=campaign["lease_seconds"]),
            )
        )
        return a["id"]
