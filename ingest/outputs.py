"""Import model outputs from files (votes: :mod:`ingest.votes`).

Formats for outputs, detected from the extension and the first record's fields:

- long form (JSONL, CSV, Parquet, JSON list): ``prompt_id``, ``prompt`` (text or a list of
  ``{role, content}`` messages), ``model``, ``output`` and optionally ``reference``,
  ``category``, ``split``, ``latency_ms``, ``cost_usd``, ``tokens`` and ``metadata`` (an object,
  stored on the output);
- AlpacaEval (``instruction``, ``output``, ``generator``, optional ``dataset``): the prompt id is
  the first 16 hex digits of the instruction's SHA-256, since the format has none;
- MT-Bench / Arena-Hard-Auto model answers (``question_id``, ``model_id`` or ``model``,
  ``choices[0].turns`` as strings or ``{content}`` objects): the prompts come from a questions
  file (:func:`load_questions`); without one a new prompt gets one stand-in user message per
  turn, which a later import with the real text replaces.

Every field is described in docs/FORMATS.md. Text fields take JSON numbers and booleans as
their JSON text (counted in the summary).

An import is one transaction: it streams the file, checks every record, and writes in
batches; the first bad record stops the writing, up to 20 problems are collected, and
everything is rolled back; with ``skip_invalid`` bad rows go to a rejects file instead and
the rest is imported. Rows that already exist are skipped, so importing a file twice changes
nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import multiprocessing.connection
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from annotate.campaigns import _get_or_create_campaign
from db.access import admin_only
from db.engine import write_session
from db.errors import ImportFileError
from db.models import Campaign, Dataset, DatasetVersion, Prompt
from ingest import readers as rd
from ingest.bulk import (
    BatchWriter,
    ensure_candidates,
    ensure_prompts,
    fill_placeholders,
    outputs_insert,
    rollback_for,
    to_json,
)

BATCH_ROWS = 5000
_NULL_JSON = "null"

_LONG_FIELDS = {
    "prompt_id",
    "prompt",
    "model",
    "output",
    "reference",
    "category",
    "split",
    "latency_ms",
    "cost_usd",
    "tokens",
    "metadata",
}
_REQUIRED = {
    "long": ("prompt_id", "prompt", "model", "output"),
    "alpaca-eval": ("instruction", "output", "generator"),
    "mt-bench": ("question_id", "model_id", "choices"),
}
_KNOWN = {
    "long": _LONG_FIELDS,
    "alpaca-eval": {"instruction", "output", "generator", "dataset"},
    "mt-bench": {"question_id", "model_id", "choices", "answer_id", "tstamp"},
}


# ---- outputs ------------------------------------------------------------------------------


@dataclass
class OutputImportResult:
    campaign: str
    source: str
    format: str
    shape: str
    campaign_created: bool = False
    rows_read: int = 0
    prompts_added: int = 0
    prompts_existing: int = 0
    candidates_added: int = 0
    candidates_existing: int = 0
    outputs_added: int = 0
    outputs_existing: int = 0
    ignored_fields: list[str] = field(default_factory=list)
    values_as_text: int = 0
    nuls_removed: int = 0
    long_fields: list[tuple[int, str | None, int]] = field(default_factory=list)
    rows_rejected: int = 0
    rejects_path: str | None = None
    rejects_words: str = ""
    seconds: float = 0.0

    def summary(self) -> str:
        created = " (new campaign)" if self.campaign_created else ""
        text = (
            f"Imported {self.outputs_added:,} outputs into campaign '{self.campaign}'{created}"
            f" from {self.source} ({self.rows_read:,} rows, {self.format}, {self.shape}):"
            f" {self.prompts_added:,} new prompts, {self.candidates_added:,} new candidates."
        )
        skipped = self.outputs_existing + self.prompts_existing + self.candidates_existing
        if skipped:
            text += (
                f" Already there, kept as they were: {self.outputs_existing:,} outputs,"
                f" {self.prompts_existing:,} prompts, {self.candidates_existing:,} candidates."
            )
        if self.ignored_fields:
            text += f" Ignored fields: {', '.join(self.ignored_fields)}."
        scalars = rd.Scalars()
        scalars.n = self.values_as_text
        stats = rd.ReadStats()
        stats.nuls, stats.long_fields = self.nuls_removed, self.long_fields
        text += scalars.words() + stats.words() + self.rejects_words
        return text + f" ({self.seconds:.1f} s)"


_PromptPart = tuple[str, int | None, Any, str | None, str | None, str | None]
_OutputPart = tuple[str, str, Any, Any, Any, str]
_Parsed = tuple[_PromptPart, str, _OutputPart]


def _parse_long(rec: Any, textual: bool, scalars: rd.Scalars) -> _Parsed:
    # The common case (well-typed values) is checked inline; anything else goes through the
    # full checks in import_readers, which also word the errors. This runs once per row.
    if type(rec) is not dict:
        raise rd.FieldError(
            None, f"expected an object with the output's fields, got {rd.kind_of(rec)}"
        )
    g = rec.get
    ext = g("prompt_id")
    if type(ext) is not str or not 0 < len(ext) <= 200 or ext.strip() is not ext:
        ext = rd.ident(ext, "prompt_id")
    pval = g("prompt")
    if type(pval) is str and not textual and 0 < len(pval) <= rd.MAX_TEXT and not pval.isspace():
        pkey = hash(pval)
    else:
        pkey, pval = rd.prompt(pval, "prompt", textual, scalars)
    model = g("model")
    if type(model) is not str or not 0 < len(model) <= 200 or model.strip() is not model:
        model = rd.name(model, "model")
    content = g("output")
    if type(content) is not str or len(content) > rd.MAX_TEXT:
        content = rd.text(content, "output", scalars)
    latency, cost, tokens, meta, reference, category, split = (
        g("latency_ms"),
        g("cost_usd"),
        g("tokens"),
        g("metadata"),
        g("reference"),
        g("category"),
        g("split"),
    )
    if latency is not None:
        latency = rd.opt_number(latency, "latency_ms", textual, rd.MAX_LATENCY_MS)
    if cost is not None:
        cost = rd.opt_number(cost, "cost_usd", textual, rd.MAX_COST_USD)
    if tokens is not None:
        tokens = rd.opt_int(tokens, "tokens", textual)
    meta_json = (
        _NULL_JSON if meta is None else to_json(rd.opt_object(meta, "metadata", textual, scalars))
    )
    if len(meta_json) > rd.MAX_METADATA:
        raise rd.FieldError(
            "metadata",
            f"is {len(meta_json):,} characters as JSON: at most {rd.MAX_METADATA:,} allowed",
        )
    if reference is not None:
        reference = rd.opt_text(reference, "reference")
    if category is not None:
        category = rd.opt_text(category, "category", 100)
    if split is not None:
        split = rd.opt_text(split, "split", 32)
    return (
        (ext, pkey, pval, reference, category, split),
        model,
        (content, _NULL_JSON, latency, cost, tokens, meta_json),
    )


def _parse_alpaca(rec: Any, textual: bool, scalars: rd.Scalars) -> _Parsed:
    if type(rec) is not dict:
        raise rd.FieldError(None, f"expected an object, got {rd.kind_of(rec)}")
    instruction = rd.text(rec.get("instruction"), "instruction", scalars)
    if not instruction.strip():
        raise rd.FieldError("instruction", "is empty: every record needs the instruction text")
    model = rd.name(rec.get("generator"), "generator")
    content = rd.text(rec.get("output"), "output", scalars)
    category = rd.opt_text(rec.get("dataset"), "dataset", 100)
    ext = hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:16]
    return (
        (ext, hash(instruction), instruction, None, category, None),
        model,
        (content, _NULL_JSON, None, None, None, _NULL_JSON),
    )


def _answer_turns(value: Any, scalars: rd.Scalars) -> list[str]:
    """``choices[0].turns``: strings (MT-Bench) or objects with ``content`` (Arena-Hard)."""
    field_ = "choices[0].turns"
    if type(value) is not list or not value:
        raise rd.FieldError(
            field_,
            f"must be a non-empty list of strings or {{content}} objects, got {rd.kind_of(value)}",
        )
    turns = []
    for i, turn in enumerate(value, 1):
        if type(turn) is dict:
            if "content" not in turn:
                raise rd.FieldError(field_, f"turn {i} is an object without 'content'")
            turn = turn["content"]
        try:
            turns.append(rd.text(turn, field_, scalars))
        except rd.FieldError:
            raise rd.FieldError(
                field_,
                f"turn {i} must be a string (or an object whose 'content' is one), got"
                f" {rd.kind_of(turn)}",
            ) from None
    return turns


def _parse_mt_bench(
    rec: Any, textual: bool, scalars: rd.Scalars, questions: Questions | None = None
) -> _Parsed:
    if type(rec) is not dict:
        raise rd.FieldError(None, f"expected an object, got {rd.kind_of(rec)}")
    qfield = "question_id" if rec.get("question_id") is not None else "uid"
    if qfield == "uid" and rec.get("uid") is None:
        qfield = "question_id"
    qid = rd.ident(rec.get(qfield), qfield)
    mfield = "model_id" if rec.get("model_id") is not None or "model" not in rec else "model"
    model = rd.name(rec.get(mfield), mfield)
    choices = rec.get("choices")
    if type(choices) is not list or not choices or type(choices[0]) is not dict:
        raise rd.FieldError(
            "choices", f'must be a list of {{"turns": [...]}} objects, got {rd.kind_of(choices)}'
        )
    turns = _answer_turns(choices[0].get("turns"), scalars)
    meta = {k: rec[k] for k in ("answer_id", "tstamp") if rec.get(k) is not None} or None
    category: str | None = None
    if questions is None:
        prompt_value: Any = rd.placeholder(qid, len(turns))
    elif qid in questions.prompts:
        prompt_value, category = questions.prompts[qid]
    else:
        raise rd.FieldError(
            qfield,
            f"question '{qid}' is not in the questions file {questions.source}: give the"
            " questions file these answers belong to",
        )
    return (
        (qid, None, prompt_value, None, category, None),
        model,
        (turns[-1], to_json(turns), None, None, None, to_json(meta)),
    )


@dataclass
class Questions:
    """Prompts of an MT-Bench or Arena-Hard questions file, by question id."""

    source: str
    prompts: dict[str, tuple[Any, str | None]]
    values_as_text: int = 0


def load_questions(source: Path | BinaryIO, filename: str | None = None) -> Questions:
    """Read a questions file (JSONL): ``question_id`` (or ``uid``), ``turns`` (strings or
    ``{content}`` objects, one per user turn) or ``prompt`` (text), and optional ``category``.

    Raises ImportFileError naming the line and field of every problem (up to 20).
    """
    scalars = rd.Scalars()
    with rd.open_source(source, filename) as src:
        container = rd.detect_container(src, "jsonl")
        log = rd.ErrorLog(src.name)
        prompts: dict[str, tuple[Any, str | None]] = {}
        for line, rec in rd.read_records(src, container):
            if type(rec) is rd.Bad:
                log.add(line, rec.field, rec.problem)
                continue
            try:
                prompts_entry = _question(rec, scalars)
            except rd.FieldError as exc:
                log.add(line, exc.field, exc.problem)
                continue
            qid, value = prompts_entry
            if qid in prompts and prompts[qid] != value:
                log.add(line, "question_id", f"question '{qid}' appears twice with different text")
            prompts[qid] = value
        log.raise_if_any()
        if not prompts:
            raise ImportFileError(src.name, None, None, "is empty: it has no questions")
        return Questions(src.name, prompts, scalars.n)


def _question(rec: Any, scalars: rd.Scalars) -> tuple[str, tuple[Any, str | None]]:
    if type(rec) is not dict:
        raise rd.FieldError(None, f"expected a question object, got {rd.kind_of(rec)}")
    qfield = "question_id" if rec.get("question_id") is not None or "uid" not in rec else "uid"
    qid = rd.ident(rec.get(qfield), qfield)
    category = rd.opt_text(rec.get("category"), "category", 100)
    if rec.get("turns") is not None:
        turns = rec["turns"]
        if type(turns) is not list or not turns:
            raise rd.FieldError("turns", f"must be a non-empty list, got {rd.kind_of(turns)}")
        contents = []
        for i, turn in enumerate(turns, 1):
            if type(turn) is dict:
                turn = turn.get("content")
            try:
                contents.append(rd.text(turn, "turns", scalars))
            except rd.FieldError:
                raise rd.FieldError(
                    "turns",
                    f"turn {i} must be text (or an object whose 'content' is text), got"
                    f" {rd.kind_of(turn)}",
                ) from None
        value: Any = (
            contents[0]
            if len(contents) == 1
            else [{"role": "user", "content": c} for c in contents]
        )
    else:
        value = rd.text(rec.get("prompt"), "turns", scalars)
    return qid, (value, category)


_PARSERS: dict[str, Callable[[Any, bool, rd.Scalars], _Parsed]] = {
    "long": _parse_long,
    "alpaca-eval": _parse_alpaca,
    "mt-bench": _parse_mt_bench,
}


@dataclass(frozen=True)
class DatasetPrompts:
    """The prompts of the dataset version a campaign was made from: an outputs import may
    only bring outputs for these, with the same prompt (issue 15: outputs point at their
    dataset version)."""

    ref: str
    messages: dict[str, list[dict[str, str]]]

    def key(self, external_id: str) -> int | None:
        """The prompt's comparison key, as ``readers.prompt`` computes it for a row."""
        msgs = self.messages.get(external_id)
        if msgs is None:
            return None
        if len(msgs) == 1 and msgs[0]["role"] == "user":
            return hash(msgs[0]["content"])
        return hash(tuple((m["role"], m["content"]) for m in msgs))


