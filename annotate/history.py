"""A rater's own judgments, as they saw them, and revisions of them.

A revision never rewrites a row: it inserts the next version and marks the old one
``is_current = false``, so every earlier answer stays on record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from annotate.items import Answer, RateItem, RatingSetup
from annotate.queue_sql import (
    J,
    is_postgres,
    lock_comparison,
    read_answer,
    read_setup_of,
    store_judgment,
    writing,
)
from annotate.submission import validate_answer
from db.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from db.joins import CandA, CandB, comparison_joins
from db.models import Campaign, Comparison, Judgment, Output, Prompt, User, utcnow
from metrics.vocabulary import user_key

PREFERENCE_WORDS = {
    -2: "A much better",
    -1: "A better",
    0: "Tie",
    1: "B better",
    2: "B much better",
}


@dataclass(frozen=True)
class HistoryRow:
    judgment_id: int
    campaign: str
    prompt: str
    verdict: str
    """In the rater's own terms: "A better" means the response they saw as A."""
    rationale: str | None
    version: int
    created_at: datetime
    model_a: str | None
    """Candidate shown as A: only for campaigns that are not blind."""
    model_b: str | None


@dataclass(frozen=True)
class Revisable:
    """A past judgment re-assembled for the revise form."""

    judgment_id: int
    setup: RatingSetup
    item: RateItem
    answer: Answer


def verdict_words(answer: Answer) -> str:
    if answer.both_bad:
        return "Both bad"
    if answer.preference is None:
        return "Scores only"
    return PREFERENCE_WORDS[answer.preference]


def _prompt_text(messages: list[dict[str, str]]) -> str:
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    text = (users[-1] if users else messages[-1].get("content", "")) if messages else ""
    return text if len(text) <= 160 else text[:157] + "…"


def my_judgments(
    engine: Engine, rater_id: int, campaign_id: int | None = None, *, limit: int = 500
) -> list[HistoryRow]:
    """This rater's current judgments, newest first (one row per item they answered)."""
    query = (
        comparison_joins(
            select(
                Judgment,
                Campaign.name,
                Campaign.blind,
                Prompt.messages,
                CandA.name,
                CandB.name,
            ).join(Campaign, Campaign.id == Judgment.campaign_id)
        )
        .where(Judgment.rater_key == user_key(rater_id), Judgment.is_current)
        .order_by(Judgment.created_at.desc(), Judgment.id.desc())
        .limit(limit)
    )
    if campaign_id is not None:
        query = query.where(Judgment.campaign_id == campaign_id)
    with Session(engine) as session:
        found = session.execute(query).all()
    rows = []
    for j, name, blind, messages, name_a, name_b in found:
        sign = 1 if j.shown_order == "ab" else -1
        shown = Answer(
            preference=None if j.preference is None else sign * j.preference,
            both_bad=j.both_bad,
        )
        left, right = (name_a, name_b) if j.shown_order == "ab" else (name_b, name_a)
        rows.append(
            HistoryRow(
                judgment_id=j.id,
                campaign=name,
                prompt=_prompt_text(messages),
                verdict=verdict_words(shown),
                rationale=j.rationale,
                version=j.version,
                created_at=j.created_at,
                model_a=None if blind else left,
                model_b=None if blind else right,
            )
        )
    return rows


def _own_current(conn: Any, rater_id: int, judgment_id: int) -> Mapping[str, Any]:
    j = conn.execute(select(J).where(J.c.id == judgment_id)).mappings().first()
    if j is None:
        raise NotFoundError(f"No judgment with id {judgment_id}: reload My history.")
    if j["rater_key"] != user_key(rater_id):
        raise PermissionDeniedError("You can only revise your own judgments.")
    if not j["is_current"]:
        raise InvalidInputError(
            "That answer was already revised or undone: revise its latest version instead."
        )
    return j


def _require_open_to(conn: Any, campaign_id: int, rater_id: int) -> None:
    """Refuse, as submit and undo do, when the campaign is archived or no longer lists the
    rater: a revision is a new answer, so it obeys the rules of answering."""
    campaign = (
        conn.execute(
            select(Campaign.name, Campaign.archived, Campaign.allowed_raters).where(
                Campaign.id == campaign_id
            )
        )
        .mappings()
        .one()
    )
    allowed = campaign["allowed_raters"]
    if campaign["archived"] or (allowed is not None and rater_id not in allowed):
        raise PermissionDeniedError(
            f"Campaign '{campaign['name']}' is closed to you now: ask an admin, or pick another"
            " campaign."
        )


def revisable(engine: Engine, rater_id: int, judgment_id: int) -> Revisable:
    """The item behind one of this rater's judgments, in the order they saw it."""
    with Session(engine) as session:
        j = _own_current(session, rater_id, judgment_id)
        comparison = session.get(Comparison, j["comparison_id"])
        prompt = session.get(Prompt, comparison.prompt_id)
        out_a = session.get(Output, comparison.output_a_id)
        out_b = session.get(Output, comparison.output_b_id)
        left, right = (out_a, out_b) if j["shown_order"] == "ab" else (out_b, out_a)
        item = RateItem(
            assignment_id=j["assignment_id"] or 0,
            messages=tuple(dict(m) for m in prompt.messages),
            response_a=left.content,
            response_b=right.content,
            turns_a=tuple(left.turns) if left.turns else None,
            turns_b=tuple(right.turns) if right.turns else None,
            single=out_a.id == out_b.id,
            shown_at=j["created_at"],
            expires_at=j["created_at"],
        )
        conn = session.connection()
        answer = read_answer(conn, j["id"], j["shown_order"])
        setup = read_setup_of(conn, j["campaign_id"])
    return Revisable(j["id"], setup, item, answer)


def revise(
    engine: Engine,
    rater_id: int,
    judgment_id: int,
    answer: Answer,
    *,
    now: datetime | None = None,
) -> int:
    """Record a changed answer as the next version; returns the new judgment's id."""
    now = now or utcnow()
    with writing(engine) as conn:
        if not conn.execute(select(User.active).where(User.id == rater_id)).scalar():
            raise PermissionDeniedError(
                "Your account is not active: ask an admin to reactivate it before revising."
            )
        j = _own_current(conn, rater_id, judgment_id)
        comparison = lock_comparison(conn, j["comparison_id"])
        if is_postgres(conn):
            # Re-read under the lock: a revision from another tab may have won.
            j = _own_current(conn, rater_id, judgment_id)
        _require_open_to(conn, j["campaign_id"], rater_id)
        setup = read_setup_of(conn, j["campaign_id"])
        validate_answer(setup, answer, comparison["output_a_id"] == comparison["output_b_id"])
        conn.execute(update(J).where(J.c.id == j["id"]).values(is_current=False))
        return store_judgment(
            conn,
            comparison=comparison,
            rater_id=rater_id,
            shown_order=j["shown_order"],
            answer=answer,
            assignment_id=j["assignment_id"],
            is_reshow=j["is_reshow"],
            time_on_task_ms=j["time_on_task_ms"],
            now=now,
        )
