"""Candidates that generate: a run of the one runner that turns a dataset version's prompts
into a candidate config's outputs (issue 15, point 2).

``create_generation_run`` finds or makes the campaign holding the version's prompts, the
``Candidate`` named after the config (``name@v2``), draws the prompts (a split, optionally a
seeded stratified sample) and makes one task per prompt that has no output of that candidate
yet. Workers (``judges.worker``: ``run_blocking``, ``judgeboard judge work RUN_ID``) do the
rest with the judge runs' guarantees: concurrency and rpm limits, retries honouring
Retry-After, the response cache, resumable after a kill, several workers on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import (
    Campaign,
    Candidate,
    CandidateConfig,
    Dataset,
    DatasetVersion,
    JudgeRun,
    JudgeTask,
    Output,
    Prompt,
    utcnow,
)
from experiments.candidates import _get, parse_candidate_ref
from experiments.datasets import VersionInfo, create_campaign_from_dataset, resolve_version
from experiments.sampling import stratified_sample
from judges.candidates import candidate_label
from judges.runs import FINISHED


@dataclass(frozen=True)
class GenerationRun:
    run_id: int
    campaign_id: int
    campaign: str
    candidate: str
    dataset: str
    n_prompts: int
    n_tasks: int
    created_campaign: bool

    def summary(self) -> str:
        made = " (new campaign)" if self.created_campaign else ""
        already = self.n_prompts - self.n_tasks
        have = f"; {already:,} already have an output" if already else ""
        return (
            f"Run {self.run_id}: {self.candidate} on {self.n_prompts:,} prompts of"
            f" {self.dataset} in campaign '{self.campaign}'{made}{have}."
        )


def default_campaign_name(ref: str, split: str | None) -> str:
    return f"{ref} {split}" if split else ref


def create_generation_run(
    engine: Engine,
    dataset: str,
    candidate: str,
    *,
    actor_id: int,
    split: str | None = None,
    sample: int | None = None,
    seed: int = 0,
    campaign: str | None = None,
) -> GenerationRun:
    """A generation run of candidate config ``candidate`` (NAME or NAME@vN) on dataset
    version ``dataset`` (NAME or NAME@VERSION); admins only.

    The campaign (``campaign``, default "<dataset>@<version>[ <split>]") is made from the
    version when it does not exist; an existing one must have been made from that version.
    """
    with Session(engine) as s:
        require_admin(s, actor_id)
    info = resolve_version(engine, dataset)
    name = (campaign or default_campaign_name(info.ref, split)).strip()
    created = False
    with Session(engine) as s:
        existing = s.exec(select(Campaign).where(Campaign.name == name)).first()
        if existing is not None:
            _check_campaign_version(s, existing, info)
    if existing is None:
        create_campaign_from_dataset(engine, info.ref, name, actor_id=actor_id, split=split)
        created = True
    config_name, version = parse_candidate_ref(candidate)
    with write_session(engine) as s:
        require_admin(s, actor_id)
        config = _get(s, config_name, version)
        camp = s.exec(select(Campaign).where(Campaign.name == name)).one()
        _check_open_run(s, config, camp)
        cand = _candidate_of(s, config)
        prompts = _prompts(s, camp, info, split)
        if sample is not None:
            prompts = stratified_sample(
                prompts, sample, seed, item_id=lambda p: p[1], stratum=lambda p: p[2]
            )
        have = set(
            s.exec(
                select(Output.prompt_id).where(
                    Output.candidate_id == cand.id,
                    Output.prompt_id.in_([p[0] for p in prompts]),
                )
            ).all()
        )
        todo = [p[0] for p in prompts if p[0] not in have]
        run = JudgeRun(
            kind="generate",
            candidate_config_id=config.id,
            campaign_id=camp.id,
            n_tasks=len(todo),
        )
        if not todo:
            run.status, run.finished_at = "done", utcnow()
        s.add(run)
        s.flush()
        if todo:
            s.execute(
                insert(JudgeTask),
                [{"run_id": run.id, "prompt_id": pid, "status": "pending"} for pid in todo],
            )
        s.commit()
        return GenerationRun(
            run.id, camp.id, camp.name, cand.name, info.ref, len(prompts), len(todo), created
        )


def _check_campaign_version(s: Session, camp: Campaign, info: VersionInfo) -> None:
    if camp.dataset_version_id == info.version_id:
        return
    if camp.dataset_version_id is None:
        origin = "imported outputs, not a dataset version"
    else:
        version = s.get(DatasetVersion, camp.dataset_version_id)
        origin = f"{s.get(Dataset, version.dataset_id).name}@{version.version}"
    raise InvalidInputError(
        f"Campaign '{camp.name}' was made from {origin}, not {info.ref}: generate into"
        f" another campaign (--campaign NEW_NAME) or pick the dataset version it was made from."
    )


def _check_open_run(s: Session, config: CandidateConfig, camp: Campaign) -> None:
    open_run = s.exec(
        select(JudgeRun.id).where(
            JudgeRun.kind == "generate",
            JudgeRun.candidate_config_id == config.id,
            JudgeRun.campaign_id == camp.id,
            JudgeRun.status.not_in(FINISHED),
        )
    ).first()
    if open_run is not None:
        raise InvalidInputError(
            f"Run {open_run} of {candidate_label(config.name, config.version)} on"
            f" '{camp.name}' is not finished: resume it (judgeboard generate --resume"
            f" {open_run}) or cancel it (judgeboard judge cancel {open_run})."
        )


def _candidate_of(s: Session, config: CandidateConfig) -> Candidate:
    label = candidate_label(config.name, config.version)
    cand = s.exec(select(Candidate).where(Candidate.name == label)).first()
    if cand is None:
        cand = Candidate(
            name=label,
            version=str(config.version),
            config_id=config.id,
            meta={"model": config.model, "provider": config.provider,
                  "config": config.content_hash},
        )  # fmt: skip
        s.add(cand)
        s.flush()
    elif cand.config_id != config.id:
        raise InvalidInputError(
            f"A candidate named '{label}' already exists and was not generated by that config"
            " (imported outputs?): save the config under another name"
            " (judgeboard candidate add OTHER_NAME ...)."
        )
    return cand


def _prompts(
    s: Session, camp: Campaign, info: VersionInfo, split: str | None
) -> list[tuple[int, str, str | None]]:
    query = select(Prompt.id, Prompt.external_id, Prompt.category).where(
        Prompt.campaign_id == camp.id, Prompt.dataset_version_id == info.version_id
    )
    if split is not None:
        query = query.where(Prompt.split == split)
    rows = [tuple(r) for r in s.exec(query.order_by(Prompt.external_id)).all()]
    if not rows:
        splits = s.exec(select(Prompt.split).where(Prompt.campaign_id == camp.id).distinct()).all()
        names = ", ".join(sorted(str(x) for x in splits if x is not None)) or "none"
        raise NotFoundError(
            f"Campaign '{camp.name}' holds no prompts of {info.ref}"
            + (f" in split '{split}'" if split else "")
            + f": its splits are {names}. Pick one of them, or another --campaign."
        )
    return rows  # type: ignore[return-value]


@dataclass(frozen=True)
class GenerationSummary:
    run_id: int
    status: str
    candidate: str
    n_tasks: int
    n_made: int
    n_cached: int
    n_failed: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    error: str | None = None
    note: str | None = None

    def summary(self) -> str:
        def ms(v: float | None) -> str:
            return "—" if v is None else f"{v:,.0f} ms"

        text = (
            f"Run {self.run_id} {self.status}: {self.candidate} made {self.n_made:,} of"
            f" {self.n_tasks:,} outputs ({self.n_cached:,} from the cache), {self.n_failed:,}"
            f" failed; tokens in {self.tokens_in:,}, out {self.tokens_out:,}; cost"
            f" ${self.cost_usd:.4f}{' (price unknown)' if self.note else ''};"
            f" latency p50 {ms(self.p50_latency_ms)}, p95 {ms(self.p95_latency_ms)}"
        )
        for extra in (self.error, self.note):
            if extra:
                text += f"\n{extra}"
        return text


def generation_summary(engine: Engine, run_id: int) -> GenerationSummary:
    """What a generation run made: outputs, cache hits, failures, tokens, cost, latency."""
    import numpy as np

    from judges.runs import run_status

    progress = run_status(engine, run_id)
    with Session(engine) as s:
        run = s.get(JudgeRun, run_id)
        if run.kind != "generate":
            raise InvalidInputError(
                f"Run {run_id} is a judge run: see it with 'judgeboard judge runs'."
            )
        cand = s.exec(select(Candidate).where(Candidate.config_id == run.candidate_config_id)).one()
        outputs = s.exec(
            select(Output)
            .join(JudgeTask, JudgeTask.prompt_id == Output.prompt_id)
            .where(JudgeTask.run_id == run_id, Output.candidate_id == cand.id)
        ).all()
    mine = [o for o in outputs if (o.meta or {}).get("run_id") == run_id]
    latencies = [o.latency_ms for o in mine if o.latency_ms is not None]
    p50, p95 = (
        (float(np.percentile(latencies, 50)), float(np.percentile(latencies, 95)))
        if latencies
        else (None, None)
    )
    return GenerationSummary(
        run_id=run_id,
        status=progress.status,
        candidate=cand.name,
        n_tasks=progress.n_tasks,
        n_made=progress.n_done,
        n_cached=sum(1 for o in mine if (o.meta or {}).get("cached")),
        n_failed=progress.n_failed,
        tokens_in=sum(int((o.meta or {}).get("tokens_in") or 0) for o in mine),
        tokens_out=sum(int(o.tokens or 0) for o in mine),
        cost_usd=sum(o.cost_usd or 0.0 for o in mine),
        p50_latency_ms=p50,
        p95_latency_ms=p95,
        error=progress.error,
        note=progress.note,
    )
