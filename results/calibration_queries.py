"""The per-comparison tallies of :class:`metrics.calibration.CalibrationInput`, aggregated in SQL.

A campaign with a million judgments has about a hundred thousand comparisons: three grouped
queries return one row per comparison (metadata and lengths), per comparison with a human vote
(a / tie / b first-showing tallies and the position counts) and per (judge, comparison) (its
winner in each shown order), instead of every vote. ``metrics.calibration.calibration_input``
builds the same tallies from a votes frame and is the reference the tests hold this to.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, ColumnElement, Select, and_, case, cast, func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from db.joins import OutA, OutB, output_joins
from db.models import Candidate, Comparison, Judge, Judgment, Prompt
from metrics.calibration import (
    COMPARISON_COLUMNS,
    JUDGE_ROW_COLUMNS,
    NO_CATEGORY,
    CalibrationInput,
)
from metrics.vocabulary import judge_label
from results.votes import VoteFilter, scoped

_KNOWN = ("ab", "ba")


def _winner_index() -> ColumnElement[Any]:
    """SQL for the winner index of :mod:`metrics.calibration`: 0 a, 1 tie, 2 b, NULL none."""
    pref = Judgment.preference
    return case((Judgment.both_bad, 1), (pref < 0, 0), (pref == 0, 1), (pref > 0, 2), else_=None)


def _rows(conn: Connection, query: Select) -> list[tuple]:
    """Plain tuples straight from the DBAPI cursor: every column here is an integer, a string
    or NULL, and SQLAlchemy rows cost more than the query on a hundred thousand of them."""
    return conn.execute(query).cursor.fetchall()


def _int_frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    """Rows of integers as a frame, through one NumPy array (pandas infers per cell)."""
    values = np.array(rows, dtype=np.int64).reshape(len(rows), len(columns))
    return pd.DataFrame({c: values[:, k] for k, c in enumerate(columns)})


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _comparisons(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """Comparisons with their lengths; candidate names and categories are mapped in afterwards
    from the two small tables, which keeps the scan to comparisons and outputs."""
    query = output_joins(
        select(
            Comparison.id,
            Comparison.prompt_id,
            OutA.candidate_id,
            OutB.candidate_id,
            func.length(OutA.content),
            func.length(OutB.content),
        )
    ).where(
        Comparison.campaign_id == flt.campaign_id,
        Comparison.output_a_id != Comparison.output_b_id,
        Comparison.retired_at.is_(None),
    )
    prompts = select(Prompt.id, Prompt.category).where(Prompt.campaign_id == flt.campaign_id)
    if flt.category:
        prompts = prompts.where(Prompt.category == flt.category)
    if flt.split:
        prompts = prompts.where(Prompt.split == flt.split)
    if flt.category or flt.split:
        query = query.where(Comparison.prompt_id.in_(prompts.with_only_columns(Prompt.id)))
    with engine.connect() as conn:
        rows = _rows(conn, query.order_by(Comparison.id))
        category = dict(conn.execute(prompts).all())
        names = dict(conn.execute(select(Candidate.id, Candidate.name)).all())
    columns = ["comparison_id", "prompt_id", "cand_a", "cand_b", "len_a", "len_b"]
    frame = _int_frame(rows, columns)
    cats = frame["prompt_id"].map(category).astype(object)
    return frame.assign(
        category=cats.where(cats.notna(), NO_CATEGORY),
        model_a=frame["cand_a"].map(names).astype(object),
        model_b=frame["cand_b"].map(names).astype(object),
        len_a=frame["len_a"].astype(float),
        len_b=frame["len_b"].astype(float),
    )


CELL_BITS = 6
"""Width of each (shown order, winner) count packed into one summed integer (9 x 6 = 54 bits,
so even a carry out of the last cell stays inside a signed 64-bit sum)."""


def _human_cells(rows: list[tuple]) -> pd.DataFrame:
    """Decode (comparison_id, packed cells, count) rows; None if some count overflowed."""
    values = np.array(rows, dtype=np.int64).reshape(len(rows), 3)
    shifts = CELL_BITS * np.arange(9, dtype=np.int64)
    cells = (values[:, 1:2] >> shifts) & ((1 << CELL_BITS) - 1)
    if (cells.sum(axis=1) != values[:, 2]).any():
        return None
    cells = cells.reshape(-1, 3, 3)  # shown order (ab, ba, unknown) x winner (a, tie, b)
    tallies = cells.sum(axis=1)
    return pd.DataFrame(
        {
            "comparison_id": values[:, 0],
            "votes_a": tallies[:, 0],
            "votes_tie": tallies[:, 1],
            "votes_b": tallies[:, 2],
            "first_hits": cells[:, 0, 0] + cells[:, 1, 2],
            "first_n": cells[:, :2, 0].sum(axis=1) + cells[:, :2, 2].sum(axis=1),
            "unknown_order_n": cells[:, 2].sum(axis=1),
        }
    )


def _humans(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """Per comparison, the human votes counted by shown order and winner.

    The nine counts are packed into one summed integer (6 bits each: one aggregate instead of
    six per row, which is what SQLite spends its time on); a comparison with 64 or more votes
    in one cell would carry into the next, so the row count is checked and, if any differs (or
    the sum overflows), the counts are summed one by one instead.
    """
    pref, bad, order = Judgment.preference, Judgment.both_bad, Judgment.shown_order
    humans = replace(flt, rater_kind="human")
    scored = or_(bad, pref.is_not(None))
    order_index = case((order == "ab", 0), (order == "ba", 1), else_=2)
    weight = case(
        *((order_index * 3 + _winner_index() == k, 1 << (CELL_BITS * k)) for k in range(9)),
        else_=0,
    )
    packed = select(Judgment.comparison_id, cast(func.sum(weight), BigInteger), func.count()).where(
        scored
    )
    try:
        with engine.connect() as conn:
            frame = _human_cells(_rows(conn, humans.apply(packed).group_by(Judgment.comparison_id)))
    except DBAPIError:
        frame = None
    if frame is not None:
        return frame
    with engine.connect() as conn:
        decisive = and_(~bad, pref != 0)
        first = or_(and_(order == "ab", pref < 0), and_(order == "ba", pref > 0))
        one_by_one = select(
            Judgment.comparison_id,
            _count(and_(~bad, pref < 0)),
            _count(or_(bad, pref == 0)),
            _count(and_(~bad, pref > 0)),
            _count(and_(~bad, first)),
            _count(and_(decisive, order.in_(_KNOWN))),
            _count(order.not_in(_KNOWN)),
        ).where(scored)
        rows = _rows(conn, humans.apply(one_by_one).group_by(Judgment.comparison_id))
    columns = ["comparison_id", "votes_a", "votes_tie", "votes_b", "first_hits", "first_n"]
    return _int_frame(rows, [*columns, "unknown_order_n"])


JUDGES_PER_COLUMN = 5
"""Judges packed into one summed column: 3 orders x 2 bits each, 30 bits, an int4 in SQL."""


def _judges(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """One row per (judge, comparison), from one query grouped by comparison alone (SQLite
    answers it in the covering index's order, without a sort).

    A current verdict is unique per judge, comparison and shown order, so each one adds its
    winner index + 1 (1-3) into its own 2-bit slot of a summed integer: slot 3 * j + order for
    the j-th judge of a column, order 0 "ab", 1 "ba", 2 unknown; 0 is no verdict.
    """
    llm = replace(flt, rater_kind="llm")
    order = Judgment.shown_order
    order_index = case((order == "ab", 0), (order == "ba", 1), else_=2)
    scored = or_(Judgment.both_bad, Judgment.preference.is_not(None))
    with engine.connect() as conn:
        ids = sorted(conn.execute(llm.apply(select(Judgment.judge_id).distinct())).scalars().all())
        labels = {
            judge_id: judge_label(name, version)
            for judge_id, name, version in conn.execute(
                select(Judge.id, Judge.name, Judge.version).where(Judge.id.in_(ids))
            )
        }
        chunks = [ids[k : k + JUDGES_PER_COLUMN] for k in range(0, len(ids), JUDGES_PER_COLUMN)]
        columns = []
        for chunk in chunks:
            slot_base = case(
                *((Judgment.judge_id == j, 4 ** (3 * k)) for k, j in enumerate(chunk)), else_=0
            )
            shift = case((order_index == 0, 1), (order_index == 1, 4), else_=16)
            columns.append(func.sum((_winner_index() + 1) * slot_base * shift))
        query = (
            llm.apply(select(Judgment.comparison_id, *columns))
            .where(scored)
            .group_by(Judgment.comparison_id)
        )
        rows = _rows(conn, query) if ids else []
    packed = np.array([r[1:] for r in rows], dtype=np.int64).reshape(len(rows), len(chunks))
    comparison_ids = np.array([r[0] for r in rows], dtype=np.int64)
    parts = []
    for k, judge_id in enumerate(ids):
        column = packed[:, k // JUDGES_PER_COLUMN] >> (6 * (k % JUDGES_PER_COLUMN))
        codes = np.stack([(column >> (2 * o)) & 3 for o in range(3)], axis=1) - 1
        has = (codes >= 0).any(axis=1)
        parts.append(
            pd.DataFrame(
                {
                    "judge": labels.get(judge_id, f"j:{judge_id}"),
                    "comparison_id": comparison_ids[has],
                    "ab": codes[has, 0],
                    "ba": codes[has, 1],
                    "other": codes[has, 2],
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in JUDGE_ROW_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(JUDGE_ROW_COLUMNS)]


def calibration_input_sql(engine: Engine, flt: VoteFilter) -> CalibrationInput:
    """Per-comparison tallies for the votes ``flt`` selects (its ``rater_kind`` is ignored:
    the humans and the judges are both needed).

    On a database server the three queries run side by side, each on its own connection: the
    client mostly waits on the server there. SQLite runs them in this process, where threads
    only contend (measured slower), so they run one after the other.
    """
    flt = scoped(engine, flt)
    queries = (_comparisons, _humans, _judges)
    if engine.dialect.name == "sqlite":
        comparisons, humans, judges = (query(engine, flt) for query in queries)
    else:
        with ThreadPoolExecutor(max_workers=len(queries)) as pool:
            futures = [pool.submit(query, engine, flt) for query in queries]
            comparisons, humans, judges = (future.result() for future in futures)
    frame = comparisons.merge(humans, on="comparison_id", how="left")
    counts = [c for c in COMPARISON_COLUMNS if c.startswith(("votes_", "first_", "unknown_"))]
    frame[counts] = frame[counts].fillna(0).astype(np.int64)
    judges = judges[judges["comparison_id"].isin(frame["comparison_id"]).to_numpy(dtype=bool)]
    return CalibrationInput(frame[list(COMPARISON_COLUMNS)], judges.reset_index(drop=True))
