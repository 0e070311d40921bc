"""Experiments benchmark: `eval compare` of two recorded runs on 20,000 prompts.

Two evaluation runs on one dataset version of 20,000 prompts, each in its own campaign:
a candidate and the baseline per prompt, with costs and latencies, and the judge's two
swapped verdicts per prompt (80,000 judgments in all). ``experiments.compare.compare_runs``
(per-prompt tallies aggregated in SQL, the paired bootstrap of 2,000 rounds, per category,
cost and latency, regressions with both outputs) is timed against the reference measured in
the same run: the naive per-prompt Python loop, which asks the database for each prompt's
verdicts in each run, scores them in Python and then calls the same statistics.

Run from the repo root: ``.venv/bin/python bench/experiments.py``. Prints one line per
figure, ``<figure>: <value> <unit> (target <op> <value>) ok|MISS``, and exits 0 either way.
``compare_runs`` is timed as the median of three calls after a warm-up; the reference runs
once (it is the slow one). PostgreSQL is ``JUDGEBOARD_TEST_PG_URL`` (default
postgresql+psycopg://postgres@127.0.0.1/test), in a schema of its own dropped afterwards.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median_time, report  # noqa: E402

N_PROMPTS = 20_000
TARGET_SECONDS = 1.0
TARGET_SPEEDUP = 20.0
OUTCOMES = ("WW", "WL", "LW", "LL", "TT", "WT", "TL")


def _outcomes(seed: int) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    return [OUTCOMES[i] for i in rng.integers(0, len(OUTCOMES), N_PROMPTS)]


def _naive(engine, run_a: int, run_b: int) -> None:
    """The reference: per prompt and run, one indexed query for its verdicts, scored in
    Python; then the same statistics."""
    from sqlalchemy import select

    from db.joins import CandA, candidate_joins
    from db.models import Comparison, EvalRun, Judgment, Prompt
    from metrics.paired import by_category, paired_difference

    with engine.connect() as conn:
        runs = {
            r.id: r
            for r in conn.execute(select(EvalRun).where(EvalRun.id.in_([run_a, run_b]))).all()
        }
        ids = {
            rid: dict(
                conn.execute(
                    select(Prompt.external_id, Prompt.id).where(
                        Prompt.campaign_id == runs[rid].campaign_id
                    )
                ).all()
            )
            for rid in (run_a, run_b)
        }
        prompts = conn.execute(
            select(Prompt.external_id, Prompt.category).where(
                Prompt.campaign_id == runs[run_a].campaign_id
            )
        ).all()
        a, b, cats = [], [], []
        for ext, cat in prompts:
            scores = []
            for rid in (run_a, run_b):
                base = runs[rid].results["baseline"]
                rows = conn.execute(
                    candidate_joins(
                        select(Judgment.preference, CandA.name)
                        .select_from(Comparison)
                        .join(Judgment, Judgment.comparison_id == Comparison.id),
                        with_prompt=False,
                    ).where(
                        Comparison.prompt_id == ids[rid].get(ext),
                        Judgment.rater_kind == "llm",
                        Judgment.is_current,
                    )
                ).all()
                won = []
                for pref, name_a in rows:
                    oriented = pref if name_a == base else -pref
                    won.append(1.0 if oriented > 0 else 0.5 if oriented == 0 else 0.0)
                scores.append(sum(won) / len(won) if won else None)
            if None not in scores:
                a.append(scores[0])
                b.append(scores[1])
                cats.append(cat)
    paired_difference(a, b)
    by_category(a, b, cats)


def figures(backend: str, workdir: Path) -> None:
    from annotate.users import ensure_local_admin
    from bench.seed import temporary_database
    from experiments.compare import compare_runs
    from tests.experiments import compare_data as data

    label = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
    with temporary_database(backend, workdir) as engine:
        ref = data.dataset(engine, workdir, N_PROMPTS)
        latency = [float(100 + i % 400) for i in range(N_PROMPTS)]
        run_a = data.eval_run(engine, ref, _outcomes(1), version=1, latency_ms=latency)
        run_b = data.eval_run(engine, ref, _outcomes(2), version=2, cost_usd=0.002,
                              latency_ms=latency[::-1])  # fmt: skip
        admin = ensure_local_admin(engine).id

        def ours() -> None:
            compare_runs(engine, run_a, run_b, actor_id=admin)

        ours()
        seconds = median_time(ours, repeats=3)
        reference = median_time(lambda: _naive(engine, run_a, run_b), repeats=1)
        report(
            f"eval compare of two runs on {N_PROMPTS:,} prompts from the database, {label}",
            seconds, " s", "<=", TARGET_SECONDS, ".2f",
        )  # fmt: skip
        report(
            f"eval compare speedup vs a naive per-prompt Python loop, {label}",
            reference / seconds, "x", ">=", TARGET_SPEEDUP, ".1f",
        )  # fmt: skip


def main() -> int:
    with tempfile.TemporaryDirectory() as workdir:
        for backend in ("sqlite", "postgresql"):
            figures(backend, Path(workdir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
