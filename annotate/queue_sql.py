"""The rating queue's tables and statements, built once at import (Core, bound parameters)
so a request pays for SQL, not for building SQL; the write transaction they run in; and the
reads that build page values inside a caller's transaction (annotate-internal: they take a
Connection, the public functions in annotate.queue/submission/history take the engine).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, literal, select, text
from sqlalchemy.engine import Connection, Engine

from annotate.items import (
    Answer,
    RateItem,
    RatingSetup,
    answer_from_rows,
    item_from_row,
    setup_from_rows,
)
from db.engine import is_sqlite
from db.errors import NotFoundError
from db.models import (
    Assignment,
    Campaign,
    Comparison,
    Judgment,
    JudgmentScore,
    Output,
    Prompt,
    RubricCriterion,
    User,
)
from metrics.vocabulary import user_key

FINISHED = ("done", "skipped", "flagged")
"""Assignment statuses that count as an item the rater has dealt with."""
WINDOW = 16
"""Candidates read per queue query; a rater's own history is skipped inside the SQL."""
RESHOW_MIN_GAP = 5
"""Never re-show one of a rater's last few items: they would remember it."""

A = Assignment.__table__
C = Comparison.__table__
J = Judgment.__table__
JS = JudgmentScore.__table__
CP = Campaign.__table__
RC = RubricCriterion.__table__
P = Prompt.__table__
O = Output.__table__  # noqa: E741
U = User.__table__


# --- transactions --------------------------------------------------------------------------

_sqlite_locks: dict[str, threading.Lock] = {}
_immediate: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: BEGIN IMMEDIATE on SQLite (queued per process), plain on PG."""
    if not is_sqlite(engine):
        with engine.begin() as conn:
            yield conn
        return
    lock = _sqlite_locks.setdefault(str(engine.url), threading.Lock())
    immediate = _immediate.get(engine)
    if immediate is None:
        immediate = _immediate[engine] = engine.execution_options(sqlite_begin="IMMEDIATE")
    with lock, immediate.begin() as conn:
        yield conn


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


# --- prebuilt statements -------------------------------------------------------------------


def _leases(comparison_id: Any) -> Any:
    return (
        select(func.count())
        .select_from(A)
        .where(
            A.c.comparison_id == comparison_id,
            A.c.status == "leased",
            A.c.expires_at > bindparam("now"),
        )
        .scalar_subquery()
    )


def _absent(query: Any) -> Any:
    """``(SELECT 1 ... LIMIT 1) IS NULL``: NOT EXISTS that PostgreSQL cannot turn into a join.

    As an anti-join PostgreSQL reads the whole campaign, then sorts; as a per-row subplan
    it walks the (campaign_id, n_done, serve_rank) index in order and stops after WINDOW rows.
    """
    return query.limit(1).scalar_subquery().is_(None)


def _not_seen() -> Any:
    """No assignment of this rater and no judgment under their key (imported votes too)."""
    mine = A.alias("mine")
    return and_(
        _absent(
            select(literal(1)).where(
                mine.c.comparison_id == C.c.id, mine.c.rater_id == bindparam("rid")
            )
        ),
        _absent(
            select(literal(1)).where(
                J.c.comparison_id == C.c.id, J.c.rater_key == bindparam("rkey")
            )
        ),
    )


_LEASES = _leases(C.c.id)

Q_HELD = (
    select(A.c.id)
    .where(
        A.c.rater_id == bindparam("rid"),
        A.c.campaign_id == bindparam("cid"),
        A.c.status == "leased",
        A.c.expires_at > bindparam("now"),
    )
    .order_by(A.c.id)
    .limit(1)
)

Q_CAMPAIGN = select(
    CP,
    select(U.c.active).where(U.c.id == bindparam("rid")).scalar_subquery().label("rater_active"),
    Q_HELD.scalar_subquery().label("held_id"),
).where(CP.c.id == bindparam("cid"))
"""The campaign, whether the rater is active, and the lease they hold: one round trip."""

Q_FINISHED = (
    select(func.count())
    .select_from(A)
    .where(
        A.c.rater_id == bindparam("rid"),
        A.c.campaign_id == bindparam("cid"),
        A.c.status.in_(FINISHED),
    )
)

Q_CANDIDATES = (
    select(C.c.id, C.c.n_done, _LEASES, C.c.serve_rank)
    .where(
        C.c.campaign_id == bindparam("cid"),
        C.c.n_done < bindparam("overlap"),
        C.c.check_kind.is_(None),
        C.c.retired_at.is_(None),
        _not_seen(),
        C.c.n_done + _LEASES < bindparam("overlap"),
    )
    .order_by(C.c.n_done, C.c.serve_rank)
    .limit(WINDOW)
)
"""Open comparisons in ``ix_comparisons_queue`` order: fewest completed, then serving order.

