"""Leaderboard benchmark: Bradley–Terry + bootstrap on aggregated counts vs per-vote refits.

Run from the repo root: ``.venv/bin/python bench/leaderboard.py``. Prints one line per
figure, ``<figure>: <value> <unit> (target <op> <value>) ok|MISS``, and exits 0 either way.
Timings are medians of repeats (the machine is shared and noisy). Each figure is its own
function so further figures (e.g. database -> leaderboard) can be added to ``main``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median_time, report  # noqa: E402
from metrics.bradley_terry import (  # noqa: E402
    ELO_SCALE,
    bootstrap_bradley_terry,
    fit_bradley_terry,
)
from metrics.counts import pair_counts_from_clusters, pair_counts_from_codes  # noqa: E402

N_VOTES = 1_000_000
N_MODELS = 50
ROUNDS = 1_000
TIE_RATE = 0.25


def make_votes(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arena-like campaign: Elo spread ~ N(0, 100) (top-to-bottom ~450 points), 25 % ties."""
    rng = np.random.default_rng(seed)
    theta = np.sort(rng.normal(0.0, 100.0, N_MODELS)) / ELO_SCALE
    a = rng.integers(0, N_MODELS, N_VOTES, dtype=np.int32)
    b = ((a + rng.integers(1, N_MODELS, N_VOTES, dtype=np.int32)) % N_MODELS).astype(np.int32)
    p_a = special.expit(theta[a] - theta[b])
    u = rng.random(N_VOTES)
    outcome = np.where(
        u < TIE_RATE, 0, np.where(u < TIE_RATE + (1 - TIE_RATE) * p_a, -1, 1)
    ).astype(np.int8)
    return a, b, outcome, theta