def _dataset_prompts(s: Any, camp: Campaign) -> DatasetPrompts | None:
    if camp.dataset_version_id is None:
        return None
    version = s.get(DatasetVersion, camp.dataset_version_id)
    dataset = s.get(Dataset, version.dataset_id)
    rows = s.exec(
        select(Prompt.external_id, Prompt.messages).where(
            Prompt.campaign_id == camp.id, Prompt.dataset_version_id == version.id
        )
    ).all()
    return DatasetPrompts(f"{dataset.name}@{version.version}", dict(rows))


class _OutputImport:
    """The state of one outputs import: small per-row state, one pending batch."""

    def __init__(
        self,
        conn: Connection | None,
        campaign_id: int,
        log: rd.ErrorLog,
        result: OutputImportResult,
        progress: Callable[[int], None] | None,
        rejects: rd.Rejects | None = None,
        questions: Questions | None = None,
        dataset: DatasetPrompts | None = None,
    ) -> None:
        self.conn, self.campaign_id, self.log, self.result = conn, campaign_id, log, result
        self.progress = progress
        self.rejects, self.questions, self.dataset = rejects, questions, dataset
        self.scalars = rd.Scalars()
        self.parse: Callable[[Any, bool, rd.Scalars], _Parsed] | None = None
        self.textual = result.format == "csv"
        # prompt_id -> (file-local index, first line, prompt hash); file-local ids keep the
        # duplicate check at one small int per row.
        self.prompts: dict[str, tuple[int, int, int | None]] = {}
        # Database ids by file-local index; only the writer thread touches these two lists.
        self.prompt_ids: list[int] = []
        self.new_prompts: list[tuple[int, str, Any, str | None, str | None, str | None]] = []
        self.cands: dict[str, int] = {}
        self.cand_ids: list[int] = []
        self.new_cands: list[str] = []
        self.seen: dict[int, int] = {}
        self.batch: list[tuple] = []
        if conn is None:  # parsing process: batches go to the importing process
            return
        self.writer = BatchWriter(self.write)
        self.insert = outputs_insert(conn)

    def start(self, line: int, first: Any) -> None:
        shape = rd.shape_of(first)
        self.result.shape = shape
        self.parse = _PARSERS[shape]
        if self.questions is not None:
            if shape != "mt-bench":
                raise ImportFileError(
                    self.result.source,
                    None,
                    None,
                    "a questions file goes with MT-Bench or Arena-Hard answers (question_id,"
                    " model_id, choices); this file is not one: import it without questions",
                )
            questions = self.questions
            self.parse = lambda rec, textual, scalars: _parse_mt_bench(
                rec, textual, scalars, questions
            )
        keys = first.columns if isinstance(first, rd.CsvHeader) else first
        if isinstance(keys, dict | list):
            self.result.ignored_fields = sorted(set(keys) - _KNOWN[shape])
        if isinstance(first, rd.CsvHeader):
            for col in _REQUIRED[shape]:
                if col not in first.columns:
                    cols = ", ".join(first.columns)
                    self.log.add(
                        line, col, f"the CSV header has no '{col}' column (it has: {cols})"
                    )
            self.log.raise_if_any()

    def run(self, records: Iterator[tuple[int, Any]]) -> None:
        for line, rec in records:
            self.start(line, rec)
            if not isinstance(rec, rd.CsvHeader):
                self.result.rows_read += 1
                self.feed(line, rec)
            break
        result, feed = self.result, self.feed
        for line, rec in records:
            result.rows_read += 1
            feed(line, rec)

    def reject(self, line: int, field_: str | None, problem: str, rec: Any) -> None:
        """A bad row: left out and listed when skipping invalid rows, else an error."""
        if self.rejects is None:
            self.log.add(line, field_, problem)
        else:
            self.rejects.add(line, field_, problem, rec)

    def feed(self, line: int, rec: Any) -> None:
        if type(rec) is rd.Bad:
            if rec.fatal:
                self.log.add(line, rec.field, rec.problem)
            else:
                self.reject(line, rec.field, rec.problem, rec.raw)
            return
        try:
            (ext, pkey, pval, reference, category, split), model, out = self.parse(
                rec, self.textual, self.scalars
            )  # type: ignore[misc]
        except rd.FieldError as exc:
            self.reject(line, exc.field, exc.problem, rec)
            return
        seen = self.prompts.get(ext)
        if seen is None and self.dataset is not None:
            problem = self._outside_dataset(ext, pkey)
            if problem is not None:
                self.reject(line, *problem, rec)
                return
        if seen is None:
            pidx = len(self.prompts)
            self.prompts[ext] = (pidx, line, pkey)
            self.new_prompts.append((pidx, ext, pval, reference, category, split))
        else:
            pidx, first_line, first_key = seen
            if pkey != first_key:
                self.reject(
                    line,
                    "prompt",
                    f"prompt_id '{ext}' has a different prompt than on line {first_line}:"
                    " give each distinct prompt its own prompt_id",
                    rec,
                )
                return
        cidx = self.cands.get(model)
        if cidx is None:
            cidx = self.cands[model] = len(self.cands)
            self.new_cands.append(model)
        first_line = self.seen.setdefault((pidx << 32) | cidx, line)
        if first_line != line:
            self.reject(
                line,
                "model",
                f"duplicate output for prompt_id '{ext}' and model '{model}' (also on line"
                f" {first_line}): keep one row per prompt and model",
                rec,
            )
            return
        if self.log.problems:
            return
        self.batch.append((pidx, cidx, *out))
        if len(self.batch) >= BATCH_ROWS:
            self.flush()

    def _outside_dataset(self, ext: str, pkey: int | None) -> tuple[str, str] | None:
        assert self.dataset is not None
        stored = self.dataset.key(ext)
        if stored is None:
            return (
                "prompt_id",
                f"'{ext}' is not a prompt of dataset {self.dataset.ref}, which this campaign"
                " was made from: add it to a new dataset version and make a campaign from"
                " that, or import into another campaign",
            )
        if pkey is not None and pkey != stored:
            return (
                "prompt",
                f"differs from the prompt '{ext}' of dataset {self.dataset.ref}, which this"
                " campaign was made from: outputs must answer the dataset's prompt",
            )
        return None

    def flush(self) -> None:
        """Hand the pending batch to the writer thread (progress is reported from here)."""
        if self.batch or self.new_prompts or self.new_cands:
            self.writer.submit((self.new_cands, self.new_prompts, self.batch))
            self.new_cands, self.new_prompts, self.batch = [], [], []
        if self.progress is not None:
            self.progress(self.result.rows_read)

    def write(self, item: tuple[list, list, list]) -> None:
        """Runs in the writer thread: resolve new candidates and prompts, insert outputs."""
        new_cands, new_prompts, batch = item
        r, conn = self.result, self.conn
        if new_cands:
            ids, added = ensure_candidates(conn, new_cands)
            self.cand_ids.extend(ids[n] for n in new_cands)
            r.candidates_added += added
            r.candidates_existing += len(new_cands) - added
        if new_prompts:
            rows = [
                {
                    "campaign_id": self.campaign_id,
                    "external_id": ext,
                    "messages": rd.as_messages(pval),
                    "reference": reference,
                    "category": category,
                    "split": split,
                    "meta": None,
                }
                for _, ext, pval, reference, category, split in new_prompts
            ]
            ids, added = ensure_prompts(conn, self.campaign_id, rows)
            if added < len(rows):
                fill_placeholders(conn, self.campaign_id, rows, rd.is_placeholder)
            self.prompt_ids.extend(ids[ext] for _, ext, *_ in new_prompts)
            r.prompts_added += added
            r.prompts_existing += len(rows) - added
        if batch:
            pids, cids = self.prompt_ids, self.cand_ids
            rows = [(pids[b[0]], cids[b[1]], b[2], b[3], b[4], b[5], b[6], b[7]) for b in batch]
            added = self.insert(rows)
            r.outputs_added += added
            r.outputs_existing += len(rows) - added


