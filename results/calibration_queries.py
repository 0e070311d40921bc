"""The per-comparison tallies of :class:`metrics.calibration.CalibrationInput`, aggregated in SQL.

A campaign with a million judgments has about a hundred thousand comparisons: three grouped
queries return one row per comparison (metadata and lengths), per comparison with a human vote
(a / tie / b first-showing tallies and the position counts) and per (judge, comparison) (its
winner in each shown order), instead of every vote. ``metrics.calibration.calibration_input``
builds the same tallies from a votes frame and is the reference the tests hold this to.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.engine import Engine

from db.joins import CandA, CandB, OutA, OutB, candidate_joins
from db.models import Comparison, Judge, Judgment, Prompt
from metrics.calibration import (
    COMPARISON_COLUMNS,
    JUDGE_ROW_COLUMNS,
    NO_CATEGORY,
    NONE,
    CalibrationInput,
)
from metrics.vocabulary import judge_label
from results.votes import VoteFilter

_KNOWN = ("ab", "ba")


def _winner_index() -> ColumnElement[Any]:
    """SQL for the winner index of :mod:`metrics.calibration`: 0 a, 1 tie, 2 b, NULL none."""
    pref = Judgment.preference
    return case((Judgment.both_bad, 1), (pref < 0, 0), (pref == 0, 1), (pref > 0, 2), else_=None)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _comparisons(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    query = candidate_joins(
        select(
            Comparison.id,
            Comparison.prompt_id,
            Prompt.category,
            CandA.name,
            CandB.name,
            func.length(OutA.content),
            func.length(OutB.content),
        )
    ).where(
        Comparison.campaign_id == flt.campaign_id,
        Comparison.output_a_id != Comparison.output_b_id,
    )
    if flt.category:
        query = query.where(Prompt.category == flt.category)
    if flt.split:
        query = query.where(Prompt.split == flt.split)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(Comparison.id)).all()
    columns = ["comparison_id", "prompt_id", "category", "model_a", "model_b", "len_a", "len_b"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["category"] = frame["category"].astype(object).where(frame["category"].notna(), None)
    frame["category"] = frame["category"].fillna(NO_CATEGORY)
    return frame.astype({"len_a": float, "len_b": float})


def _humans(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    pref, bad, order = Judgment.preference, Judgment.both_bad, Judgment.shown_order
    scored = or_(bad, pref.is_not(None))
    decisive = and_(~bad, pref != 0)
    query = (
        replace(flt, rater_kind="human")
        .apply(
            select(
                Judgment.comparison_id,
                _count(and_(~bad, pref < 0)),
                _count(or_(bad, pref == 0)),
                _count(and_(~bad, pref > 0)),
                _count(
                    and_(
                        ~bad,
                        or_(and_(order == "ab", pref < 0), and_(order == "ba", pref > 0)),
                    )
                ),
                _count(and_(decisive, order.in_(_KNOWN))),
                _count(order.not_in(_KNOWN)),
            )
        )
        .where(scored)
        .group_by(Judgment.comparison_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    columns = ["comparison_id", "votes_a", "votes_tie", "votes_b", "first_hits", "first_n"]
    return pd.DataFrame(rows, columns=[*columns, "unknown_order_n"])


def _judges(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    winner, order = _winner_index(), Judgment.shown_order
    query = (
        replace(flt, rater_kind="llm")
        .apply(
            select(
                Judgment.judge_id,
                Judgment.comparison_id,
                func.max(case((order == "ab", winner), else_=None)),
                func.max(case((order == "ba", winner), else_=None)),
                func.max(case((order.not_in(_KNOWN), winner), else_=None)),
            )
        )
        .where(or_(Judgment.both_bad, Judgment.preference.is_not(None)))
        .group_by(Judgment.judge_id, Judgment.comparison_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        labels = {
            judge_id: judge_label(name, version)
            for judge_id, name, version in conn.execute(select(Judge.id, Judge.name, Judge.version))
        }
    frame = pd.DataFrame(rows, columns=["judge_id", "comparison_id", "ab", "ba", "other"])
    for col in ("ab", "ba", "other"):
        frame[col] = frame[col].astype("float64").fillna(NONE).astype(np.int64)
    frame["judge"] = frame["judge_id"].map(labels).astype(object)
    return frame[list(JUDGE_ROW_COLUMNS)]


def calibration_input_sql(engine: Engine, flt: VoteFilter) -> CalibrationInput:
    """Per-comparison tallies for the votes ``flt`` selects (its ``rater_kind`` is ignored:
    the humans and the judges are both needed)."""
    comparisons = _comparisons(engine, flt)
    humans = _humans(engine, flt)
    judges = _judges(engine, flt)
    frame = comparisons.merge(humans, on="comparison_id", how="left")
    counts = [c for c in COMPARISON_COLUMNS if c.startswith(("votes_", "first_", "unknown_"))]
    frame[counts] = frame[counts].fillna(0).astype(np.int64)
    judges = judges[judges["comparison_id"].isin(frame["comparison_id"]).to_numpy(dtype=bool)]
    return CalibrationInput(frame[list(COMPARISON_COLUMNS)], judges.reset_index(drop=True))
