"""The rating queue: which comparison a rater sees next, leased so overlap is never exceeded.

A rater holds at most one lease per campaign. Asking for the next item returns that lease
while it is unexpired (a page refresh shows the same item); otherwise a new one is taken:

- with probability ``gold_rate`` / ``attention_rate`` a check item (``check_kind`` "gold" /
  "attention") this rater has not seen, with probability ``reshow_rate`` a comparison this
  rater already judged, sides swapped (``kind="reshow"``); they look like any other item;
- otherwise the ordinary comparison with the fewest completed ratings plus active leases
  that this rater never held, skipped or judged, while completed + leases < overlap.

Concurrency: on SQLite the whole decision runs under ``BEGIN IMMEDIATE`` (one writer at a
time; writers in this process also queue on a lock first, so they never sit in SQLite's
sleeping busy handler). On PostgreSQL candidates are read without locks, then locked one at
a time with ``FOR UPDATE SKIP LOCKED`` and re-counted under the lock: every path that adds
a lease or a completed rating locks the comparison row first, so the recount is exact.

Speed: candidates come from the ``(campaign_id, n_done)`` index in ``n_done`` order, a small
window at a time; the per-row checks hit the lease index, the assignments' unique key and
the judgments' unique key. Nothing scans a campaign's comparisons or a rater's history in
full. Statements are built once at import (Core, bound parameters) so a request pays for
SQL, not for building SQL.
"""

from __future__ import annotations

import random
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, literal, select, text
from sqlalchemy.engine import Connection, Engine

from db.engine import is_sqlite
from db.errors import JudgeboardError, NotFoundError, PermissionDeniedError
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
    utcnow,
)

FINISHED = ("done", "skipped", "flagged")
"""Assignment statuses that count as an item the rater has dealt with."""
WINDOW = 16
"""Candidates read per queue query; a rater's own history is skipped inside the SQL."""
RESHOW_MIN_GAP = 5
"""Never re-show one of a rater's last few items: they would remember it."""

_rng = random.Random()

A = Assignment.__table__
C = Comparison.__table__
J = Judgment.__table__
JS = JudgmentScore.__table__
CP = Campaign.__table__
RC = RubricCriterion.__table__
P = Prompt.__table__
O = Output.__table__  # noqa: E741
U = User.__table__


class QueueBusyError(JudgeboardError):
    """Every candidate was taken by other raters while we looked; asking again works."""


# --- values the pages see ------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionView:
    id: int
    name: str
    description: str
    scale: str
    categories: tuple[str, ...] | None = None

    def options(self) -> list[float]:
        """The values a score may take (categories are stored as their index)."""
        if self.scale == "binary":
            return [0.0, 1.0]
        if self.scale == "likert5":
            return [float(v) for v in range(1, 6)]
        if self.scale == "likert10":
            return [float(v) for v in range(1, 11)]
        return [float(i) for i in range(len(self.categories or ()))]

    def label(self, value: float) -> str:
        if self.scale == "binary":
            return "Yes" if value else "No"
        if self.scale == "categories" and self.categories:
            return self.categories[int(value)]
        return str(int(value))


@dataclass(frozen=True)
class RatingSetup:
    """What the rate page needs to know about a campaign (no candidate names)."""

    campaign_id: int
    name: str
    instructions: str
    mode: str
    preference_scale: str
    allow_both_bad: bool
    criteria: tuple[CriterionView, ...]

    @property
    def wants_preference(self) -> bool:
        return self.mode in ("pairwise", "both")

    @property
    def wants_scores(self) -> bool:
        return self.mode in ("rubric", "both") and bool(self.criteria)


@dataclass(frozen=True)
class Answer:
    """A rater's answer in the terms they saw it: "A" is the left/first response.

    ``preference`` is -2..2 (negative: Response A better); ``scores`` maps "A"/"B" to
    {criterion id: value}.
    """

    preference: int | None = None
    both_bad: bool = False
    scores: dict[str, dict[int, float]] = field(default_factory=dict)
    rationale: str | None = None


@dataclass(frozen=True)
class RateItem:
    """One leased item as the rater sees it: positions, never candidates."""

    assignment_id: int
    messages: tuple[dict[str, str], ...]
    response_a: str
    response_b: str
    turns_a: tuple[str, ...] | None
    turns_b: tuple[str, ...] | None
    single: bool
    shown_at: datetime
    expires_at: datetime
    previous: Answer | None = None
    """The answer given before an undo, to pre-fill the form."""