def import_outputs(
    engine: Engine,
    source: Path | BinaryIO,
    campaign: str,
    *,
    actor_id: int,
    filename: str | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    skip_invalid: bool = False,
    rejects: Path | BinaryIO | None = None,
    questions: Questions | None = None,
) -> OutputImportResult:
    """Import model outputs from a file into ``campaign`` (created if missing); admins only.

    ``fmt`` is one of jsonl, json, csv, parquet (default: from the file name's extension);
    ``filename`` names a stream in messages; ``progress(rows_read)`` is called per batch.
    ``questions`` (see :func:`load_questions`) gives MT-Bench / Arena-Hard answers their
    prompts. By default any bad row raises ImportFileError naming the file, line and field,
    and nothing is written. With ``skip_invalid`` the valid rows are imported and every bad
    row is written to ``rejects`` (default ``<file>.rejects.jsonl``) with its line and reason.
    """
    admin_only(engine, actor_id)
    started = time.perf_counter()
    with rd.open_source(source, filename) as src:
        container = rd.detect_container(src, fmt)
        skipped = rd.rejects_for(source, skip_invalid, rejects)
        log = rd.ErrorLog(src.name, "row" if container == "parquet" else "line")
        with write_session(engine) as s:
            job: _OutputImport | None = None
            try:
                existed = s.exec(
                    select(Campaign.id).where(Campaign.name == campaign.strip())
                ).first()
                camp = _get_or_create_campaign(s, campaign)
                result = OutputImportResult(
                    campaign=camp.name,
                    source=src.name,
                    format=container,
                    shape="long",
                    campaign_created=existed is None,
                )
                job = _OutputImport(
                    s.connection(), camp.id, log, result, progress, skipped, questions,
                    _dataset_prompts(s, camp),
                )  # fmt: skip
                if _parse_elsewhere(src) and (skipped is None or isinstance(skipped.dest, Path)):
                    _write_from_parser(job, src, container)
                else:
                    job.run(rd.read_records(src, container))
                    result.values_as_text = job.scalars.n
                    result.nuls_removed = src.stats.nuls + job.scalars.nuls
                    result.long_fields = src.stats.long_fields
                log.raise_if_any()
                if result.rows_read == 0:
                    raise ImportFileError(
                        src.name, None, None, "is empty: it has no records to import"
                    )
                job.flush()
                job.writer.close()
                if skipped is not None:
                    skipped.close()
                    result.rows_rejected, result.rejects_path = skipped.n, skipped.path
                    result.rejects_words = skipped.words()
                if questions is not None:
                    result.values_as_text += questions.values_as_text
                s.commit()
            except BaseException as exc:
                if job is not None:
                    with contextlib.suppress(BaseException):  # the error raised below says it
                        job.writer.close()
                if skipped is not None:
                    skipped.discard()
                failure = rollback_for(s, src.name, exc)
                if failure is not None:
                    raise failure from exc
                raise
    result.seconds = time.perf_counter() - started
    return result


