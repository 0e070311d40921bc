"""The bundled demo campaign: written for this project, shipped in the repo."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from annotate.campaigns import CriterionSpec, create_campaign
from annotate.pairing import generate_comparisons
from annotate.users import ensure_local_admin
from db.models import Campaign, Candidate, Comparison, Output, Prompt
from ingest.outputs import import_outputs
from ingest.votes import import_votes

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
PREFERENCE_OF = {"a": -1, "b": 1, "tie": 0}
DEMO_SERVE_SEED = 20260101
"""Every load of the demo serves its comparisons in the same (random) order."""


@dataclass(frozen=True)
class DemoResult:
    campaign: str
    created: bool
    outputs: int
    comparisons: int

    def summary(self) -> str:
        if not self.created:
            return f"Demo campaign '{self.campaign}' is already loaded."
        return (
            f"Loaded demo campaign '{self.campaign}': {self.outputs} outputs,"
            f" {self.comparisons} comparisons."
        )


def demo_spec() -> dict:
    return json.loads((DEMO_DIR / "campaign.json").read_text(encoding="utf-8"))


def database_is_empty(engine: Engine) -> bool:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Campaign)).one() == 0


def load_demo(engine: Engine, *, with_sample_votes: bool = True) -> DemoResult:
    """Create the demo campaign, import its outputs, pair them and mark its gold items.

    Sample votes (five simulated raters on ~60% of comparisons, a simulated LLM judge on
    all of them) give the agreement, calibration and leaderboard pages something to show;
    every comparison still wants more human ratings than they provide.
    """
    spec = demo_spec()
    name = spec["name"]
    with Session(engine) as s:
        if s.exec(select(Campaign.id).where(Campaign.name == name)).first() is not None:
            return DemoResult(name, False, 0, 0)
    actor_id = ensure_local_admin(engine).id
    campaign_id = create_campaign(
        engine,
        name,
        actor_id=actor_id,
        instructions=spec.get("instructions", ""),
        mode=spec.get("mode", "pairwise"),
        preference_scale=spec.get("preference_scale", "3way"),
        overlap=int(spec.get("overlap", 3)),
        criteria=[
            CriterionSpec(
                c["name"],
                c.get("description", ""),
                c.get("scale", "likert5"),
                tuple(c["categories"]) if c.get("categories") else None,
            )
            for c in spec.get("rubric", [])
        ],
        gold_rate=float(spec.get("gold_rate", 0.1)),
        serve_seed=int(spec.get("serve_seed", DEMO_SERVE_SEED)),
    ).id
    imported = import_outputs(engine, DEMO_DIR / "outputs.jsonl", name, actor_id=actor_id)
    pairing = spec.get("pairing", {})
    paired = generate_comparisons(
        engine,
        campaign_id,
        pairing.get("strategy", "all_pairs"),
        baseline=pairing.get("baseline"),
        k=pairing.get("k"),
        seed=int(pairing.get("seed", 0)),
        actor_id=actor_id,
    )
    _mark_gold(engine, campaign_id, spec.get("gold", []))
    if with_sample_votes:
        import_votes(engine, DEMO_DIR / "sample_votes.jsonl", name, actor_id=actor_id)
    return DemoResult(name, True, imported.outputs_added, paired.comparisons_total)


def _mark_gold(engine: Engine, campaign_id: int, gold: list[dict]) -> None:
    with Session(engine) as s:
        for item in gold:
            outputs = dict(
                s.exec(
                    select(Candidate.name, Output.id)
                    .join(Output, Output.candidate_id == Candidate.id)
                    .join(Prompt, Prompt.id == Output.prompt_id)
                    .where(Prompt.campaign_id == campaign_id)
                    .where(Prompt.external_id == str(item["prompt_id"]))
                ).all()
            )
            a, b = outputs[item["model_a"]], outputs[item["model_b"]]
            comparison = s.exec(
                select(Comparison).where(
                    Comparison.campaign_id == campaign_id,
                    Comparison.output_a_id == min(a, b),
                    Comparison.output_b_id == max(a, b),
                )
            ).one()
            preference = PREFERENCE_OF[item["expected"]]
            if a > b:
                preference = -preference
            comparison.check_kind = "gold"
            comparison.expected_preference = preference
            s.add(comparison)
        s.commit()
