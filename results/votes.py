"""Read judgments out of the database in the shapes ``metrics/`` expects.

Every query filters and aggregates in SQL; only the rows a figure needs come back.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Select, String, and_, case, cast, func, literal, select
from sqlalchemy.engine import Engine

from db.joins import CandA, CandB, OutA, OutB, comparison_joins
from db.models import (
    Candidate,
    Comparison,
    Judge,
    Judgment,
    JudgmentScore,
    Output,
    Prompt,
    RubricCriterion,
    User,
)
from metrics.frames import SCORE_COLUMNS, VOTE_COLUMNS


@dataclass(frozen=True)
class VoteFilter:
    """Which judgments count: by rater kind, judge, category and split."""

    campaign_id: int
    rater_kind: str | None = None
    judge_id: int | None = None
    category: str | None = None
    split: str | None = None
    current_only: bool = True

    def apply(self, query: Select) -> Select:
        query = query.where(Judgment.campaign_id == self.campaign_id)
        if self.current_only:
            query = query.where(Judgment.is_current)
        if self.rater_kind:
            query = query.where(Judgment.rater_kind == self.rater_kind)
        if self.judge_id is not None:
            query = query.where(Judgment.judge_id == self.judge_id)
        if self.category:
            query = query.where(Prompt.category == self.category)
        if self.split:
            query = query.where(Prompt.split == self.split)
        return query


def votes_frame(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """One row per judgment in the ``metrics.frames`` votes contract."""
    judge_label = Judge.name + literal("@v") + cast(Judge.version, String)
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
            case((Judgment.judge_id.is_(None), None), else_=judge_label).label("judge"),
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
    judge_label = Judge.name + literal("@v") + cast(Judge.version, String)
    query = (
        select(
            Judgment.comparison_id,
            Judgment.rater_key.label("rater"),
            Judgment.rater_kind,
            case((Judgment.judge_id.is_(None), None), else_=judge_label).label("judge"),
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
    pref = Judgment.preference
    query = comparison_joins(
        select(
            CandA.name.label("model_a"),
            CandB.name.label("model_b"),
            func.sum(case((pref < 0, 1), else_=0)).label("wins_a"),
            func.sum(case((pref > 0, 1), else_=0)).label("wins_b"),
            func.sum(case((pref == 0, 1), else_=0)).label("ties"),
        )
    )
    query = (
        flt.apply(query)
        .where(and_(pref.is_not(None), Comparison.output_a_id != Comparison.output_b_id))
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
    names.update({key: f"{name}@v{version}" for key, name, version in judges})
    return names