# ---- parsing in a second process ------------------------------------------------------------

PARALLEL_MIN_BYTES = 64 * 1024 * 1024


def _parse_elsewhere(src: rd.Source) -> bool:
    """Big files on disk are parsed in a second process, so parsing and the database's
    insert work run on two cores (threads cannot: both halves need the interpreter lock)."""
    return src.path is not None and src.path.stat().st_size >= PARALLEL_MIN_BYTES


class _QueueSink:
    """The parsing process's stand-in for the batch writer: batches go down a queue."""

    def __init__(self, out: Any, result: OutputImportResult) -> None:
        self.out, self.result = out, result

    def submit(self, item: Any) -> None:
        self.out.put(("batch", item, self.result.rows_read))

    def close(self) -> None:
        pass


def _exit_with_parent() -> None:
    """In the parsing process: exit as soon as the importing process dies.

    Killed (SIGKILL, OOM), the importer leaves nobody to read the queue, and this process
    would block on it forever, keeping the resource tracker alive too. A spawned child holds
    the read end of a pipe whose write end only its parent holds: EOF means the parent died.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _parse_file(
    path: str,
    name: str,
    container: str,
    out: Any,
    rejects_path: str | None = None,
    questions: Questions | None = None,
    dataset: DatasetPrompts | None = None,
) -> None:
    """Runs in the parsing process: read, validate and de-duplicate; send batches and the end.

    With ``rejects_path`` bad rows are written there (this process owns that file)."""
    _exit_with_parent()
    log = rd.ErrorLog(name, "row" if container == "parquet" else "line")
    result = OutputImportResult("", name, container, "long", False)
    skipped = rd.Rejects(Path(rejects_path)) if rejects_path is not None else None
    job = _OutputImport(None, 0, log, result, None, skipped, questions, dataset)
    job.writer = _QueueSink(out, result)  # type: ignore[assignment]
    try:
        with rd.open_source(Path(path), name) as src:
            job.run(rd.read_records(src, container))
            nuls = src.stats.nuls + job.scalars.nuls
            long_fields = src.stats.long_fields
        log.raise_if_any()
        job.flush()
        if skipped is not None:
            skipped.close()
        n_rejected = skipped.n if skipped is not None else 0
        out.put(
            (
                "done",
                result.rows_read,
                result.shape,
                result.ignored_fields,
                job.scalars.n,
                n_rejected,
                nuls,
                long_fields,
            )
        )
    except ImportFileError as exc:
        if skipped is not None:
            skipped.discard()
        out.put(("error", exc.path, exc.line, exc.field, exc.problem, exc.args[0]))
    except BaseException as exc:  # reported to the importing process, which raises it
        out.put(("crash", f"{type(exc).__name__}: {exc}"))


def _write_from_parser(job: _OutputImport, src: rd.Source, container: str) -> None:
    """Write the batches a parsing process sends, in order, in this process's transaction."""
    ctx = multiprocessing.get_context("spawn")
    inbox = ctx.Queue(maxsize=4)
    parser = ctx.Process(
        target=_parse_file,
        args=(
            str(src.path),
            src.name,
            container,
            inbox,
            str(job.rejects.dest) if job.rejects is not None else None,
            job.questions,
            job.dataset,
        ),
        daemon=True,
    )
    parser.start()
    result = job.result
    try:
        while True:
            try:
                message = inbox.get(timeout=1.0)
            except queue.Empty:
                if not parser.is_alive():
                    raise RuntimeError(
                        f"the process parsing {src.name} stopped (exit code {parser.exitcode})"
                    ) from None
                continue
            kind = message[0]
            if kind == "batch":
                job.write(message[1])
                result.rows_read = message[2]
                if job.progress is not None:
                    job.progress(result.rows_read)
            elif kind == "done":
                result.rows_read, result.shape, result.ignored_fields = message[1:4]
                job.scalars.n = result.values_as_text = message[4]
                if job.rejects is not None:
                    job.rejects.n = message[5]
                result.nuls_removed, result.long_fields = message[6:8]
                return
            elif kind == "error":
                path, line, field_, problem, text = message[1:]
                error = ImportFileError(path, line, field_, problem)
                error.args = (text,)
                raise error
            else:
                raise RuntimeError(f"parsing {src.name} failed: {message[1]}")
    finally:
        parser.join(timeout=5)
        if parser.is_alive():
            parser.kill()