No ``id`` in the ORDER BY: PostgreSQL's index does not carry it, and asking for it turns the
early-stopping index walk into a sort of the whole campaign. Ranks are 62-bit hashes, so
ties are (almost) impossible; the caller breaks any by id (SQLite's index order does too)."""

Q_CHECK_CANDIDATES = (
    select(C.c.id)
    .where(
        C.c.campaign_id == bindparam("cid"),
        C.c.check_kind == bindparam("kind"),
        C.c.retired_at.is_(None),
        _not_seen(),
    )
    .order_by(C.c.n_done, C.c.serve_rank, C.c.id)
    .limit(WINDOW)
)

_again = A.alias("again")
Q_RESHOW_CANDIDATES = (
    select(A.c.comparison_id, A.c.shown_order)
    .where(
        A.c.rater_id == bindparam("rid"),
        A.c.campaign_id == bindparam("cid"),
        A.c.status == "done",
        A.c.kind == "normal",
        _absent(
            select(literal(1)).where(C.c.id == A.c.comparison_id, C.c.retired_at.is_not(None))
        ),
        ~exists().where(
            _again.c.comparison_id == A.c.comparison_id,
            _again.c.rater_id == A.c.rater_id,
            _again.c.kind == "reshow",
        ),
    )
    .order_by(A.c.id.desc())
    .limit(RESHOW_MIN_GAP + WINDOW)
)

Q_LOCK_SKIP = select(C.c.id).where(C.c.id == bindparam("comp")).with_for_update(skip_locked=True)

Q_STILL_OPEN = select(C.c.n_done, _LEASES).where(
    C.c.id == bindparam("comp"), C.c.retired_at.is_(None), _not_seen()
)

Q_INSERT_LEASE = insert(A).returning(A.c.id)

Q_COMPARISON = select(C).where(C.c.id == bindparam("comp"))
Q_COMPARISON_LOCK = Q_COMPARISON.with_for_update()
Q_NEXT_VERSION = select(func.coalesce(func.max(J.c.version), 0) + 1).where(
    J.c.comparison_id == bindparam("comp"),
    J.c.rater_key == bindparam("rkey"),
    J.c.shown_order == bindparam("order"),
)
Q_INSERT_JUDGMENT = insert(J).returning(J.c.id)
PG_LEASE_SETTINGS = text(
    "SELECT set_config('synchronous_commit', 'off', true), set_config('jit', 'off', true)"
)
"""For one lease transaction on PostgreSQL. A lease lost in a crash just goes back to the
pool, so it need not wait for the WAL flush. The candidate query stops after a few index
rows, but the planner cannot know that and prices it as a full scan, which would switch on
JIT compilation: hundreds of milliseconds spent to save microseconds."""

_OA, _OB = O.alias("oa"), O.alias("ob")
Q_VIEW = (
    select(
        A.c.id,
        A.c.rater_id,
        A.c.comparison_id,
        A.c.shown_order,
        A.c.leased_at,
        A.c.expires_at,
        P.c.messages,
        _OA.c.id.label("a_id"),
        _OA.c.content.label("a_content"),
        _OA.c.turns.label("a_turns"),
        _OB.c.id.label("b_id"),
        _OB.c.content.label("b_content"),
        _OB.c.turns.label("b_turns"),
        select(J.c.id)
        .where(
            J.c.comparison_id == A.c.comparison_id,
            J.c.rater_key == bindparam("rkey"),
            J.c.shown_order == A.c.shown_order,
            J.c.assignment_id == A.c.id,
        )
        .order_by(J.c.version.desc())
        .limit(1)
        .scalar_subquery()
        .label("previous_id"),
    )
    .join(C, C.c.id == A.c.comparison_id)
    .join(P, P.c.id == C.c.prompt_id)
    .join(_OA, _OA.c.id == C.c.output_a_id)
    .join(_OB, _OB.c.id == C.c.output_b_id)
    .where(A.c.id == bindparam("aid"))
)

Q_CRITERIA = (
    select(RC.c.id, RC.c.name, RC.c.description, RC.c.scale, RC.c.categories)
    .where(RC.c.campaign_id == bindparam("cid"))
    .order_by(RC.c.position, RC.c.id)
)


# --- reads inside a caller's transaction ---------------------------------------------------


def read_setup(conn: Connection, campaign: Mapping[str, Any]) -> RatingSetup:
    """The rating setup of a campaign row; a pairwise campaign's rubric is not read (unused)."""
    criteria = (
        conn.execute(Q_CRITERIA, {"cid": campaign["id"]}).all()
        if campaign["mode"] in ("rubric", "both")
        else []
    )
    return setup_from_rows(campaign, criteria)


def read_setup_of(conn: Connection, campaign_id: int) -> RatingSetup:
    """The rating setup of a campaign by id, inside the caller's transaction."""
    row = conn.execute(select(CP).where(CP.c.id == campaign_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"No campaign with id {campaign_id}: pick one from the list.")
    return read_setup(conn, row)


def read_answer(conn: Connection, judgment_id: int, shown_order: str) -> Answer:
    """A stored judgment translated back into the terms the rater saw (A = left)."""
    row = conn.execute(
        select(J.c.preference, J.c.both_bad, J.c.rationale, C.c.output_a_id, C.c.output_b_id)
        .join(C, C.c.id == J.c.comparison_id)
        .where(J.c.id == judgment_id)
    ).first()
    if row is None:
        raise NotFoundError(f"No judgment with id {judgment_id}.")
    scores = conn.execute(
        select(JS.c.output_id, JS.c.criterion_id, JS.c.value).where(JS.c.judgment_id == judgment_id)
    ).all()
    return answer_from_rows(row, scores, shown_order)


def read_item(conn: Connection, assignment_id: int, rater_id: int) -> RateItem:
    """An assignment as its rater sees it (sides in the order they were shown)."""
    row = conn.execute(Q_VIEW, {"aid": assignment_id, "rkey": user_key(rater_id)}).mappings()
    row = row.first()
    if row is None or row["rater_id"] != rater_id:
        raise NotFoundError(f"No item {assignment_id} leased to you: reload the page.")
    previous = row["previous_id"]
    return item_from_row(row, read_answer(conn, previous, row["shown_order"]) if previous else None)


def release_leases(conn: Connection, rater_id: int, campaign_id: int, *, keep: int) -> int:
    """Hand back this rater's fresh leases in a campaign (other than ``keep``) to the pool.

    Leases that carry an undone judgment are kept: deleting them would orphan it.
    """
    query = (
        A.delete()
        .where(A.c.rater_id == rater_id)
        .where(A.c.campaign_id == campaign_id)
        .where(A.c.status == "leased")
        .where(A.c.id != keep)
        .where(~exists().where(J.c.assignment_id == A.c.id))
    )
    return conn.execute(query).rowcount or 0


def lock_comparison(conn: Connection, comparison_id: int) -> Mapping[str, Any]:
    """A comparison row, locked until commit on PostgreSQL (SQLite already holds the lock)."""
    query = Q_COMPARISON_LOCK if is_postgres(conn) else Q_COMPARISON
    return conn.execute(query, {"comp": comparison_id}).mappings().one()


def store_judgment(
    conn: Connection,
    *,
    comparison: Mapping[str, Any],
    rater_id: int,
    shown_order: str,
    answer: Answer,
    assignment_id: int | None,
    is_reshow: bool,
    time_on_task_ms: int | None,
    now: datetime,
) -> int:
    """Insert a judgment (next free version) and its scores in canonical terms; its id."""
    key = user_key(rater_id)
    version = conn.execute(
        Q_NEXT_VERSION, {"comp": comparison["id"], "rkey": key, "order": shown_order}
    ).scalar_one()
    sign = 1 if shown_order == "ab" else -1
    preference = 0 if answer.both_bad else answer.preference
    judgment_id = conn.execute(
        Q_INSERT_JUDGMENT,
        {
            "campaign_id": comparison["campaign_id"],
            "comparison_id": comparison["id"],
            "rater_key": key,
            "rater_kind": "human",
            "user_id": rater_id,
            "judge_id": None,
            "judge_run_id": None,
            "assignment_id": assignment_id,
            "shown_order": shown_order,
            "preference": None if preference is None else sign * preference,
            "both_bad": answer.both_bad,
            "rationale": (answer.rationale or "").strip() or None,
            "raw_reply": None,
            "time_on_task_ms": time_on_task_ms,
            "is_reshow": is_reshow,
            "version": version,
            "is_current": True,
            "source": "app",
            "tokens_in": None,
            "tokens_out": None,
            "created_at": now,
        },
    ).scalar_one()
    output_of = (
        {"A": comparison["output_a_id"], "B": comparison["output_b_id"]}
        if shown_order == "ab"
        else {"A": comparison["output_b_id"], "B": comparison["output_a_id"]}
    )
    scores = [
        {
            "judgment_id": judgment_id,
            "output_id": output_of[side],
            "criterion_id": criterion_id,
            "value": float(value),
        }
        for side, values in answer.scores.items()
        for criterion_id, value in values.items()
    ]
    if scores:
        conn.execute(insert(JS), scores)
    return judgment_id
