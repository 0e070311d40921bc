"""Success criteria judged on interval bounds, and the cluster-bootstrap intervals behind
them, checked against brute force (every equally likely bootstrap draw enumerated)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from metrics.criteria import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Estimate,
    cluster_mean,
    cluster_quantile,
    judge_criterion,
)
from metrics.errors import StatisticsError


def _est(value: float, low: float, high: float) -> Estimate:
    return Estimate(value, low, high, 10, 5)


@pytest.mark.parametrize(
    ("low", "high", "direction", "verdict"),
    [
        (0.55, 0.70, ">=", PASS),
        (0.50, 0.70, ">=", PASS),
        (0.30, 0.45, ">=", FAIL),
        (0.40, 0.60, ">=", INCONCLUSIVE),
        (0.30, 0.45, "<=", PASS),
        (0.30, 0.50, "<=", PASS),
        (0.55, 0.70, "<=", FAIL),
        (0.40, 0.60, "<=", INCONCLUSIVE),
    ],
)
def test_the_interval_against_the_threshold_decides_the_verdict(low, high, direction, verdict):
    assert judge_criterion(_est((low + high) / 2, low, high), 0.5, direction) == verdict


def test_an_estimate_without_data_is_inconclusive_and_a_bad_direction_is_refused() -> None:
    nan = float("nan")
    assert judge_criterion(Estimate(nan, nan, nan, 0, 0), 0.5, ">=") == INCONCLUSIVE
    with pytest.raises(StatisticsError, match=">="):
        judge_criterion(_est(0.5, 0.4, 0.6), 0.5, ">")


def _exact_bootstrap_quantiles(per_cluster, stat, level=0.95):
    """Every one of the k^k equally likely draws of k clusters, and the level's quantiles."""
    k = len(per_cluster)
    draws = itertools.product(range(k), repeat=k)
    values = [stat([per_cluster[i] for i in draw]) for draw in draws]
    q = (1 - level) / 2
    return np.quantile(values, [q, 1 - q])


def _ratio(drawn):
    return sum(sum(c) for c in drawn) / sum(len(c) for c in drawn)


def test_cluster_mean_matches_the_enumerated_bootstrap() -> None:
    per_cluster = [[1.0, 0.0], [1.0], [0.0, 0.0, 1.0], [1.0, 1.0]]
    values = np.array([v for c in per_cluster for v in c])
    clusters = np.array([i for i, c in enumerate(per_cluster) for _ in c])
    est = cluster_mean(values, clusters, rounds=40000, seed=3)
    assert est.value == pytest.approx(5 / 8)
    assert (est.n, est.n_clusters) == (8, 4)
    low, high = _exact_bootstrap_quantiles(per_cluster, _ratio)
    assert est.low == pytest.approx(low, abs=0.02)
    assert est.high == pytest.approx(high, abs=0.02)


def test_cluster_quantile_matches_the_enumerated_bootstrap() -> None:
    per_cluster = [[100.0], [250.0, 300.0], [900.0], [120.0]]
    values = np.array([v for c in per_cluster for v in c])
    clusters = np.array(["a", "b", "b", "c", "d"])
    est = cluster_quantile(values, clusters, 0.95, rounds=20000, seed=5)
    assert est.value == pytest.approx(np.quantile(values, 0.95))
    low, high = _exact_bootstrap_quantiles(
        per_cluster, lambda d: np.quantile([v for c in d for v in c], 0.95)
    )
    assert est.low == pytest.approx(low, rel=0.05)
    assert est.high == pytest.approx(high, rel=0.05)


@pytest.mark.parametrize("stat", ["mean", "quantile"])
def test_row_order_does_not_change_the_estimate_or_the_interval(stat) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=60)
    clusters = rng.integers(0, 20, size=60)
    perm = rng.permutation(60)

    def run(v, c):
        if stat == "mean":
            return cluster_mean(v, c, rounds=500)
        return cluster_quantile(v, c, 0.9, rounds=500)

    a, b = run(values, clusters), run(values[perm], clusters[perm])
    assert (a.value, a.low, a.high, a.n, a.n_clusters) == pytest.approx(
        (b.value, b.low, b.high, b.n, b.n_clusters), rel=1e-12
    )


def test_copying_the_whole_set_leaves_the_point_estimates_unchanged() -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 2, size=40).astype(float)
    clusters = rng.integers(0, 15, size=40)
    twice_v = np.concatenate([values, values])
    as_new_prompts = np.concatenate([clusters, clusters + 100])
    as_same_prompts = np.concatenate([clusters, clusters])
    mean = cluster_mean(values, clusters, rounds=500)
    assert cluster_mean(twice_v, as_new_prompts, rounds=500).value == pytest.approx(mean.value)
    same = cluster_mean(twice_v, as_same_prompts, rounds=500)
    assert (same.value, same.low, same.high) == pytest.approx((mean.value, mean.low, mean.high))
    p95 = cluster_quantile(values * 1000, clusters, 0.95, rounds=300)
    assert cluster_quantile(twice_v * 1000, as_new_prompts, 0.95, rounds=300).value == p95.value


def test_one_prompt_gives_a_point_interval_and_no_data_gives_nan() -> None:
    est = cluster_mean(np.array([1.0, 0.0]), np.array([7, 7]))
    assert (est.value, est.low, est.high, est.n_clusters) == (0.5, 0.5, 0.5, 1)
    empty = cluster_mean(np.array([]), np.array([]))
    assert not empty.finite and judge_criterion(empty, 0.5, ">=") == INCONCLUSIVE


def test_all_passing_observations_pass_a_high_bar_and_half_fail_it() -> None:
    clusters = np.arange(200)
    good = cluster_mean(np.ones(200), clusters)
    assert judge_criterion(good, 0.98, ">=") == PASS
    half = cluster_mean(np.tile([0.0, 1.0], 100), clusters)
    assert judge_criterion(half, 0.98, ">=") == FAIL
    assert judge_criterion(half, 0.5, ">=") == INCONCLUSIVE