def counts_bootstrap(a: np.ndarray, b: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """The fast path end to end: aggregate int arrays, fit, 1,000-round bootstrap."""
    counts = pair_counts_from_codes(a, b, outcome, N_MODELS)
    fit = fit_bradley_terry(counts)
    boot = bootstrap_bradley_terry(counts, rounds=ROUNDS, seed=1, start=fit)
    return boot.intervals()[0]


def figure_counts_bootstrap(a: np.ndarray, b: np.ndarray, outcome: np.ndarray) -> float:
    counts_bootstrap(a, b, outcome)  # warm-up
    seconds = median_time(lambda: counts_bootstrap(a, b, outcome), repeats=5)
    report("BT + 1000-round bootstrap from 1M integer-coded votes", seconds, " s", "<=", 1, ".2f")
    return seconds


def make_comparisons(
    votes_per_comparison: int = 10, seed: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, object]:
    """1M votes on 100,000 comparisons (10 raters each, as bench.seed stores them): the
    votes as integer codes and the per-(pair, pattern) aggregate the database returns."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    theta = np.sort(rng.normal(0.0, 100.0, N_MODELS)) / ELO_SCALE
    n_comp = N_VOTES // votes_per_comparison
    a = rng.integers(0, N_MODELS, n_comp)
    b = (a + rng.integers(1, N_MODELS, n_comp)) % N_MODELS
    p_a = special.expit(theta[a] - theta[b])
    u = rng.random((n_comp, votes_per_comparison))
    outcome = np.where(
        u < TIE_RATE, 0, np.where(u < TIE_RATE + (1 - TIE_RATE) * p_a[:, None], -1, 1)
    )
    per = pd.DataFrame(
        {
            "model_a": a,
            "model_b": b,
            "a_wins": (outcome < 0).sum(axis=1),
            "ties": (outcome == 0).sum(axis=1),
            "b_wins": (outcome > 0).sum(axis=1),
        }
    )
    frame = per.groupby(list(per.columns)).size().rename("n").reset_index()
    k = votes_per_comparison
    return np.repeat(a, k), np.repeat(b, k), outcome.ravel(), frame


def figure_cluster_cost() -> None:
    """What resampling comparisons instead of votes costs, on the same 1M votes."""
    a, b, outcome, frame = make_comparisons()
    models = [str(m) for m in range(N_MODELS)]
    frame = frame.astype({"model_a": str, "model_b": str})

    def per_vote() -> None:
        counts = pair_counts_from_codes(a, b, outcome, models)
        boot = bootstrap_bradley_terry(
            counts, rounds=ROUNDS, seed=1, start=fit_bradley_terry(counts)
        )
        boot.intervals()

    def per_comparison() -> None:
        counts = pair_counts_from_clusters(frame, models=models)
        boot = bootstrap_bradley_terry(
            counts, rounds=ROUNDS, seed=1, start=fit_bradley_terry(counts)
        )
        boot.intervals()

    per_vote()
    per_comparison()
    reference = median_time(per_vote, repeats=5)
    seconds = median_time(per_comparison, repeats=5)
    report(
        "cluster bootstrap (100k comparisons x 10 votes) cost vs per-vote bootstrap, same votes",
        seconds / reference,
        "x",
        "<=",
        2,
        ".2f",
    )


def irls_logistic(x: np.ndarray, y: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Plain IRLS (Newton) logistic regression on a dense design, no intercept."""
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = special.expit(x @ beta)
        w = p * (1 - p)
        hess = x.T @ (x * w[:, None])
        step = np.linalg.solve(hess, x.T @ (y - p))
        beta += step
        if np.abs(step).max() < tol:
            break
    return beta


def classic_design(a: np.ndarray, b: np.ndarray, outcome: np.ndarray):
    """Votes x models design (+1 for A, -1 for B; model 0 is the reference), y with ties 0.5."""
    x = np.zeros((len(a), N_MODELS))
    rows = np.arange(len(a))
    x[rows, a] = 1.0
    x[rows, b] = -1.0
    y = np.where(outcome < 0, 1.0, np.where(outcome > 0, 0.0, 0.5))
    return np.ascontiguousarray(x[:, 1:]), y


def figure_speedup(
    a: np.ndarray, b: np.ndarray, outcome: np.ndarray, fast_seconds: float, rounds: int = 3
) -> None:
    """Per-vote approach: resample the 1M votes, refit a dense logistic model, per round.

    Timed on the full 1M-vote design (~400 MB) for a few rounds; 1,000 rounds is the
    per-round median times 1,000. The first fit is checked against the counts fit.
    """
    x, y = classic_design(a, b, outcome)
    beta = irls_logistic(x, y)
    ours = fit_bradley_terry(pair_counts_from_codes(a, b, outcome, N_MODELS), ridge=0.0)
    gap = np.abs(ELO_SCALE * beta - (ours.ratings()[1:] - ours.ratings()[0])).max()
    print(f"# per-vote fit vs counts fit: max rating difference {gap:.1e}", file=sys.stderr)
    rng = np.random.default_rng(2)

    def one_round() -> None:
        idx = rng.integers(0, len(y), len(y))
        irls_logistic(x[idx], y[idx])

    per_round = median_time(one_round, repeats=rounds)
    speedup = per_round * ROUNDS / fast_seconds
    report("speedup vs per-vote logistic refit per round", speedup, "x", ">=", 1000, ".0f")


def figure_database(backend: str, workdir: Path) -> None:
    """Stored judgments -> leaderboard (SQL aggregation + BT + bootstrap), cold cache.

    Reference: pull every vote into Python (``votes_frame``) and count there.
    """
    from annotate.users import ensure_local_admin
    from bench.seed import seed_campaign, temporary_database
    from metrics.counts import pair_counts_from_votes
    from metrics.leaderboard import leaderboard
    from results import leaderboards
    from results.votes import VoteFilter, votes_frame

    label = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
    with temporary_database(backend, workdir) as engine:
        seeded = seed_campaign(engine)
        admin_id = ensure_local_admin(engine).id
        query = leaderboards.LeaderboardQuery(seeded.campaign_id, rounds=ROUNDS)

        def ours() -> None:
            leaderboards._cache.clear()
            leaderboards.compute_leaderboard(engine, query, actor_id=admin_id)

        def pull_every_vote() -> None:
            votes = votes_frame(engine, VoteFilter(seeded.campaign_id, "human"))
            leaderboard(pair_counts_from_votes(votes), rounds=ROUNDS)

        ours()
        seconds = median_time(ours, repeats=3)
        reference = median_time(pull_every_vote, repeats=1)
    report(
        f"database ({seeded.n_judgments / 1e6:.0f}M judgments stored) to leaderboard, {label}",
        seconds,
        " s",
        "<=",
        2,
        ".2f",
    )
    report(
        f"speedup vs pulling every vote into Python, {label}",
        reference / seconds,
        "x",
        ">=",
        1,
        ".1f",
    )


def main() -> int:
    a, b, outcome, _ = make_votes()
    fast = figure_counts_bootstrap(a, b, outcome)
    figure_speedup(a, b, outcome, fast)
    figure_cluster_cost()
    with tempfile.TemporaryDirectory() as workdir:
        for backend in ("sqlite", "postgresql"):
            figure_database(backend, Path(workdir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
