"""Export every judgment of a campaign with full provenance (CSV, JSONL or Parquet).

Every judgment is exported, re-shown items included (flagged in ``is_reshow``), and so
are votes on retired comparisons and votes of excluded raters (flagged in
``comparison_retired`` and ``rater_excluded``: every other result leaves them out), so the
file is the campaign's whole record; the columns are described in docs/EXPORT.md. Rows stream out
of the database in chunks, and every chunk is written against one column list and (for
Parquet) one explicit schema fixed before the first row, so a column that happens to be
empty in the first chunk cannot change its type later.

CSV text cells that a spreadsheet would run as a formula are neutralised (see
``neutralise_formulas``) unless raw values are asked for; Parquet and JSONL are data formats
no spreadsheet evaluates, so they always keep the stored values.

A file is written under a temporary name in the destination's folder and renamed over the
destination only once complete, so an export that fails part-way (disk full) never leaves a
truncated file, nor replaces a good one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import Text, and_, case, cast, exists, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from db.access import admin_only
from db.errors import InvalidInputError, JudgeboardError
from db.joins import CandA, CandB, OutA, OutB, comparison_joins
from db.models import (
    Campaign,
    Comparison,
    Judge,
    Judgment,
    JudgmentScore,
    Prompt,
    RaterExclusion,
    RubricCriterion,
    User,
)
from metrics.vocabulary import winner_codes
from results.votes import judge_label_sql

EXPORT_FORMATS = ("parquet", "csv", "jsonl")
# OWASP's CSV-injection list: a cell starting with one of these is read as a formula (or, for
# tab and CR, can be shifted into one) by Excel, LibreOffice and Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[=+\\-@\t\r]"
_FORMULA_RE = re.compile(_FORMULA_START)
CHUNK_ROWS = 50_000
MAX_STEM_BYTES = 80
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in "123456789"
}

# The fixed columns, in file order, with their Arrow types. Rubric score columns
# (score_<criterion>_a / _b, float64) follow, one pair per criterion of the campaign.
BASE_SCHEMA = pa.schema(
    [
        pa.field("judgment_id", pa.int64(), nullable=False),
        pa.field("campaign", pa.string()),
        pa.field("comparison_id", pa.int64()),
        pa.field("prompt_id", pa.string()),
        pa.field("prompt", pa.string()),
        pa.field("reference", pa.string()),
        pa.field("category", pa.string()),
        pa.field("split", pa.string()),
        pa.field("model_a", pa.string()),
        pa.field("model_b", pa.string()),
        pa.field("output_a_id", pa.int64()),
        pa.field("output_b_id", pa.int64()),
        pa.field("output_a", pa.string()),
        pa.field("output_b", pa.string()),
        pa.field("rater", pa.string()),
        pa.field("rater_kind", pa.string()),
        pa.field("rater_active", pa.bool_()),
        pa.field("judge", pa.string()),
        pa.field("judge_version_id", pa.int64()),
        pa.field("judge_version", pa.int64()),
        pa.field("judge_config_hash", pa.string()),
        pa.field("template_hash", pa.string()),
        pa.field("judge_run_id", pa.int64()),
        pa.field("shown_order", pa.string()),
        pa.field("preference", pa.int64()),
        pa.field("winner", pa.string()),
        pa.field("both_bad", pa.bool_()),
        pa.field("paired_shown_order", pa.string()),
        pa.field("paired_preference", pa.int64()),
        pa.field("rationale", pa.string()),
        pa.field("raw_reply", pa.string()),
        pa.field("paired_raw_reply", pa.string()),
        pa.field("time_on_task_ms", pa.int64()),
        pa.field("is_gold", pa.bool_()),
        pa.field("is_attention", pa.bool_()),
        pa.field("is_reshow", pa.bool_()),
        pa.field("check_kind", pa.string()),
        pa.field("expected_preference", pa.int64()),
        pa.field("version", pa.int64()),
        pa.field("is_current", pa.bool_()),
        pa.field("source", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("comparison_retired", pa.bool_()),
        pa.field("rater_excluded", pa.bool_()),
    ]
)


def safe_file_stem(name: str, *, max_bytes: int = MAX_STEM_BYTES) -> str:
    """A readable file-name stem for any text: letters, digits, ``-``, ``_`` and ``.`` only.

    No path separator, colon or other character a file system refuses; no leading dot or
    dash (hidden file, option); at most ``max_bytes`` bytes of UTF-8; never empty and never a
    Windows device name. ``"Demo: assistant quality"`` becomes ``"Demo-assistant-quality"``.
    """
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"[^\w.-]+", "-", text, flags=re.UNICODE)
    text = re.sub(r"([-.])[-.]+", r"\1", text).strip("-_.")
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    text = text.rstrip("-_.")
    if not text:
        return "campaign"
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = f"{text}_"
    return text


def default_export_path(campaign_name: str, fmt: str) -> Path:
    """Where ``judgeboard export`` writes without ``-o``: ``<safe name>-judgments.<fmt>``."""
    return Path(f"{safe_file_stem(campaign_name)}-judgments.{fmt}")


@dataclass(frozen=True)
class _ScoreColumn:
    criterion_id: int
    name: str
    side: str


def score_column_stems(names: list[str]) -> list[str]:
    """``score_<criterion>`` per criterion name: lower-case ASCII word characters, unique.

    Two names that slug alike (``Tone`` and ``tone!``) get ``_2``, ``_3`` ... in order.
    """
    stems: list[str] = []
    for name in names:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "criterion"
        stem, n = f"score_{slug}", 2
        while stem in stems:
            stem, n = f"score_{slug}_{n}", n + 1
        stems.append(stem)
    return stems


def _criteria(conn: Connection, campaign_id: int) -> list[_ScoreColumn]:
    rows = conn.execute(
        select(RubricCriterion.id, RubricCriterion.name)
        .where(RubricCriterion.campaign_id == campaign_id)
        .order_by(RubricCriterion.position, RubricCriterion.id)
    ).all()
    stems = score_column_stems([name for _, name in rows])
    return [
        _ScoreColumn(cid, f"{stem}_{side}", side)
        for (cid, _), stem in zip(rows, stems, strict=True)
        for side in ("a", "b")
    ]


def export_schema(score_columns: list[str]) -> pa.Schema:
    """The one schema of an export file: the fixed columns, then float64 score columns."""
    return pa.schema([*BASE_SCHEMA, *(pa.field(c, pa.float64()) for c in score_columns)])


def _scores_pivot(campaign_id: int, columns: list[_ScoreColumn]):
    """One row per scored judgment, one column per criterion and side.

    A single-output rubric item (output A is output B) has its scores under side A only.
    """
    side_a = JudgmentScore.output_id == Comparison.output_a_id
    side_b = and_(
        JudgmentScore.output_id == Comparison.output_b_id,
        Comparison.output_a_id != Comparison.output_b_id,
    )
    cells = [
        func.max(
            case(
                (
                    and_(
                        JudgmentScore.criterion_id == col.criterion_id,
                        side_a if col.side == "a" else side_b,
                    ),
                    JudgmentScore.value,
                )
            )
        ).label(col.name)
        for col in columns
    ]
    return (
        select(JudgmentScore.judgment_id, *cells)
        .join(Judgment, Judgment.id == JudgmentScore.judgment_id)
        .join(Comparison, Comparison.id == Judgment.comparison_id)
        .where(Judgment.campaign_id == campaign_id)
        .group_by(JudgmentScore.judgment_id)
        .subquery("scores")
    )


def _query(campaign_id: int, columns: list[_ScoreColumn]):
    paired = aliased(Judgment)
    rater = case(
        (Judgment.user_id.is_not(None), User.handle),
        else_=judge_label_sql(),
    )
    scores = _scores_pivot(campaign_id, columns) if columns else None
    query = comparison_joins(
        select(
            Judgment.id.label("judgment_id"),
            Campaign.name.label("campaign"),
            Judgment.comparison_id,
            Prompt.external_id.label("prompt_id"),
            cast(Prompt.messages, Text).label("prompt"),
            Prompt.reference,
            Prompt.category,
            Prompt.split,
            CandA.name.label("model_a"),
            CandB.name.label("model_b"),
            Comparison.output_a_id,
            Comparison.output_b_id,
            OutA.content.label("output_a"),
            OutB.content.label("output_b"),
            rater.label("rater"),
            Judgment.rater_kind,
            User.active.label("rater_active"),
            case((Judgment.judge_id.is_(None), None), else_=judge_label_sql()).label("judge"),
            Judgment.judge_id.label("judge_version_id"),
            Judge.version.label("judge_version"),
            Judge.content_hash.label("judge_config_hash"),
            Judgment.judge_run_id,
            Judgment.shown_order,
            Judgment.preference,
            Judgment.both_bad,
            paired.shown_order.label("paired_shown_order"),
            paired.preference.label("paired_preference"),
            Judgment.rationale,
            Judgment.raw_reply,
            paired.raw_reply.label("paired_raw_reply"),
            Judgment.time_on_task_ms,
            Judgment.is_reshow,
            Comparison.check_kind,
            Comparison.expected_preference,
            Judgment.version,
            Judgment.is_current,
            Judgment.source,
            Judgment.created_at,
            Comparison.retired_at.is_not(None).label("comparison_retired"),
            exists()
            .where(
                RaterExclusion.campaign_id == Judgment.campaign_id,
                RaterExclusion.rater_key == Judgment.rater_key,
            )
            .label("rater_excluded"),
            *([scores.c[col.name] for col in columns] if scores is not None else []),
        )
    )
    query = (
        query.join(Campaign, Campaign.id == Judgment.campaign_id)
        .outerjoin(User, User.id == Judgment.user_id)
        .outerjoin(Judge, Judge.id == Judgment.judge_id)
        .outerjoin(
            paired,
            and_(
                Judgment.rater_kind == "llm",
                Judgment.shown_order.in_(("ab", "ba")),
                paired.comparison_id == Judgment.comparison_id,
                paired.rater_key == Judgment.rater_key,
                paired.shown_order.in_(("ab", "ba")),
                paired.shown_order != Judgment.shown_order,
                paired.is_current,
            ),
        )
    )
    if scores is not None:
        query = query.outerjoin(scores, scores.c.judgment_id == Judgment.id)
    return query.where(Judgment.campaign_id == campaign_id).order_by(Judgment.id)


def _template_hashes(conn: Connection, campaign_id: int) -> dict[int, str]:
    """sha256 of each judge version's template text (none for an imported judge without one)."""
    used = select(Judgment.judge_id).where(Judgment.campaign_id == campaign_id).distinct()
    rows = conn.execute(select(Judge.id, Judge.template).where(Judge.id.in_(used))).all()
    return {
        jid: hashlib.sha256(template.encode("utf-8")).hexdigest()
        for jid, template in rows
        if template
    }


