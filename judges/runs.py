"""Runs' lifecycle: create, resume, cancel, read progress.

A judge run is a set of JudgeTask rows (comparison x shown order); a generation run (kind
"generate", created by ``experiments.generation``) one per prompt. Workers
(``judges.worker``) claim and work on them, ``judges.writer`` stores the results. Admin
writes take the acting user (``actor_id``) and are refused here for anyone but an active admin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import (
    Campaign,
    CandidateConfig,
    Comparison,
    Judge,
    JudgeRun,
    JudgeTask,
    Judgment,
    utcnow,
)
from judges.config import JudgeSpec, spec_of
from judges.pricing import cost_of, load_prices
from judges.prompts import load_context, random_order
from metrics.vocabulary import judge_key, judge_label

RUN_STATUSES = ("pending", "running", "done", "cancelled", "failed")
FINISHED = ("done", "cancelled", "failed")
STALE_AFTER_S = 900.0
"""A claim this old may be taken over; an open run untouched this long was interrupted."""


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
    stale_after_s: float = STALE_AFTER_S
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
    """Set when the judge's model has no known price (its cost counts as 0): says the fix."""
    interrupted: bool = False
    """Open (pending or running) but untouched by any worker for ``STALE_AFTER_S``."""
    kind: str = "judge"
    """"judge" or "generate"."""

    @property
    def fraction(self) -> float:
        return 1.0 if self.n_tasks == 0 else min(1.0, (self.n_done + self.n_failed) / self.n_tasks)

    @property
    def resumable(self) -> bool:
        """Resume would do something: cancelled, failed, done with failed tasks, or
        interrupted. A run that workers are on is not resumable (it is running)."""
        if self.status in ("cancelled", "failed"):
            return True
        if self.status == "done":
            return self.n_failed > 0
        return self.interrupted

    @property
    def cost_text(self) -> str:
        """The cost in dollars, marked when it is 0 only because the price is unknown."""
        return f"${self.cost_usd:.4f}" + (" (price unknown)" if self.note else "")

    def summary(self) -> str:
        text = (
            f"Run {self.run_id} {self.status}: {self.n_done}/{self.n_tasks} tasks done"
            f", {self.n_failed} failed; tokens in {self.tokens_in:,}, out {self.tokens_out:,}"
            f"; cost {self.cost_text}"
        )
        if self.error:
            text += f"\n{self.error}"
        if self.note:
            text += f"\n{self.note}"
        return text


ProgressFn = Callable[[RunProgress], None]


def progress_of(
    run: JudgeRun, note: str | None = None, *, interrupted: bool = False
) -> RunProgress:
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
        interrupted=interrupted,
        kind=run.kind,
    )


def judge_spec(judge: Judge) -> JudgeSpec:
    return spec_of(judge).normalized()


def _run_row(session: Session, run_id: int) -> JudgeRun:
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


def _task_comparisons(session: Session, judge: Judge, campaign_id: int) -> list[int]:
    query = select(Comparison.id).where(
        Comparison.campaign_id == campaign_id,
        or_(Comparison.check_kind.is_(None), Comparison.check_kind != "attention"),
    )
    single = Comparison.output_a_id == Comparison.output_b_id
    query = query.where(single if judge.template_kind == "rubric" else ~single)
    return list(session.exec(query.order_by(Comparison.id)).all())


def create_run(
    engine: Engine,
    judge_id: int,
    campaign_id: int,
    *,
    actor_id: int,
    rerun: bool = False,
    limit: int | None = None,
) -> JudgeRun:
    """A run with one task per comparison and shown order still missing a verdict.

    ``rerun=True`` judges every comparison again (new judgment versions; cached replies make
    it free). ``limit`` takes the first N comparisons (a small trial).
    """
    with write_session(engine) as session:
        require_admin(session, actor_id)
        return _create_run(session, judge_id, campaign_id, rerun, limit)


def _create_run(
    session: Session, judge_id: int, campaign_id: int, rerun: bool, limit: int | None
) -> JudgeRun:
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
            f"Run {open_run} of judge '{judge_label(judge.name, judge.version)}'"
            f" on '{campaign.name}' is not"
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
                    Judgment.rater_key == judge_key(judge_id),
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


