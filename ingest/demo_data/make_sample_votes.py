"""Regenerate ``sample_votes.jsonl``: simulated votes so a fresh demo has numbers to show.

Each comparison gets a hidden per-item effect (on this prompt one answer is better than
the models' overall strengths suggest), which every rater and the judge partly see, so
raters agree with each other and with the judge item by item, not only on average.
Five sample human raters (one of them careless, one with a left-side habit) vote on about
60% of the comparisons, two or three each; a sample LLM judge with a taste for long
answers votes on every comparison in both orders. Run: python ingest/demo_data/make_sample_votes.py
"""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
STRENGTH = {"atlas-large": 3.4, "atlas-small": 1.7, "breeze-7b": 0.0, "echo-mini": -2.6}
ITEM_SD = 3.0
SHARPNESS = 2.0
RATERS = ["sample-ana", "sample-ben", "sample-chen", "sample-dee", "sample-eli"]


def _winner(p_a: float, tie: float, rng: random.Random) -> str:
    u = rng.random()
    if u < tie:
        return "tie"
    return "model_a" if rng.random() < p_a else "model_b"


def main() -> None:
    rows = [json.loads(line) for line in (HERE / "outputs.jsonl").open(encoding="utf-8")]
    by_prompt: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_prompt.setdefault(r["prompt_id"], {})[r["model"]] = r
    rng = random.Random(20261122)
    votes = []
    for pid, outputs in sorted(by_prompt.items()):
        for a, b in itertools.combinations(sorted(outputs), 2):
            if rng.random() < 0.5:
                a, b = b, a
            gap = STRENGTH[a] - STRENGTH[b] + rng.gauss(0.0, ITEM_SD)
            category = outputs[a]["category"]
            if rng.random() < 0.6:
                for rater in rng.sample(RATERS, rng.choice([2, 3])):
                    p_a = 1 / (1 + math.exp(-SHARPNESS * gap))
                    if rater == "sample-eli":
                        p_a = 0.5 + (p_a - 0.5) * 0.2
                    if rater == "sample-dee":
                        p_a = min(0.95, p_a + 0.15)
                    votes.append(
                        {
                            "question_id": pid,
                            "model_a": a,
                            "model_b": b,
                            "winner": _winner(p_a, 0.3 * math.exp(-abs(gap)), rng),
                            "judge": rater,
                            "rater_kind": "human",
                            "category": category,
                        }
                    )
            longer = len(outputs[a]["output"]) - len(outputs[b]["output"])
            judge_gap = gap * 0.8 + 0.6 * math.tanh(longer / 800) + rng.gauss(0.0, 0.6)
            for first, second, sign in ((a, b, 1), (b, a, -1)):
                p_first = 1 / (1 + math.exp(-(sign * judge_gap + 0.3)))
                votes.append(
                    {
                        "question_id": pid,
                        "model_a": first,
                        "model_b": second,
                        "winner": _winner(p_first, 0.05, rng),
                        "judge": "sample-judge",
                        "rater_kind": "llm",
                        "category": category,
                    }
                )
    with (HERE / "sample_votes.jsonl").open("w", encoding="utf-8") as f:
        for v in votes:
            f.write(json.dumps(v) + "\n")
    print(f"{len(votes)} votes")


if __name__ == "__main__":
    main()
