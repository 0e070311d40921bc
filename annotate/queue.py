"""The rating queue: which comparison a rater sees next, leased so overlap is never exceeded.

A rater holds at most one lease per campaign. Asking for the next item returns that lease
while it is unexpired (a page refresh shows the same item); otherwise a new one is taken:

- with probability ``gold_rate`` / ``attention_rate`` a check item (``check_kind`` "gold" /
  "attention") this rater has not seen, with probability ``reshow_rate`` a comparison this
  rater already judged, sides swapped (``kind="reshow"``); they look like any other item;
- otherwise the ordinary comparison with the fewest completed ratings plus active leases
  that this rater never held, skipped or judged, while completed + leases < overlap; among
  equals the one first in the campaign's seeded random serving order (``serve_rank``, see
  ``annotate.serving``), so the labelled comparisons are a random sample, as PPI needs.

Concurrency: on SQLite the whole decision runs under ``BEGIN IMMEDIATE`` (one writer at a
time; writers in this process also queue on a lock first, so they never sit in SQLite's
sleeping busy handler). On PostgreSQL candidates are read without locks, then locked one at
a time with ``FOR UPDATE SKIP LOCKED`` and re-counted under the lock: every path that adds
a lease or a completed rating locks the comparison row first, so the recount is exact.

Speed: candidates come from the ``(campaign_id, n_done, serve_rank)`` index in that order, a
small window at a time; the per-row checks hit the lease index, the assignments' unique key and
the judgments' unique key. Nothing scans a campaign's comparisons or a rater's history in
full. The statements live in ``annotate.queue_sql``, the values pages see in ``annotate.items``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection, Engine

from annotate.items import CampaignChoice, Progress, RateItem, RatingSetup
from annotate.queue_sql import (
    CP,
    FINISHED,
    PG_LEASE_SETTINGS,
    Q_CAMPAIGN,
    Q_CANDIDATES,
    Q_CHECK_CANDIDATES,
    Q_FINISHED,
    Q_INSERT_LEASE,
    Q_LOCK_SKIP,
    Q_RESHOW_CANDIDATES,
    Q_STILL_OPEN,
    RESHOW_MIN_GAP,
    A,
    C,
    is_postgres,
    read_item,
    read_setup_of,
    writing,
)
from db.engine import is_sqlite
from db.errors import JudgeboardError, NotFoundError, PermissionDeniedError
from db.models import utcnow
from metrics.vocabulary import user_key

_rng = random.Random()


class QueueBusyError(JudgeboardError):
    """Every candidate was taken by other raters while we looked; asking again works."""


# --- campaign access -----------------------------------------------------------------------


def may_rate(campaign: Any, rater_id: int) -> bool:
    """Campaign (row or model) is open and lists this rater, or lists nobody."""
    return not campaign.archived and (
        campaign.allowed_raters is None or rater_id in campaign.allowed_raters
    )


def rateable_campaigns(engine: Engine, rater_id: int) -> list[CampaignChoice]:
    """Campaigns this user may rate: not archived, and everyone or this user allowed."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(CP.c.id, CP.c.name, CP.c.archived, CP.c.allowed_raters).order_by(
                CP.c.created_at, CP.c.id
            )
        ).all()
    return [CampaignChoice(r.id, r.name) for r in rows if may_rate(r, rater_id)]


def _campaign_for_rater(
    conn: Connection, campaign_id: int, rater_id: int, now: datetime | None = None
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


def rating_setup(engine: Engine, campaign_id: int) -> RatingSetup:
    """Instructions, mode, scales and rubric of a campaign, as the rate page shows them."""
    with engine.connect() as conn:
        return read_setup_of(conn, campaign_id)


_Q_FINISHED_BY_STATUS = (
    select(A.c.status, func.count())
    .where(
        A.c.rater_id == bindparam("rid"),
        A.c.campaign_id == bindparam("cid"),
        A.c.status.in_(FINISHED),
    )
    .group_by(A.c.status)
)


def progress(engine: Engine, rater_id: int, campaign_id: int) -> Progress:
    """Items this rater answered out of their target, and how many they skipped or flagged.

    Skips and flags are not answers, so they do not count as done. The target is the
    campaign's ``rater_quota`` if set, else its number of comparisons.
    """
    with engine.connect() as conn:
        counts = dict(
            conn.execute(_Q_FINISHED_BY_STATUS, {"rid": rater_id, "cid": campaign_id}).all()
        )
        quota = conn.execute(select(CP.c.rater_quota).where(CP.c.id == campaign_id)).scalar()
        if quota is None:
            quota = conn.execute(
                select(func.count()).select_from(C).where(C.c.campaign_id == campaign_id)
            ).scalar()
    return Progress(
        counts.get("done", 0), quota or 0, counts.get("skipped", 0), counts.get("flagged", 0)
    )


# --- leasing -------------------------------------------------------------------------------


def _params(campaign: Mapping[str, Any], rater_id: int, now: datetime) -> dict[str, Any]:
    return {
        "cid": campaign["id"],
        "rid": rater_id,
        "rkey": user_key(rater_id),
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
        # Fewest completed + leased first; ties go to the fewest completed, then serving
        # order, then id.
        ordered = sorted(rows, key=lambda r: (r[1] + r[2], r[1], r[3], r[0]))
        for comparison_id, _done, _leases, _rank in ordered:
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
            campaign = _campaign_for_rater(conn, campaign_id, rater_id, now)
            if campaign["held_id"] is not None:
                return read_item(conn, campaign["held_id"], rater_id)
    with writing(engine) as conn:
        if is_postgres(conn):
            conn.execute(PG_LEASE_SETTINGS)
        campaign = _campaign_for_rater(conn, campaign_id, rater_id, now)
        held = campaign["held_id"]
        if held is None:
            held = _lease_new(conn, campaign, _params(campaign, rater_id, now), rng)
        return read_item(conn, held, rater_id) if held is not None else None
