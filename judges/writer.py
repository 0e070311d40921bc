"""Storing a worker's results: task and run counters, cached replies, and what a task makes.

A run's kind decides what a task is and what it makes (``RunKind``): ``JudgeTasks`` here
turns comparisons into verdicts and rubric scores, ``judges.generation.GenerationTasks``
turns prompts into a candidate's outputs. Everything else is shared: each batch marks its
tasks done and stores what they made in one transaction, and only tasks that were not
already done store anything, so a killed or duplicated worker can never store a result twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from db.engine import write_session
from db.models import JudgeRun, JudgeTask, Judgment, JudgmentScore, ResponseCache, utcnow
from db.upsert import insert_ignore
from judges.config import JudgeSpec
from judges.parsing import parse_pairwise, parse_score, to_canonical
from judges.pricing import cost_of
from judges.prompts import (
    CampaignContext,
    PlannedRequest,
    load_contents,
    plan_requests,
)
from judges.providers import Endpoint, ProviderError, ProviderReply, redact
from judges.runs import RunProgress, _run_row, _task_counts, progress_of

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One claimed task with its planned requests and the cached replies found for them."""

    task_id: int
    comparison_id: int | None
    shown_order: str
    planned: list[PlannedRequest]
    cached: dict[str, dict[str, Any]]
    prompt_id: int | None = None


