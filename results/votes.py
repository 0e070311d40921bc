"""Read judgments out of the database in the shapes ``metrics/`` expects.

Every query filters and aggregates in SQL; only the rows a figure needs come back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    case,
    cast,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.engine import Engine

from db.joins import CandA, CandB, OutA, OutB, candidate_joins, comparison_joins
from db.models import (
    Candidate,
    Comparison,
    Judge,
    Judgment,
    JudgmentScore,
    Output,
    Prompt,
    RaterExclusion,
    ReviewAction,
    RubricCriterion,
    User,
)
from metrics.frames import SCORE_COLUMNS, VOTE_COLUMNS
from metrics.vocabulary import judge_label


@dataclass(frozen=True)
class LeftOut:
    """What review took out of a campaign's results: retired comparisons and the raters
    (``u:12``, ``j:3``) whose votes were excluded. Their votes stay stored."""

    n_retired: int = 0
    raters: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.n_retired and not self.raters

    def note(self) -> str | None:
        """"3 retired comparisons and 1 excluded rater are left out.", or None."""
        parts = []
        if self.n_retired:
            parts.append(_count(self.n_retired, "retired comparison"))
        if self.raters:
            parts.append(_count(len(self.raters), "excluded rater"))
        if not parts:
            return None
        verb = "is" if len(parts) == 1 and (self.n_retired or len(self.raters)) == 1 else "are"
        return f"{' and '.join(parts)} {verb} left out (see the Review page)."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def left_out(engine: Engine, campaign_id: int) -> LeftOut:
    """The campaign's retired comparisons (a count) and excluded raters.

    Retiring and excluding happen only through ``annotate.review``, which logs every action,
    so a campaign without a review action has nothing left out: that costs one lookup in the
    small ``review_actions`` index, and results of an unreviewed campaign carry no extra
    predicate at all.
    """
    with engine.connect() as conn:
        reviewed = conn.execute(
            select(exists().where(ReviewAction.campaign_id == campaign_id))
        ).scalar()
        if not reviewed:
            return LeftOut()
        n_retired = conn.execute(
            select(func.count())
            .select_from(Comparison)
            .where(Comparison.campaign_id == campaign_id, Comparison.retired_at.is_not(None))
        ).scalar_one()
        raters = conn.execute(
            select(RaterExclusion.rater_key)
            .where(RaterExclusion.campaign_id == campaign_id)
            .order_by(RaterExclusion.rater_key)
        ).scalars()
        return LeftOut(int(n_retired), tuple(raters))


def retired_ids(campaign_id: int) -> Select:
    """``SELECT id`` of the campaign's retired comparisons (for ``NOT IN``)."""
    return select(Comparison.id).where(
        Comparison.campaign_id == campaign_id, Comparison.retired_at.is_not(None)
    )