@dataclass(frozen=True)
class Progress:
    done: int
    target: int

    @property
    def fraction(self) -> float:
        return min(self.done / self.target, 1.0) if self.target else 1.0


@dataclass(frozen=True)
class CampaignChoice:
    id: int
    name: str


def rater_key(rater_id: int) -> str:
    return f"u:{rater_id}"


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
    it walks the (campaign_id, n_done) index in order and stops after WINDOW rows.
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
    select(C.c.id, C.c.n_done, _LEASES)
    .where(
        C.c.campaign_id == bindparam("cid"),
        C.c.n_done < bindparam("overlap"),
        C.c.check_kind.is_(None),
        _not_seen(),
        C.c.n_done + _LEASES < bindparam("overlap"),
    )
    .order_by(C.c.n_done)
    .limit(WINDOW)
)

Q_CHECK_CANDIDATES = (
    select(C.c.id)
    .where(C.c.campaign_id == bindparam("cid"), C.c.check_kind == bindparam("kind"), _not_seen())
    .order_by(C.c.n_done, C.c.id)
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

Q_STILL_OPEN = select(C.c.n_done, _LEASES).where(C.c.id == bindparam("comp"), _not_seen())

Q_INSERT_LEASE = insert(A).returning(A.c.id)

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


# --- campaign access -----------------------------------------------------------------------


def may_rate(campaign: Any, rater_id: int) -> bool:
    """Campaign (row or model) is open and lists this rater, or lists nobody."""
    return not campaign.archived and (
        campaign.allowed_raters is None or rater_id in campaign.allowed_raters
    )


def rateable_campaigns(session_or_conn: Any, rater_id: int) -> list[CampaignChoice]:
    """Campaigns this user may rate: not archived, and everyone or this user allowed."""
    rows = session_or_conn.execute(
        select(CP.c.id, CP.c.name, CP.c.archived, CP.c.allowed_raters).order_by(
            CP.c.created_at, CP.c.id
        )
    ).all()
    return [CampaignChoice(r.id, r.name) for r in rows if may_rate(r, rater_id)]


def campaign_for_rater(
    conn: Any, campaign_id: int, rater_id: int, now: datetime | None = None
) -> Mapping[str, Any]:
    """The campaign row (plus ``held_id``), or an error saying why this rater may not rate it."""
    params = {"cid": campaign_id, "rid": rater_id, "now": now or utcnow()}
    row = conn.execute(Q_CAMPAIGN, params).mappings().first()
    if row is None:
        raise NotFoundError(f"No campaign with id {campaign_id}: pick one from the list.")
    if not row["rater_active"]:
        raise PermissionDeniedError(
            "Your account is not active: ask an admin to reactivate it before rating."
        )
    if row["archived"] or (
        row["allowed_raters"] is not None and rater_id not in row["allowed_raters"]
    ):
        raise PermissionDeniedError(
            f"You are not among the raters of campaign '{row['name']}': ask an admin to add"
            " you on the campaign setup page, or pick another campaign."
        )
    return row


def setup_from_row(conn: Any, campaign: Mapping[str, Any]) -> RatingSetup:
    """The rating setup of a campaign row; a pairwise campaign's rubric is not read (unused)."""
    criteria = (
        conn.execute(Q_CRITERIA, {"cid": campaign["id"]}).all()
        if campaign["mode"] in ("rubric", "both")
        else []
    )
    return RatingSetup(
        campaign_id=campaign["id"],
        name=campaign["name"],
        instructions=campaign["instructions"],
        mode=campaign["mode"],
        preference_scale=campaign["preference_scale"],
        allow_both_bad=campaign["allow_both_bad"],
        criteria=tuple(
            CriterionView(
                c.id, c.name, c.description, c.scale, tuple(c.categories) if c.categories else None
            )
            for c in criteria
        ),
    )


def rating_setup(session_or_conn: Any, campaign_id: int) -> RatingSetup:
    """Instructions, mode, scales and rubric of a campaign, as the rate page shows them."""
    row = session_or_conn.execute(select(CP).where(CP.c.id == campaign_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"No campaign with id {campaign_id}: pick one from the list.")
    return setup_from_row(session_or_conn, row)


def progress(session_or_conn: Any, rater_id: int, campaign_id: int) -> Progress:
    """Items this rater finished (rated, skipped or flagged) out of their target.

    The target is the campaign's ``rater_quota`` if set, else its number of comparisons.
    """
    done = session_or_conn.execute(Q_FINISHED, {"rid": rater_id, "cid": campaign_id}).scalar()
    quota = session_or_conn.execute(select(CP.c.rater_quota).where(CP.c.id == campaign_id)).scalar()
    if quota is None:
        quota = session_or_conn.execute(
            select(func.count()).select_from(C).where(C.c.campaign_id == campaign_id)
        ).scalar()
    return Progress(done or 0, quota or 0)


# --- leasing -------------------------------------------------------------------------------


def _params(campaign: Mapping[str, Any], rater_id: int, now: datetime) -> dict[str, Any]:
    return {
        "cid": campaign["id"],
        "rid": rater_id,
        "rkey": rater_key(rater_id),
        "now": now,
        "overlap": campaign["overlap"],
    }


def _lock_skip(conn: Connection, comparison_id: int) -> bool:
    """Lock one comparison row; False when another transaction holds it (PostgreSQL)."""
    if not is_postgres(conn):
        return True
    return conn.execute(Q_LOCK_SKIP, {"comp": comparison_id}).first() is not None


def _insert_lease(
    conn: Connection,
    campaign: Mapping[str, Any],
    comparison_id: int,
    rater_id: int,
    kind: str,
    shown_order: str,
    now: datetime,
) -> int:
    return conn.execute(
        Q_INSERT_LEASE,
        {
            "campaign_id": campaign["id"],
            "comparison_id": comparison_id,
            "rater_id": rater_id,
            "shown_order": shown_order,
            "kind": kind,
            "status": "leased",
            "flag_reason": None,
            "leased_at": now,
            "expires_at": now + timedelta(seconds=campaign["lease_seconds"]),
            "finished_at": None,
        },
    ).scalar_one()


def _lease_normal(
    conn: Connection, campaign: Mapping[str, Any], params: dict[str, Any], rng: random.Random
) -> int | None:
    pg = is_postgres(conn)
    for _ in range(20):
        rows = conn.execute(Q_CANDIDATES, params).all()
        if not rows:
            return None
        # Fewest completed + leased first; ties go to the fewest completed, then index order.
        for comparison_id, _done, _leases in sorted(rows, key=lambda r: (r[1] + r[2], r[1])):
            if not _lock_skip(conn, comparison_id):
                continue
            if pg:
                row = conn.execute(Q_STILL_OPEN, {**params, "comp": comparison_id}).first()
                if row is None or row[0] + row[1] >= campaign["overlap"]:
                    continue
            order = rng.choice(("ab", "ba"))
            return _insert_lease(
                conn, campaign, comparison_id, params["rid"], "normal", order, params["now"]
            )
    raise QueueBusyError(
        "Other raters took every open item while we looked: reload the page to try again."
    )


def _lease_check(
    conn: Connection,
    campaign: Mapping[str, Any],
    params: dict[str, Any],
    kind: str,
    rng: random.Random,
) -> int | None:
    # Check items go to every rater once; there is no overlap to protect, so a plain pick
    # is enough (the assignments' unique key stops a rater getting one twice).
    candidates = conn.execute(Q_CHECK_CANDIDATES, {**params, "kind": kind}).scalars().all()
    if not candidates:
        return None
    comparison_id = rng.choice(candidates)
    if not _lock_skip(conn, comparison_id):
        return None
    order = rng.choice(("ab", "ba"))
    return _insert_lease(conn, campaign, comparison_id, params["rid"], kind, order, params["now"])


def _lease_reshow(
    conn: Connection, campaign: Mapping[str, Any], params: dict[str, Any], rng: random.Random
) -> int | None:
    rows = conn.execute(Q_RESHOW_CANDIDATES, params).all()[RESHOW_MIN_GAP:]
    if not rows:
        return None
    comparison_id, first_order = rng.choice(rows)
    if not _lock_skip(conn, comparison_id):
        return None
    swapped = "ba" if first_order == "ab" else "ab"
    return _insert_lease(
        conn, campaign, comparison_id, params["rid"], "reshow", swapped, params["now"]
    )


def _lease_new(
    conn: Connection, campaign: Mapping[str, Any], params: dict[str, Any], rng: random.Random
) -> int | None:
    quota = campaign["rater_quota"]
    if quota is not None and conn.execute(Q_FINISHED, params).scalar() >= quota:
        return None
    roll = rng.random()
    gold, attention = campaign["gold_rate"], campaign["attention_rate"]
    special = None
    if roll < gold:
        special = _lease_check(conn, campaign, params, "gold", rng)
    elif roll < gold + attention:
        special = _lease_check(conn, campaign, params, "attention", rng)
    elif roll < gold + attention + campaign["reshow_rate"]:
        special = _lease_reshow(conn, campaign, params, rng)
    if special is not None:
        return special
    # Once the ordinary queue is empty the rater is done: check and re-shown items only
    # ever come mixed in between ordinary ones.
    return _lease_normal(conn, campaign, params, rng)


def next_item(
    engine: Engine,
    rater_id: int,
    campaign_id: int,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> RateItem | None:
    """The item this rater should rate now (their own unexpired lease first); None = all done."""
    now = now or utcnow()
    rng = rng or _rng
    if is_sqlite(engine):
        # A refresh should not queue for the database write lock: look for the lease first.
        with engine.connect() as conn:
            campaign = campaign_for_rater(conn, campaign_id, rater_id, now)
            if campaign["held_id"] is not None:
                return item_view(conn, campaign["held_id"], rater_id)
    with writing(engine) as conn:
        if is_postgres(conn):
            conn.execute(PG_LEASE_SETTINGS)
        campaign = campaign_for_rater(conn, campaign_id, rater_id, now)
        held = campaign["held_id"]
        if held is None:
            held = _lease_new(conn, campaign, _params(campaign, rater_id, now), rng)
        return item_view(conn, held, rater_id) if held is not None else None


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


def answer_of(conn: Any, judgment_id: int, shown_order: str) -> Answer:
    """A stored judgment translated back into the terms the rater saw (A = left)."""
    row = conn.execute(
        select(J.c.preference, J.c.both_bad, J.c.rationale, C.c.output_a_id, C.c.output_b_id)
        .join(C, C.c.id == J.c.comparison_id)
        .where(J.c.id == judgment_id)
    ).first()
    if row is None:
        raise NotFoundError(f"No judgment with id {judgment_id}.")
    sign = 1 if shown_order == "ab" else -1
    left = row.output_a_id if shown_order == "ab" else row.output_b_id
    scores: dict[str, dict[int, float]] = {}
    for output_id, criterion_id, value in conn.execute(
        select(JS.c.output_id, JS.c.criterion_id, JS.c.value).where(JS.c.judgment_id == judgment_id)
    ).all():
        scores.setdefault("A" if output_id == left else "B", {})[criterion_id] = value
    return Answer(
        preference=None if row.preference is None else sign * row.preference,
        both_bad=row.both_bad,
        scores=scores,
        rationale=row.rationale,
    )


def item_view(conn: Any, assignment_id: int, rater_id: int) -> RateItem:
    """An assignment as its rater sees it (sides in the order they were shown)."""
    row = conn.execute(Q_VIEW, {"aid": assignment_id, "rkey": rater_key(rater_id)}).mappings()
    row = row.first()
    if row is None or row["rater_id"] != rater_id:
        raise NotFoundError(f"No item {assignment_id} leased to you: reload the page.")
    left, right = ("a", "b") if row["shown_order"] == "ab" else ("b", "a")
    previous = row["previous_id"]
    return RateItem(
        assignment_id=row["id"],
        messages=tuple(dict(m) for m in row["messages"]),
        response_a=row[f"{left}_content"],
        response_b=row[f"{right}_content"],
        turns_a=tuple(row[f"{left}_turns"]) if row[f"{left}_turns"] else None,
        turns_b=tuple(row[f"{right}_turns"]) if row[f"{right}_turns"] else None,
        single=row["a_id"] == row["b_id"],
        shown_at=row["leased_at"],
        expires_at=row["expires_at"],
        previous=answer_of(conn, previous, row["shown_order"]) if previous else None,
    )
