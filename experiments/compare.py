"""Compare two evaluation runs prompt by prompt: ``judgeboard eval compare RUN_A RUN_B``.

Both runs must be on the same dataset version; their prompts are matched by the dataset's
prompt id, and only prompts scored in both runs count. In each run a candidate's score on a
prompt is its share of the judge's verdicts against the run's baseline (won 1, tie 0.5,
lost 0; the two position-swapped verdicts averaged). The comparison is B − A of those
scores per prompt (``metrics.paired``), with cost and latency deltas and the regressions:
prompts where B's candidate lost every verdict (both orders) while A's did not.

Which candidates: ``candidate`` names a compared candidate of run A (its spec name, its
label ``name@vN`` or the label's name), ``candidate_b`` the one of run B (default: the same
name). Without them, the one compared candidate both specs name, else — when each run
compares exactly one — those two (a new prompt or model is usually a new candidate).

The judge: ``judge`` (a name in both specs) or the first pairwise judge of run A's spec;
in each run its latest version with verdicts in the run's campaign. Votes on retired
comparisons and of excluded raters do not count (``results.votes.VoteFilter``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sqlalchemy import Float, case, cast, func
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from db.access import require_admin
from db.errors import InvalidInputError, NotFoundError
from db.models import (
    Candidate,
    Comparison,
    Dataset,
    DatasetVersion,
    EvalRun,
    Judge,
    Judgment,
    Output,
    Prompt,
)
from experiments.spec import EvalSpec, parse_spec
from metrics.paired import CategoryDifference, PairedDifference, by_category, paired_difference
from metrics.vocabulary import judge_label
from results.votes import VoteFilter, scoped

NO_CATEGORY = "(none)"
DEFAULT_REGRESSIONS = 100


@dataclass(frozen=True)
class RunSide:
    """One run's side of the comparison, over the shared prompts."""

    eval_run_id: int
    name: str
    split: str
    sample: int | None
    campaign_id: int
    candidate: str
    baseline: str
    judge: str
    n_scored: int
    win_rate: float
    cost_mean_usd: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    baseline_cost_mean_usd: float | None
    baseline_p95_latency_ms: float | None


@dataclass(frozen=True)
class RegressionPair:
    """A prompt where B's candidate lost every verdict to the baseline and A's did not."""

    prompt: str
    category: str
    prompt_text: str
    score_a: float
    score_b: float
    output_a: str
    output_b: str