@dataclass(frozen=True)
class VoteFilter:
    """Which judgments count: by rater kind, judge, category and split.

    ``scored_only`` keeps judgments with a preference (leaderboards count only those).
    Re-shown items (a rater's second look at a comparison, for the consistency check) are
    left out unless ``include_reshows``: only the consistency figure reads them.

    Votes on retired comparisons and votes of excluded raters never count. ``left_out`` is
    what :func:`left_out` found for the campaign (:func:`scoped` fills it in); while it is
    None the clauses look both up in SQL, which is right but costs every query a subquery,
    so query functions call :func:`scoped` first and add predicates only when needed.
    """

    campaign_id: int
    rater_kind: str | None = None
    judge_id: int | None = None
    category: str | None = None
    split: str | None = None
    current_only: bool = True
    scored_only: bool = False
    include_reshows: bool = False
    left_out: LeftOut | None = None
    include_retired: bool = False
    """Keep votes on retired comparisons (the item browser shows them; no result does)."""

    def clauses(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses on ``Judgment``; they need no join.

        Category and split go through a subquery on comparison ids, so aggregations can read
        the covering index ``ix_judgments_campaign_kind`` alone.
        """
        out: list[ColumnElement[bool]] = [Judgment.campaign_id == self.campaign_id]
        if self.current_only:
            out.append(Judgment.is_current)
        if self.scored_only:
            out.append(Judgment.preference.is_not(None))
        if not self.include_reshows:
            out.append(~Judgment.is_reshow)
        if self.rater_kind:
            out.append(Judgment.rater_kind == self.rater_kind)
        if self.judge_id is not None:
            out.append(Judgment.judge_id == self.judge_id)
        if self.category or self.split:
            prompts = (
                select(Comparison.id)
                .join(Prompt, Prompt.id == Comparison.prompt_id)
                .where(Comparison.campaign_id == self.campaign_id)
            )
            if self.category:
                prompts = prompts.where(Prompt.category == self.category)
            if self.split:
                prompts = prompts.where(Prompt.split == self.split)
            out.append(Judgment.comparison_id.in_(prompts))
        known = self.left_out
        if not self.include_retired and (known is None or known.n_retired):
            out.append(Judgment.comparison_id.not_in(retired_ids(self.campaign_id)))
        if known is None:
            excluded = select(RaterExclusion.rater_key).where(
                RaterExclusion.campaign_id == self.campaign_id
            )
            out.append(Judgment.rater_key.not_in(excluded))
        elif known.raters:
            out.append(Judgment.rater_key.not_in(known.raters))
        return out

    def apply(self, query: Select) -> Select:
        return query.where(*self.clauses())


def scoped(engine: Engine, flt: VoteFilter) -> VoteFilter:
    """``flt`` with its campaign's retired comparisons and excluded raters looked up."""
    if flt.left_out is not None:
        return flt
    return replace(flt, left_out=left_out(engine, flt.campaign_id))


def preference_sign_sql(preference: Any) -> ColumnElement[int]:
    """SQL for ``metrics.vocabulary.sign`` of a preference: -1, 0 or +1 (NULL counts as 0)."""
    return case((preference < 0, -1), (preference > 0, 1), else_=0)


def outcome_tallies(preference: Any, strong_weight: int = 1) -> tuple[ColumnElement[int], ...]:
    """SQL sums of A wins, ties and B wins over the grouped rows (a NULL preference is none);
    a strong verdict (|preference| >= 2) counts ``strong_weight`` times (Arena-Hard-Auto
    counts ``A>>B`` three times)."""
    return (
        func.sum(case((preference <= -2, strong_weight), (preference < 0, 1), else_=0)),
        func.sum(case((preference == 0, 1), else_=0)),
        func.sum(case((preference >= 2, strong_weight), (preference > 0, 1), else_=0)),
    )


def judge_label_sql() -> ColumnElement[str]:
    """SQL for ``metrics.vocabulary.judge_label`` of the joined ``Judge``: ``name@vN``."""
    return Judge.name + literal("@v") + cast(Judge.version, String)


def votes_frame(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """One row per judgment in the ``metrics.frames`` votes contract."""
    flt = scoped(engine, flt)
    label = judge_label_sql()
    query = comparison_joins(
        select(
            Judgment.comparison_id,
            Comparison.prompt_id,
            Prompt.category,
            Prompt.split,
            CandA.name.label("model_a"),
            CandB.name.label("model_b"),
            Judgment.rater_key.label("rater"),
            Judgment.rater_kind,
            case((Judgment.judge_id.is_(None), None), else_=label).label("judge"),
            Judgment.preference,
            Judgment.both_bad,
            Judgment.shown_order,
            Judgment.time_on_task_ms,
            func.length(OutA.content).label("len_a"),
            func.length(OutB.content).label("len_b"),
            Comparison.check_kind,
            Comparison.expected_preference,
            Judgment.is_reshow,
        )
    ).outerjoin(Judge, Judge.id == Judgment.judge_id)
    query = flt.apply(query).where(Comparison.output_a_id != Comparison.output_b_id)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query.order_by(Judgment.id)).all(), columns=VOTE_COLUMNS)
    for col in ("preference", "expected_preference", "time_on_task_ms"):
        frame[col] = frame[col].astype("float64")
    return frame


