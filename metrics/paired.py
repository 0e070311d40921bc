"""Paired comparison of two runs on the same prompts: B − A per prompt.

Every prompt gives one score in run A and one in run B (for example a candidate's share of
the judge's verdicts won against the baseline: 1, 0.5, 0 averaged over the swapped pair).
The unit is the prompt, so everything here works on the per-prompt differences ``d = b − a``:

- the mean difference with a paired bootstrap interval over prompts. Prompts with equal
  differences are exchangeable, so a round draws how many prompts of each distinct
  difference it takes (one multinomial per round over the distinct values), which is the
  same distribution as drawing prompts with replacement and costs O(distinct values);
- a two-sided sign test over the prompts that differ (ties dropped);
- the minimum detectable difference at the given power and alpha for the observed SD of
  the differences (normal approximation), and the prompts needed to detect a difference.

Swapping A and B negates every difference and the interval exactly (the draws are made on
one canonical orientation of the differences) and leaves the p-value unchanged; the order of
the prompts changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from metrics.errors import StatisticsError

DEFAULT_ROUNDS = 2000
DEFAULT_POWER = 0.8
DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class PairedDifference:
    """B − A over ``n`` prompts: means, the mean difference and its bootstrap interval,
    the sign test and what the sample can detect."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    level: float
    sd: float
    n_better: int
    n_worse: int
    n_same: int
    p_value: float
    mdd: float
    power: float
    alpha: float

    def sentence(self, unit: str = "points of win rate") -> str:
        """The sentence: with N prompts, differences under M points are not detectable."""
        return (
            f"With {self.n:,} prompts, differences under {self.mdd * 100:.1f} {unit} are not"
            f" detectable ({self.power:.0%} power, alpha {self.alpha:g})."
        )

    def prompts_needed(self, delta: float) -> int | None:
        """Prompts needed to detect a difference of ``delta`` at this SD (None: SD is 0)."""
        return prompts_needed(self.sd, delta, alpha=self.alpha, power=self.power)


def _z(alpha: float, power: float) -> float:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise StatisticsError(f"alpha and power must lie in (0, 1) (got {alpha}, {power}).")
    nd = NormalDist()
    return nd.inv_cdf(1 - alpha / 2) + nd.inv_cdf(power)


def minimum_detectable_difference(
    sd: float, n: int, *, alpha: float = DEFAULT_ALPHA, power: float = DEFAULT_POWER
) -> float:
    """(z_{1-α/2} + z_power) · sd / √n: the smallest true mean difference a two-sided test
    at ``alpha`` finds with probability ``power`` on ``n`` paired prompts."""
    if n < 1:
        raise StatisticsError("The minimum detectable difference needs at least one prompt.")
    return _z(alpha, power) * sd / math.sqrt(n)


def prompts_needed(
    sd: float, delta: float, *, alpha: float = DEFAULT_ALPHA, power: float = DEFAULT_POWER
) -> int | None:
    """The smallest n whose minimum detectable difference is at most ``|delta|``; None when
    the differences do not vary (sd 0: any sample detects any difference)."""
    if delta == 0:
        raise StatisticsError("A difference of 0 cannot be detected: give a non-zero one.")
    if sd == 0:
        return None
    n = math.ceil((_z(alpha, power) * sd / abs(delta)) ** 2)
    while n > 1 and minimum_detectable_difference(sd, n - 1, alpha=alpha, power=power) <= abs(
        delta
    ):
        n -= 1
    while minimum_detectable_difference(sd, n, alpha=alpha, power=power) > abs(delta):
        n += 1
    return max(n, 1)


def sign_test(n_better: int, n_worse: int) -> float:
    """Two-sided exact sign test p-value: ``n_better`` prompts up, ``n_worse`` down
    (ties left out before). 1.0 when no prompt differs."""
    if n_better < 0 or n_worse < 0:
        raise StatisticsError("Sign test counts cannot be negative.")
    if n_better + n_worse == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(n_better, n_better + n_worse, 0.5).pvalue)


def _canonical(d: np.ndarray) -> bool:
    """Whether ``d`` (rather than ``-d``) is the orientation the draws are made on."""
    up, down = np.sort(d), np.sort(-d)
    differ = np.flatnonzero(up != down)
    return differ.size == 0 or bool(up[differ[0]] < down[differ[0]])


def _bootstrap(d: np.ndarray, level: float, rounds: int, seed: int) -> tuple[float, float]:
    flip = not _canonical(d)
    x = -d if flip else d
    values, counts = np.unique(x, return_counts=True)
    n = x.size
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=rounds)
    means = draws @ values / n
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    low, high = float(min(low, x.mean())), float(max(high, x.mean()))
    return (-high, -low) if flip else (low, high)


def _arrays(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise StatisticsError("Scores of A and B must be 1-d arrays, one entry per prompt.")
    if np.isnan(x).any() or np.isnan(y).any():
        raise StatisticsError("Scores hold NaN: keep only prompts scored in both runs.")
    return x, y


def paired_difference(
    a: object,
    b: object,
    *,
    level: float = 0.95,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
) -> PairedDifference:
    """B − A for per-prompt scores ``a`` and ``b`` (same prompts, same order)."""
    x, y = _arrays(a, b)
    n = x.size
    if n < 2:
        raise StatisticsError(
            f"A paired comparison needs at least 2 prompts scored in both runs (got {n}):"
            " compare runs that share more prompts."
        )
    if not 0 < level < 1 or rounds < 1:
        raise StatisticsError("level must lie in (0, 1) and rounds be at least 1.")
    d = y - x
    low, high = _bootstrap(d, level, rounds, seed)
    sd = float(np.std(d, ddof=1))
    better, worse = int((d > 0).sum()), int((d < 0).sum())
    return PairedDifference(
        n=n,
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        diff=float(d.mean()),
        low=low,
        high=high,
        level=level,
        sd=sd,
        n_better=better,
        n_worse=worse,
        n_same=n - better - worse,
        p_value=sign_test(better, worse),
        mdd=minimum_detectable_difference(sd, n, alpha=alpha, power=power),
        power=power,
        alpha=alpha,
    )


@dataclass(frozen=True)
class CategoryDifference:
    category: str
    result: PairedDifference | None
    n: int


def by_category(
    a: object,
    b: object,
    categories: object,
    *,
    level: float = 0.95,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
) -> tuple[CategoryDifference, ...]:
    """``paired_difference`` within each category, sorted by name; a category with fewer
    than 2 prompts gets no result, only its count."""
    x, y = _arrays(a, b)
    cats = np.asarray([str(c) for c in np.asarray(categories, dtype=object).ravel()])
    if cats.shape != x.shape:
        raise StatisticsError("categories must hold one entry per prompt.")
    names, inverse = np.unique(cats, return_inverse=True)
    out = []
    for i, cat in enumerate(names.tolist()):
        mask = inverse.reshape(-1) == i
        k = int(mask.sum())
        res = (
            paired_difference(x[mask], y[mask], level=level, rounds=rounds, seed=seed)
            if k >= 2
            else None
        )
        out.append(CategoryDifference(cat, res, k))
    return tuple(out)
