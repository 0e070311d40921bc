"""The item browser of the Review page: every comparison of a campaign, searched and
filtered in one SQL query, and one comparison in full (admins only: it names the models of
blind campaigns and every rater).

"Has disagreement": the counted human votes on the comparison (current, not re-shows, not
of an excluded rater) do not all have the same preference sign. "Judge vs humans": the sign
of the judges' summed verdict signs differs from the sign of the humans' (a majority each;
a split is a tie, sign 0), when both have voted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from db.access import require_admin
from db.errors import NotFoundError
from db.joins import CandA, CandB, candidate_joins
from db.models import (
    Adjudication,
    Assignment,
    Candidate,
    Comparison,
    Judge,
    Judgment,
    Output,
    Prompt,
    RaterExclusion,
    User,
)
from metrics.vocabulary import judge_label
from results.votes import VoteFilter, judge_label_sql, preference_sign_sql, scoped

ITEM_COLUMNS = [
    "comparison_id",
    "prompt_id",
    "category",
    "split",
    "model_a",
    "model_b",
    "check_kind",
    "expected_preference",
    "human_votes",
    "judge_votes",
    "human_majority",
    "judge_majority",
    "disagreement",
    "judge_vs_humans",
    "flags",
    "open_flags",
    "adjudication",
    "retired",
]


@dataclass(frozen=True)
class ItemQuery:
    """What the item browser shows: ``search`` matches the prompt text or id, either
    model's name and the category (case-insensitive substring); every other field narrows."""

    campaign_id: int
    search: str = ""
    split: str | None = None
    category: str | None = None
    flagged: bool = False
    open_flags: bool = False
    disagreement: bool = False
    judge_vs_humans: bool = False
    gold: bool = False
    retired: bool | None = None
    """True: retired only; False: not retired; None: both."""
    limit: int = 500


@dataclass(frozen=True)
class ItemVote:
    judgment_id: int
    rater_key: str
    rater: str
    kind: str
    created_at: datetime
    shown_order: str
    preference: int | None
    both_bad: bool
    rationale: str | None
    is_reshow: bool
    excluded: bool


@dataclass(frozen=True)
class ItemFlag:
    assignment_id: int
    rater: str
    reason: str | None
    flagged_at: datetime | None
    status: str | None
    resolved_by: str | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class ItemAdjudication:
    admin: str
    preference: int | None
    both_bad: bool
    note: str | None
    updated_at: datetime


@dataclass(frozen=True)
class ItemDetail:
    comparison_id: int
    campaign_id: int
    prompt_id: str
    category: str | None
    split: str | None
    messages: tuple[dict[str, str], ...]
    reference: str | None
    model_a: str
    model_b: str
    output_a: str
    output_b: str
    turns_a: tuple[str, ...] | None
    turns_b: tuple[str, ...] | None
    check_kind: str | None
    expected_preference: int | None
    retired_at: datetime | None
    votes: list[ItemVote] = field(default_factory=list)
    flags: list[ItemFlag] = field(default_factory=list)
    adjudication: ItemAdjudication | None = None


def _sign(total: Any) -> Any:
    return case((total > 0, 1), (total < 0, -1), else_=0)


def _tallies(engine: Engine, campaign_id: int) -> Any:
    """Per comparison: counted human and judge votes, their sign sums and sign range."""
    sign = preference_sign_sql(Judgment.preference)
    human = Judgment.rater_kind == "human"
    flt = scoped(engine, VoteFilter(campaign_id, scored_only=True, include_retired=True))
    return (
        flt.apply(
            select(
                Judgment.comparison_id.label("comparison_id"),
                func.sum(case((human, 1), else_=0)).label("human_n"),
                func.sum(case((human, sign), else_=0)).label("human_sum"),
                func.min(case((human, sign), else_=None)).label("human_min"),
                func.max(case((human, sign), else_=None)).label("human_max"),
                func.sum(case((human, 0), else_=1)).label("judge_n"),
                func.sum(case((human, 0), else_=sign)).label("judge_sum"),
            )
        )
        .group_by(Judgment.comparison_id)
        .subquery("tallies")
    )


def _flags(campaign_id: int) -> Any:
    return (
        select(
            Assignment.comparison_id.label("comparison_id"),
            func.count().label("n"),
            func.sum(case((Assignment.flag_status.is_(None), 1), else_=0)).label("open"),
        )
        .where(Assignment.campaign_id == campaign_id, Assignment.status == "flagged")
        .group_by(Assignment.comparison_id)
        .subquery("flags")
    )