def scores_frame(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """One row per rubric score in the ``metrics.frames`` scores contract."""
    flt = scoped(engine, flt)
    label = judge_label_sql()
    query = (
        select(
            Judgment.comparison_id,
            Judgment.rater_key.label("rater"),
            Judgment.rater_kind,
            case((Judgment.judge_id.is_(None), None), else_=label).label("judge"),
            JudgmentScore.output_id,
            Candidate.name.label("model"),
            RubricCriterion.name.label("criterion"),
            JudgmentScore.value,
        )
        .join(Judgment, Judgment.id == JudgmentScore.judgment_id)
        .join(Comparison, Comparison.id == Judgment.comparison_id)
        .join(Prompt, Prompt.id == Comparison.prompt_id)
        .join(Output, Output.id == JudgmentScore.output_id)
        .join(Candidate, Candidate.id == Output.candidate_id)
        .join(RubricCriterion, RubricCriterion.id == JudgmentScore.criterion_id)
        .outerjoin(Judge, Judge.id == Judgment.judge_id)
    )
    query = flt.apply(query)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(JudgmentScore.id)).all()
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def outcome_counts(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """Votes aggregated in SQL: one row per (model_a, model_b) with a/b/tie counts.

    Each judgment counts once; a judge's two swapped verdicts on one comparison are two
    observations of the same pair, as every vote is.
    """
    flt = scoped(engine, flt)
    wins_a, ties, wins_b = outcome_tallies(Judgment.preference)
    query = comparison_joins(
        select(
            CandA.name.label("model_a"),
            CandB.name.label("model_b"),
            wins_a.label("wins_a"),
            wins_b.label("wins_b"),
            ties.label("ties"),
        )
    )
    query = (
        replace(flt, scored_only=True)
        .apply(query)
        .where(Comparison.output_a_id != Comparison.output_b_id)
        .group_by(CandA.name, CandB.name)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["model_a", "model_b", "wins_a", "wins_b", "ties"])
    return frame.astype({"wins_a": "int64", "wins_b": "int64", "ties": "int64"})


def rater_names(engine: Engine, campaign_id: int) -> dict[str, str]:
    """rater_key -> a readable name (user handle, or judge name@version)."""
    with engine.connect() as conn:
        users = conn.execute(
            select(Judgment.rater_key, User.handle)
            .join(User, User.id == Judgment.user_id)
            .where(Judgment.campaign_id == campaign_id)
            .distinct()
        ).all()
        judges = conn.execute(
            select(Judgment.rater_key, Judge.name, Judge.version)
            .join(Judge, Judge.id == Judgment.judge_id)
            .where(Judgment.campaign_id == campaign_id)
            .distinct()
        ).all()
    names = {key: handle for key, handle in users}
    names.update({key: judge_label(name, version) for key, name, version in judges})
    return names


def with_models(per_comparison: Subquery, *columns: Any) -> Select:
    """Per-comparison rows joined to their two candidates (``model_a``, ``model_b`` first)."""
    return (
        candidate_joins(
            select(CandA.name.label("model_a"), CandB.name.label("model_b"), *columns)
            .select_from(per_comparison)
            .join(Comparison, Comparison.id == per_comparison.c.comparison_id),
            with_prompt=False,
        )
        .where(Comparison.output_a_id != Comparison.output_b_id)
    )


def per_comparison_tallies(flt: VoteFilter, strong_weight: int = 1) -> Subquery:
    """Subquery ``comparison_id, a_wins, ties, b_wins`` over the filtered votes, a strong
    verdict counted ``strong_weight`` times."""
    a_wins, ties, b_wins = outcome_tallies(Judgment.preference, strong_weight)
    return (
        flt.apply(
            select(
                Judgment.comparison_id.label("comparison_id"),
                a_wins.label("a_wins"),
                ties.label("ties"),
                b_wins.label("b_wins"),
            )
        )
        .group_by(Judgment.comparison_id)
        .subquery()
    )
