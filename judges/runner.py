"""Judge runs: resumable, concurrent, cached, shared by any number of worker processes.

A run is a set of JudgeTask rows (comparison x shown order). Workers claim tasks in batches
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under ``BEGIN IMMEDIATE`` on SQLite), call the
provider with bounded concurrency and a requests-per-minute limit, and write verdicts in
batches: each batch marks its tasks done and inserts their judgments in one transaction, and
only tasks that were not already done get a judgment, so a killed or duplicated worker can
never produce a second verdict. A claim held by a dead process on this host is released when
a worker starts; any other claim older than ``stale_after_s`` may be taken over.

Every reply is stored in ``response_cache`` under a hash of the exact request, so a re-run
(or a resumed run) never pays twice for the same request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import and_, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.engine import is_sqlite, write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import (
    Campaign,
    Comparison,
    Judge,
    JudgeRun,
    JudgeTask,
    Judgment,
    JudgmentScore,
    ResponseCache,
    utcnow,
)
from db.upsert import insert_ignore
from judges.config import JudgeSpec, spec_of
from judges.http import make_http_client
from judges.parsing import parse_pairwise, parse_score, to_canonical
from judges.pricing import cost_of, load_prices
from judges.prompts import (
    CampaignContext,
    PlannedRequest,
    load_contents,
    load_context,
    plan_requests,
    random_order,
)
from judges.providers import (
    ProviderError,
    ProviderReply,
    RetryableError,
    parse_reply,
    redact,
    resolve_api_key,
    send,
)

log = logging.getLogger(__name__)

RUN_STATUSES = ("pending", "running", "done", "cancelled", "failed")
FINISHED = ("done", "cancelled", "failed")


@dataclass(frozen=True)
class RunOptions:
    """How a worker runs. ``rpm=None`` means no requests-per-minute limit."""

    concurrency: int = 8
    rpm: float | None = None
    max_attempts: int = 6
    timeout_s: float = 60.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    batch_size: int | None = None
    flush_every: int = 256
    flush_interval_s: float = 0.25
    stale_after_s: float = 900.0
    worker_id: str | None = None
    prices: Mapping[str, tuple[float, float]] | None = None


@dataclass(frozen=True)
class RunProgress:
    run_id: int
    status: str
    n_tasks: int
    n_done: int
    n_failed: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    error: str | None = None
    note: str | None = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.n_tasks == 0 else min(1.0, (self.n_done + self.n_failed) / self.n_tasks)

    def summary(self) -> str:
        text = (
            f"Run {self.run_id} {self.status}: {self.n_done}/{self.n_tasks} tasks done"
            f", {self.n_failed} failed; tokens in {self.tokens_in:,}, out {self.tokens_out:,}"
            f"; cost ${self.cost_usd:.4f}"
        )
        if self.error:
            text += f"\n{self.error}"
        if self.note:
            text += f"\n{self.note}"
        return text


ProgressFn = Callable[[RunProgress], None]


def _progress(run: JudgeRun, note: str | None = None) -> RunProgress:
    return RunProgress(
        run_id=run.id,
        status=run.status,
        n_tasks=run.n_tasks,
        n_done=run.n_done,
        n_failed=run.n_failed,
        tokens_in=run.tokens_in,
        tokens_out=run.tokens_out,
        cost_usd=run.cost_usd,
        error=run.error,
        note=note,
    )


# --- creating, resuming, cancelling ---------------------------------------------------------


def _judge_spec(judge: Judge) -> JudgeSpec:
    return spec_of(judge).normalized()


def _task_comparisons(session: Session, judge: Judge, campaign_id: int) -> list[int]:
    query = select(Comparison.id).where(
        Comparison.campaign_id == campaign_id,
        or_(Comparison.check_kind.is_(None), Comparison.check_kind != "attention"),
    )
    single = Comparison.output_a_id == Comparison.output_b_id
    query = query.where(single if judge.template_kind == "rubric" else ~single)
    return list(session.exec(query.order_by(Comparison.id)).all())


def create_run(
    session: Session,
    judge_id: int,
    campaign_id: int,
    *,
    rerun: bool = False,
    limit: int | None = None,
) -> JudgeRun:
    """A run with one task per comparison and shown order still missing a verdict.

    ``rerun=True`` judges every comparison again (new judgment versions; cached replies make
    it free). ``limit`` takes the first N comparisons (a small trial). Commits.
    """
    judge = session.get(Judge, judge_id)
    if judge is None:
        raise NotFoundError(
            f"No judge with id {judge_id}: list judges with 'judgeboard judge list'."
        )
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"No campaign with id {campaign_id}.")
    open_run = session.exec(
        select(JudgeRun.id).where(
            JudgeRun.judge_id == judge_id,
            JudgeRun.campaign_id == campaign_id,
            JudgeRun.status.not_in(FINISHED),
        )
    ).first()
    if open_run is not None:
        raise InvalidInputError(
            f"Run {open_run} of judge '{judge.name}' v{judge.version} on '{campaign.name}' is not"
            f" finished: resume it (judgeboard judge run --resume {open_run}) or cancel it"
            f" (judgeboard judge cancel {open_run})."
        )
    comparison_ids = _task_comparisons(session, judge, campaign_id)
    if judge.template_kind == "rubric":
        if not load_context(session, campaign_id).criteria:
            raise InvalidInputError(
                f"Campaign '{campaign.name}' has no rubric criteria: add criteria to the"
                " campaign, or use a pairwise judge."
            )
        if not comparison_ids:
            raise InvalidInputError(
                f"Campaign '{campaign.name}' has no single-output items to grade: a rubric"
                " judge grades single outputs; use a pairwise judge for comparisons."
            )
    elif not comparison_ids:
        raise InvalidInputError(
            f"Campaign '{campaign.name}' has no comparisons: pair its outputs first"
            f" (judgeboard campaign pair --campaign '{campaign.name}')."
        )
    if limit is not None:
        comparison_ids = comparison_ids[: max(0, limit)]
    orders: list[tuple[int, str]] = []
    for cid in comparison_ids:
        if judge.template_kind == "rubric" or judge.swap_policy == "ab":
            orders.append((cid, "ab"))
        elif judge.swap_policy == "random":
            orders.append((cid, random_order(judge.content_hash, cid)))
        else:
            orders.extend(((cid, "ab"), (cid, "ba")))
    if not rerun:
        done = set(
            session.exec(
                select(Judgment.comparison_id, Judgment.shown_order).where(
                    Judgment.campaign_id == campaign_id,
                    Judgment.rater_key == f"j:{judge_id}",
                    Judgment.is_current,
                )
            ).all()
        )
        orders = [o for o in orders if o not in done]
    run = JudgeRun(judge_id=judge_id, campaign_id=campaign_id, n_tasks=len(orders))
    if not orders:
        run.status, run.finished_at = "done", utcnow()
    session.add(run)
    session.flush()
    if orders:
        session.execute(
            JudgeTask.__table__.insert(),
            [
                {
                    "run_id": run.id,
                    "comparison_id": c,
                    "shown_order": o,
                    "status": "pending",
                    "attempts": 0,
                }
                for c, o in orders
            ],
        )
    session.commit()
    return run


def get_run(session: Session, run_id: int) -> JudgeRun:
    run = session.get(JudgeRun, run_id)
    if run is None:
        raise NotFoundError(
            f"No judge run {run_id}: list runs with 'judgeboard judge runs' or start one."
        )
    return run


def _task_counts(session: Session, run_id: int) -> dict[str, int]:
    return dict(
        session.exec(
            select(JudgeTask.status, func.count())
            .where(JudgeTask.run_id == run_id)
            .group_by(JudgeTask.status)
        ).all()
    )


def resume_run(session: Session, run_id: int, *, retry_failed: bool = True) -> JudgeRun:
    """Make a cancelled, failed or interrupted run runnable again (commits).

    Clears the cancel flag and, with ``retry_failed``, puts failed tasks back in the queue.
    Tasks claimed by live workers are left alone; dead workers' claims are released when
    the next worker starts.
    """
    run = get_run(session, run_id)
    run.cancel_requested = False
    if retry_failed:
        session.execute(
            update(JudgeTask)
            .where(JudgeTask.run_id == run_id, JudgeTask.status == "failed")
            .values(status="pending", claimed_by=None, claimed_at=None, error=None)
        )
    counts = _task_counts(session, run_id)
    run.n_done = counts.get("done", 0)
    run.n_failed = counts.get("failed", 0)
    remaining = counts.get("pending", 0) + counts.get("claimed", 0)
    # Claimed tasks mean a worker may still be at it (a dead one's claims are released
    # when the next worker starts).
    run.status = ("running" if counts.get("claimed") else "pending") if remaining else "done"
    run.error = None
    run.finished_at = None if remaining else (run.finished_at or utcnow())
    session.add(run)
    session.commit()
    return run


def request_cancel(session: Session, run_id: int) -> JudgeRun:
    """Ask every worker on the run to stop after its current batch (commits)."""
    run = get_run(session, run_id)
    if run.status in FINISHED:
        return run
    run.cancel_requested = True
    if run.status == "pending":
        # Nobody is working on it: cancel at once.
        run.status = "cancelled"
    session.add(run)
    session.commit()
    return run


def run_status(session: Session, run_id: int) -> RunProgress:
    run = get_run(session, run_id)
    judge = session.get(Judge, run.judge_id)
    note = cost_of(judge.model, 0, 0, load_prices()).note if judge else None
    return _progress(run, note)


def list_runs(
    session: Session, campaign_id: int | None = None, *, actor_id: int
) -> list[RunProgress]:
    """Runs with progress, tokens and cost, newest first (admins only)."""
    require_admin(session, actor_id)
    query = select(JudgeRun).order_by(JudgeRun.id.desc())
    if campaign_id is not None:
        query = query.where(JudgeRun.campaign_id == campaign_id)
    return [_progress(r) for r in session.exec(query).all()]


# --- the worker ---------------------------------------------------------------------------


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim_is_dead(worker_id: str) -> bool:
    """True when ``worker_id`` names a process on this host that no longer exists."""
    host, _, rest = worker_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class _Job:
    task_id: int
    comparison_id: int
    shown_order: str
    planned: list[PlannedRequest]
    cached: dict[str, dict[str, Any]]


@dataclass
class _Result:
    job: _Job
    outcome: str  # "done", "failed" or "released"
    replies: list[tuple[ProviderReply, bool, float | None]] = field(default_factory=list)
    error: str | None = None


class _Stop(Exception):
    """The worker is stopping (cancel or a fatal provider error) before this request."""


class _Worker:
    def __init__(
        self,
        engine: Engine,
        run_id: int,
        client: httpx.AsyncClient,
        options: RunOptions,
        progress: ProgressFn | None,
        secrets: Mapping[str, Any] | None,
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.client = client
        self.opt = options
        self.progress_fn = progress
        self.secrets = secrets
        self.worker_id = options.worker_id or new_worker_id()
        self.batch_size = options.batch_size or max(16, 2 * options.concurrency)
        # Claims and writes get a thread each, so a claim never queues behind a large write.
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-claim")
        self.db_write = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-write")
        self.results: list[_Result] = []
        self.active: set[asyncio.Task] = set()
        self.waiting = 0  # jobs that have not started their first request yet
        self.stopping = False
        self.fatal: ProviderError | None = None
        self.wake = asyncio.Event()
        self.flush_now = asyncio.Event()
        self.sem = asyncio.Semaphore(options.concurrency)
        self.next_slot = 0.0
        self.api_key: str | None = None
        self.last: RunProgress | None = None
        self.closing = False

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.db, fn, *args)

    async def _db_write(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.db_write, fn, *args)

    # -- database side (runs on the single DB thread) --

    def _start(self) -> tuple[JudgeSpec, CampaignContext, str, str | None]:
        with write_session(self.engine) as s:
            run = get_run(s, self.run_id)
            judge = s.get(Judge, run.judge_id)
            spec = _judge_spec(judge)
            ctx = load_context(s, run.campaign_id)
            claimers = s.exec(
                select(JudgeTask.claimed_by)
                .where(JudgeTask.run_id == self.run_id, JudgeTask.status == "claimed")
                .distinct()
            ).all()
            dead = [w for w in claimers if w and _claim_is_dead(w)]
            if dead:
                s.execute(
                    update(JudgeTask)
                    .where(
                        JudgeTask.run_id == self.run_id,
                        JudgeTask.status == "claimed",
                        JudgeTask.claimed_by.in_(dead),
                    )
                    .values(status="pending", claimed_by=None, claimed_at=None)
                )
                log.info("run %s: released tasks of %d dead worker(s)", self.run_id, len(dead))
            if not run.cancel_requested and run.status not in ("done",):
                run.status = "running"
                run.started_at = run.started_at or utcnow()
                run.finished_at = None
                s.add(run)
            s.commit()
            note = cost_of(spec.model, 0, 0, self.prices).note
            return spec, ctx, f"j:{judge.id}", note

    def _claim(self) -> tuple[list[_Job], bool]:
        now = utcnow()
        stale = now - timedelta(seconds=self.opt.stale_after_s)
        with write_session(self.engine) as s:
            cancel = s.exec(
                select(JudgeRun.cancel_requested).where(JudgeRun.id == self.run_id)
            ).one()
            if cancel:
                s.rollback()
                return [], True
            pick = (
                select(JudgeTask.id)
                .where(
                    JudgeTask.run_id == self.run_id,
                    or_(
                        JudgeTask.status == "pending",
                        and_(JudgeTask.status == "claimed", JudgeTask.claimed_at < stale),
                    ),
                )
                .order_by(JudgeTask.id)
                .limit(self.batch_size)
            )
            if not is_sqlite(self.engine):
                pick = pick.with_for_update(skip_locked=True)
            rows = s.execute(
                update(JudgeTask)
                .where(JudgeTask.id.in_(pick.scalar_subquery()))
                .values(
                    status="claimed",
                    claimed_by=self.worker_id,
                    claimed_at=now,
                    attempts=JudgeTask.attempts + 1,
                )
                .returning(JudgeTask.id, JudgeTask.comparison_id, JudgeTask.shown_order)
            ).all()
            s.commit()
        if not rows:
            return [], False
        with Session(self.engine) as s:
            contents = load_contents(s, [r[1] for r in rows])
            planned = {
                r[0]: plan_requests(self.spec, self.ctx, contents[r[1]], r[2], self.api_key)
                for r in sorted(rows)
            }
            keys = {p.request.cache_key for plans in planned.values() for p in plans}
            cached = dict(
                s.execute(
                    select(ResponseCache.request_hash, ResponseCache.response).where(
                        ResponseCache.request_hash.in_(keys)
                    )
                ).all()
            )
        jobs = []
        for task_id, comparison_id, shown_order in sorted(rows):
            plans = planned[task_id]
            hits = {
                p.request.cache_key: cached[p.request.cache_key]
                for p in plans
                if p.request.cache_key in cached
            }
            jobs.append(_Job(task_id, comparison_id, shown_order, plans, hits))
        return jobs, False

    def _flush(self, batch: list[_Result]) -> RunProgress:
        done = [r for r in batch if r.outcome == "done"]
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
                tokens_in, tokens_out = self._write_verdicts(s, keep, now)
            n_failed = 0
            if failed:
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
            cost = cost_of(self.spec.model, tokens_in, tokens_out, self.prices).usd
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
            if run.cancel_requested:
                self.stopping = True
            return _progress(run, self.note)

    def _insert(self, s: Session, table: Any, rows: list[dict[str, Any]]) -> None:
        insert_ignore(s.connection(), table, rows)

    def _write_verdicts(self, s: Session, results: list[_Result], now: Any) -> tuple[int, int]:
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
        cache_rows: list[dict[str, Any]] = []
        scores: dict[tuple[int, str], list[tuple[int, int, float]]] = {}
        live_in = live_out = 0
        for r in results:
            key = (r.job.comparison_id, r.job.shown_order)
            version = current[key][1] + 1 if key in current else 1
            tin = sum(rep.tokens_in for rep, _c, _l in r.replies)
            tout = sum(rep.tokens_out for rep, _c, _l in r.replies)
            all_cached = all(c for _rep, c, _l in r.replies)
            latency = sum(lat or 0.0 for _rep, _c, lat in r.replies)
            for (rep, from_cache, _lat), plan in zip(r.replies, r.job.planned, strict=True):
                if not from_cache:
                    live_in += rep.tokens_in
                    live_out += rep.tokens_out
                    cache_rows.append(
                        {
                            "request_hash": plan.request.cache_key,
                            "response": rep.data,
                            "created_at": now,
                        }
                    )
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
                rep = r.replies[0][0]
                verdict = parse_pairwise(rep.text, scale=self.spec.params.get("scale", "3way"))
                row["preference"] = to_canonical(verdict.preference, r.job.shown_order)
                row["both_bad"] = verdict.both_bad
                row["rationale"] = verdict.rationale
                row["raw_reply"] = rep.text
            rows.append(row)
        self._insert(s, Judgment.__table__, rows)
        if cache_rows:
            unique = {c["request_hash"]: c for c in cache_rows}
            self._insert(s, ResponseCache.__table__, list(unique.values()))
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
            self._insert(
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

    def _finish(self) -> RunProgress:
        with write_session(self.engine) as s:
            run = get_run(s, self.run_id)
            counts = _task_counts(s, self.run_id)
            remaining = counts.get("pending", 0) + counts.get("claimed", 0)
            run.n_done = counts.get("done", 0)
            run.n_failed = counts.get("failed", 0)
            if self.fatal is not None:
                run.status = "failed"
                run.error = redact(str(self.fatal), self.api_key)
            elif run.cancel_requested and remaining:
                run.status = "cancelled"
            elif remaining == 0:
                run.status = "done"
                run.finished_at = utcnow()
                run.error = (
                    f"{run.n_failed} task(s) failed after retries: resume the run to retry"
                    f" them (judgeboard judge run --resume {run.id})."
                    if run.n_failed
                    else None
                )
            # else: other workers still hold claims; the last one to finish closes the run.
            s.add(run)
            s.commit()
            return _progress(run, self.note)

    # -- async side --

    async def run(self) -> RunProgress:
        self.prices = self.opt.prices if self.opt.prices is not None else load_prices()
        try:
            return await self._run()
        finally:
            self.db.shutdown(wait=True)
            self.db_write.shutdown(wait=True)

    async def _run(self) -> RunProgress:
        # The key is read before anything else so a missing key fails fast, then kept only
        # in memory (request headers).
        with Session(self.engine) as s:
            run = get_run(s, self.run_id)
            judge = s.get(Judge, run.judge_id)
            self.judge_id, self.campaign_id = judge.id, run.campaign_id
            self.api_key = resolve_api_key(_judge_spec(judge), self.secrets)
        self.spec, self.ctx, self.rater_key, self.note = await self._db(self._start)
        flusher = asyncio.create_task(self._flush_loop())
        try:
            await self._claim_loop()
            if self.active:
                await asyncio.gather(*list(self.active), return_exceptions=True)
        finally:
            self.flush_now.set()
            self.closing = True
            await flusher
        await self._flush_pending()
        final = await self._db(self._finish)
        self._report(final)
        return final

    async def _claim_loop(self) -> None:
        while not self.stopping:
            while self.waiting >= self.opt.concurrency and not self.stopping:
                self.wake.clear()
                await self.wake.wait()
            if self.stopping:
                break
            jobs, cancel = await self._db(self._claim)
            if cancel:
                self.stopping = True
                break
            if not jobs:
                if not self.active:
                    break
                # Wait for in-flight work, then look once more (released tasks come back).
                await asyncio.gather(*list(self.active), return_exceptions=True)
                continue
            for job in jobs:
                self.waiting += 1
                task = asyncio.create_task(self._execute(job))
                self.active.add(task)
                task.add_done_callback(self.active.discard)

    def _started(self, started: list[bool]) -> None:
        if not started[0]:
            started[0] = True
            self.waiting -= 1
            self.wake.set()

    async def _execute(self, job: _Job) -> None:
        started = [False]
        try:
            replies = []
            for plan in job.planned:
                cached = job.cached.get(plan.request.cache_key)
                if cached is not None:
                    try:
                        replies.append((parse_reply(self.spec.provider, cached), True, None))
                        continue
                    except (KeyError, IndexError, TypeError, AttributeError):
                        pass  # a cache row we cannot read: ask again
                replies.append(await self._call(plan, started))
            self._push(_Result(job, "done", replies))
        except _Stop:
            self._push(_Result(job, "released"))
        except ProviderError as exc:
            if self.fatal is None:
                self.fatal = exc
            self.stopping = True
            self._push(_Result(job, "released"))
        except RetryableError as exc:
            self._push(_Result(job, "failed", error=redact(str(exc), self.api_key)))
        except Exception as exc:  # keep the worker alive; the task is retried on resume
            log.exception("run %s: task %s failed unexpectedly", self.run_id, job.task_id)
            self._push(_Result(job, "failed", error=redact(f"{exc!r}", self.api_key)))
        finally:
            self._started(started)

    async def _rate_limit(self) -> None:
        if not self.opt.rpm:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(self.next_slot, now)
        self.next_slot = slot + 60.0 / self.opt.rpm
        if slot > now:
            await asyncio.sleep(slot - now)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            # Honour the server's wait, plus a little jitter so retries do not stampede.
            return retry_after + random.uniform(0, min(1.0, 0.1 * retry_after + 0.05))
        cap = min(self.opt.backoff_max_s, self.opt.backoff_base_s * (2**attempt))
        return random.uniform(cap / 2, cap)

    async def _call(
        self, plan: PlannedRequest, started: list[bool]
    ) -> tuple[ProviderReply, bool, float]:
        timeout = float(self.spec.params.get("timeout_s") or self.opt.timeout_s)
        last: RetryableError | None = None
        for attempt in range(self.opt.max_attempts):
            if self.stopping:
                raise _Stop()
            await self._rate_limit()
            async with self.sem:
                if self.stopping:
                    raise _Stop()
                self._started(started)
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                try:
                    reply = await send(self.client, self.spec, plan.request, self.api_key, timeout)
                    return reply, False, loop.time() - t0
                except RetryableError as exc:
                    last = exc
            delay = self._backoff(attempt, last.retry_after)
            log.debug("retrying after %s in %.2f s", last, delay)
            if attempt + 1 < self.opt.max_attempts:
                await asyncio.sleep(delay)
        assert last is not None
        raise RetryableError(f"gave up after {self.opt.max_attempts} attempts: {last}")

    def _push(self, result: _Result) -> None:
        self.results.append(result)
        if len(self.results) >= self.opt.flush_every:
            self.flush_now.set()

    async def _flush_pending(self) -> None:
        if self.results:
            batch, self.results = self.results, []
            self._report(await self._db_write(self._flush, batch))

    async def _flush_loop(self) -> None:
        while not self.closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush_now.wait(), self.opt.flush_interval_s)
            self.flush_now.clear()
            await self._flush_pending()
            if self.stopping:
                self.wake.set()

    def _report(self, progress: RunProgress) -> None:
        self.last = progress
        if self.progress_fn is not None:
            try:
                self.progress_fn(progress)
            except Exception:  # a broken progress bar must not lose verdicts
                log.exception("progress callback failed")


async def execute_run(
    engine: Engine,
    run_id: int,
    client: httpx.AsyncClient,
    options: RunOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> RunProgress:
    """Work on run ``run_id`` until no task is left to claim (or cancel / fatal error).

    Safe to call from several processes at once on the same run.
    """
    worker = _Worker(engine, run_id, client, options or RunOptions(), progress, secrets)
    return await worker.run()


def make_client(options: RunOptions | None = None) -> httpx.AsyncClient:
    """An httpx client sized for ``options.concurrency`` connections."""
    opt = options or RunOptions()
    return make_http_client(opt.concurrency, opt.timeout_s)


def run_blocking(
    engine: Engine,
    run_id: int,
    options: RunOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    secrets: Mapping[str, Any] | None = None,
    client_factory: Callable[[], httpx.AsyncClient] | None = None,
) -> RunProgress:
    """``execute_run`` with its own event loop and HTTP client (for the CLI and threads)."""

    async def main() -> RunProgress:
        async with (client_factory or (lambda: make_client(options)))() as client:
            return await execute_run(
                engine, run_id, client, options, progress=progress, secrets=secrets
            )

    return asyncio.run(main())


def start_in_background(
    engine: Engine,
    run_id: int,
    options: RunOptions | None = None,
    *,
    secrets: Mapping[str, Any] | None = None,
) -> threading.Thread:
    """Run in a daemon thread; progress is read back from the database (the app polls it).

    An error that stops the worker is recorded on the run (status "failed", ``error``).
    """
    key_values = dict(secrets) if secrets is not None else None

    def target() -> None:
        try:
            run_blocking(engine, run_id, options, secrets=key_values)
        except Exception as exc:
            log.exception("judge run %s stopped", run_id)
            with write_session(engine) as s:
                run = s.get(JudgeRun, run_id)
                if run is not None:
                    run.status, run.error = "failed", str(exc)
                    s.add(run)
                    s.commit()

    thread = threading.Thread(target=target, name=f"judge-run-{run_id}", daemon=True)
    thread.start()
    return thread
