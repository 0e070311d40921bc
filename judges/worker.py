"""The one runner's worker: claims tasks, calls the provider, hands results to the writer.

Judge runs and generation runs share it: the run's kind (``judges.writer.RunKind``:
``JudgeTasks`` or ``judges.generation.GenerationTasks``) plans a claimed task's requests
and stores its results; claiming, retries, rate limits, the cache and flushing are here.

Workers claim tasks in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under ``BEGIN
IMMEDIATE`` on SQLite), call the provider with bounded concurrency and a requests-per-minute
limit, and pass results to ``judges.writer`` in batches. Any number of worker processes may
share a run. A claim held by a dead process on this host is released when a worker starts;
any other claim older than ``stale_after_s`` may be taken over.

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
from datetime import timedelta
from typing import Any

import httpx
from httpx_aiohttp import HttpxAiohttpClient
from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.engine import is_sqlite, write_session
from db.models import Candidate, CandidateConfig, Judge, JudgeRun, JudgeTask, ResponseCache, utcnow
from judges.candidates import candidate_spec
from judges.generation import GenerationTasks
from judges.pricing import cost_of, load_prices
from judges.prompts import PlannedRequest, load_context
from judges.providers import (
    Endpoint,
    ProviderError,
    ProviderReply,
    RetryableError,
    parse_reply,
    redact,
    resolve_api_key,
    send,
)
from judges.runs import ProgressFn, RunOptions, RunProgress, _run_row, judge_spec
from judges.writer import ClaimedTask, Job, JudgeTasks, Result, RunKind, RunWriter
from metrics.vocabulary import judge_key

log = logging.getLogger(__name__)


def run_endpoint(s: Session, run: JudgeRun) -> Endpoint:
    """The provider endpoint a run calls: its judge's or its candidate config's."""
    if run.kind == "generate":
        return candidate_spec(s.get(CandidateConfig, run.candidate_config_id))
    return judge_spec(s.get(Judge, run.judge_id))


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
        self.results: list[Result] = []
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

    def _kind(self, s: Session, run: JudgeRun) -> tuple[RunKind, str]:
        """The run's kind and the command that resumes it."""
        if run.kind == "generate":
            config = s.get(CandidateConfig, run.candidate_config_id)
            candidate_id = s.exec(
                select(Candidate.id).where(Candidate.config_id == config.id)
            ).one()
            gen = GenerationTasks(candidate_spec(config), run.id, candidate_id, self.prices)
            return gen, "judgeboard generate --resume {run_id}"
        judge = s.get(Judge, run.judge_id)
        tasks = JudgeTasks(
            judge_spec(judge), load_context(s, run.campaign_id), run.id, judge.id,
            run.campaign_id, judge_key(judge.id),
        )  # fmt: skip
        return tasks, "judgeboard judge run --resume {run_id}"

    def _start(self) -> tuple[RunKind, str, str | None]:
        with write_session(self.engine) as s:
            run = _run_row(s, self.run_id)
            kind, hint = self._kind(s, run)
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
            note = cost_of(kind.spec.model, 0, 0, self.prices).note
            return kind, hint, note

    def _claim(self) -> tuple[list[Job], bool]:
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
                .returning(
                    JudgeTask.id,
                    JudgeTask.comparison_id,
                    JudgeTask.prompt_id,
                    JudgeTask.shown_order,
                )  # fmt: skip
            ).all()
            s.commit()
        if not rows:
            return [], False
        claimed = [ClaimedTask(*r) for r in sorted(rows, key=lambda r: r[0])]
        with Session(self.engine) as s:
            planned = self.tasks.plan(s, claimed, self.api_key)
            keys = {p.request.cache_key for plans in planned.values() for p in plans}
            cached = dict(
                s.execute(
                    select(ResponseCache.request_hash, ResponseCache.response).where(
                        ResponseCache.request_hash.in_(keys)
                    )
                ).all()
            )
        jobs = []
        for t in claimed:
            plans = planned[t.task_id]
            hits = {
                p.request.cache_key: cached[p.request.cache_key]
                for p in plans
                if p.request.cache_key in cached
            }
            jobs.append(Job(t.task_id, t.comparison_id, t.shown_order, plans, hits, t.prompt_id))
        return jobs, False

    # -- async side --

    async def run(self) -> RunProgress:
        self.prices = self.opt.prices if self.opt.prices is not None else load_prices()
        try:
            return await self._run()
        except BaseException:
            # This worker stops with an error: hand its claims back, so that a resume in
            # this (still living) process takes the tasks at once instead of waiting for
            # them to go stale; replies already stored in the cache are not paid again.
            await self._db(self._release_own_claims)
            raise
        finally:
            self.db.shutdown(wait=True)
            self.db_write.shutdown(wait=True)

    def _release_own_claims(self) -> None:
        try:
            with write_session(self.engine) as s:
                s.execute(
                    update(JudgeTask)
                    .where(
                        JudgeTask.run_id == self.run_id,
                        JudgeTask.status == "claimed",
                        JudgeTask.claimed_by == self.worker_id,
                    )
                    .values(status="pending", claimed_by=None, claimed_at=None)
                )
                s.commit()
        except Exception:  # the original error matters more than this one
            log.exception("run %s: could not release this worker's claims", self.run_id)

    async def _run(self) -> RunProgress:
        # The key is read before anything else so a missing key fails fast, then kept only
        # in memory (request headers).
        with Session(self.engine) as s:
            self.api_key = resolve_api_key(run_endpoint(s, _run_row(s, self.run_id)), self.secrets)
        self.tasks, hint, note = await self._db(self._start)
        self.spec = self.tasks.spec
        self.writer = RunWriter(
            self.engine, self.run_id, self.worker_id, self.tasks, self.prices, note, hint
        )
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
        final = await self._db(self.writer.finish, self.fatal, self.api_key)
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

    async def _execute(self, job: Job) -> None:
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
            self._push(Result(job, "done", replies))
        except _Stop:
            self._push(Result(job, "released"))
        except ProviderError as exc:
            if self.fatal is None:
                self.fatal = exc
            self.stopping = True
            self._push(Result(job, "released"))
        except RetryableError as exc:
            self._push(Result(job, "failed", error=redact(str(exc), self.api_key)))
        except Exception as exc:  # keep the worker alive; the task is retried on resume
            log.exception("run %s: task %s failed unexpectedly", self.run_id, job.task_id)
            self._push(Result(job, "failed", error=redact(f"{exc!r}", self.api_key)))
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

    def _push(self, result: Result) -> None:
        self.results.append(result)
        if len(self.results) >= self.opt.flush_every:
            self.flush_now.set()

    async def _flush_pending(self) -> None:
        if self.results:
            batch, self.results = self.results, []
            progress, cancel = await self._db_write(self.writer.flush, batch)
            if cancel:
                self.stopping = True
            self._report(progress)

    async def _flush_loop(self) -> None:
        try:
            while not self.closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.flush_now.wait(), self.opt.flush_interval_s)
                self.flush_now.clear()
                await self._flush_pending()
                if self.stopping:
                    self.wake.set()
        except BaseException:
            # Replies that cannot be stored would be paid for again on resume: ask no more.
            self.stopping = True
            self.wake.set()
            raise

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
    """The HTTP client of a judge run, with room for ``options.concurrency`` connections."""
    opt = options or RunOptions()
    return http_client(opt.concurrency, opt.timeout_s)


def http_client(max_connections: int, timeout: float = 60.0) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on aiohttp's connection pool (the ``httpx-aiohttp`` transport).

    httpcore's own pool re-checks every connection for every waiting request, which costs
    about 14 ms of CPU per verdict at 64 connections; aiohttp's pool costs under 2 ms
    (bench/judge_throughput.py). ``trust_env`` stays on: HTTPS_PROXY / NO_PROXY go through
    httpx's proxy mounts and SSL_CERT_FILE into the TLS context. HTTP/2 is not offered:
    hosted judge APIs answer HTTP/1.1 and aiohttp speaks only that.
    """
    n = max(1, max_connections)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    return HttpxAiohttpClient(limits=limits, timeout=timeout)


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