def _prompt_text(messages: str | None) -> str | None:
    """A single-turn prompt's text; a conversation (or anything else) as its JSON."""
    if messages is None:
        return None
    try:
        parsed = json.loads(messages)
    except ValueError:
        return messages
    if isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], dict):
        content = parsed[0].get("content")
        if isinstance(content, str) and parsed[0].get("role", "user") == "user":
            return content
    return json.dumps(parsed, ensure_ascii=False)


def _chunk_table(
    rows: list, names: list[str], schema: pa.Schema, templates: dict[int, str]
) -> pa.Table:
    """One chunk of rows as an Arrow table in the export schema (columns built once each)."""
    raw = dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)) if rows else {}
    raw = {name: raw.get(name, []) for name in names}
    prompts: dict[str, str | None] = {}
    for text in raw["prompt"]:
        if text not in prompts:
            prompts[text] = _prompt_text(text)
    both_bad = [bool(b) for b in raw["both_bad"]]
    preference = np.array([np.nan if p is None else p for p in raw["preference"]], dtype=float)
    winner = [
        "both_bad" if bad else code
        for bad, code in zip(both_bad, winner_codes(preference), strict=True)
    ]
    derived = {
        "prompt": [prompts[text] for text in raw["prompt"]],
        "both_bad": both_bad,
        "winner": winner,
        "comparison_retired": [bool(b) for b in raw["comparison_retired"]],
        "rater_excluded": [bool(b) for b in raw["rater_excluded"]],
        "is_gold": [kind == "gold" for kind in raw["check_kind"]],
        "is_attention": [kind == "attention" for kind in raw["check_kind"]],
        "template_hash": [
            None if jid is None else templates.get(jid) for jid in raw["judge_version_id"]
        ],
    }
    columns = [pa.array(derived.get(f.name, raw.get(f.name)), type=f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def frame_to_csv(frame: pd.DataFrame, *, raw: bool = False) -> str:
    """``frame`` as CSV text, with formula-like text cells neutralised unless ``raw``.

    For every table we offer as CSV besides the export (leaderboards): model names and
    categories come from imported files, so they get the same ``'`` as export cells.
    """
    if raw:
        return frame.to_csv(index=False)
    safe = frame.copy()
    for name in safe.columns:
        column = safe[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            safe[name] = column.map(
                lambda v: f"'{v}" if isinstance(v, str) and _FORMULA_RE.match(v) else v
            )
    return safe.to_csv(index=False)


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that starts with a formula trigger prefixed by ``'``.

    This is what OWASP recommends for CSV opened in a spreadsheet: the quote makes the cell
    literal text. Only string columns change; numbers (a negative preference) and missing
    values are left as they are.
    """
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            starts = pc.match_substring_regex(column, _FORMULA_START)
            quoted = pc.binary_join_element_wise(pa.scalar("'"), column, pa.scalar(""))
            column = pc.if_else(starts, quoted, column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def _judgment_chunks(
    engine: Engine, campaign_id: int, chunk_rows: int
) -> tuple[pa.Schema, Generator[pa.Table, None, None]]:
    """The file's schema, and its judgments in chunks of ``chunk_rows``.

    Yields at least one (possibly empty) table, so writers always learn the columns.
    """
    with engine.connect() as conn:
        columns = _criteria(conn, campaign_id)
    schema = export_schema([c.name for c in columns])

    def chunks() -> Generator[pa.Table, None, None]:
        with engine.connect() as conn:
            templates = _template_hashes(conn, campaign_id)
            result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
                _query(campaign_id, columns)
            )
            names = list(result.keys())
            empty = True
            for rows in result.partitions(chunk_rows):
                empty = False
                yield _chunk_table(rows, names, schema, templates)
            if empty:
                yield _chunk_table([], names, schema, templates)

    return schema, chunks()


def export_judgments(
    engine: Engine,
    campaign_id: int,
    fmt: str,
    dest: Path,
    *,
    actor_id: int,
    chunk_rows: int = CHUNK_ROWS,
    raw: bool = False,
) -> int:
    """Write the campaign's judgments to ``dest``; returns the number of rows (admins only).

    ``chunk_rows`` bounds how many rows are in memory at once. A CSV file's text cells that
    start with ``=``, ``+``, ``-``, ``@``, tab or CR get a ``'`` in front so that a
    spreadsheet shows them instead of running them; ``raw=True`` keeps them as stored.
    Parquet and JSONL always keep the stored values.
    """
    admin_only(engine, actor_id)
    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(f"Export format '{fmt}' is not one of {', '.join(EXPORT_FORMATS)}.")
    if chunk_rows < 1:
        raise InvalidInputError("The export chunk size must be at least 1 row.")
    schema, chunks = _judgment_chunks(engine, campaign_id, chunk_rows)
    try:
        return write_atomically(Path(dest), lambda path: _write(fmt, path, schema, chunks, raw))
    finally:
        chunks.close()  # a writer that failed mid-way leaves the query's connection open


class ExportWriteError(JudgeboardError):
    """The export file could not be written (disk full, no such folder, no permission)."""


def write_atomically(dest: Path, write: Callable[[Path], int]) -> int:
    """Run ``write`` on a temporary file beside ``dest``, then rename it onto ``dest``.

    The rename (``os.replace``) is atomic within one folder, so ``dest`` is either the
    complete new file or whatever was there before. On any failure the temporary file is
    removed; an I/O failure becomes an ``ExportWriteError`` naming ``dest`` and the reason.
    """
    tmp = dest.with_name(f".{dest.name[:60]}.{secrets.token_hex(4)}.part")
    existed = dest.exists()
    try:
        # O_EXCL: never reuse someone else's file; mode 0o666 so the umask applies, as it
        # does to a file opened the ordinary way.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise _write_error(dest, exc, existed) from None
    try:
        n = write(tmp)
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(dest, exc, existed) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def _write_error(dest: Path, exc: OSError, existed: bool) -> ExportWriteError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    kept = "the file already there is unchanged" if existed else "no file was left there"
    return ExportWriteError(
        f"Could not write the export to {dest}: {reason}; {kept}. Free some disk space, check"
        " that the folder exists and is writable, or choose another destination (-o)."
    )


def _write(fmt: str, path: Path, schema: pa.Schema, chunks: Iterator[pa.Table], raw: bool) -> int:
    """Write every chunk to ``path`` in ``fmt``; returns the number of rows."""
    n = 0
    if fmt == "parquet":
        with pq.ParquetWriter(path, schema) as writer:
            for table in chunks:
                n += table.num_rows
                writer.write_table(table)
        return n
    if fmt == "csv":
        with pa_csv.CSVWriter(path, schema) as writer:
            for table in chunks:
                n += table.num_rows
                writer.write_table(table if raw else neutralise_formulas(table))
        return n
    with path.open("w", encoding="utf-8", newline="") as text:
        for table in chunks:
            n += table.num_rows
            if not table.num_rows:
                continue
            frame = table.to_pandas(types_mapper=_NULLABLE.get)
            lines = frame.to_json(
                orient="records", lines=True, date_format="iso", date_unit="us", force_ascii=False
            )
            text.write(lines if lines.endswith("\n") else lines + "\n")
    return n


_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
