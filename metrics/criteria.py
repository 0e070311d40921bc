"""Success criteria judged on intervals: PASS, FAIL or INCONCLUSIVE.

A criterion compares a statistic with a threshold in a direction (``>=`` or ``<=``). Its
95% interval decides, never the point estimate alone:

- ``>=``: PASS when the lower bound is at or above the threshold, FAIL when the upper bound
  is below it, INCONCLUSIVE when the interval straddles it. "Win rate lower 95% bound >=
  0.50" is exactly this rule.
- ``<=``: PASS when the upper bound is at or below the threshold, FAIL when the lower bound
  is above it, INCONCLUSIVE otherwise.

An estimate without a finite interval (no data) is INCONCLUSIVE. The point estimate is
reported beside the interval and always lies inside it for the statistics here.

Intervals are cluster bootstraps over prompts: every prompt's observations (its outputs'
check results, a judge's two swapped verdicts, several candidates' latencies) are drawn
together, so observations that share a prompt count as less than independent ones. Means
are ratio estimators (sum over the drawn prompts of the values over their count), so copying
every observation k times, or the whole set, leaves the point estimate unchanged; the
result does not depend on the order the rows come in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrics.errors import StatisticsError

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
VERDICTS = (PASS, FAIL, INCONCLUSIVE)
DIRECTIONS = (">=", "<=")
DEFAULT_ROUNDS = 2000
_CHUNK = 256


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval, over ``n`` observations in ``n_clusters`` prompts."""

    value: float
    low: float
    high: float
    n: int
    n_clusters: int

    @property
    def finite(self) -> bool:
        return bool(np.isfinite([self.value, self.low, self.high]).all())


def judge_criterion(estimate: Estimate, threshold: float, direction: str) -> str:
    """PASS, FAIL or INCONCLUSIVE for ``estimate`` against ``threshold`` (see module doc)."""
    if direction not in DIRECTIONS:
        raise StatisticsError(f"Direction '{direction}' is not one of {', '.join(DIRECTIONS)}.")
    if not estimate.finite:
        return INCONCLUSIVE
    if direction == ">=":
        if estimate.low >= threshold:
            return PASS
        return FAIL if estimate.high < threshold else INCONCLUSIVE
    if estimate.high <= threshold:
        return PASS
    return FAIL if estimate.low > threshold else INCONCLUSIVE


def _clusters(values: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(clusters)
    if v.ndim != 1 or c.shape != v.shape:
        raise StatisticsError("values and clusters must be 1-d arrays of the same length.")
    if np.isnan(v).any():
        raise StatisticsError("values hold NaN: leave missing observations out first.")
    _, inverse = np.unique(c, return_inverse=True)
    return v, inverse.reshape(-1)


def _draws(n_clusters: int, rounds: int, seed: int) -> np.ndarray:
    """``rounds`` x ``n_clusters`` counts: how often each prompt is drawn in each round."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=rounds)


def _bounds(boot: np.ndarray, level: float) -> tuple[float, float]:
    if not 0 < level < 1:
        raise StatisticsError(f"The interval level must be between 0 and 1 (got {level}).")
    q = (1 - level) / 2
    low, high = np.quantile(boot, [q, 1 - q])
    return float(low), float(high)


def cluster_mean(
    values: np.ndarray,
    clusters: np.ndarray,
    *,
    level: float = 0.95,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
) -> Estimate:
    """The mean of ``values`` (a pass rate for 0/1, a win rate for 1 / 0.5 / 0, a rubric
    mean, a cost) with a percentile interval from resampling ``clusters`` (prompts)."""
    v, inverse = _clusters(values, clusters)
    if len(v) == 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, 0, 0)
    k = int(inverse.max()) + 1
    sums = np.bincount(inverse, weights=v, minlength=k)
    counts = np.bincount(inverse, minlength=k).astype(np.float64)
    value = float(sums.sum() / counts.sum())
    if k == 1:
        return Estimate(value, value, value, len(v), 1)
    boot = np.empty(rounds)
    for start in range(0, rounds, _CHUNK):
        w = _draws(k, min(_CHUNK, rounds - start), seed + start)
        boot[start : start + len(w)] = (w @ sums) / (w @ counts)
    low, high = _bounds(boot, level)
    return Estimate(value, min(low, value), max(high, value), len(v), k)


def cluster_quantile(
    values: np.ndarray,
    clusters: np.ndarray,
    q: float,
    *,
    level: float = 0.95,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
) -> Estimate:
    """The ``q`` quantile of ``values`` (numpy's linear interpolation; e.g. q=0.95 for p95
    latency) with a percentile interval from resampling ``clusters`` (prompts)."""
    if not 0 <= q <= 1:
        raise StatisticsError(f"A quantile is between 0 and 1 (got {q}).")
    v, inverse = _clusters(values, clusters)
    if len(v) == 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, 0, 0)
    k = int(inverse.max()) + 1
    value = float(np.quantile(v, q))
    if k == 1:
        return Estimate(value, value, value, len(v), 1)
    boot = np.empty(rounds)
    for start in range(0, rounds, _CHUNK):
        w = _draws(k, min(_CHUNK, rounds - start), seed + start)
        for r, counts in enumerate(w):
            boot[start + r] = np.quantile(np.repeat(v, counts[inverse]), q)
    low, high = _bounds(boot, level)
    return Estimate(value, min(low, value), max(high, value), len(v), k)
