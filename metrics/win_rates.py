"""Win rates on pairwise counts: head-to-head matrix, each model against the field, and the
(cluster-aware) Wilson intervals the release gate uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from metrics.counts import PairCounts, resample_counts
from metrics.errors import StatisticsError


@dataclass(frozen=True)
class WinRateMatrix:
    """``rate.loc[x, y]`` = share of x-vs-y comparisons x won (ties half); NaN if none."""

    rate: pd.DataFrame
    n: pd.DataFrame


def win_rate_matrix(counts: PairCounts) -> WinRateMatrix:
    """Head-to-head win rates with ties as half a win, and the number of comparisons."""
    c = counts.collapse()
    m = c.n_models
    wins = np.zeros((m, m))
    n = np.zeros((m, m))
    wins[c.i, c.j] = c.wins_i + 0.5 * c.ties
    wins[c.j, c.i] = c.wins_j + 0.5 * c.ties
    n[c.i, c.j] = n[c.j, c.i] = c.n
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, wins / n, np.nan)
    idx = pd.Index(c.models, name="model")
    cols = pd.Index(c.models, name="opponent")
    return WinRateMatrix(pd.DataFrame(rate, idx, cols), pd.DataFrame(n, idx, cols))


def _field_win_rate(
    i: np.ndarray, j: np.ndarray, wi: np.ndarray, wj: np.ndarray, ties: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Share of all its comparisons each model won (ties half); works on (..., cells)."""
    inc_i = sparse.csr_matrix((np.ones(len(i)), (np.arange(len(i)), i)), shape=(len(i), m))
    inc_j = sparse.csr_matrix((np.ones(len(j)), (np.arange(len(j)), j)), shape=(len(j), m))
    half = 0.5 * ties
    won = (inc_i.T @ (wi + half).T + inc_j.T @ (wj + half).T).T
    n = wi + wj + ties
    tot = (inc_i.T @ n.T + inc_j.T @ n.T).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, won / tot, np.nan), tot


def wilson_interval(
    successes: np.ndarray | float, n: np.ndarray | float, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval; fractional successes (ties as half wins) are allowed."""
    s = np.asarray(successes, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = s / nn
        centre = (p + z * z / (2 * nn)) / (1 + z * z / nn)
        half = z / (1 + z * z / nn) * np.sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn))
    return centre - half, centre + half


def clustered_win_rate_interval(
    wins: np.ndarray, ties: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Win rate (ties half) over votes grouped in clusters, with a cluster-aware interval.

    ``wins``, ``ties`` and ``n`` hold one entry per cluster (a comparison, with all its
    votes: several raters, or a judge's two swapped verdicts). Votes on one comparison
    are not independent, so the vote-level Wilson interval is shrunk to an effective
    sample size ``n / deff``, where the design effect ``deff`` is the cluster-robust
    (ratio-estimator) variance over the variance the votes would have if independent,
    floored at 1. With one vote per comparison it is the plain Wilson interval; copying
    every vote k times leaves it unchanged. Returns ``(rate, low, high, n_effective)``.
    """
    won, tied = np.asarray(wins, dtype=np.float64), np.asarray(ties, dtype=np.float64)
    w = won + 0.5 * tied
    nn = np.asarray(n, dtype=np.float64)
    total, clusters = nn.sum(), len(nn)
    if total <= 0:
        return float("nan"), float("nan"), float("nan"), 0.0
    rate = w.sum() / total
    n_eff = total
    if clusters > 1:
        # both variances without the C/(C-1) correction, so one vote per cluster gives
        # deff = 1 exactly and k identical copies of each vote give deff = k exactly
        robust = ((w - rate * nn) ** 2).sum() / total**2
        independent = ((won + 0.25 * tied).sum() / total - rate * rate) / total
        if independent <= 0:
            # every vote the same: no spread to measure the clustering by, so each
            # comparison counts once (exact for the swapped pair of one judge)
            n_eff = float(clusters)
        elif robust > independent:
            n_eff = total * independent / robust
    elif total > 1:
        n_eff = 1.0
    low, high = wilson_interval(rate * n_eff, n_eff, level)
    return float(rate), float(low), float(high), float(n_eff)


def model_win_rates(
    counts: PairCounts,
    *,
    level: float = 0.95,
    method: str = "wilson",
    rounds: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Each model's win rate against the field (ties half) with a CI.

    ``method="wilson"`` treats the model's votes as independent trials, unless
    ``counts.clusters`` says which votes shared a comparison: then the interval is the
    gate's cluster-aware one (:func:`clustered_win_rate_interval`, one cluster per
    comparison), so copying every vote k times leaves it unchanged;
    ``method="bootstrap"`` resamples counts within pairs (see
    :func:`metrics.counts.resample_counts`) and takes percentiles. The win rate depends on
    who a model happened to face, which is why the ranking uses Bradley–Terry ratings.
    """
    c = counts.collapse()
    rate, n = _field_win_rate(c.i, c.j, c.wins_i, c.wins_j, c.ties, c.n_models)
    if method == "wilson" and c.clusters is not None:
        low, high = _clustered_field_intervals(c, level)
    elif method == "wilson":
        low, high = wilson_interval(rate * n, n, level)
    elif method == "bootstrap":
        wi, wj, t = resample_counts(c, rounds, np.random.default_rng(seed))
        boot, _ = _field_win_rate(c.i, c.j, wi, wj, t, c.n_models)
        q = (1 - level) / 2
        low, high = np.nanquantile(boot, [q, 1 - q], axis=0)
    else:
        raise StatisticsError(f"Unknown method {method!r}; use 'wilson' or 'bootstrap'.")
    return pd.DataFrame(
        {"model": list(c.models), "win_rate": rate, "n": n, "ci_low": low, "ci_high": high}
    )


def _clustered_field_intervals(c: PairCounts, level: float) -> tuple[np.ndarray, np.ndarray]:
    k = c.clusters
    assert k is not None
    low = np.full(c.n_models, np.nan)
    high = np.full(c.n_models, np.nan)
    ci, cj = c.i[k.cell], c.j[k.cell]
    for m in range(c.n_models):
        as_i, as_j = ci == m, cj == m
        mine = as_i | as_j
        if not mine.any():
            continue
        wins = np.where(as_i, k.wins_i, k.wins_j)[mine]
        reps = k.count[mine]
        n = (k.wins_i + k.wins_j + k.ties)[mine]
        _, lo, hi, _ = clustered_win_rate_interval(
            np.repeat(wins, reps), np.repeat(k.ties[mine], reps), np.repeat(n, reps), level
        )
        low[m], high[m] = lo, hi
    return low, high
