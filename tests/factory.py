"""One place to build test data: small, explicit, and fast on both backends."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from annotate.campaigns import CriterionSpec, create_campaign
from db.models import Candidate, Comparison, Judge, Judgment, Output, Prompt, User


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def user(s: Session, handle: str = "rater@example.com", role: str = "rater") -> User:
    u = User(handle=handle, email=handle if "@" in handle else None, role=role)
    s.add(u)
    s.flush()
    return u


def judge(s: Session, name: str = "gpt-judge", model: str = "gpt-x") -> Judge:
    j = Judge(name=name, content_hash=f"hash-{name}-{model}", provider="openai", model=model)
    s.add(j)
    s.flush()
    return j


def campaign_with_outputs(
    s: Session,
    name: str = "c1",
    n_prompts: int = 3,
    models: tuple[str, ...] = ("m1", "m2", "m3"),
    pairs: bool = True,
    criteria: list[CriterionSpec] | None = None,
    **campaign_kwargs: Any,
) -> dict[str, Any]:
    """A campaign with prompts x models outputs and (optionally) all-pairs comparisons."""
    c = create_campaign(s, name, criteria=criteria, **campaign_kwargs)
    cands = []
    for m in models:
        cand = s.exec(select(Candidate).where(Candidate.name == m)).first() or Candidate(name=m)
        s.add(cand)
        cands.append(cand)
    s.flush()
    prompts, outputs, comparisons = [], {}, []
    for i in range(n_prompts):
        p = Prompt(
            campaign_id=c.id,
            external_id=f"p{i}",
            messages=[{"role": "user", "content": f"Question {i}?"}],
            category=("writing", "coding")[i % 2],
        )
        s.add(p)
        s.flush()
        prompts.append(p)
        for cand in cands:
            o = Output(prompt_id=p.id, candidate_id=cand.id, content=f"{cand.name} answer {i}")
            s.add(o)
            s.flush()
            outputs[(p.id, cand.name)] = o
        if pairs:
            for a, b in itertools.combinations(cands, 2):
                oa, ob = outputs[(p.id, a.name)], outputs[(p.id, b.name)]
                lo, hi = sorted((oa.id, ob.id))
                comp = Comparison(campaign_id=c.id, prompt_id=p.id, output_a_id=lo, output_b_id=hi)
                s.add(comp)
                comparisons.append(comp)
    s.flush()
    return {
        "campaign": c,
        "candidates": cands,
        "prompts": prompts,
        "outputs": outputs,
        "comparisons": comparisons,
    }


def human_judgment(
    s: Session, comp: Comparison, rater: User, preference: int | None, **kwargs: Any
) -> Judgment:
    j = Judgment(
        campaign_id=comp.campaign_id,
        comparison_id=comp.id,
        rater_key=f"u:{rater.id}",
        rater_kind="human",
        user_id=rater.id,
        preference=preference,
        **kwargs,
    )
    s.add(j)
    s.flush()
    return j


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def output_rows(n_prompts: int = 2, models: tuple[str, ...] = ("m1", "m2")) -> list[dict]:
    return [
        {
            "prompt_id": f"p{i}",
            "prompt": f"Question {i}?",
            "model": m,
            "output": f"{m} says {i}",
            "category": "writing",
        }
        for i in range(n_prompts)
        for m in models
    ]
