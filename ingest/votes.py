"""Import pairwise votes (Chatbot Arena / MT-Bench human-judgment style JSONL).

Each record is one vote: ``question_id`` (or ``prompt_id``), ``model_a``, ``model_b``,
``winner`` (model_a, model_b, tie, "tie (bothbad)"), ``judge`` (the rater's id), and the two
answers as ``output_a``/``output_b`` or as ``conversation_a``/``conversation_b``. Optional:
``prompt``, ``rater_kind`` (human or llm), ``turn``, ``category``, ``rationale``, ``tstamp``.

A conversation's last assistant message is the output and all its assistant messages are the
output's turns; the prompt is the conversation's non-assistant messages before it, so both
sides of a multi-turn vote share one prompt. For ``turn`` > 1 the prompt's id gets a suffix
("81#turn2"). Missing prompts, candidates and outputs are created; raters become imported
users (humans) or imported judges (LLMs). A rater's second vote on the same comparison in
the same shown order is a revision: version 2, and the first is no longer current.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection, Engine

from annotate.campaigns import _get_or_create_campaign
from db.access import admin_only
from db.engine import write_session
from db.errors import ImportFileError
from db.models import Campaign, Comparison, Judge, Judgment, Output, User, utcnow
from db.upsert import dialect_insert
from ingest import readers as rd
from ingest.bulk import (
    ensure_candidates,
    ensure_prompts,
    ensure_rows,
    insert_comparisons,
    outputs_insert,
    to_json,
)
from metrics.vocabulary import judge_key, user_key

BATCH_VOTES = 2000
_CHUNK = 500
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
RATER_KINDS = ("human", "llm")


@dataclass
class VoteImportResult:
    campaign: str
    source: str
    campaign_created: bool = False
    rows_read: int = 0
    judgments_added: int = 0
    judgments_existing: int = 0
    revisions: int = 0
    human_raters_added: int = 0
    judge_raters_added: int = 0
    raters_existing: int = 0
    prompts_added: int = 0
    candidates_added: int = 0
    outputs_added: int = 0
    comparisons_added: int = 0
    comparisons_existing: int = 0
    seconds: float = 0.0

    @property
    def raters_added(self) -> int:
        return self.human_raters_added + self.judge_raters_added

    def summary(self) -> str:
        created = " (new campaign)" if self.campaign_created else ""
        text = (
            f"Imported {self.judgments_added:,} votes into campaign '{self.campaign}'{created}"
            f" from {self.source} ({self.rows_read:,} rows): {self.comparisons_added:,} new"
            f" comparisons, {self.human_raters_added:,} new human raters,"
            f" {self.judge_raters_added:,} new judges, {self.prompts_added:,} new prompts,"
            f" {self.candidates_added:,} new candidates, {self.outputs_added:,} new outputs."
        )
        if self.revisions:
            text += f" {self.revisions:,} votes revise an earlier vote by the same rater."
        if self.judgments_existing:
            text += f" Already imported, skipped: {self.judgments_existing:,} votes."
        return text + f" ({self.seconds:.1f} s)"


@dataclass(slots=True)
class _Side:
    model: str
    content: str | None
    turns: list[str] | None


@dataclass(slots=True)
class _Vote:
    line: int
    qid: str
    ext: str
    turn: int
    a: _Side
    b: _Side
    winner: str
    rater: tuple[str, str]
    category: str | None
    rationale: str | None
    created_at: datetime | None


def _conversation(value: Any, field: str) -> tuple[list[dict[str, str]], str, list[str]]:
    """(prompt messages, last assistant message, all assistant messages) of a conversation."""
    msgs = rd.messages(value, field)
    if msgs[-1]["role"] != "assistant":
        raise rd.FieldError(field, "must end with the model's answer (an 'assistant' message)")
    turns = [m["content"] for m in msgs if m["role"] == "assistant"]
    prompt = [m for m in msgs[:-1] if m["role"] != "assistant"]
    if not prompt:
        raise rd.FieldError(field, "has no user message before the answer")
    return prompt, msgs[-1]["content"], turns


def _rater_id(value: Any) -> str:
    if type(value) is list and value and all(type(v) is str for v in value):
        value = "/".join(value)
    return rd.name(value, "judge")


def _parse_vote(line: int, rec: Any) -> tuple[_Vote, int | None, Any]:
    """The vote, and its prompt as (hash, value) when the record carries one."""
    if type(rec) is not dict:
        raise rd.FieldError(
            None, f"expected an object with the vote's fields, got {rd.kind_of(rec)}"
        )
    g = rec.get
    qfield = "question_id" if g("question_id") is not None else "prompt_id"
    qid = rd.ident(g(qfield), qfield)
    turn = rd.opt_int(g("turn"), "turn") or 1
    model_a = rd.name(g("model_a"), "model_a")
    model_b = rd.name(g("model_b"), "model_b")
    if model_a == model_b:
        raise rd.FieldError("model_b", f"is the same model as model_a ('{model_a}')")
    winner = g("winner")
    if winner not in WINNERS:
        raise rd.FieldError(
            "winner", f"must be one of {', '.join(WINNERS)}; got {rd.kind_of(winner)}"
        )
    judge = _rater_id(g("judge"))
    kind = g("rater_kind", "human")
    if kind not in RATER_KINDS:
        raise rd.FieldError("rater_kind", f"must be human or llm, got {rd.kind_of(kind)}")
    sides = []
    prompt_value: Any = None
    for key, model in (("a", model_a), ("b", model_b)):
        conv = g(f"conversation_{key}")
        if conv is not None:
            msgs, content, turns = _conversation(conv, f"conversation_{key}")
            prompt_value = prompt_value or msgs
            sides.append(_Side(model, content, turns if len(turns) > 1 else None))
        else:
            sides.append(_Side(model, rd.opt_text(g(f"output_{key}"), f"output_{key}"), None))
    pkey = None
    if g("prompt") is not None:
        pkey, prompt_value = rd.prompt(g("prompt"), "prompt")
    elif prompt_value is not None:
        pkey, prompt_value = rd.prompt(prompt_value, "conversation_a")
    tstamp = rd.opt_number(g("tstamp"), "tstamp")
    vote = _Vote(
        line=line,
        qid=qid,
        ext=qid if turn == 1 else f"{qid}#turn{turn}",
        turn=turn,
        a=sides[0],
        b=sides[1],
        winner=winner,
        rater=(kind, judge),
        category=rd.opt_text(g("category"), "category", 100),
        rationale=rd.opt_text(g("rationale"), "rationale"),
        created_at=datetime.fromtimestamp(tstamp, UTC) if tstamp is not None else None,
    )
    return vote, pkey, prompt_value


def _imported_judge_hash(rater: str) -> str:
    return hashlib.sha256(f"imported:{rater}".encode()).hexdigest()


class _VoteImport:
    def __init__(
        self,
        conn: Connection,
        campaign: Campaign,
        log: rd.ErrorLog,
        result: VoteImportResult,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.conn, self.campaign, self.log, self.result = conn, campaign, log, result
        self.campaign_id: int = campaign.id  # type: ignore[assignment]
        self.progress = progress
        self.prompts: dict[str, tuple[int, int | None]] = {}
        self.prompt_ids: dict[str, int] = {}
        self.new_prompts: dict[str, dict[str, Any]] = {}
        self.cand_ids: dict[str, int] = {}
        self.rater_ids: dict[tuple[str, str], tuple[str, int]] = {}
        self.versions: dict[tuple[int, str, str], int] = {}
        self.revised: list[tuple[int, str, str, int]] = []
        self.touched: set[int] = set()
        self.batch: list[_Vote] = []
        self.outputs = outputs_insert(conn)

    def feed(self, line: int, rec: Any) -> None:
        try:
            vote, pkey, pval = _parse_vote(line, rec)
        except rd.FieldError as exc:
            self.log.add(line, exc.field, exc.problem)
            return
        seen = self.prompts.get(vote.ext)
        if seen is None:
            self.prompts[vote.ext] = (line, pkey)
            if pval is None:
                pval = [
                    {"role": "user", "content": f"(question {vote.qid}, turn {t})"}
                    for t in range(1, vote.turn + 1)
                ]
            self.new_prompts[vote.ext] = {
                "campaign_id": self.campaign_id,
                "external_id": vote.ext,
                "messages": rd.as_messages(pval),
                "reference": None,
                "category": vote.category,
                "split": None,
                "meta": None,
            }
        elif pkey is not None and seen[1] is not None and pkey != seen[1]:
            self.log.add(
                line,
                "prompt",
                f"'{vote.ext}' has a different prompt than on line {seen[0]}:"
                " give each distinct prompt its own question_id",
            )
            return
        if self.log:
            return
        self.batch.append(vote)
        if len(self.batch) >= BATCH_VOTES:
            self.flush()

    # ---- resolving ids, one batch at a time ----

    def _candidates(self) -> None:
        new = sorted({s.model for v in self.batch for s in (v.a, v.b)} - self.cand_ids.keys())
        if new:
            ids, added = ensure_candidates(self.conn, new)
            self.cand_ids.update(ids)
            self.result.candidates_added += added

    def _prompts(self) -> None:
        new = [self.new_prompts.pop(v.ext) for v in self.batch if v.ext in self.new_prompts]
        if new:
            ids, added = ensure_prompts(self.conn, self.campaign_id, new)
            self.prompt_ids.update(ids)
            self.result.prompts_added += added

    def _raters(self) -> None:
        new = {v.rater for v in self.batch} - self.rater_ids.keys()
        if not new:
            return
        conn, now = self.conn, utcnow()
        humans = sorted(r for k, r in new if k == "human")
        if humans:
            rows = [
                {
                    "handle": h,
                    "email": None,
                    "display_name": h,
                    "role": "rater",
                    "active": True,
                    "imported": True,
                    "created_at": now,
                    "deactivated_at": None,
                }
                for h in humans
            ]
            ids, added = ensure_rows(conn, User, "handle", rows)
            self.result.human_raters_added += added
            self.result.raters_existing += len(rows) - added
            for h in humans:
                self.rater_ids[("human", h)] = (user_key(ids[h]), ids[h])
        judges = sorted(r for k, r in new if k == "llm")
        if judges:
            hashes = {_imported_judge_hash(j): j for j in judges}
            existing = dict(
                conn.execute(
                    select(Judge.content_hash, Judge.id).where(Judge.content_hash.in_(hashes))
                ).all()
            )
            for h, j in hashes.items():
                if h not in existing:
                    existing[h] = self._create_judge(j, h, now)
                    self.result.judge_raters_added += 1
                else:
                    self.result.raters_existing += 1
                self.rater_ids[("llm", j)] = (judge_key(existing[h]), existing[h])

    def _create_judge(self, rater: str, content_hash: str, now: datetime) -> int:
        """An imported judge; takes the next version if a configured judge has the name."""
        taken = self.conn.execute(
            select(func.max(Judge.version)).where(Judge.name == rater)
        ).scalar()
        self.conn.execute(
            dialect_insert(self.conn, Judge).on_conflict_do_nothing(),
            {
                "name": rater,
                "version": (taken or 0) + 1,
                "content_hash": content_hash,
                "provider": "imported",
                "model": rater,
                "base_url": None,
                "api_key_env": None,
                "template_kind": "pairwise",
                "template": "",
                "params": None,
                "swap_policy": "both",
                "inconsistent_as": "tie",
                "imported": True,
                "created_at": now,
            },
        )
        return self.conn.execute(
            select(Judge.id).where(Judge.content_hash == content_hash)
        ).scalar_one()

    def _outputs(self) -> dict[tuple[int, int], int]:
        """Output ids for every (prompt, candidate) the batch needs, creating those given."""
        wanted: dict[tuple[int, int], _Side | None] = {}
        for v in self.batch:
            pid = self.prompt_ids[v.ext]
            for side in (v.a, v.b):
                key = (pid, self.cand_ids[side.model])
                if wanted.get(key) is None:
                    wanted[key] = side if side.content is not None else None
        ids = self._existing_outputs(wanted)
        new = [(k, s) for k, s in wanted.items() if k not in ids and s is not None]
        if new:
            added = self.outputs(
                [(p, c, s.content, to_json(s.turns), None, None, None, "null") for (p, c), s in new]
            )
            self.result.outputs_added += added
            ids.update(self._existing_outputs(dict(new)))
        return ids

    def _existing_outputs(self, wanted: dict[tuple[int, int], Any]) -> dict[tuple[int, int], int]:
        pids = sorted({p for p, _ in wanted})
        found: dict[tuple[int, int], int] = {}
        for i in range(0, len(pids), _CHUNK):
            rows = self.conn.execute(
                select(Output.prompt_id, Output.candidate_id, Output.id).where(
                    Output.prompt_id.in_(pids[i : i + _CHUNK])
                )
            ).all()
            found.update({(p, c): o for p, c, o in rows if (p, c) in wanted})
        return found

    def _comparisons(self, pairs: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], int]:
        def existing(keys: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], int]:
            pids = sorted({p for p, _, _ in keys})
            found = {}
            for i in range(0, len(pids), _CHUNK):
                rows = self.conn.execute(
                    select(
                        Comparison.prompt_id,
                        Comparison.output_a_id,
                        Comparison.output_b_id,
                        Comparison.id,
                    ).where(
                        Comparison.campaign_id == self.campaign_id,
                        Comparison.prompt_id.in_(pids[i : i + _CHUNK]),
                    )
                ).all()
                found.update({(p, a, b): c for p, a, b, c in rows if (p, a, b) in keys})
            return found

        ids = existing(pairs)
        missing = pairs - ids.keys()
        self.result.comparisons_existing += len(ids)
        if missing:
            insert_comparisons(self.conn, self.campaign_id, missing)
            self.result.comparisons_added += len(missing)
            ids.update(existing(missing))
        return ids

    def flush(self) -> None:
        if not self.batch or self.log:
            self.batch = []
            return
        self._candidates()
        self._prompts()
        self._raters()
        outputs = self._outputs()
        votes = []
        for v in self.batch:
            pid = self.prompt_ids[v.ext]
            oa = outputs.get((pid, self.cand_ids[v.a.model]))
            ob = outputs.get((pid, self.cand_ids[v.b.model]))
            for o, side, key in ((oa, v.a, "a"), (ob, v.b, "b")):
                if o is None:
                    self.log.add(
                        v.line,
                        f"output_{key}",
                        f"there is no output of model '{side.model}' for prompt '{v.ext}' in"
                        f" campaign '{self.campaign.name}': give the answer in output_{key} (or"
                        f" conversation_{key}), or import the outputs first",
                    )
            if oa is not None and ob is not None:
                votes.append((v, pid, oa, ob))
        if self.log:
            self.batch = []
            return
        comps = self._comparisons({(pid, min(oa, ob), max(oa, ob)) for _, pid, oa, ob in votes})
        now = utcnow()
        rows = []
        for v, pid, oa, ob in votes:
            a_first = oa < ob
            comp = comps[(pid, min(oa, ob), max(oa, ob))]
            rater_key, rater_id = self.rater_ids[v.rater]
            order = "ab" if a_first else "ba"
            if v.winner == "model_a":
                pref = -1 if a_first else 1
            elif v.winner == "model_b":
                pref = 1 if a_first else -1
            else:
                pref = 0
            key = (comp, rater_key, order)
            version = self.versions.get(key, 0) + 1
            self.versions[key] = version
            if version > 1:
                self.revised.append((comp, rater_key, order, version))
            human = v.rater[0] == "human"
            rows.append(
                {
                    "campaign_id": self.campaign_id,
                    "comparison_id": comp,
                    "rater_key": rater_key,
                    "rater_kind": v.rater[0],
                    "user_id": rater_id if human else None,
                    "judge_id": None if human else rater_id,
                    "judge_run_id": None,
                    "assignment_id": None,
                    "shown_order": order,
                    "preference": pref,
                    "both_bad": v.winner == "tie (bothbad)",
                    "rationale": v.rationale,
                    "raw_reply": None,
                    "time_on_task_ms": None,
                    "is_reshow": False,
                    "version": version,
                    "is_current": True,
                    "source": "import",
                    "tokens_in": None,
                    "tokens_out": None,
                    "created_at": v.created_at or now,
                }
            )
            self.touched.add(comp)
        self._insert_judgments(rows)
        self.batch = []
        if self.progress is not None:
            self.progress(self.result.rows_read)

    def _insert_judgments(self, rows: list[dict[str, Any]]) -> None:
        comp_ids = sorted({r["comparison_id"] for r in rows})
        existing: set[tuple[int, str, str, int]] = set()
        for i in range(0, len(comp_ids), _CHUNK):
            existing.update(
                self.conn.execute(
                    select(
                        Judgment.comparison_id,
                        Judgment.rater_key,
                        Judgment.shown_order,
                        Judgment.version,
                    ).where(Judgment.comparison_id.in_(comp_ids[i : i + _CHUNK]))
                ).all()
            )
        new = [
            r
            for r in rows
            if (r["comparison_id"], r["rater_key"], r["shown_order"], r["version"]) not in existing
        ]
        if new:
            self.conn.execute(dialect_insert(self.conn, Judgment).on_conflict_do_nothing(), new)
        self.result.judgments_added += len(new)
        self.result.judgments_existing += len(rows) - len(new)

    def finish(self) -> None:
        """Mark revised votes' earlier versions as not current; recount human votes."""
        conn = self.conn
        for comp, rater_key, order, version in self.revised:
            conn.execute(
                update(Judgment)
                .where(
                    and_(
                        Judgment.comparison_id == comp,
                        Judgment.rater_key == rater_key,
                        Judgment.shown_order == order,
                        Judgment.version < version,
                    )
                )
                .values(is_current=False)
            )
        self.result.revisions = len(self.revised)
        n_done = (
            select(func.count())
            .where(
                Judgment.comparison_id == Comparison.id,
                Judgment.rater_kind == "human",
                Judgment.is_current,
                ~Judgment.is_reshow,
            )
            .scalar_subquery()
        )
        touched = sorted(self.touched)
        for i in range(0, len(touched), _CHUNK):
            conn.execute(
                update(Comparison)
                .where(Comparison.id.in_(touched[i : i + _CHUNK]))
                .values(n_done=n_done)
            )


