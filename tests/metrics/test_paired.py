"""Paired B − A statistics over prompts, checked against brute force: every equally likely
bootstrap draw enumerated, the sign test summed from binomial terms, the power formula
with the normal quantiles written out; and their invariances (A and B swapped, prompt order,
the sample copied)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from metrics.errors import StatisticsError
from metrics.paired import (
    by_category,
    minimum_detectable_difference,
    paired_difference,
    prompts_needed,
    sign_test,
)

A = [1.0, 0.5, 0.0, 1.0, 0.75]
B = [1.0, 1.0, 0.5, 0.25, 1.0]
Z = 1.959963984540054 + 0.8416212335729143


def _exact_means(d: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Every one of the n^n draws of n prompts with replacement, as (mean, probability)."""
    n = len(d)
    means = np.array([sum(d[i] for i in idx) / n for idx in itertools.product(range(n), repeat=n)])
    values, counts = np.unique(np.round(means, 12), return_counts=True)
    return values, counts / counts.sum()


def test_the_mean_difference_and_counts_match_a_plain_loop() -> None:
    r = paired_difference(A, B)
    d = [b - a for a, b in zip(A, B, strict=True)]
    assert r.diff == pytest.approx(sum(d) / len(d))
    assert (r.mean_a, r.mean_b) == (pytest.approx(sum(A) / 5), pytest.approx(sum(B) / 5))
    assert (r.n_better, r.n_worse, r.n_same) == (3, 1, 1)
    mean = sum(d) / len(d)
    assert r.sd == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1)))


def test_the_bootstrap_interval_sits_at_the_exact_bootstrap_quantiles() -> None:
    d = [b - a for a, b in zip(A, B, strict=True)]
    values, probs = _exact_means(d)
    cdf = np.cumsum(probs)
    r = paired_difference(A, B, rounds=200_000, seed=3)
    below_low = probs[values < r.low - 1e-9].sum()
    upto_low = probs[values <= r.low + 1e-9].sum()
    assert below_low <= 0.025 + 0.005 and upto_low >= 0.025 - 0.005
    above_high = probs[values > r.high + 1e-9].sum()
    from_high = probs[values >= r.high - 1e-9].sum()
    assert above_high <= 0.025 + 0.005 and from_high >= 0.025 - 0.005
    assert cdf[-1] == pytest.approx(1.0) and r.low <= r.diff <= r.high


def test_the_sign_test_matches_the_binomial_sum() -> None:
    k, m = 9, 3
    n = k + m
    tail = sum(math.comb(n, i) for i in range(0, min(k, m) + 1)) / 2**n
    assert sign_test(k, m) == pytest.approx(min(1.0, 2 * tail))
    assert sign_test(0, 0) == 1.0


def test_the_minimum_detectable_difference_follows_the_normal_formula() -> None:
    assert minimum_detectable_difference(0.5, 100) == pytest.approx(Z * 0.5 / 10)
    r = paired_difference(A, B)
    assert r.mdd == pytest.approx(Z * r.sd / math.sqrt(5))
    assert "With 5 prompts, differences under" in r.sentence()


def test_prompts_needed_is_the_smallest_sample_that_detects_the_difference() -> None:
    n = prompts_needed(0.4, 0.05)
    assert n == math.ceil((Z * 0.4 / 0.05) ** 2)
    assert minimum_detectable_difference(0.4, n) <= 0.05
    assert minimum_detectable_difference(0.4, n - 1) > 0.05
    assert prompts_needed(0.0, 0.05) is None
    with pytest.raises(StatisticsError, match="non-zero"):
        prompts_needed(0.4, 0.0)


def test_swapping_a_and_b_negates_the_difference_and_keeps_the_p_value() -> None:
    rng = np.random.default_rng(1)
    a = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], 60)
    b = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], 60)
    ab, ba = paired_difference(a, b, seed=7), paired_difference(b, a, seed=7)
    assert ba.diff == pytest.approx(-ab.diff)
    assert (ba.low, ba.high) == (pytest.approx(-ab.high), pytest.approx(-ab.low))
    assert ba.p_value == pytest.approx(ab.p_value)
    assert (ba.n_better, ba.n_worse, ba.mdd) == (ab.n_worse, ab.n_better, pytest.approx(ab.mdd))


def test_the_order_of_prompts_changes_nothing() -> None:
    rng = np.random.default_rng(2)
    a = rng.choice([0.0, 0.5, 1.0], 40)
    b = rng.choice([0.0, 0.5, 1.0], 40)
    perm = rng.permutation(40)
    assert paired_difference(a, b, seed=4) == paired_difference(a[perm], b[perm], seed=4)


def test_copying_every_prompt_keeps_the_estimate_and_narrows_the_interval() -> None:
    one = paired_difference(A * 4, B * 4, seed=5)
    two = paired_difference(A * 8, B * 8, seed=5)
    assert two.diff == pytest.approx(one.diff)
    assert two.high - two.low < one.high - one.low
    assert two.mdd < one.mdd


def test_categories_are_compared_separately() -> None:
    cats = ["x", "y", "x", "y", "z"]
    out = by_category(A, B, cats, seed=1)
    assert [(c.category, c.n) for c in out] == [("x", 2), ("y", 2), ("z", 1)]
    x = out[0].result
    assert x is not None and x.diff == pytest.approx(((1.0 - 1.0) + (0.5 - 0.0)) / 2)
    assert out[2].result is None


def test_too_few_or_mismatched_prompts_are_refused_with_the_fix() -> None:
    with pytest.raises(StatisticsError, match="at least 2 prompts"):
        paired_difference([1.0], [0.0])
    with pytest.raises(StatisticsError, match="one entry per prompt"):
        paired_difference([1.0, 0.0], [0.0])
