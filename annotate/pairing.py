"""Turn a campaign's outputs into comparisons, by a chosen pairing strategy."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from annotate.serving import insert_comparisons
from db.access import admin_only
from db.errors import InvalidInputError
from db.models import Campaign, Candidate, Comparison, Output, Prompt, utcnow

STRATEGIES = ("all_pairs", "baseline", "random_k")
STRATEGY_NAMES = {
    "all_pairs": "All pairs per prompt",
    "baseline": "Each candidate against a baseline",
    "random_k": "k random pairs per prompt (seeded)",
}


@dataclass(frozen=True)
class PairingResult:
    strategy: str
    prompts: int
    comparisons_added: int
    comparisons_total: int

    def summary(self) -> str:
        return (
            f"{self.comparisons_added} new comparisons ({self.strategy}) over {self.prompts}"
            f" prompts; {self.comparisons_total} in the campaign."
        )


def _pairs_for_prompt(
    outputs: list[tuple[int, str]],
    strategy: str,
    baseline: str | None,
    k: int | None,
    rng: random.Random,
) -> list[tuple[int, int]]:
    if strategy == "all_pairs":
        pairs = list(itertools.combinations([o for o, _ in outputs], 2))
    elif strategy == "baseline":
        base = [o for o, name in outputs if name == baseline]
        if not base:
            return []
        pairs = [(base[0], o) for o, name in outputs if name != baseline]
    else:
        every = list(itertools.combinations([o for o, _ in outputs], 2))
        pairs = rng.sample(every, min(k or 1, len(every)))
    return [(min(a, b), max(a, b)) for a, b in pairs]


def generate_comparisons(
    engine: Engine,
    campaign_id: int,
    strategy: str = "all_pairs",
    *,
    baseline: str | None = None,
    k: int | None = None,
    seed: int = 0,
    actor_id: int,
) -> PairingResult:
    """Create comparisons for every prompt of a campaign; re-running adds only what's missing.

    In a ``rubric`` campaign each output becomes a single-output item (A == B). Each new
    comparison gets its rank in the campaign's seeded serving order (``annotate.serving``).
    Admins only.
    """
    admin_only(engine, actor_id)
    if strategy not in STRATEGIES:
        raise InvalidInputError(
            f"Pairing strategy '{strategy}' is not one of {', '.join(STRATEGIES)}."
        )
    if strategy == "random_k" and (k is None or k < 1):
        raise InvalidInputError("The random_k strategy needs k >= 1 pairs per prompt (--k).")
    with engine.begin() as conn:
        campaign = conn.execute(select(Campaign).where(Campaign.id == campaign_id)).first()
        if campaign is None:
            raise InvalidInputError(f"No campaign with id {campaign_id}.")
        rows = conn.execute(
            select(Output.prompt_id, Output.id, Candidate.name)
            .join(Prompt, Prompt.id == Output.prompt_id)
            .join(Candidate, Candidate.id == Output.candidate_id)
            .where(Prompt.campaign_id == campaign_id)
            .order_by(Output.prompt_id, Candidate.name)
        ).all()
        if strategy == "baseline":
            names = {name for _, _, name in rows}
            if baseline not in names:
                raise InvalidInputError(
                    f"Baseline '{baseline}' has no outputs in this campaign;"
                    f" choose one of: {', '.join(sorted(names)) or '(none imported yet)'}."
                )
        by_prompt: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for prompt_id, output_id, name in rows:
            by_prompt[prompt_id].append((output_id, name))
        rng = random.Random(seed)
        count = (
            select(func.count())
            .select_from(Comparison)
            .where(Comparison.campaign_id == campaign_id)
        )
        before = conn.execute(count).scalar_one()
        now = utcnow()
        batch: list[dict] = []
        for prompt_id, outputs in by_prompt.items():
            if campaign.mode == "rubric":
                pairs = [(o, o) for o, _ in outputs]
            else:
                pairs = _pairs_for_prompt(outputs, strategy, baseline, k, rng)
            batch.extend(
                {
                    "prompt_id": prompt_id,
                    "output_a_id": a,
                    "output_b_id": b,
                    "n_done": 0,
                    "created_at": now,
                }
                for a, b in pairs
            )
        insert_comparisons(conn, campaign_id, batch)
        after = conn.execute(count).scalar_one()
    return PairingResult(strategy, len(by_prompt), after - before, after)
