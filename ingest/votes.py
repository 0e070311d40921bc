"""Import pairwise votes: Chatbot Arena / MT-Bench judgment JSONL and Arena-Hard-Auto
judgment files (every field: docs/FORMATS.md).

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
``"position": "unknown"`` stores the vote with shown order "unknown".

An Arena-Hard judgment row (``games``) is one judge's two verdicts on (baseline, model): game
1 shows the baseline as A, game 2 swaps them; labels A>>B ... B>>A are 5-point preferences.

A vote is never recorded against another text: an answer or prompt that differs from what is
stored (or from an earlier line) is a bad row. Bad rows stop the import unless
``skip_invalid``, which writes them to a rejects file instead.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection, Engine

from annotate.campaigns import _get_or_create_campaign
from db.access import admin_only
from db.engine import write_session
from db.errors import ImportFileError
from db.models import Campaign, Comparison, Judge, Judgment, Output, Prompt, User, utcnow
from db.upsert import dialect_insert
from ingest import readers as rd
from ingest.bulk import (
    ensure_candidates,
    ensure_prompts,
    ensure_rows,
    fill_placeholders,
    insert_comparisons,
    outputs_insert,
    rollback_for,
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
    values_as_text: int = 0
    nuls_removed: int = 0
    unknown_order: int = 0
    rows_rejected: int = 0
    rejects_path: str | None = None
    rejects_words: str = ""
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
        if self.unknown_order:
            text += (
                f" {self.unknown_order:,} votes do not say which answer was shown first; they"
                " are stored with an unknown shown order."
            )
        scalars = rd.Scalars()
        scalars.n = self.values_as_text
        stats = rd.ReadStats()
        stats.nuls = self.nuls_removed
        text += scalars.words() + stats.words() + self.rejects_words
        return text + f" ({self.seconds:.1f} s)"


@dataclass(slots=True)
class _Side:
    model: str
    content: str | None
    turns: list[str] | None


@dataclass(slots=True)
class _Vote:
    """One verdict. ``a`` is the answer shown first (unless not ``known_order``); ``score``
    is -2..2, negative when ``a`` is better; ``raw`` is the record, for the rejects file."""

    line: int
    qid: str
    ext: str
    turn: int
    a: _Side
    b: _Side
    score: int
    both_bad: bool
    rater: tuple[str, str]
    category: str | None
    rationale: str | None
    created_at: datetime | None
    raw: Any = None
    prompt_field: str | None = None
    known_order: bool = True
    raw_reply: str | None = None


_WINNER_SCORES = {"model_a": -1, "model_b": 1, "tie": 0, "tie (bothbad)": 0}
ARENA_HARD_LABELS: dict[str, int] = {
    "A>>B": -2,
    "A>B": -1,
    "A=B": 0,
    "B>A": 1,
    "B>>A": 2,
    "B<<A": -2,
    "B<A": -1,
    "B=A": 0,
    "A<B": 1,
    "A<<B": 2,
}
"""Arena-Hard verdict labels -> score (negative: the answer shown as A is better)."""


def _conversation(
    value: Any, field: str, scalars: rd.Scalars | None = None
) -> tuple[list[dict[str, str]], str, list[str]]:
    """(prompt messages, last assistant message, all assistant messages) of a conversation."""
    msgs = rd.messages(value, field, scalars=scalars)
    if msgs[-1]["role"] != "assistant":
        raise rd.FieldError(field, "must end with the model's answer (an 'assistant' message)")
    turns = [m["content"] for m in msgs if m["role"] == "assistant"]
    prompt = [m for m in msgs[:-1] if m["role"] != "assistant"]
    if not prompt:
        raise rd.FieldError(field, "has no user message before the answer")
    return prompt, msgs[-1]["content"], turns


MAX_TURN = 100
"""The highest ``turn`` of a vote without a conversation (a stand-in prompt has one user
message per turn, so the bound keeps a short line from allocating millions of them)."""


def _check_turn(turn: int, answers: int | None) -> None:
    """A turn must exist: in the conversations given, else be at most MAX_TURN."""
    if answers is not None and turn > answers:
        raise rd.FieldError(
            "turn",
            f"is {turn} but the conversation has {answers} answer"
            f"{'' if answers == 1 else 's'}: give the turn the vote is about",
        )
    if answers is None and turn > MAX_TURN:
        raise rd.FieldError("turn", f"is {turn}: at most {MAX_TURN} allowed")


def _rater_id(value: Any) -> str:
    if type(value) is list and value and all(type(v) is str for v in value):
        value = "/".join(value)
    return rd.name(value, "judge")


class SelfPairError(rd.FieldError):
    """A row pairs a model with itself (reported by the model's name)."""

    def __init__(self, field: str, model: str, problem: str) -> None:
        super().__init__(field, problem)
        self.model = model


def _parse_vote(
    line: int, rec: Any, scalars: rd.Scalars | None = None
) -> tuple[_Vote, int | None, Any]:
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
        raise SelfPairError(
            "model_b",
            model_a,
            f"is the same model as model_a ('{model_a}'): a model cannot be compared with itself",
        )
    winner = g("winner")
    if winner not in WINNERS:
        raise rd.FieldError(
            "winner", f"must be one of {', '.join(WINNERS)}; got {rd.kind_of(winner)}"
        )
    judge = _rater_id(g("judge"))
    kind = g("rater_kind", "human")
    if kind not in RATER_KINDS:
        raise rd.FieldError("rater_kind", f"must be human or llm, got {rd.kind_of(kind)}")
    position = g("position")
    if position not in (None, "unknown"):
        raise rd.FieldError(
            "position",
            f"must be 'unknown' (or left out when model_a was shown first), got"
            f" {rd.kind_of(position)}",
        )
    sides = []
    prompt_value: Any = None
    prompt_field = None
    answers: int | None = None  # the fewest answers a conversation of this vote has
    for key, model in (("a", model_a), ("b", model_b)):
        conv = g(f"conversation_{key}")
        if conv is not None:
            msgs, content, turns = _conversation(conv, f"conversation_{key}", scalars)
            if prompt_value is None:
                prompt_value, prompt_field = msgs, f"conversation_{key}"
            answers = len(turns) if answers is None else min(answers, len(turns))
            sides.append(_Side(model, content, turns if len(turns) > 1 else None))
        else:
            sides.append(
                _Side(model, rd.opt_text(g(f"output_{key}"), f"output_{key}", None, scalars), None)
            )
    _check_turn(turn, answers)
    pkey = None
    if g("prompt") is not None:
        pkey, prompt_value = rd.prompt(g("prompt"), "prompt", scalars=scalars)
        prompt_field = "prompt"
    elif prompt_value is not None:
        pkey, prompt_value = rd.prompt(prompt_value, prompt_field or "conversation_a")
    created = rd.opt_epoch(g("tstamp"), "tstamp")
    vote = _Vote(
        line=line,
        qid=qid,
        ext=qid if turn == 1 else f"{qid}#turn{turn}",
        turn=turn,
        a=sides[0],
        b=sides[1],
        score=_WINNER_SCORES[winner],
        both_bad=winner == "tie (bothbad)",
        rater=(kind, judge),
        category=rd.opt_text(g("category"), "category", 100),
        rationale=rd.opt_text(g("rationale"), "rationale", rd.MAX_RATIONALE),
        created_at=created,
        raw=rec,
        prompt_field=prompt_field if pkey is not None else None,
        known_order=position is None,
    )
    return vote, pkey, prompt_value


def _parse_arena_hard(
    line: int, rec: dict[str, Any], baseline: str | None, judge: str | None
) -> list[_Vote]:
    """An Arena-Hard judgment row: the judge's two verdicts, baseline shown first in game 1."""
    g = rec.get
    qfield = "question_id" if g("question_id") is not None or "uid" not in rec else "uid"
    qid = rd.ident(g(qfield), qfield)
    model = rd.name(g("model"), "model")
    base = baseline or rd.name(g("baseline"), "baseline")
    if model == base:
        raise SelfPairError(
            "model",
            model,
            f"is the baseline itself ('{model}'): a model cannot be compared with itself",
        )
    rater = judge or (rd.name(g("judge"), "judge") if g("judge") is not None else None)
    if rater is None:
        raise rd.FieldError("judge", "is missing: name the judge model with --judge")
    games = g("games")
    if type(games) is not list or len(games) != 2:
        raise rd.FieldError(
            "games",
            f"must be a list of the two games (baseline first, then swapped), got"
            f" {rd.kind_of(games) if type(games) is not list else f'{len(games)} games'}",
        )
    created = rd.opt_epoch(g("tstamp"), "tstamp")
    category = rd.opt_text(g("category"), "category", 100)
    votes = []
    for i, game in enumerate(games):
        where = f"games[{i}].score"
        label = game.get("score") if type(game) is dict else None
        if label is None:
            raise rd.FieldError(where, "is missing: the judge gave no verdict in this game")
        if label not in ARENA_HARD_LABELS:
            raise rd.FieldError(
                where, f"must be one of {', '.join(ARENA_HARD_LABELS)}; got {rd.kind_of(label)}"
            )
        first, second = (base, model) if i == 0 else (model, base)
        reply = game.get("judgment")
        if type(reply) is str and len(reply) > rd.MAX_TEXT:
            raise rd.too_long(f"games[{i}].judgment", len(reply), rd.MAX_TEXT)
        votes.append(
            _Vote(
                line=line,
                qid=qid,
                ext=qid,
                turn=1,
                a=_Side(first, None, None),
                b=_Side(second, None, None),
                score=ARENA_HARD_LABELS[label],
                both_bad=False,
                rater=("llm", rater),
                category=category,
                rationale=None,
                created_at=created,
                raw=rec,
                raw_reply=reply if type(reply) is str else None,
            )
        )
    return votes


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
        rejects: rd.Rejects | None = None,
        baseline: str | None = None,
        judge: str | None = None,
    ) -> None:
        self.conn, self.campaign, self.log, self.result = conn, campaign, log, result
        self.campaign_id: int = campaign.id  # type: ignore[assignment]
        self.progress = progress
        self.rejects, self.baseline, self.judge = rejects, baseline, judge
        self.scalars = rd.Scalars()
        self.prompts: dict[str, tuple[int, int | None]] = {}
        self.prompt_ids: dict[str, int] = {}
        self.new_prompts: dict[str, dict[str, Any]] = {}
        # Prompts whose stored text differs from this file's: ext -> why.
        self.bad_prompts: dict[str, str] = {}
        self.cand_ids: dict[str, int] = {}
        self.rater_ids: dict[tuple[str, str], tuple[str, int]] = {}
        self.versions: dict[tuple[int, str, str], int] = {}
        self.revised: list[tuple[int, str, str, int]] = []
        self.first_order: dict[tuple[int, str], str] = {}  # (comparison, rater) -> order
        self.touched: set[int] = set()
        self.batch: list[_Vote] = []
        self.rejected_lines: set[int] = set()
        # (prompt id, candidate id) -> output id, and the hash of the text it holds with the
        # line that gave it (None when it was stored before this import).
        self.output_ids: dict[tuple[int, int], int] = {}
        self.output_texts: dict[tuple[int, int], tuple[int, int | None]] = {}
        self.outputs = outputs_insert(conn)

    def reject(self, line: int, field: str | None, problem: str, raw: Any) -> None:
        """A bad row: left out and listed when skipping invalid rows, else an error."""
        if self.rejects is None:
            self.log.add(line, field, problem)
        elif line not in self.rejected_lines:
            self.rejected_lines.add(line)
            self.rejects.add(line, field, problem, raw)

    def feed(self, line: int, rec: Any) -> None:
        try:
            if type(rec) is dict and "games" in rec:
                if self.baseline is None and rec.get("baseline") is None:
                    raise ImportFileError(
                        self.result.source,
                        line,
                        None,
                        "Arena-Hard judgment rows do not name the baseline: give the model"
                        " every row was compared with (--baseline MODEL)",
                    )
                votes = _parse_arena_hard(line, rec, self.baseline, self.judge)
                pkey, pval = None, None
            else:
                vote, pkey, pval = _parse_vote(line, rec, self.scalars)
                votes = [vote]
        except SelfPairError as exc:
            if self.rejects is not None:
                self.rejects.self_pair(exc.model)
            self.reject(line, exc.field, exc.problem, rec)
            return
        except rd.FieldError as exc:
            self.reject(line, exc.field, exc.problem, rec)
            return
        vote = votes[0]
        seen = self.prompts.get(vote.ext)
        if seen is None or (seen[1] is None and pkey is not None):
            self.prompts[vote.ext] = (line, pkey)
            if pval is None:
                pval = rd.placeholder(vote.qid, vote.turn)
            # A prompt first seen without text is checked again (or filled in) with the text.
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
            self.reject(
                line,
                "prompt",
                f"'{vote.ext}' has a different prompt than on line {seen[0]}:"
                " give each distinct prompt its own question_id",
                rec,
            )
            return
        if self.log:
            return
        self.batch.extend(votes)
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
        new = []
        for v in self.batch:
            row = self.new_prompts.pop(v.ext, None)
            if row is not None:
                new.append(row)
        if not new:
            return
        stored = self._stored_prompts([r["external_id"] for r in new])
        ids, added = ensure_prompts(self.conn, self.campaign_id, new)
        self.prompt_ids.update(ids)
        self.result.prompts_added += added
        for row in new:
            ext = row["external_id"]
            if ext not in stored or self.prompts[ext][1] is None:
                continue
            pid, messages = stored[ext]
            if messages == row["messages"]:
                continue
            if rd.is_placeholder(messages):
                fill_placeholders(self.conn, self.campaign_id, [row], rd.is_placeholder)
            else:
                self.bad_prompts[ext] = (
                    f"differs from the prompt already stored for '{ext}' in campaign"
                    f" '{self.campaign.name}': votes are never recorded against another"
                    " prompt's text; give this prompt its own question_id, or import into"
                    " another campaign"
                )

    def _stored_prompts(self, exts: list[str]) -> dict[str, tuple[int, Any]]:
        found: dict[str, tuple[int, Any]] = {}
        for i in range(0, len(exts), _CHUNK):
            rows = self.conn.execute(
                select(Prompt.external_id, Prompt.id, Prompt.messages).where(
                    Prompt.campaign_id == self.campaign_id,
                    Prompt.external_id.in_(exts[i : i + _CHUNK]),
                )
            ).all()
            found.update({ext: (pid, msgs) for ext, pid, msgs in rows})
        return found

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

    def _outputs(self, votes: list[_Vote]) -> None:
        """Resolve the output ids the votes need, creating the outputs they give; reject a
        vote whose answer text differs from the text stored (or given earlier) for it.

        Texts are compared by hash, and a stored output's text is read only when a vote
        gives an answer for it, so a large import does not hold every answer in memory."""
        cand, pids = self.cand_ids, self.prompt_ids
        keys = {(pids[v.ext], cand[s.model]) for v in votes for s in (v.a, v.b)}
        self.output_ids.update(self._existing_outputs(keys - self.output_ids.keys()))
        given = {
            (pids[v.ext], cand[s.model]) for v in votes for s in (v.a, v.b) if s.content is not None
        }
        unread = [k for k in given if k in self.output_ids and k not in self.output_texts]
        for key, content in self._output_texts(unread).items():
            self.output_texts[key] = (hash(content), None)
        new: dict[tuple[int, int], _Side] = {}
        for v in votes:
            pid = pids[v.ext]
            answers = [
                (side, key, (pid, cand[side.model]))
                for side, key in ((v.a, "a"), (v.b, "b"))
                if side.content is not None
            ]
            clash = False
            for side, key, k in answers:
                known = self.output_texts.get(k)
                if known is not None and known[0] != hash(side.content):
                    self._other_text(v, side, key, known[1])
                    clash = True
            if clash:
                continue  # a rejected vote's other answer is not stored either
            for side, _, k in answers:
                if k not in self.output_texts:
                    self.output_texts[k] = (hash(side.content), v.line)
                    new[k] = side
        if new:
            added = self.outputs(
                [
                    (p, c, s.content, to_json(s.turns), None, None, None, "null")
                    for (p, c), s in new.items()
                ]
            )
            self.result.outputs_added += added
            self.output_ids.update(self._existing_outputs(set(new)))

    def _other_text(self, v: _Vote, side: _Side, key: str, first_line: int | None) -> None:
        conv = f"conversation_{key}"
        field = conv if type(v.raw) is dict and v.raw.get(conv) is not None else f"output_{key}"
        where = (
            f"the output already stored for model '{side.model}' and prompt '{v.ext}' in"
            f" campaign '{self.campaign.name}'"
            if first_line is None
            else f"the answer of model '{side.model}' to '{v.ext}' on line {first_line}"
        )
        self.reject(
            v.line,
            field,
            f"differs from {where}: a vote is never recorded against another text; fix the"
            " file or import it into another campaign",
            v.raw,
        )

    def _existing_outputs(self, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
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

    def _output_texts(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
        by_id = {self.output_ids[k]: k for k in keys}
        ids = sorted(by_id)
        texts: dict[tuple[int, int], str] = {}
        for i in range(0, len(ids), _CHUNK):
            rows = self.conn.execute(
                select(Output.id, Output.content).where(Output.id.in_(ids[i : i + _CHUNK]))
            ).all()
            texts.update({by_id[o]: content for o, content in rows})
        return texts

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
        batch = []
        for v in self.batch:
            if v.ext in self.bad_prompts and v.prompt_field is not None:
                self.reject(v.line, v.prompt_field, self.bad_prompts[v.ext], v.raw)
            else:
                batch.append(v)
        self._outputs(batch)
        votes = []
        for v in batch:
            if v.line in self.rejected_lines:
                continue
            pid = self.prompt_ids[v.ext]
            oa = self.output_ids.get((pid, self.cand_ids[v.a.model]))
            ob = self.output_ids.get((pid, self.cand_ids[v.b.model]))
            for o, side, key in ((oa, v.a, "a"), (ob, v.b, "b")):
                if o is None:
                    self._no_output(v, side, key)
            if oa is not None and ob is not None:
                votes.append((v, pid, oa, ob))
        votes = [t for t in votes if t[0].line not in self.rejected_lines]
        if self.log:
            self.batch = []
            return
        self.batch = [v for v, *_ in votes]
        self._raters()
        comps = self._comparisons({(pid, min(oa, ob), max(oa, ob)) for _, pid, oa, ob in votes})
        now = utcnow()
        rows = []
        for v, pid, oa, ob in votes:
            a_first = oa < ob
            comp = comps[(pid, min(oa, ob), max(oa, ob))]
            rater_key, rater_id = self.rater_ids[v.rater]
            if v.known_order:
                order = "ab" if a_first else "ba"
            else:
                order = "unknown"
                self.result.unknown_order += 1
            pref = v.score if a_first else -v.score
            key = (comp, rater_key, order)
            version = self.versions.get(key, 0) + 1
            self.versions[key] = version
            if version > 1:
                self.revised.append((comp, rater_key, order, version))
            human = v.rater[0] == "human"
            reshow = human and self._is_reshow(comp, rater_key, order)
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
                    "both_bad": v.both_bad,
                    "rationale": v.rationale,
                    "raw_reply": v.raw_reply,
                    "time_on_task_ms": None,
                    "is_reshow": reshow,
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

    def _is_reshow(self, comparison: int, rater_key: str, order: str) -> bool:
        """A human's vote on a comparison they voted on in the other shown order earlier in
        this file is that comparison shown again, sides swapped: a re-show (docs/FORMATS.md),
        read by the consistency figure and left out of agreement like any re-show."""
        if order == "unknown":
            return False
        return self.first_order.setdefault((comparison, rater_key), order) != order

    def _no_output(self, v: _Vote, side: _Side, key: str) -> None:
        if self.result.campaign_created:
            raise ImportFileError(
                self.result.source,
                None,
                None,
                f"no such campaign '{self.campaign.name}', and the votes do not carry all the"
                f" answers they judge (line {v.line} has no answer of model '{side.model}'):"
                " create the campaign and import its outputs first (judgeboard import outputs"
                " FILE --campaign NAME), or check the campaign name",
            )
        self.reject(
            v.line,
            f"output_{key}",
            f"there is no output of model '{side.model}' for prompt '{v.ext}' in"
            f" campaign '{self.campaign.name}': give the answer in output_{key} (or"
            f" conversation_{key}), or import the outputs first",
            v.raw,
        )

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
    skip_invalid: bool = False,
    rejects: Path | BinaryIO | None = None,
    baseline: str | None = None,
    judge: str | None = None,
) -> VoteImportResult:
    """Import votes from a JSONL file into ``campaign`` (created if missing); admins only.

    Rows are Chatbot Arena / MT-Bench style votes or Arena-Hard judgment rows (``games``),
    whose baseline model is ``baseline`` and whose judge is ``judge`` (default: the row's
    ``judge``). By default any bad row raises ImportFileError naming the file, line and field
    of every problem (up to 20), and nothing is written. With ``skip_invalid`` the valid rows
    are imported and every bad row is written to ``rejects`` (default
    ``<file>.rejects.jsonl``) with its line and reason.
    """
    admin_only(engine, actor_id)
    started = time.perf_counter()
    baseline = baseline.strip() if baseline and baseline.strip() else None
    judge = judge.strip() if judge and judge.strip() else None
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
        skipped = rd.rejects_for(source, skip_invalid, rejects)
        log = rd.ErrorLog(src.name)
        with write_session(engine) as s:
            try:
                existed = s.exec(
                    select(Campaign.id).where(Campaign.name == campaign.strip())
                ).first()
                camp = _get_or_create_campaign(s, campaign)
                result = VoteImportResult(
                    campaign=camp.name, source=src.name, campaign_created=existed is None
                )
                job = _VoteImport(
                    s.connection(), camp, log, result, progress, skipped, baseline, judge
                )
                for line, rec in rd.read_records(src, container):
                    result.rows_read += 1
                    if type(rec) is rd.Bad:
                        if rec.fatal:
                            log.add(line, rec.field, rec.problem)
                        else:
                            job.reject(line, rec.field, rec.problem, rec.raw)
                    else:
                        job.feed(line, rec)
                job.flush()
                log.raise_if_any()
                if result.rows_read == 0:
                    raise ImportFileError(src.name, None, None, "is empty: it has no votes")
                job.finish()
                result.values_as_text = job.scalars.n
                result.nuls_removed = src.stats.nuls
                if skipped is not None:
                    skipped.close()
                    result.rows_rejected, result.rejects_path = skipped.n, skipped.path
                    result.rejects_words = skipped.words()
                s.commit()
            except BaseException as exc:
                if skipped is not None:
                    skipped.discard()
                failure = rollback_for(s, src.name, exc)
                if failure is not None:
                    raise failure from exc
                raise
    result.seconds = time.perf_counter() - started
    return result