def get_run(engine: Engine, run_id: int) -> JudgeRun:
    with Session(engine, expire_on_commit=False) as session:
        return _run_row(session, run_id)


def resume_run(
    engine: Engine, run_id: int, *, actor_id: int, retry_failed: bool = True
) -> JudgeRun:
    """Make a cancelled, failed or interrupted run runnable again.

    Clears the cancel flag and, with ``retry_failed``, puts failed tasks back in the queue.
    Tasks claimed by live workers are left alone; dead workers' claims are released when
    the next worker starts.
    """
    with write_session(engine) as session:
        require_admin(session, actor_id)
        run = _run_row(session, run_id)
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


def request_cancel(engine: Engine, run_id: int, *, actor_id: int) -> JudgeRun:
    """Ask every worker on the run to stop after its current batch."""
    with write_session(engine) as session:
        require_admin(session, actor_id)
        run = _run_row(session, run_id)
        if run.status in FINISHED:
            return run
        run.cancel_requested = True
        if run.status == "pending":
            # Nobody is working on it: cancel at once.
            run.status = "cancelled"
        session.add(run)
        session.commit()
        return run


def run_status(engine: Engine, run_id: int) -> RunProgress:
    with Session(engine) as session:
        run = _run_row(session, run_id)
        model = _run_model(session, run)
        note = cost_of(model, 0, 0, load_prices()).note if model else None
        return progress_of(run, note)


def _run_model(session: Session, run: JudgeRun) -> str | None:
    if run.kind == "generate":
        config = session.get(CandidateConfig, run.candidate_config_id)
        return config.model if config else None
    judge = session.get(Judge, run.judge_id) if run.judge_id is not None else None
    return judge.model if judge else None


def list_runs(
    engine: Engine, campaign_id: int | None = None, *, actor_id: int, kind: str | None = "judge"
) -> list[RunProgress]:
    """Runs with progress, tokens and cost, newest first (admins only); judge runs only
    unless ``kind`` says otherwise ("generate", or None for every run).

    Each says when its cost is 0 because the model has no known price (``note``), and
    whether it was interrupted (open, but no worker has touched it for ``STALE_AFTER_S``).
    """
    prices = load_prices()
    with Session(engine) as session:
        require_admin(session, actor_id)
        query = (
            select(JudgeRun, func.coalesce(Judge.model, CandidateConfig.model))
            .outerjoin(Judge, Judge.id == JudgeRun.judge_id)
            .outerjoin(CandidateConfig, CandidateConfig.id == JudgeRun.candidate_config_id)
            .order_by(JudgeRun.id.desc())
        )
        if kind is not None:
            query = query.where(JudgeRun.kind == kind)
        if campaign_id is not None:
            query = query.where(JudgeRun.campaign_id == campaign_id)
        rows = session.exec(query).all()
        open_ids = [r.id for r, _ in rows if r.status not in FINISHED]
        touched = (
            dict(
                session.exec(
                    select(JudgeTask.run_id, func.max(JudgeTask.claimed_at))
                    .where(JudgeTask.run_id.in_(open_ids))
                    .group_by(JudgeTask.run_id)
                ).all()
            )
            if open_ids
            else {}
        )
    stale = _naive(utcnow()) - timedelta(seconds=STALE_AFTER_S)
    notes = {model: cost_of(model, 0, 0, prices).note for model in {m for _, m in rows}}
    return [
        progress_of(
            run,
            notes[model],
            interrupted=run.status not in FINISHED
            and _last_activity(run, touched.get(run.id)) < stale,
        )
        for run, model in rows
    ]


def _naive(moment: datetime) -> datetime:
    """UTC without tzinfo: SQLite hands datetimes back naive, PostgreSQL aware."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _last_activity(run: JudgeRun, last_claim: datetime | None) -> datetime:
    moments = [m for m in (run.created_at, run.started_at, last_claim) if m is not None]
    return max(_naive(m) for m in moments)