def browse_items(engine: Engine, q: ItemQuery, *, actor_id: int) -> pd.DataFrame:
    """The comparisons ``q`` selects (``ITEM_COLUMNS``), by id, at most ``q.limit``."""
    with Session(engine) as s:
        require_admin(s, actor_id)
    t, f = _tallies(engine, q.campaign_id), _flags(q.campaign_id)
    human_n = func.coalesce(t.c.human_n, 0)
    judge_n = func.coalesce(t.c.judge_n, 0)
    disagreement = and_(human_n > 1, t.c.human_min != t.c.human_max)
    judge_vs_humans = and_(
        human_n > 0, judge_n > 0, _sign(t.c.human_sum) != _sign(t.c.judge_sum)
    )
    query = (
        candidate_joins(
            select(
                Comparison.id,
                Prompt.external_id,
                Prompt.category,
                Prompt.split,
                CandA.name,
                CandB.name,
                Comparison.check_kind,
                Comparison.expected_preference,
                human_n,
                judge_n,
                case((human_n > 0, _sign(t.c.human_sum)), else_=None),
                case((judge_n > 0, _sign(t.c.judge_sum)), else_=None),
                case((disagreement, True), else_=False),
                case((judge_vs_humans, True), else_=False),
                func.coalesce(f.c.n, 0),
                func.coalesce(f.c.open, 0),
                Adjudication.preference,
                Comparison.retired_at.is_not(None),
            ).select_from(Comparison)
        )
        .outerjoin(t, t.c.comparison_id == Comparison.id)
        .outerjoin(f, f.c.comparison_id == Comparison.id)
        .outerjoin(Adjudication, Adjudication.comparison_id == Comparison.id)
        .where(Comparison.campaign_id == q.campaign_id)
    )
    term = q.search.strip().lower()
    if term:
        query = query.where(
            or_(
                *(
                    func.lower(col).contains(term, autoescape=True)
                    for col in (
                        cast(Prompt.messages, Text),
                        Prompt.external_id,
                        Prompt.category,
                        CandA.name,
                        CandB.name,
                    )
                )
            )
        )
    if q.split:
        query = query.where(Prompt.split == q.split)
    if q.category:
        query = query.where(Prompt.category == q.category)
    if q.flagged:
        query = query.where(func.coalesce(f.c.n, 0) > 0)
    if q.open_flags:
        query = query.where(func.coalesce(f.c.open, 0) > 0)
    if q.disagreement:
        query = query.where(disagreement)
    if q.judge_vs_humans:
        query = query.where(judge_vs_humans)
    if q.gold:
        query = query.where(Comparison.check_kind == "gold")
    if q.retired is not None:
        retired = Comparison.retired_at.is_not(None)
        query = query.where(retired if q.retired else ~retired)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(Comparison.id).limit(q.limit)).all()
    frame = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    for col in ("disagreement", "judge_vs_humans", "retired"):
        frame[col] = frame[col].astype(bool)
    return frame


def item_filters(engine: Engine, campaign_id: int, *, actor_id: int) -> dict[str, list[str]]:
    """The campaign's splits and categories, for the browser's filters (admins only)."""
    with Session(engine) as s:
        require_admin(s, actor_id)
        rows = s.execute(
            select(Prompt.split, Prompt.category)
            .where(Prompt.campaign_id == campaign_id)
            .distinct()
        ).all()
    return {
        "split": sorted({split for split, _ in rows if split}),
        "category": sorted({category for _, category in rows if category}),
    }


