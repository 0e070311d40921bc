"""Export every judgment of a campaign with full provenance (CSV, JSONL or Parquet)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import and_, case, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from db.access import admin_only
from db.errors import InvalidInputError
from db.joins import CandA, CandB, comparison_joins
from db.models import Campaign, Comparison, Judge, Judgment, Prompt, User
from metrics.vocabulary import missing_to_none, winner_codes
from results.votes import judge_label_sql

EXPORT_FORMATS = ("parquet", "csv", "jsonl")
CHUNK_ROWS = 50_000


def _query(campaign_id: int):
    paired = aliased(Judgment)
    rater = case(
        (Judgment.user_id.is_not(None), User.handle),
        else_=judge_label_sql(),
    )
    return (
        comparison_joins(
            select(
                Judgment.id.label("judgment_id"),
                Campaign.name.label("campaign"),
                Judgment.comparison_id,
                Prompt.external_id.label("prompt_id"),
                Prompt.category,
                Prompt.split,
                CandA.name.label("model_a"),
                CandB.name.label("model_b"),
                Comparison.output_a_id,
                Comparison.output_b_id,
                rater.label("rater"),
                Judgment.rater_kind,
                User.active.label("rater_active"),
                Judgment.judge_id.label("judge_version_id"),
                Judge.content_hash.label("judge_config_hash"),
                Judgment.judge_run_id,
                Judgment.shown_order,
                Judgment.preference,
                Judgment.both_bad,
                paired.shown_order.label("paired_shown_order"),
                paired.preference.label("paired_preference"),
                Judgment.rationale,
                Judgment.time_on_task_ms,
                Judgment.is_reshow,
                Judgment.version,
                Judgment.is_current,
                Judgment.source,
                Comparison.check_kind,
                Comparison.expected_preference,
                Judgment.created_at,
            )
        )
        .join(Campaign, Campaign.id == Judgment.campaign_id)
        .outerjoin(User, User.id == Judgment.user_id)
        .outerjoin(Judge, Judge.id == Judgment.judge_id)
        .outerjoin(
            paired,
            and_(
                paired.comparison_id == Judgment.comparison_id,
                paired.rater_key == Judgment.rater_key,
                paired.shown_order != Judgment.shown_order,
                paired.is_current,
                Judgment.rater_kind == "llm",
            ),
        )
        .where(Judgment.campaign_id == campaign_id)
        .order_by(Judgment.id)
    )


INT_COLUMNS = (
    "preference",
    "paired_preference",
    "time_on_task_ms",
    "expected_preference",
    "judge_version_id",
    "judge_run_id",
)


def _shape(rows: list, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for col in INT_COLUMNS:
        frame[col] = frame[col].astype("Int64")
    frame["both_bad"] = frame["both_bad"].astype(bool)
    winner = pd.Series(winner_codes(frame["preference"].astype("float64")), index=frame.index)
    frame.insert(
        frame.columns.get_loc("both_bad"), "winner", winner.where(~frame["both_bad"], "both_bad")
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def _judgment_chunks(engine: Engine, campaign_id: int) -> Iterator[pd.DataFrame]:
    """Judgments in chunks, so a million-row export never sits in memory whole.

    Yields at least one (possibly empty) frame, so writers always learn the columns.
    """
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(
            _query(campaign_id)
        )
        columns = list(result.keys())
        empty = True
        for rows in result.partitions(CHUNK_ROWS):
            empty = False
            yield _shape(rows, columns)
        if empty:
            yield _shape([], columns)


def export_judgments(
    engine: Engine, campaign_id: int, fmt: str, dest: Path, *, actor_id: int
) -> int:
    """Write the campaign's judgments to ``dest``; returns the number of rows (admins only)."""
    admin_only(engine, actor_id)
    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(f"Export format '{fmt}' is not one of {', '.join(EXPORT_FORMATS)}.")
    chunks = _judgment_chunks(engine, campaign_id)
    n = 0
    if fmt == "parquet":
        writer: pq.ParquetWriter | None = None
        for frame in chunks:
            n += len(frame)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(dest, table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is not None:
            writer.close()
        return n
    with dest.open("w", encoding="utf-8", newline="") as text:
        for i, frame in enumerate(chunks):
            n += len(frame)
            if fmt == "csv":
                frame.to_csv(text, index=False, header=i == 0)
                continue
            for record in frame.to_dict("records"):
                record["created_at"] = record["created_at"].isoformat()
                text.write(json.dumps(_plain(record), ensure_ascii=False) + "\n")
    return n


def _plain(record: dict) -> dict:
    return {k: missing_to_none(v) for k, v in record.items()}