@dataclass(frozen=True)
class RunComparison:
    dataset: str
    a: RunSide
    b: RunSide
    n_shared: int
    n_only_a: int
    n_only_b: int
    overall: PairedDifference
    categories: tuple[CategoryDifference, ...]
    cost_delta_usd: float | None
    p50_delta_ms: float | None
    p95_delta_ms: float | None
    n_regressions: int
    regressions: tuple[RegressionPair, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mdd_sentence"] = self.overall.sentence()
        return out


@dataclass(frozen=True)
class _Run:
    row: EvalRun
    spec: EvalSpec
    labels: dict[str, str]
    baseline: str


def _load(s: Session, run_id: int) -> _Run:
    row = s.get(EvalRun, run_id)
    if row is None:
        raise NotFoundError(f"No evaluation run {run_id}: list them with 'judgeboard eval list'.")
    if row.status != "done" or not row.results or row.campaign_id is None:
        raise InvalidInputError(
            f"Evaluation run {run_id} is {row.status}, not done: compare finished runs"
            " (judgeboard eval list), or run the spec again."
        )
    spec = parse_spec(row.spec_text, f"eval run {run_id}")
    stats = row.results.get("candidates") or []
    labels = {ref: str(c["candidate"]) for ref, c in zip(spec.candidates, stats, strict=False)}
    return _Run(row, spec, labels, str(row.results.get("baseline", labels.get(spec.baseline))))


def _version_ref(s: Session, version_id: int) -> str:
    name, number = s.exec(
        select(Dataset.name, DatasetVersion.version)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(DatasetVersion.id == version_id)
    ).one()
    return f"{name}@{number}"


def _compared(run: _Run) -> dict[str, str]:
    """The run's compared candidates: spec name -> label."""
    return {ref: run.labels[ref] for ref in run.spec.compare if ref in run.labels}


def _pick(run: _Run, name: str) -> str | None:
    for ref, label in _compared(run).items():
        if name in (ref, label, label.rpartition("@")[0]):
            return label
    return None


def _candidates(
    a: _Run, b: _Run, candidate: str | None, candidate_b: str | None
) -> tuple[str, str]:
    ca, cb = _compared(a), _compared(b)
    if candidate is None and candidate_b is None:
        shared = [ref for ref in ca if ref in cb]
        if len(shared) == 1:
            return ca[shared[0]], cb[shared[0]]
        if not shared and len(ca) == 1 and len(cb) == 1:
            return next(iter(ca.values())), next(iter(cb.values()))
        raise InvalidInputError(
            f"Run {a.row.id} compares {', '.join(ca.values()) or 'nothing'} and run {b.row.id}"
            f" compares {', '.join(cb.values()) or 'nothing'}: pick one with --candidate NAME"
            " (and --candidate-b NAME when run B's is named differently)."
        )
    picked = []
    for run, name, names in ((a, candidate, ca), (b, candidate_b or candidate, cb)):
        if name is None and len(names) == 1:
            picked.append(next(iter(names.values())))
            continue
        label = None if name is None else _pick(run, name)
        if label is None:
            raise InvalidInputError(
                f"Run {run.row.id} compares no candidate '{name or ''}': name one of"
                f" {', '.join(names.values()) or 'none'} with --candidate."
            )
        picked.append(label)
    return picked[0], picked[1]


def _judge(s: Session, run: _Run, name: str, campaign_id: int) -> Judge:
    judged = (
        select(Judgment.judge_id)
        .where(Judgment.campaign_id == campaign_id, Judgment.rater_kind == "llm")
        .distinct()
    )
    found = s.exec(
        select(Judge)
        .where(Judge.name == name, Judge.id.in_(judged), Judge.template_kind != "rubric")
        .order_by(Judge.version.desc(), Judge.id.desc())
    ).first()
    if found is None:
        raise InvalidInputError(
            f"Judge '{name}' has no pairwise verdicts in run {run.row.id}'s campaign: name"
            f" one of its judges with --judge ({', '.join(run.spec.judges)})."
        )
    return found


def _judge_name(a: _Run, b: _Run, judge: str | None) -> str:
    if judge is not None:
        for run in (a, b):
            if judge not in run.spec.judges:
                raise InvalidInputError(
                    f"Run {run.row.id}'s spec has no judge '{judge}': its judges are"
                    f" {', '.join(run.spec.judges)}."
                )
        return judge
    if not a.spec.judges:
        raise InvalidInputError(f"Run {a.row.id}'s spec has no judge to compare verdicts of.")
    return a.spec.judges[0]


def _candidate_id(s: Session, label: str) -> int:
    cid = s.exec(select(Candidate.id).where(Candidate.name == label)).first()
    if cid is None:
        raise NotFoundError(f"Candidate '{label}' is gone from the database.")
    return int(cid)


@dataclass(frozen=True)
class _Scores:
    prompts: np.ndarray
    categories: np.ndarray
    score: np.ndarray
    lost_all: np.ndarray


def _scores(engine: Engine, campaign_id: int, split: str, judge_id: int, cand: int,
            base: int) -> _Scores:  # fmt: skip
    """Per prompt: the candidate's mean score against the baseline and whether it lost every
    verdict in both orders, aggregated in SQL."""
    flt = scoped(
        engine, VoteFilter(campaign_id, rater_kind="llm", judge_id=judge_id, scored_only=True)
    )
    out_a, out_b = aliased(Output), aliased(Output)
    oriented = case((out_a.candidate_id == cand, -Judgment.preference), else_=Judgment.preference)
    score = case((oriented > 0, 1.0), (oriented == 0, 0.5), else_=0.0)
    lost = case((oriented < 0, 1), else_=0)
    query = (
        select(
            Prompt.external_id,
            Prompt.category,
            func.avg(cast(score, Float)),
            func.sum(lost),
            func.count(),
            func.sum(case((Judgment.shown_order == "ab", 1), else_=0)),
            func.sum(case((Judgment.shown_order == "ba", 1), else_=0)),
        )
        .select_from(Judgment)
        .join(Comparison, Comparison.id == Judgment.comparison_id)
        .join(Prompt, Prompt.id == Comparison.prompt_id)
        .join(out_a, out_a.id == Comparison.output_a_id)
        .join(out_b, out_b.id == Comparison.output_b_id)
        .where(
            *flt.clauses(),
            Prompt.split == split,
            ((out_a.candidate_id == cand) & (out_b.candidate_id == base))
            | ((out_a.candidate_id == base) & (out_b.candidate_id == cand)),
        )
        .group_by(Prompt.external_id, Prompt.category)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return _Scores(np.array([], dtype=object), np.array([], dtype=object), np.array([]),
                       np.array([], dtype=bool))  # fmt: skip
    ext, cat, mean, n_lost, n, shown_ab, shown_ba = zip(*rows, strict=True)
    both = (np.asarray(shown_ab) > 0) & (np.asarray(shown_ba) > 0)
    return _Scores(
        np.asarray(ext, dtype=object),
        np.asarray([c or NO_CATEGORY for c in cat], dtype=object),
        np.asarray(mean, dtype=np.float64),
        (np.asarray(n_lost) == np.asarray(n)) & both,
    )


Usage = tuple[float | None, float | None, float | None]


def _usage(engine: Engine, campaign_id: int, cands: tuple[int, ...], prompts: set[str]) -> dict[
    int, Usage
]:  # fmt: skip
    """Per candidate: mean cost per paid request, p50 and p95 latency of its outputs on
    ``prompts``. Cache hits cost nothing and record no time, so they are left out; the JSON
    flag is read only for outputs that cost 0."""
    cached = case(
        (Output.cost_usd == 0, func.coalesce(Output.meta["cached"].as_boolean(), False)),
        else_=False,
    )
    query = (
        select(Output.candidate_id, Prompt.external_id, Output.cost_usd, Output.latency_ms, cached)
        .join(Prompt, Prompt.id == Output.prompt_id)
        .where(Prompt.campaign_id == campaign_id, Output.candidate_id.in_(cands))
    )
    with engine.connect() as conn:
        rows = [r for r in conn.execute(query).all() if r[1] in prompts]
    out = {}
    for cand in cands:
        mine = [r for r in rows if r[0] == cand]
        costs = np.array([r[2] for r in mine if r[2] is not None and not r[4]], dtype=np.float64)
        lat = np.array([r[3] for r in mine if r[3] is not None], dtype=np.float64)
        out[cand] = (
            float(costs.mean()) if costs.size else None,
            float(np.percentile(lat, 50)) if lat.size else None,
            float(np.percentile(lat, 95)) if lat.size else None,
        )
    return out


def _delta(b: float | None, a: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _texts(engine: Engine, campaign_id: int, cand: int, prompts: list[str]) -> dict[str, tuple[
    str, str
]]:  # fmt: skip
    """prompt id -> (prompt text, the candidate's output) for the given prompts."""
    if not prompts:
        return {}
    query = (
        select(Prompt.external_id, Prompt.messages, Output.content)
        .join(Output, Output.prompt_id == Prompt.id)
        .where(
            Prompt.campaign_id == campaign_id,
            Output.candidate_id == cand,
            Prompt.external_id.in_(prompts),
        )
    )
    with Session(engine) as s:
        rows = s.exec(query).all()
    return {ext: (_prompt_text(messages), content) for ext, messages, content in rows}


def _prompt_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return str(messages or "")
    return "\n\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))


def compare_runs(
    engine: Engine,
    run_a: int,
    run_b: int,
    *,
    actor_id: int,
    candidate: str | None = None,
    candidate_b: str | None = None,
    judge: str | None = None,
    rounds: int = 2000,
    seed: int = 0,
    max_regressions: int = DEFAULT_REGRESSIONS,
) -> RunComparison:
    """B − A per prompt on the prompts both runs scored (admins only; see the module doc)."""
    with Session(engine, expire_on_commit=False) as s:
        require_admin(s, actor_id)
        a, b = _load(s, run_a), _load(s, run_b)
        va, vb = a.row.dataset_version_id, b.row.dataset_version_id
        if va != vb:
            raise InvalidInputError(
                f"Run {run_a} is on {_version_ref(s, va)} and run {run_b} on"
                f" {_version_ref(s, vb)}: compare runs on the same dataset version (run the"
                " older spec again on the newer version)."
            )
        dataset = _version_ref(s, va)
        label_a, label_b = _candidates(a, b, candidate, candidate_b)
        name = _judge_name(a, b, judge)
        judge_a = _judge(s, a, name, int(a.row.campaign_id))
        judge_b = _judge(s, b, name, int(b.row.campaign_id))
        ids = {lab: _candidate_id(s, lab) for lab in {label_a, label_b, a.baseline, b.baseline}}
    camp_a, camp_b = int(a.row.campaign_id), int(b.row.campaign_id)
    sa = _scores(engine, camp_a, a.row.split, judge_a.id, ids[label_a], ids[a.baseline])
    sb = _scores(engine, camp_b, b.row.split, judge_b.id, ids[label_b], ids[b.baseline])
    shared, ia, ib = np.intersect1d(
        sa.prompts.astype(str), sb.prompts.astype(str), assume_unique=True, return_indices=True
    )
    x, y = sa.score[ia], sb.score[ib]
    categories = sa.categories[ia]
    overall = paired_difference(x, y, rounds=rounds, seed=seed)
    cats = by_category(x, y, categories, rounds=rounds, seed=seed)
    keep = set(shared.tolist())
    usage_a = _usage(engine, camp_a, (ids[label_a], ids[a.baseline]), keep)
    usage_b = _usage(engine, camp_b, (ids[label_b], ids[b.baseline]), keep)
    cost_a, p50_a, p95_a = usage_a[ids[label_a]]
    cost_b, p50_b, p95_b = usage_b[ids[label_b]]
    base_a, base_b = usage_a[ids[a.baseline]], usage_b[ids[b.baseline]]
    regress = sb.lost_all[ib] & ~sa.lost_all[ia]
    order = np.lexsort((shared[regress], y[regress] - x[regress]))
    reg_ids = shared[regress][order].tolist()
    reg_a, reg_b = x[regress][order], y[regress][order]
    reg_cats = categories[regress][order]
    shown = reg_ids[:max_regressions]
    texts_a = _texts(engine, camp_a, ids[label_a], shown)
    texts_b = _texts(engine, camp_b, ids[label_b], shown)
    regressions = tuple(
        RegressionPair(
            prompt=p,
            category=str(reg_cats[i]),
            prompt_text=texts_b.get(p, texts_a.get(p, ("", "")))[0],
            score_a=float(reg_a[i]),
            score_b=float(reg_b[i]),
            output_a=texts_a.get(p, ("", ""))[1],
            output_b=texts_b.get(p, ("", ""))[1],
        )
        for i, p in enumerate(shown)
    )
    notes = []
    n_only_a, n_only_b = len(sa.prompts) - len(shared), len(sb.prompts) - len(shared)
    if n_only_a or n_only_b or a.row.split != b.row.split or a.row.sample_size != b.row.sample_size:
        notes.append(
            f"The runs share {len(shared):,} scored prompts ({n_only_a:,} only in run {run_a},"
            f" {n_only_b:,} only in run {run_b}); only the shared ones are compared."
        )
    if a.baseline != b.baseline:
        notes.append(
            f"The baselines differ ({a.baseline} in run {run_a}, {b.baseline} in run {run_b}):"
            " each score is against its own run's baseline."
        )
    if judge_a.id != judge_b.id:
        notes.append(
            f"The judge's versions differ ({judge_label(judge_a.name, judge_a.version)} and"
            f" {judge_label(judge_b.name, judge_b.version)})."
        )

    def side(run: _Run, label: str, j: Judge, scores: _Scores, mean: float, usage: Usage,
             base: Usage) -> RunSide:  # fmt: skip
        return RunSide(
            eval_run_id=int(run.row.id),
            name=run.row.name,
            split=run.row.split,
            sample=run.row.sample_size,
            campaign_id=int(run.row.campaign_id),
            candidate=label,
            baseline=run.baseline,
            judge=judge_label(j.name, j.version),
            n_scored=len(scores.prompts),
            win_rate=mean,
            cost_mean_usd=usage[0],
            p50_latency_ms=usage[1],
            p95_latency_ms=usage[2],
            baseline_cost_mean_usd=base[0],
            baseline_p95_latency_ms=base[2],
        )

    return RunComparison(
        dataset=dataset,
        a=side(a, label_a, judge_a, sa, overall.mean_a, (cost_a, p50_a, p95_a), base_a),
        b=side(b, label_b, judge_b, sb, overall.mean_b, (cost_b, p50_b, p95_b), base_b),
        n_shared=len(shared),
        n_only_a=n_only_a,
        n_only_b=n_only_b,
        overall=overall,
        categories=cats,
        cost_delta_usd=_delta(cost_b, cost_a),
        p50_delta_ms=_delta(p50_b, p50_a),
        p95_delta_ms=_delta(p95_b, p95_a),
        n_regressions=len(reg_ids),
        regressions=regressions,
        notes=tuple(notes),
    )