def item_detail(engine: Engine, comparison_id: int, *, actor_id: int) -> ItemDetail:
    """One comparison in full: prompt, both outputs with their models, every current vote
    (by whom, when, in which order shown; an excluded rater's marked), its flags and its
    adjudication (admins only)."""
    with Session(engine) as s:
        require_admin(s, actor_id)
        comp = s.get(Comparison, comparison_id)
        if comp is None:
            raise NotFoundError(f"No comparison with id {comparison_id}: reload the page.")
        prompt = s.get(Prompt, comp.prompt_id)
        sides = {}
        for side, output_id in (("a", comp.output_a_id), ("b", comp.output_b_id)):
            output = s.get(Output, output_id)
            name = s.get(Candidate, output.candidate_id).name
            sides[side] = (name, output.content, tuple(output.turns) if output.turns else None)
        excluded = set(
            s.execute(
                select(RaterExclusion.rater_key).where(
                    RaterExclusion.campaign_id == comp.campaign_id
                )
            ).scalars()
        )
        label = judge_label_sql()
        votes = [
            ItemVote(
                jid, key, handle or name, kind, at, order, pref, bool(bad), why, bool(again),
                key in excluded,
            )
            for jid, key, handle, name, kind, at, order, pref, bad, why, again in s.execute(
                select(
                    Judgment.id,
                    Judgment.rater_key,
                    User.handle,
                    case((Judgment.judge_id.is_(None), None), else_=label),
                    Judgment.rater_kind,
                    Judgment.created_at,
                    Judgment.shown_order,
                    Judgment.preference,
                    Judgment.both_bad,
                    Judgment.rationale,
                    Judgment.is_reshow,
                )
                .outerjoin(User, User.id == Judgment.user_id)
                .outerjoin(Judge, Judge.id == Judgment.judge_id)
                .where(Judgment.comparison_id == comparison_id, Judgment.is_current)
                .order_by(Judgment.created_at, Judgment.id)
            ).all()
        ]
        resolver_user = aliased(User)
        resolver = select(resolver_user.handle).where(
            resolver_user.id == Assignment.flag_resolved_by
        )
        flags = [
            ItemFlag(*row)
            for row in s.execute(
                select(
                    Assignment.id,
                    User.handle,
                    Assignment.flag_reason,
                    Assignment.finished_at,
                    Assignment.flag_status,
                    resolver.scalar_subquery(),
                    Assignment.flag_resolved_at,
                )
                .join(User, User.id == Assignment.rater_id)
                .where(Assignment.comparison_id == comparison_id, Assignment.status == "flagged")
                .order_by(Assignment.finished_at, Assignment.id)
            ).all()
        ]
        adjudication = s.execute(
            select(
                User.handle,
                Adjudication.preference,
                Adjudication.both_bad,
                Adjudication.note,
                Adjudication.updated_at,
            )
            .join(User, User.id == Adjudication.admin_id)
            .where(Adjudication.comparison_id == comparison_id)
        ).first()
    return ItemDetail(
        comparison_id=comp.id,
        campaign_id=comp.campaign_id,
        prompt_id=prompt.external_id,
        category=prompt.category,
        split=prompt.split,
        messages=tuple(dict(m) for m in prompt.messages),
        reference=prompt.reference,
        model_a=sides["a"][0],
        model_b=sides["b"][0],
        output_a=sides["a"][1],
        output_b=sides["b"][1],
        turns_a=sides["a"][2],
        turns_b=sides["b"][2],
        check_kind=comp.check_kind,
        expected_preference=comp.expected_preference,
        retired_at=comp.retired_at,
        votes=votes,
        flags=flags,
        adjudication=ItemAdjudication(*adjudication) if adjudication else None,
    )


def campaign_raters(engine: Engine, campaign_id: int, *, actor_id: int) -> pd.DataFrame:
    """``rater_key, rater, kind, votes, excluded``: everyone with a current vote in the
    campaign, and every excluded rater, for the exclude / include picker (admins only)."""
    with Session(engine) as s:
        require_admin(s, actor_id)
        rows = s.execute(
            select(
                Judgment.rater_key,
                func.max(User.handle),
                func.max(Judge.name),
                func.max(Judge.version),
                func.max(Judgment.rater_kind),
                func.count(),
            )
            .outerjoin(User, User.id == Judgment.user_id)
            .outerjoin(Judge, Judge.id == Judgment.judge_id)
            .where(Judgment.campaign_id == campaign_id, Judgment.is_current)
            .group_by(Judgment.rater_key)
        ).all()
        excluded = set(
            s.execute(
                select(RaterExclusion.rater_key).where(RaterExclusion.campaign_id == campaign_id)
            ).scalars()
        )
    records = [
        (key, handle or judge_label(name, version), kind, n, key in excluded)
        for key, handle, name, version, kind, n in rows
    ]
    missing = excluded - {key for key, *_ in rows}
    records += [(key, key, "unknown", 0, True) for key in sorted(missing)]
    frame = pd.DataFrame(records, columns=["rater_key", "rater", "kind", "votes", "excluded"])
    return frame.sort_values(["kind", "rater"], kind="stable").reset_index(drop=True)