def import_votes(
    engine: Engine,
    source: Path | BinaryIO,
    campaign: str,
    *,
    actor_id: int,
    filename: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> VoteImportResult:
    """Import votes from a JSONL file into ``campaign`` (created if missing), all or nothing;
    admins only.

    Raises ImportFileError naming the file, line and field of every problem (up to 20).
    """
    admin_only(engine, actor_id)
    started = time.perf_counter()
    with rd.open_source(source, filename) as src:
        suffix = Path(src.name).suffix.lower()
        if suffix and suffix not in (".jsonl", ".ndjson", ".json"):
            raise ImportFileError(
                src.name,
                None,
                None,
                f"unknown file type '{suffix}': votes are read from JSONL (.jsonl, .ndjson) or"
                " a JSON list (.json)",
            )
        container = rd.detect_container(src, "jsonl")
        log = rd.ErrorLog(src.name)
        with write_session(engine) as s:
            existed = s.exec(select(Campaign.id).where(Campaign.name == campaign.strip())).first()
            camp = _get_or_create_campaign(s, campaign)
            result = VoteImportResult(
                campaign=camp.name, source=src.name, campaign_created=existed is None
            )
            job = _VoteImport(s.connection(), camp, log, result, progress)
            try:
                for line, rec in rd.read_records(src, container):
                    result.rows_read += 1
                    if type(rec) is rd.Bad:
                        log.add(line, rec.field, rec.problem)
                    else:
                        job.feed(line, rec)
                job.flush()
                log.raise_if_any()
                if result.rows_read == 0:
                    raise ImportFileError(src.name, None, None, "is empty: it has no votes")
                job.finish()
                s.commit()
            except BaseException:
                s.rollback()
                raise
    result.seconds = time.perf_counter() - started
    return result