@dataclass
class Result:
    job: Job
    outcome: str  # "done", "failed" or "released"
    replies: list[tuple[ProviderReply, bool, float | None]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class ClaimedTask:
    task_id: int
    comparison_id: int | None
    prompt_id: int | None
    shown_order: str


class RunKind(Protocol):
    """What one kind of run asks and stores; the worker and writer do the rest."""

    @property
    def spec(self) -> Endpoint: ...

    def plan(
        self, session: Session, tasks: Sequence[ClaimedTask], api_key: str | None
    ) -> dict[int, list[PlannedRequest]]:
        """The requests of each claimed task, by task id."""
        ...

    def store(self, session: Session, results: list[Result], now: datetime) -> tuple[int, int]:
        """Store what newly done tasks made; returns the tokens in/out paid for (not cached)."""
        ...


def cache_rows(results: list[Result], now: datetime) -> tuple[list[dict[str, Any]], int, int]:
    """ResponseCache rows of the replies not taken from the cache, and their tokens in/out."""
    rows: list[dict[str, Any]] = []
    live_in = live_out = 0
    for r in results:
        for (rep, from_cache, _lat), plan in zip(r.replies, r.job.planned, strict=True):
            if not from_cache:
                live_in += rep.tokens_in
                live_out += rep.tokens_out
                rows.append(
                    {
                        "request_hash": plan.request.cache_key,
                        "response": rep.data,
                        "created_at": now,
                    }
                )
    return rows, live_in, live_out


def store_cache_rows(s: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        unique = {c["request_hash"]: c for c in rows}
        _insert(s, ResponseCache.__table__, list(unique.values()))


@dataclass
class RunWriter:
    """Writes one worker's results for one run (called from a single DB thread)."""

    engine: Engine
    run_id: int
    worker_id: str
    tasks: RunKind
    prices: Mapping[str, tuple[float, float]]
    note: str | None = None
    resume_hint: str = "judgeboard judge run --resume {run_id}"

    def flush(self, batch: list[Result]) -> tuple[RunProgress, bool]:
        """Store ``batch``; returns the run's progress and whether a cancel was requested.

        One result that the database refuses must not lose the others: when the batch's
        transaction fails, each result is stored in a transaction of its own, and one that
        still fails marks only its own task failed (with the reason), so a resume retries it.
        """
        try:
            return self._flush(batch)
        except SQLAlchemyError:
            if len(batch) == 1 and batch[0].outcome != "done":
                raise
            log.exception("run %s: storing a batch failed; storing one by one", self.run_id)
        last: tuple[RunProgress, bool] | None = None
        for r in batch:
            try:
                last = self._flush([r])
            except SQLAlchemyError as exc:
                if r.outcome != "done":
                    raise
                log.exception("run %s: task %s could not be stored", self.run_id, r.job.task_id)
                cause = getattr(exc, "orig", None) or exc
                error = f"the verdict could not be stored ({type(cause).__name__})"
                last = self._flush([Result(r.job, "failed", error=error)])
        assert last is not None
        return last

    def _flush(self, batch: list[Result]) -> tuple[RunProgress, bool]:
        # In task order, not completion order: verdict ids follow the comparisons.
        done = sorted((r for r in batch if r.outcome == "done"), key=lambda r: r.job.task_id)
        failed = [r for r in batch if r.outcome == "failed"]
        released = [r for r in batch if r.outcome == "released"]
        now = utcnow()
        with write_session(self.engine) as s:
            fresh: set[int] = set()
            if done:
                fresh = set(
                    s.execute(
                        update(JudgeTask)
                        .where(
                            JudgeTask.id.in_([r.job.task_id for r in done]),
                            JudgeTask.status != "done",
                        )
                        .values(status="done", error=None, claimed_at=now)
                        .returning(JudgeTask.id)
                    )
                    .scalars()
                    .all()
                )
            keep = [r for r in done if r.job.task_id in fresh]
            tokens_in = tokens_out = 0
            if keep:
                tokens_in, tokens_out = self.tasks.store(s, keep, now)
            n_failed = 0
            for r in failed:
                n_failed += s.execute(
                    update(JudgeTask)
                    .where(JudgeTask.id == r.job.task_id, JudgeTask.status != "done")
                    .values(status="failed", error=r.error)
                ).rowcount
            if released:
                s.execute(
                    update(JudgeTask)
                    .where(
                        JudgeTask.id.in_([r.job.task_id for r in released]),
                        JudgeTask.status == "claimed",
                        JudgeTask.claimed_by == self.worker_id,
                    )
                    .values(status="pending", claimed_by=None, claimed_at=None)
                )
            cost = cost_of(self.tasks.spec.model, tokens_in, tokens_out, self.prices).usd
            s.execute(
                update(JudgeRun)
                .where(JudgeRun.id == self.run_id)
                .values(
                    n_done=JudgeRun.n_done + len(keep),
                    n_failed=JudgeRun.n_failed + n_failed,
                    tokens_in=JudgeRun.tokens_in + tokens_in,
                    tokens_out=JudgeRun.tokens_out + tokens_out,
                    cost_usd=JudgeRun.cost_usd + cost,
                )
            )
            s.commit()
            run = s.get(JudgeRun, self.run_id)
            s.refresh(run)
            return progress_of(run, self.note), bool(run.cancel_requested)

    def finish(self, fatal: ProviderError | None, api_key: str | None) -> RunProgress:
        """Close the run if nothing is left (or mark it failed / cancelled)."""
        with write_session(self.engine) as s:
            run = _run_row(s, self.run_id)
            counts = _task_counts(s, self.run_id)
            remaining = counts.get("pending", 0) + counts.get("claimed", 0)
            run.n_done = counts.get("done", 0)
            run.n_failed = counts.get("failed", 0)
            if fatal is not None:
                run.status = "failed"
                run.error = redact(str(fatal), api_key)
            elif run.cancel_requested and remaining:
                run.status = "cancelled"
            elif remaining == 0:
                run.status = "done"
                run.finished_at = utcnow()
                hint = self.resume_hint.format(run_id=run.id)
                run.error = (
                    f"{run.n_failed} task(s) failed after retries: resume the run to retry"
                    f" them ({hint})."
                    if run.n_failed
                    else None
                )
            # else: other workers still hold claims; the last one to finish closes the run.
            s.add(run)
            s.commit()
            return progress_of(run, self.note)


@dataclass
class JudgeTasks:
    """Judge runs: a task is a comparison in one shown order; it makes a verdict."""

    spec: JudgeSpec
    ctx: CampaignContext
    run_id: int
    judge_id: int
    campaign_id: int
    rater_key: str

    def plan(
        self, session: Session, tasks: Sequence[ClaimedTask], api_key: str | None
    ) -> dict[int, list[PlannedRequest]]:
        contents = load_contents(session, [t.comparison_id for t in tasks])
        return {
            t.task_id: plan_requests(
                self.spec, self.ctx, contents[t.comparison_id], t.shown_order, api_key
            )
            for t in tasks
        }

    def store(self, s: Session, results: list[Result], now: datetime) -> tuple[int, int]:
        """Insert judgments (+ rubric scores) and cache rows; returns live tokens in/out."""
        rater_key = self.rater_key
        cids = sorted({r.job.comparison_id for r in results})
        current = {
            (c, o): (jid, v)
            for jid, c, o, v in s.execute(
                select(
                    Judgment.id, Judgment.comparison_id, Judgment.shown_order, Judgment.version
                ).where(
                    Judgment.comparison_id.in_(cids),
                    Judgment.rater_key == rater_key,
                    Judgment.is_current,
                )
            ).all()
        }
        superseded = [
            current[(r.job.comparison_id, r.job.shown_order)][0]
            for r in results
            if (r.job.comparison_id, r.job.shown_order) in current
        ]
        if superseded:
            s.execute(update(Judgment).where(Judgment.id.in_(superseded)).values(is_current=False))
        # Start every row from the model's own defaults, so a column added to Judgment later
        # gets its default here too (this is a Core insert, which would not apply them).
        defaults = {
            name: f.get_default(call_default_factory=True)
            for name, f in Judgment.model_fields.items()
            if name != "id"
        }
        rows: list[dict[str, Any]] = []
        cached, live_in, live_out = cache_rows(results, now)
        scores: dict[tuple[int, str], list[tuple[int, int, float]]] = {}
        for r in results:
            key = (r.job.comparison_id, r.job.shown_order)
            version = current[key][1] + 1 if key in current else 1
            tin = sum(rep.tokens_in for rep, _c, _l in r.replies)
            tout = sum(rep.tokens_out for rep, _c, _l in r.replies)
            all_cached = all(c for _rep, c, _l in r.replies)
            latency = sum(lat or 0.0 for _rep, _c, lat in r.replies)
            row = {
                **defaults,
                "campaign_id": self.campaign_id,
                "comparison_id": r.job.comparison_id,
                "rater_key": rater_key,
                "rater_kind": "llm",
                "user_id": None,
                "judge_id": self.judge_id,
                "judge_run_id": self.run_id,
                "assignment_id": None,
                "shown_order": r.job.shown_order,
                "preference": None,
                "both_bad": False,
                "rationale": None,
                "raw_reply": None,
                "time_on_task_ms": None if all_cached else int(latency * 1000),
                "is_reshow": False,
                "version": version,
                "is_current": True,
                "source": "judge-cache" if all_cached else "judge",
                "tokens_in": tin,
                "tokens_out": tout,
                "created_at": now,
            }
            if self.spec.template_kind == "rubric":
                raw: dict[str, str] = {}
                reasons = []
                for (rep, _c, _l), plan in zip(r.replies, r.job.planned, strict=True):
                    crit = plan.criterion
                    assert crit is not None
                    raw[crit.name] = rep.text
                    parsed = parse_score(rep.text, crit.scale, crit.categories)
                    if parsed.score is not None:
                        scores.setdefault(key, []).append(
                            (plan.output_id or 0, crit.id, parsed.score)
                        )
                    if parsed.rationale:
                        reasons.append(f"{crit.name}: {parsed.rationale}")
                row["raw_reply"] = "\n\n".join(f"[{k}]\n{v}" for k, v in raw.items())
                row["rationale"] = "\n".join(reasons) or None
            else:
                text = r.replies[0][0].text
                verdict = parse_pairwise(text, scale=self.spec.params.get("scale", "3way"))
                row["preference"] = to_canonical(verdict.preference, r.job.shown_order)
                row["both_bad"] = verdict.both_bad
                row["rationale"] = verdict.rationale
                row["raw_reply"] = text
            # A NUL may come raw or JSON-escaped inside the reply (then in the parsed reason).
            row["raw_reply"] = without_nul(row["raw_reply"])
            row["rationale"] = without_nul(row["rationale"])
            rows.append(row)
        _insert(s, Judgment.__table__, rows)
        store_cache_rows(s, cached)
        if scores:
            ids = {
                (c, o): jid
                for jid, c, o in s.execute(
                    select(Judgment.id, Judgment.comparison_id, Judgment.shown_order).where(
                        Judgment.comparison_id.in_([k[0] for k in scores]),
                        Judgment.rater_key == rater_key,
                        Judgment.judge_run_id == self.run_id,
                        Judgment.is_current,
                    )
                ).all()
            }
            _insert(
                s,
                JudgmentScore.__table__,
                [
                    {"judgment_id": ids[k], "output_id": oid, "criterion_id": crit, "value": v}
                    for k, triples in scores.items()
                    if k in ids
                    for oid, crit, v in triples
                ],
            )
        return live_in, live_out


def without_nul(text: str | None) -> str | None:
    """``text`` with NUL characters removed: PostgreSQL refuses them in text columns.

    Verdict columns get the cleaned text on both databases; the provider's raw reply stays
    in ``response_cache`` (PostgreSQL's ``json`` type accepts the ``\\u0000`` escape).
    """
    return text.replace("\x00", "") if text else text


def _insert(s: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    insert_ignore(s.connection(), table, rows)
