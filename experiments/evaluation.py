"""Run an evaluation spec: generate what is missing, check, judge, decide every criterion.

``run_evaluation`` works in one campaign per (spec name, dataset version, split, sample,
seed), made from the dataset version, so running a spec again pays only for what is
missing: outputs a candidate already has are used as they are, and the judge's runs skip
comparisons it has already judged. Each run is recorded in ``eval_runs`` with the spec as
written and its results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.joins import CandA, CandB, comparison_joins
from db.models import (
    Campaign,
    Candidate,
    CheckResult,
    EvalRun,
    Judge,
    Judgment,
    Output,
    Prompt,
    utcnow,
)
from experiments.checks import compile_check
from experiments.spec import CriterionSpec, EvalSpec, parse_spec
from metrics.criteria import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    cluster_mean,
    cluster_quantile,
    judge_criterion,
)
from metrics.vocabulary import judge_key, judge_label

if TYPE_CHECKING:
    from experiments.datasets import VersionInfo
    from judges.runs import RunOptions

Progress = Callable[[str], None]
UNITS = {"win_rate": "share", "check_pass_rate": "share", "latency_quantile": "ms",
         "cost_mean": "USD"}  # fmt: skip


@dataclass(frozen=True)
class CriterionResult:
    criterion: str
    candidate: str
    statistic: str
    op: str
    threshold: float
    level: float
    value: float | None
    low: float | None
    high: float | None
    n: int
    n_prompts: int
    verdict: str

    def figure(self, x: float | None) -> str:
        return format_figure(self.statistic, x)

    def message(self) -> str:
        """The figure, its interval and the threshold, in one line."""
        if self.value is None:
            return (
                f"{self.verdict}: no data for {self.candidate} ({self.statistic}); threshold"
                f" {self.op} {self.figure(self.threshold)}"
            )
        bound = "lower" if self.op == ">=" else "upper"
        return (
            f"{self.verdict}: {self.figure(self.value)} ({self.level:.0%} CI"
            f" {self.figure(self.low)} to {self.figure(self.high)}, n={self.n} on"
            f" {self.n_prompts} prompts); needs the {bound} bound {self.op}"
            f" {self.figure(self.threshold)}"
        )


def format_figure(statistic: str, x: float | None) -> str:
    if x is None:
        return "—"
    if statistic in ("win_rate", "check_pass_rate"):
        return f"{x:.1%}"
    if statistic == "latency_quantile":
        return f"{x:,.0f} ms"
    return f"${x:.5f}"


@dataclass(frozen=True)
class CandidateStats:
    candidate: str
    n_outputs: int
    cost_total_usd: float
    cost_mean_usd: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    checks_passed: int
    checks_run: int


@dataclass(frozen=True)
class Regression:
    """A prompt where every scored verdict of the judge preferred the baseline."""

    candidate: str
    judge: str
    prompt: str
    n_verdicts: int


@dataclass(frozen=True)
class EvaluationResult:
    eval_run_id: int
    name: str
    dataset: str
    split: str
    sample: int | None
    seed: int
    campaign: str
    n_prompts: int
    baseline: str
    verdict: str
    criteria: tuple[CriterionResult, ...]
    candidates: tuple[CandidateStats, ...]
    regressions: tuple[Regression, ...]
    inconclusive_exit: int = 2

    def exit_code(self, inconclusive_exit: int | None = None) -> int:
        """0 PASS, 1 FAIL, INCONCLUSIVE ``inconclusive_exit`` (the spec's unless given)."""
        if self.verdict == PASS:
            return 0
        if self.verdict == FAIL:
            return 1
        return self.inconclusive_exit if inconclusive_exit is None else inconclusive_exit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def campaign_name(spec: EvalSpec, ref: str, split: str, sample: int | None, seed: int) -> str:
    drawn = f" n={sample} seed={seed}" if sample is not None else ""
    return f"eval {spec.name} {ref} {split}{drawn}"


def run_evaluation(
    engine: Engine,
    spec: EvalSpec,
    *,
    actor_id: int,
    sample: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    options: RunOptions | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Run ``spec`` (admins only): ``sample`` N draws N prompts of the dev split with
    ``seed`` (rapid tier); without it the whole eval split is used (pre-release tier).
    ``options`` are the workers' ``judges.runs.RunOptions``."""
    from experiments.datasets import resolve_version

    say = progress or (lambda _m: None)
    with Session(engine) as s:
        require_admin(s, actor_id)
    if sample is not None and sample < 1:
        raise InvalidInputError(f"--sample must be at least 1 (got {sample}).")
    info = resolve_version(engine, spec.dataset.ref)
    split = spec.dataset.dev_split if sample is not None else spec.dataset.eval_split
    judges = [_judge_for(engine, spec, name) for name in spec.judges]
    _check_candidates(engine, spec)
    with write_session(engine) as s:
        row = EvalRun(
            name=spec.name,
            spec_text=spec.text,
            spec_hash=spec.content_hash,
            dataset_version_id=info.version_id,
            split=split,
            sample_size=sample,
            seed=seed,
            created_by=actor_id,
        )
        s.add(row)
        s.commit()
        run_id = int(row.id)
    try:
        result = _run(engine, spec, run_id, info, split, sample, seed, judges, actor_id, say,
                      options, secrets)  # fmt: skip
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        with write_session(engine) as s:
            failed = s.get(EvalRun, run_id)
            failed.status, failed.error, failed.finished_at = "failed", reason, utcnow()
            s.add(failed)
            s.commit()
        raise
    with write_session(engine) as s:
        done = s.get(EvalRun, run_id)
        done.status, done.verdict, done.finished_at = "done", result.verdict, utcnow()
        done.results = _jsonable(result.to_dict())
        s.add(done)
        s.commit()
    return result


def _judge_for(engine: Engine, spec: EvalSpec, name: str) -> Judge:
    """The judge ``name`` of the spec, refused when its kind does not fit its criteria."""
    from judges.config import get_judge

    judge = get_judge(engine, name)
    label = judge_label(judge.name, judge.version)
    rubric = judge.template_kind == "rubric"
    if rubric and not spec.rubric:
        raise InvalidInputError(
            f"Judge '{label}' grades on a rubric, but the spec has no [[rubric]] criteria:"
            " add them, or name a pairwise judge."
        )
    for c in spec.criteria:
        if c.judge != name:
            continue
        if c.statistic == "win_rate" and rubric:
            raise InvalidInputError(
                f"Criterion '{c.name}' reads a win rate, but judge '{label}' grades on a"
                " rubric: name a pairwise judge for it."
            )
        if c.statistic == "rubric_mean" and not rubric:
            raise InvalidInputError(
                f"Criterion '{c.name}' reads a rubric mean, but judge '{label}' compares"
                " pairs: name a rubric judge (template kind rubric) for it."
            )
    return judge


def _check_candidates(engine: Engine, spec: EvalSpec) -> None:
    from experiments.candidates import get_candidate

    for ref in spec.candidates:
        get_candidate(engine, ref)


def _run(
    engine: Engine,
    spec: EvalSpec,
    run_id: int,
    info: VersionInfo,
    split: str,
    sample: int | None,
    seed: int,
    judges: list[Judge],
    actor_id: int,
    say: Progress,
    options: RunOptions | None,
    secrets: Mapping[str, Any] | None,
) -> EvaluationResult:
    from annotate.pairing import generate_comparisons
    from experiments.generation import create_generation_run, generation_summary
    from judges.worker import run_blocking

    name = campaign_name(spec, info.ref, split, sample, seed)
    labels: dict[str, str] = {}
    campaign_id = None
    for ref in spec.candidates:
        gen = create_generation_run(
            engine, info.ref, ref, actor_id=actor_id, split=split, sample=sample, seed=seed,
            campaign=name,
        )  # fmt: skip
        labels[ref], campaign_id = gen.candidate, gen.campaign_id
        if gen.n_tasks:
            say(f"Generating {gen.n_tasks:,} outputs of {gen.candidate} (run {gen.run_id})")
            run_blocking(engine, gen.run_id, options, secrets=secrets)
            summary = generation_summary(engine, gen.run_id)
            if summary.n_failed or summary.status != "done":
                raise InvalidInputError(
                    f"Generating {gen.candidate}'s outputs failed for {summary.n_failed:,}"
                    f" prompts (run {gen.run_id} {summary.status}): {summary.error or ''}"
                    f" Resume it (judgeboard generate --resume {gen.run_id}), then run the"
                    " evaluation again."
                )
    assert campaign_id is not None
    with write_session(engine) as s:
        row = s.get(EvalRun, run_id)
        row.campaign_id = campaign_id
        s.add(row)
        s.commit()
    prompt_ids = _scope(engine, campaign_id, info, split, sample, seed)
    baseline = labels[spec.baseline]
    outputs = _outputs(engine, prompt_ids, set(labels.values()))
    say(f"Running {len(spec.checks)} checks on {len(outputs):,} outputs")
    checks = _run_checks(engine, spec, outputs)
    pairwise = [(n, j) for n, j in zip(spec.judges, judges, strict=True)
                if j.template_kind != "rubric"]  # fmt: skip
    graders = [(n, j) for n, j in zip(spec.judges, judges, strict=True)
               if j.template_kind == "rubric"]  # fmt: skip
    if pairwise:
        generate_comparisons(engine, campaign_id, "baseline", baseline=baseline,
                             actor_id=actor_id)  # fmt: skip
    for _name, judge in pairwise:
        _judge_campaign(engine, judge, campaign_id, actor_id, say, options, secrets)
    verdicts = {
        n: _verdicts(engine, campaign_id, j.id, set(prompt_ids), baseline) for n, j in pairwise
    }
    scores: dict[str, list[_Score]] = {}
    if graders:
        rubric_id = _rubric_campaign(engine, spec, name, outputs, actor_id)
        for n, judge in graders:
            _judge_campaign(engine, judge, rubric_id, actor_id, say, options, secrets)
            scores[n] = _scores(engine, rubric_id, judge.id, outputs)
    results: list[CriterionResult] = []
    for c in spec.criteria:
        targets = [c.candidate] if c.candidate else list(spec.compare)
        for ref in targets:
            results.append(
                _criterion(
                    c,
                    labels[ref],
                    outputs,
                    checks,
                    verdicts.get(c.judge or "", []),
                    scores.get(c.judge or "", []),
                    spec.bootstrap_rounds,
                )  # fmt: skip
            )
    verdict = _overall(r.verdict for r in results)
    stats = tuple(_candidate_stats(labels[ref], outputs, checks) for ref in spec.candidates)
    external = _external_ids(engine, prompt_ids)
    regressions = tuple(reg for n, vs in verdicts.items() for reg in _regressions(vs, n, external))
    return EvaluationResult(
        eval_run_id=run_id,
        name=spec.name,
        dataset=info.ref,
        split=split,
        sample=sample,
        seed=seed,
        campaign=name,
        n_prompts=len(prompt_ids),
        baseline=baseline,
        verdict=verdict,
        criteria=tuple(results),
        candidates=stats,
        regressions=regressions,
        inconclusive_exit=spec.inconclusive_exit,
    )


def _overall(verdicts: Any) -> str:
    seen = set(verdicts)
    if FAIL in seen:
        return FAIL
    return INCONCLUSIVE if INCONCLUSIVE in seen else PASS


def _scope(
    engine: Engine, campaign_id: int, info: VersionInfo, split: str, sample: int | None, seed: int
) -> list[int]:
    """The prompts this evaluation is judged on: the split, or its seeded sample (the same
    draw ``create_generation_run`` made)."""
    from experiments.generation import _prompts
    from experiments.sampling import stratified_sample

    with Session(engine) as s:
        camp = s.get(Campaign, campaign_id)
        prompts = _prompts(s, camp, info, split)
    if sample is not None:
        prompts = stratified_sample(
            prompts, sample, seed, item_id=lambda p: p[1], stratum=lambda p: p[2]
        )
    return [p[0] for p in prompts]


@dataclass(frozen=True)
class _Out:
    id: int
    prompt_id: int
    candidate: str
    content: str
    latency_ms: float | None
    cost_usd: float | None
    cached: bool


def _outputs(engine: Engine, prompt_ids: list[int], candidates: set[str]) -> list[_Out]:
    with Session(engine) as s:
        rows = s.exec(
            select(Output, Candidate.name)
            .join(Candidate, Candidate.id == Output.candidate_id)
            .where(Output.prompt_id.in_(prompt_ids), Candidate.name.in_(candidates))
            .order_by(Output.id)
        ).all()
    return [
        _Out(
            o.id,
            o.prompt_id,
            name,
            o.content,
            o.latency_ms,
            o.cost_usd,
            bool((o.meta or {}).get("cached")),
        )  # fmt: skip
        for o, name in rows
    ]


def _run_checks(engine: Engine, spec: EvalSpec, outputs: list[_Out]) -> dict[int, dict[str, bool]]:
    """Every check on every output; stored per (output, check), replacing older results."""
    passed: dict[int, dict[str, bool]] = {o.id: {} for o in outputs}
    if not spec.checks or not outputs:
        return passed
    fns = [(c.name, compile_check(c)) for c in spec.checks]
    now = utcnow()
    rows = []
    for o in outputs:
        for name, fn in fns:
            r = fn(o.content)
            passed[o.id][name] = r.passed
            rows.append({"output_id": o.id, "check_name": name, "passed": r.passed,
                         "detail": r.detail, "created_at": now})  # fmt: skip
    ids = [o.id for o in outputs]
    names = [c.name for c in spec.checks]
    with write_session(engine) as s:
        for start in range(0, len(ids), 1000):
            s.execute(
                delete(CheckResult).where(
                    CheckResult.output_id.in_(ids[start : start + 1000]),
                    CheckResult.check_name.in_(names),
                )
            )
        for start in range(0, len(rows), 5000):
            s.execute(insert(CheckResult), rows[start : start + 5000])
        s.commit()
    return passed


@dataclass(frozen=True)
class _Verdict:
    prompt_id: int
    candidate: str
    score: float


def _verdicts(
    engine: Engine, campaign_id: int, judge_id: int, prompts: set[int], baseline: str
) -> list[_Verdict]:
    """Each scored verdict of the judge on (candidate, baseline), as the candidate's score:
    1 won, 0.5 tie, 0 lost. Preference: negative = A better."""
    query = comparison_joins(select(Judgment.preference, Prompt.id, CandA.name, CandB.name)).where(
        Judgment.campaign_id == campaign_id,
        Judgment.rater_key == judge_key(judge_id),
        Judgment.is_current,
        Judgment.preference.is_not(None),
    )
    with Session(engine) as s:
        rows = s.exec(query).all()
    out = []
    for pref, pid, a, b in rows:
        if pid not in prompts or baseline not in (a, b) or a == b:
            continue
        candidate, as_a = (b, False) if a == baseline else (a, True)
        won = pref < 0 if as_a else pref > 0
        out.append(_Verdict(pid, candidate, 0.5 if pref == 0 else float(won)))
    return out


def _judge_campaign(
    engine: Engine,
    judge: Judge,
    campaign_id: int,
    actor_id: int,
    say: Progress,
    options: RunOptions | None,
    secrets: Mapping[str, Any] | None,
) -> None:
    from judges.runs import create_run
    from judges.worker import run_blocking

    run = create_run(engine, judge.id, campaign_id, actor_id=actor_id)
    if not run.n_tasks:
        return
    label = judge_label(judge.name, judge.version)
    say(f"Judging {run.n_tasks:,} items with {label} (run {run.id})")
    progress = run_blocking(engine, run.id, options, secrets=secrets)
    if progress.n_failed or progress.status != "done":
        raise InvalidInputError(
            f"Judge run {run.id} of {label} left {progress.n_failed:,} verdicts missing"
            f" ({progress.status}): {progress.error or ''} Resume it (judgeboard judge run"
            f" --resume {run.id}), then run the evaluation again."
        )


def _rubric_campaign(
    engine: Engine, spec: EvalSpec, name: str, outputs: list[_Out], actor_id: int
) -> int:
    """The rubric campaign beside the evaluation's: the same prompts and outputs (copied,
    each remembering the output it copies in ``meta.copy_of``), one single-output item per
    output. Named with a hash of the rubric, so a changed rubric gets a campaign of its own."""
    import hashlib

    from annotate.campaigns import CriterionSpec as RubricCriterion
    from annotate.campaigns import create_campaign
    from annotate.pairing import generate_comparisons
    from db.upsert import insert_ignore

    digest = hashlib.sha256(
        repr([(r.name, r.description, r.scale) for r in spec.rubric]).encode()
    ).hexdigest()[:8]
    criteria = [RubricCriterion(r.name, r.description, r.scale) for r in spec.rubric]
    camp = create_campaign(
        engine, f"{name} rubric {digest}", actor_id=actor_id, mode="rubric", criteria=criteria
    )
    with write_session(engine) as s:
        source = s.exec(select(Prompt).where(Prompt.id.in_({o.prompt_id for o in outputs}))).all()
        conn = s.connection()
        insert_ignore(
            conn,
            Prompt.__table__,
            [
                {"campaign_id": camp.id, "external_id": p.external_id, "messages": p.messages,
                 "reference": p.reference, "category": p.category, "split": p.split,
                 "meta": p.meta, "dataset_version_id": p.dataset_version_id}
                for p in source
            ],
        )  # fmt: skip
        mapping = dict(
            s.exec(select(Prompt.external_id, Prompt.id).where(Prompt.campaign_id == camp.id)).all()
        )
        external = {p.id: p.external_id for p in source}
        candidate_ids = dict(s.exec(select(Candidate.name, Candidate.id)).all())
        insert_ignore(
            conn,
            Output.__table__,
            [
                {"prompt_id": mapping[external[o.prompt_id]],
                 "candidate_id": candidate_ids[o.candidate], "content": o.content,
                 "meta": {"copy_of": o.id}}
                for o in outputs
            ],
        )  # fmt: skip
        s.commit()
    generate_comparisons(engine, camp.id, actor_id=actor_id)
    return int(camp.id)


@dataclass(frozen=True)
class _Score:
    prompt_id: int
    candidate: str
    criterion: str
    value: float


def _scores(engine: Engine, campaign_id: int, judge_id: int, outputs: list[_Out]) -> list[_Score]:
    """The judge's current rubric scores, mapped back to the evaluation's prompts."""
    from db.models import JudgmentScore, RubricCriterion

    with Session(engine) as s:
        rows = s.exec(
            select(JudgmentScore.value, RubricCriterion.name, Output.meta, Candidate.name)
            .join(Judgment, Judgment.id == JudgmentScore.judgment_id)
            .join(RubricCriterion, RubricCriterion.id == JudgmentScore.criterion_id)
            .join(Output, Output.id == JudgmentScore.output_id)
            .join(Candidate, Candidate.id == Output.candidate_id)
            .where(
                Judgment.campaign_id == campaign_id,
                Judgment.rater_key == judge_key(judge_id),
                Judgment.is_current,
            )
        ).all()
    prompt_of = {o.id: o.prompt_id for o in outputs}
    return [
        _Score(prompt_of[int(meta["copy_of"])], cand, criterion, float(value))
        for value, criterion, meta, cand in rows
        if meta and int(meta.get("copy_of", -1)) in prompt_of
    ]


def _criterion(
    c: CriterionSpec,
    candidate: str,
    outputs: list[_Out],
    checks: dict[int, dict[str, bool]],
    verdicts: list[_Verdict],
    scores: list[_Score],
    rounds: int,
) -> CriterionResult:
    mine = [o for o in outputs if o.candidate == candidate]
    if c.statistic == "win_rate":
        vs = [v for v in verdicts if v.candidate == candidate]
        values = np.array([v.score for v in vs])
        clusters = np.array([v.prompt_id for v in vs])
    elif c.statistic == "rubric_mean":
        ss = [x for x in scores if x.candidate == candidate and x.criterion == c.rubric]
        values = np.array([x.value for x in ss])
        clusters = np.array([x.prompt_id for x in ss])
    elif c.statistic == "check_pass_rate":
        values = np.array([
            float(checks[o.id][c.check] if c.check else all(checks[o.id].values()))
            for o in mine
        ])  # fmt: skip
        clusters = np.array([o.prompt_id for o in mine])
    elif c.statistic == "latency_quantile":
        timed = [o for o in mine if o.latency_ms is not None]
        values = np.array([o.latency_ms for o in timed])
        clusters = np.array([o.prompt_id for o in timed])
    else:
        paid = [o for o in mine if o.cost_usd is not None and not o.cached]
        values = np.array([o.cost_usd for o in paid])
        clusters = np.array([o.prompt_id for o in paid])
    if c.statistic == "latency_quantile":
        est = cluster_quantile(values, clusters, c.quantile, level=c.level, rounds=rounds)
    else:
        est = cluster_mean(values, clusters, level=c.level, rounds=rounds)
    return CriterionResult(
        criterion=c.name,
        candidate=candidate,
        statistic=c.statistic,
        op=c.op,
        threshold=c.threshold,
        level=c.level,
        value=_finite(est.value),
        low=_finite(est.low),
        high=_finite(est.high),
        n=est.n,
        n_prompts=est.n_clusters,
        verdict=judge_criterion(est, c.threshold, c.op),
    )


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _candidate_stats(
    candidate: str, outputs: list[_Out], checks: dict[int, dict[str, bool]]
) -> CandidateStats:
    mine = [o for o in outputs if o.candidate == candidate]
    costs = [o.cost_usd for o in mine if o.cost_usd is not None and not o.cached]
    latencies = [o.latency_ms for o in mine if o.latency_ms is not None]
    results = [ok for o in mine for ok in checks[o.id].values()]
    return CandidateStats(
        candidate=candidate,
        n_outputs=len(mine),
        cost_total_usd=float(sum(costs)),
        cost_mean_usd=float(np.mean(costs)) if costs else None,
        p50_latency_ms=float(np.percentile(latencies, 50)) if latencies else None,
        p95_latency_ms=float(np.percentile(latencies, 95)) if latencies else None,
        checks_passed=sum(results),
        checks_run=len(results),
    )


def _regressions(
    verdicts: list[_Verdict], judge: str, external: dict[int, str]
) -> list[Regression]:
    by: dict[tuple[str, str], list[float]] = {}
    for v in verdicts:
        by.setdefault((v.candidate, external[v.prompt_id]), []).append(v.score)
    return [
        Regression(candidate, judge, prompt, len(scores))
        for (candidate, prompt), scores in sorted(by.items())
        if scores and all(x == 0.0 for x in scores)
    ]


def _external_ids(engine: Engine, prompt_ids: list[int]) -> dict[int, str]:
    with Session(engine) as s:
        rows = s.exec(select(Prompt.id, Prompt.external_id).where(Prompt.id.in_(prompt_ids))).all()
    return dict(rows)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


@dataclass(frozen=True)
class EvalRunInfo:
    id: int
    name: str
    dataset: str
    split: str
    sample_size: int | None
    seed: int
    status: str
    verdict: str | None
    spec_hash: str
    created_at: Any
    error: str | None


def list_eval_runs(engine: Engine, *, actor_id: int, limit: int = 50) -> list[EvalRunInfo]:
    """The latest evaluation runs, newest first (admins only)."""
    from db.models import Dataset, DatasetVersion

    with Session(engine) as s:
        require_admin(s, actor_id)
        rows = s.exec(
            select(EvalRun, Dataset.name, DatasetVersion.version)
            .join(DatasetVersion, DatasetVersion.id == EvalRun.dataset_version_id)
            .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
            .order_by(EvalRun.id.desc())
            .limit(limit)
        ).all()
    return [
        EvalRunInfo(
            r.id,
            r.name,
            f"{d}@{v}",
            r.split,
            r.sample_size,
            r.seed,
            r.status,
            r.verdict,
            r.spec_hash,
            r.created_at,
            r.error,
        )  # fmt: skip
        for r, d, v in rows
    ]


def get_eval_run(engine: Engine, run_id: int, *, actor_id: int) -> tuple[EvalSpec, EvalRun]:
    """A recorded run and its spec, parsed again from the text it was run with."""
    with Session(engine, expire_on_commit=False) as s:
        require_admin(s, actor_id)
        row = s.get(EvalRun, run_id)
        if row is None:
            raise NotFoundError(
                f"No evaluation run {run_id}: list them with 'judgeboard eval list'."
            )
    return parse_spec(row.spec_text, f"eval run {run_id}"), row
