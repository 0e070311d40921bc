"""Recorded evaluation runs without an LLM server: a dataset version, the run's campaign
made from it, outputs, baseline comparisons and the judge's swapped verdicts inserted in
bulk, and the ``eval_runs`` row as ``run_evaluation`` leaves it. Used by the comparison
tests, the CLI and page tests and bench/experiments.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlmodel import select

from db.models import Candidate, Comparison, EvalRun, Judge, Judgment, Output, Prompt
from experiments.datasets import add_dataset, create_campaign_from_dataset
from metrics.vocabulary import judge_key
from tests import factory

SIGN = {"W": 1, "T": 0, "L": -1}


def spec_text(name: str, candidate: str, baseline: str = "base", judge: str = "local-judge",
              ref: str = "qa@1") -> str:  # fmt: skip
    return f"""
name = "{name}"
[dataset]
ref = "{ref}"
[candidates]
baseline = "{baseline}"
compare = ["{candidate}"]
[[judges]]
name = "{judge}"
[[criteria]]
name = "beats the baseline"
statistic = "win_rate"
op = ">="
threshold = 0.5
"""


def dataset(engine, tmp_path: Path, n: int, name: str = "qa", text: str = "Question {i}?") -> str:
    """A dataset version of ``n`` test-split prompts p0..p{n-1}; returns its ref."""
    rows = factory.dataset_rows(n, text=text, splits=("test",))
    path = factory.write_jsonl(tmp_path / f"{name}-{n}-{abs(hash(text))}.jsonl", rows)
    info = add_dataset(engine, path, name, actor_id=factory.admin_id(engine))
    return info.version.ref


def _judge(s, name: str) -> Judge:
    found = s.exec(select(Judge).where(Judge.name == name)).first()
    return found or factory.judge_config(s, name)


def _candidate(s, label: str) -> Candidate:
    found = s.exec(select(Candidate).where(Candidate.name == label)).first()
    if found is None:
        found = Candidate(name=label)
        s.add(found)
        s.flush()
    return found


def eval_run(
    engine,
    ref: str,
    outcomes: Sequence[str],
    *,
    spec_name: str = "release",
    candidate: str = "good",
    version: int = 1,
    baseline: str = "base",
    judge: str = "local-judge",
    campaign: str | None = None,
    cost_usd: float = 0.001,
    latency_ms: Sequence[float] | None = None,
) -> int:
    """An eval run of ``candidate@v{version}`` against ``baseline@v1``: ``outcomes[i]`` is the
    candidate's two swapped verdicts on prompt p{i} ("WL": won shown first, lost shown
    second; "" no verdict). Returns the eval run id."""
    admin = factory.admin_id(engine)
    name = campaign or f"eval {spec_name} {ref} test {candidate}@v{version}"
    with factory.session(engine) as s:
        from db.models import Campaign

        existing = s.exec(select(Campaign).where(Campaign.name == name)).first()
    if existing is None:
        create_campaign_from_dataset(engine, ref, name, actor_id=admin, split="test")
    label, base_label = f"{candidate}@v{version}", f"{baseline}@v1"
    with factory.session(engine) as s:
        from db.models import Campaign, DatasetVersion

        camp = s.exec(select(Campaign).where(Campaign.name == name)).one()
        jd = _judge(s, judge)
        cand, base = _candidate(s, label), _candidate(s, base_label)
        prompts = {
            p.external_id: p
            for p in s.exec(select(Prompt).where(Prompt.campaign_id == camp.id)).all()
        }
        have = {
            (o.prompt_id, o.candidate_id)
            for o in s.exec(
                select(Output).where(Output.prompt_id.in_([p.id for p in prompts.values()]))
            ).all()
        }
        rows = []
        for i in range(len(outcomes)):
            p = prompts[f"p{i}"]
            for c, text in ((cand, f"{label} answer {i}"), (base, f"{base_label} answer {i}")):
                if (p.id, c.id) not in have:
                    lat = None if latency_ms is None else float(latency_ms[i])
                    rows.append({"prompt_id": p.id, "candidate_id": c.id, "content": text,
                                 "cost_usd": cost_usd, "latency_ms": lat})  # fmt: skip
        if rows:
            s.execute(Output.__table__.insert(), rows)
        out_id = {
            (o.prompt_id, o.candidate_id): o.id
            for o in s.exec(
                select(Output).where(Output.prompt_id.in_([p.id for p in prompts.values()]))
            ).all()
        }
        comps, plan = [], []
        for i, pair in enumerate(outcomes):
            if not pair:
                continue
            p = prompts[f"p{i}"]
            oc, ob = out_id[(p.id, cand.id)], out_id[(p.id, base.id)]
            lo, hi = sorted((oc, ob))
            comps.append({"campaign_id": camp.id, "prompt_id": p.id, "output_a_id": lo,
                          "output_b_id": hi, "serve_rank": i})  # fmt: skip
            plan.append((p.id, lo, hi, oc == lo, pair))
        if comps:
            s.execute(Comparison.__table__.insert(), comps)
        comp_id = {
            (c.prompt_id, c.output_a_id, c.output_b_id): c.id
            for c in s.exec(select(Comparison).where(Comparison.campaign_id == camp.id)).all()
        }
        votes = []
        for pid, lo, hi, cand_is_a, pair in plan:
            for order, verdict in zip(("ab", "ba"), pair, strict=True):
                pref = -SIGN[verdict] if cand_is_a else SIGN[verdict]
                votes.append({"campaign_id": camp.id, "comparison_id": comp_id[(pid, lo, hi)],
                              "rater_key": judge_key(jd.id), "rater_kind": "llm",
                              "judge_id": jd.id, "shown_order": order, "preference": pref,
                              "source": "judge"})  # fmt: skip
        if votes:
            s.execute(Judgment.__table__.insert(), votes)
        version_id = s.exec(
            select(DatasetVersion.id).where(DatasetVersion.id == camp.dataset_version_id)
        ).one()
        run = EvalRun(
            name=spec_name,
            spec_text=spec_text(spec_name, candidate, baseline, judge, ref),
            spec_hash="0" * 64,
            dataset_version_id=version_id,
            split="test",
            campaign_id=camp.id,
            status="done",
            verdict="PASS",
            results={"baseline": base_label,
                     "candidates": [{"candidate": base_label}, {"candidate": label}]},
            created_by=admin,
        )  # fmt: skip
        s.add(run)
        s.commit()
        return int(run.id)
