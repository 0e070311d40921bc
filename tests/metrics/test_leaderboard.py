from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint

from metrics.bradley_terry import (
    ELO_SCALE,
    BTBootstrap,
    bootstrap_bradley_terry,
    bt_newton,
    bt_solve,
    fit_bradley_terry,
    rank_bands,
)
from metrics.counts import (
    PairCounts,
    length_bin,
    pair_counts_from_aggregates,
    pair_counts_from_clusters,
    pair_counts_from_codes,
    pair_counts_from_votes,
    resample_counts,
)
from metrics.errors import StatisticsError
from metrics.leaderboard import (
    LEADERBOARD_COLUMNS,
    cost_latency,
    leaderboard,
    rubric_means,
    win_rate_against,
)
from metrics.win_rates import clustered_win_rate_interval, model_win_rates, win_rate_matrix


def simulate(
    n_votes: int, strengths: np.ndarray, seed: int, tie_rate: float = 0.15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer-coded votes: (a, b, outcome) with outcome -1 = a wins, 1 = b wins, 0 tie."""
    rng = np.random.default_rng(seed)
    m = len(strengths)
    a = rng.integers(0, m, n_votes)
    b = (a + rng.integers(1, m, n_votes)) % m
    p_a = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
    u = rng.random(n_votes)
    outcome = np.where(u < tie_rate, 0, np.where(u < tie_rate + (1 - tie_rate) * p_a, -1, 1))
    return a, b, outcome


def votes_frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model_a", "model_b", "preference"])


def test_votes_frame_counts_orient_pairs_and_ignore_unscored_rows() -> None:
    votes = votes_frame(
        [
            ("x", "y", -2.0),  # x wins
            ("y", "x", 1.0),  # x wins (as B)
            ("y", "x", -1.0),  # y wins
            ("x", "y", 0.0),  # tie
            ("x", "y", float("nan")),  # unscored
            ("x", "z", 2.0),  # z wins
        ]
    )
    c = pair_counts_from_votes(votes)
    assert c.models == ("x", "y", "z")
    assert list(zip(c.i, c.j, strict=True)) == [(0, 1), (0, 2)]
    assert c.wins_i.tolist() == [2.0, 0.0]
    assert c.wins_j.tolist() == [1.0, 1.0]
    assert c.ties.tolist() == [1.0, 0.0]


def test_sql_aggregates_give_the_same_counts_as_the_votes() -> None:
    a, b, out = simulate(2_000, np.array([0.0, 0.5, -0.3, 1.0]), seed=1)
    names = np.array(["m0", "m1", "m2", "m3"])
    votes = pd.DataFrame({"model_a": names[a], "model_b": names[b], "preference": out * 1.0})
    labels = np.where(out < 0, "a", np.where(out > 0, "b", "tie"))
    agg = (
        votes.assign(outcome=labels)
        .groupby(["model_a", "model_b", "outcome"], as_index=False)
        .size()
        .rename(columns={"size": "n"})
    )
    from_votes = pair_counts_from_votes(votes)
    from_agg = pair_counts_from_aggregates(agg)
    from_codes = pair_counts_from_codes(a, b, out, ["m0", "m1", "m2", "m3"])
    for other in (from_agg, from_codes):
        for name in ("i", "j", "wins_i", "wins_j", "ties"):
            np.testing.assert_array_equal(getattr(from_votes, name), getattr(other, name))


def test_win_rate_matrix_counts_ties_as_half_a_win() -> None:
    # x-y: x won 3, y won 1, 2 ties -> x: (3 + 1) / 6
    c = PairCounts(
        ("x", "y", "z"), np.array([0]), np.array([1]), *map(np.array, ([3.0], [1.0], [2.0]))
    )
    wr = win_rate_matrix(c)
    assert wr.rate.loc["x", "y"] == pytest.approx(4 / 6)
    assert wr.rate.loc["y", "x"] == pytest.approx(2 / 6)
    assert wr.n.loc["x", "y"] == 6
    assert math.isnan(wr.rate.loc["x", "z"])


def test_model_win_rate_uses_wilson_interval_on_half_win_successes() -> None:
    c = PairCounts(
        ("x", "y", "z"),
        np.array([0, 0]),
        np.array([1, 2]),
        np.array([10.0, 20.0]),
        np.array([15.0, 5.0]),
        np.array([0.0, 0.0]),
    )
    rates = model_win_rates(c).set_index("model")
    assert rates.loc["x", "win_rate"] == pytest.approx(30 / 50)
    assert rates.loc["x", "n"] == 50
    low, high = proportion_confint(30, 50, alpha=0.05, method="wilson")
    assert rates.loc["x", "ci_low"] == pytest.approx(low)
    assert rates.loc["x", "ci_high"] == pytest.approx(high)


def test_clustered_interval_with_one_vote_per_comparison_is_wilson() -> None:
    wins = np.array([1] * 14 + [0] * 6)
    rate, low, high, n_eff = clustered_win_rate_interval(wins, np.zeros(20), np.ones(20))
    assert rate == pytest.approx(0.7) and n_eff == pytest.approx(20)
    assert (low, high) == pytest.approx(proportion_confint(14, 20, alpha=0.05, method="wilson"))


def test_copies_of_each_vote_on_a_comparison_do_not_narrow_the_interval() -> None:
    wins, ties = np.array([1] * 14 + [0] * 4 + [0] * 2), np.array([0] * 18 + [1] * 2)
    single = clustered_win_rate_interval(wins, ties, np.ones(20))
    tripled = clustered_win_rate_interval(3 * wins, 3 * ties, np.full(20, 3))
    assert tripled == pytest.approx(single)
    all_wins = clustered_win_rate_interval(np.full(10, 2), np.zeros(10), np.full(10, 2))
    assert all_wins[3] == 10
    assert all_wins[1] == pytest.approx(proportion_confint(10, 10, method="wilson")[0])


def test_independent_raters_on_a_comparison_keep_nearly_every_vote() -> None:
    rng = np.random.default_rng(5)
    wins = rng.binomial(3, 0.6, 2_000)  # three raters per comparison, independent
    _, _, _, n_eff = clustered_win_rate_interval(wins, np.zeros(2_000), np.full(2_000, 3))
    assert 5_400 < n_eff <= 6_000


def test_bradley_terry_equals_logistic_regression_on_expanded_votes() -> None:
    strengths = np.array([0.0, 0.4, -0.6, 1.1, 0.2])
    a, b, out = simulate(3_000, strengths, seed=2)
    fit = fit_bradley_terry(pair_counts_from_codes(a, b, out, 5), ridge=0.0)

    # One row per vote (x = +1 for A, -1 for B, model 0 dropped as reference);
    # a tie becomes two half-weight rows, one won by A and one by B.
    tie = out == 0
    rows_a = np.r_[a, a[tie]]
    rows_b = np.r_[b, b[tie]]
    y = np.r_[np.where(out < 0, 1.0, np.where(out > 0, 0.0, 1.0)), np.zeros(tie.sum())]
    w = np.r_[np.where(tie, 0.5, 1.0), np.full(tie.sum(), 0.5)]
    x = np.zeros((len(rows_a), 5))
    x[np.arange(len(rows_a)), rows_a] += 1.0
    x[np.arange(len(rows_b)), rows_b] -= 1.0
    ref = sm.GLM(y, x[:, 1:], family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-14)

    ours = fit.ratings()
    np.testing.assert_allclose(ours[1:] - ours[0], ELO_SCALE * ref.params, atol=1e-6)


def test_ratings_are_elo_scaled_and_anchored() -> None:
    # a beats b 30 of 40 -> odds 3 -> 400 * log10(3) Elo points apart
    c = PairCounts(("a", "b"), *map(np.array, ([0], [1], [30.0], [10.0], [0.0])))
    fit = fit_bradley_terry(c, ridge=0.0)
    mean_anchor = fit.ratings()
    assert mean_anchor[0] - mean_anchor[1] == pytest.approx(400 * math.log10(3))
    assert mean_anchor.mean() == pytest.approx(1000)
    assert fit.ratings(baseline="b")[1] == pytest.approx(1000)


def test_never_losing_model_gets_a_finite_rating_with_the_default_ridge() -> None:
    c = PairCounts(
        ("champ", "b", "c"),
        np.array([0, 0, 1]),
        np.array([1, 2, 2]),
        np.array([20.0, 20.0, 10.0]),
        np.array([0.0, 0.0, 10.0]),
        np.array([0.0, 0.0, 0.0]),
    )
    ratings = fit_bradley_terry(c).ratings()
    assert np.all(np.isfinite(ratings))
    assert ratings[0] - ratings[1] > 500
    boot = bootstrap_bradley_terry(c, rounds=50)
    assert np.all(np.isfinite(boot.theta))


def test_disconnected_models_need_a_ridge() -> None:
    c = PairCounts(
        ("a", "b", "c", "d"), *map(np.array, ([0, 2], [1, 3], [5.0, 5.0], [3.0, 3.0], [0.0, 0.0]))
    )
    with pytest.raises(StatisticsError, match="ridge > 0"):
        fit_bradley_terry(c, ridge=0.0)
    board = leaderboard(c, rounds=20)
    assert board.n_components == 2


def test_newton_solves_all_rounds_like_separate_fits() -> None:
    a, b, out = simulate(1_000, np.array([0.0, 0.5, -0.5]), seed=3)
    c = pair_counts_from_codes(a, b, out, 3)
    wi = c.wins_i + 0.5 * c.ties
    wj = c.wins_j + 0.5 * c.ties
    batch = np.stack([wi, wj * 2, wi + 7])
    other = np.stack([wj, wi, wj + 1])
    together, _ = bt_newton(c.i, c.j, batch, other, 3)
    for r in range(3):
        alone, _ = bt_newton(c.i, c.j, batch[r], other[r], 3)
        np.testing.assert_allclose(together[r], alone, atol=1e-9)


def test_count_bootstrap_matches_resampling_votes_within_pairs() -> None:
    strengths = np.array([0.0, 0.3, -0.4, 0.8])
    a, b, out = simulate(600, strengths, seed=4)
    counts = pair_counts_from_codes(a, b, out, 4)
    rounds = 2_000
    fast = bootstrap_bradley_terry(counts, rounds=rounds, seed=5).ratings()

    # Reference: resample the individual votes of each pair with replacement, re-aggregate.
    rng = np.random.default_rng(6)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    own = np.where(a < b, out, -out)
    pair = lo * 4 + hi
    code = np.where(own < 0, 0, np.where(own > 0, 1, 2))
    cells = np.unique(pair)
    picks = []
    for key in cells:
        idx = np.flatnonzero(pair == key)
        picks.append(idx[rng.integers(0, len(idx), size=(rounds, len(idx)))])
    chosen = np.concatenate(picks, axis=1)
    cell_of = np.searchsorted(cells, pair[chosen])
    flat = (np.arange(rounds)[:, None] * len(cells) + cell_of) * 3 + code[chosen]
    tab = np.bincount(flat.ravel(), minlength=rounds * len(cells) * 3).reshape(rounds, -1, 3)
    theta, _ = bt_newton(
        cells // 4, cells % 4, tab[..., 0] + 0.5 * tab[..., 2], tab[..., 1] + 0.5 * tab[..., 2], 4
    )
    slow = 1000 + ELO_SCALE * theta

    sd = slow.std(axis=0)
    np.testing.assert_allclose(fast.std(axis=0), sd, rtol=0.1)
    for q in (0.025, 0.5, 0.975):
        diff = np.quantile(fast, q, axis=0) - np.quantile(slow, q, axis=0)
        assert np.all(np.abs(diff) < 0.3 * sd), (q, diff, sd)


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    a, b, out = simulate(500, np.array([0.0, 0.5, -0.5]), seed=7)
    c = pair_counts_from_codes(a, b, out, 3)
    one = bootstrap_bradley_terry(c, rounds=100, seed=11).theta
    two = bootstrap_bradley_terry(c, rounds=100, seed=11).theta
    np.testing.assert_array_equal(one, two)


def test_rank_bands_share_ranks_between_overlapping_intervals() -> None:
    #        A: [1100, 1200]  clear of everyone          -> 1..1
    #        B: [1000, 1060]  overlaps C                 -> 2..3
    #        C: [1040, 1090]  overlaps B                 -> 2..3
    #        D: [ 900,  990]  below B and C, above none  -> 4..4
    low = np.array([1100.0, 1000.0, 1040.0, 900.0])
    high = np.array([1200.0, 1060.0, 1090.0, 990.0])
    rank_low, rank_high = rank_bands(low, high)
    assert rank_low.tolist() == [1, 2, 2, 4]
    assert rank_high.tolist() == [1, 3, 3, 4]


def test_leaderboard_has_stable_columns_sorted_by_rating_and_json_records() -> None:
    a, b, out = simulate(4_000, np.array([0.0, 0.8, -0.8, 0.2]), seed=8)
    c = pair_counts_from_codes(a, b, out, ["m0", "m1", "m2", "m3"])
    board = leaderboard(c, rounds=200, baseline="m0")
    table = board.table
    assert tuple(table.columns[: len(LEADERBOARD_COLUMNS)]) == LEADERBOARD_COLUMNS
    assert table["model"].tolist() == ["m1", "m3", "m0", "m2"]
    assert table.loc[table["model"] == "m0", "rating"].item() == pytest.approx(1000)
    others = table[table["model"] != "m0"]
    assert (others["ci_low"] <= others["rating"]).all()
    assert (others["rating"] <= others["ci_high"]).all()
    # the anchor has no interval of its own, rather than [1000, 1000]
    assert table.loc[table["model"] == "m0", ["ci_low", "ci_high"]].isna().all(axis=None)
    assert table["n"].sum() == 2 * len(a)
    records = board.to_records()
    assert list(records[0])[: len(LEADERBOARD_COLUMNS)] == list(LEADERBOARD_COLUMNS)
    assert json.loads(json.dumps(records)) == records
    assert isinstance(records[0]["n"], int)


def test_rubric_means_use_a_t_interval() -> None:
    scores = pd.DataFrame(
        {
            "model": ["x", "x", "x", "y", "y"],
            "criterion": ["helpful"] * 5,
            "value": [1.0, 2.0, 3.0, 4.0, float("nan")],
        }
    )
    out = rubric_means(scores).set_index("model")
    # x: mean 2, sd 1, n 3 -> 2 +- t(0.975, 2) / sqrt(3) = 2 +- 4.3027 * 0.57735
    assert out.loc["x", "mean"] == pytest.approx(2.0)
    assert out.loc["x", "ci_high"] == pytest.approx(2 + 4.302653 / math.sqrt(3), rel=1e-6)
    assert out.loc["y", "n"] == 1
    assert math.isnan(out.loc["y", "ci_low"])


def test_leaderboard_merges_rubric_cost_and_latency_columns() -> None:
    c = PairCounts(("x", "y"), *map(np.array, ([0], [1], [12.0], [8.0], [2.0])))
    scores = pd.DataFrame(
        {"model": ["x", "x", "y", "y"], "criterion": ["clarity"] * 4, "value": [4.0, 5.0, 3.0, 3.0]}
    )
    outputs = pd.DataFrame(
        {
            "model": ["x", "x", "x", "y"],
            "cost_usd": [0.01, 0.02, 0.03, 0.5],
            "latency_ms": [100.0, 300.0, 900.0, 50.0],
        }
    )
    board = leaderboard(c, rounds=50, scores=scores, costs=cost_latency(outputs))
    row = board.table.set_index("model").loc["x"]
    assert row["rubric_clarity"] == pytest.approx(4.5)
    assert row["cost_usd"] == pytest.approx(0.02)
    assert row["latency_ms"] == pytest.approx(300.0)
    assert row["n_outputs"] == 3


def test_length_control_equals_logistic_regression_with_a_length_covariate() -> None:
    rng = np.random.default_rng(9)
    a, b, out = simulate(4_000, np.array([0.0, 0.5, -0.5]), seed=9)
    # two lengths only, so every (pair, bin) cell holds one covariate value and binning is exact
    len_a = rng.choice([100, 300], size=len(a))
    len_b = rng.choice([100, 300], size=len(a))
    c = pair_counts_from_codes(a, b, out, 3, len_a=len_a, len_b=len_b)
    fit = fit_bradley_terry(c, ridge=0.0, length_control=True)

    tie = out == 0
    xlen = (len_a - len_b) / (len_a + len_b)
    rows = np.r_[np.arange(len(a)), np.flatnonzero(tie)]
    y = np.r_[np.where(out < 0, 1.0, np.where(out > 0, 0.0, 1.0)), np.zeros(tie.sum())]
    w = np.r_[np.where(tie, 0.5, 1.0), np.full(tie.sum(), 0.5)]
    x = np.zeros((len(rows), 4))
    x[np.arange(len(rows)), a[rows]] += 1.0
    x[np.arange(len(rows)), b[rows]] -= 1.0
    x[:, 3] = xlen[rows]
    ref = sm.GLM(y, x[:, 1:], family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-14)

    ours = fit.ratings()
    np.testing.assert_allclose(ours[1:] - ours[0], ELO_SCALE * ref.params[:2], atol=1e-6)
    assert fit.length_coef == pytest.approx(ref.params[2], abs=1e-8)


def test_length_control_stops_verbosity_buying_rank() -> None:
    rng = np.random.default_rng(10)
    n = 30_000
    a = rng.integers(0, 3, n)
    b = (a + rng.integers(1, 3, n)) % 3
    base = np.array([400.0, 400.0, 1200.0])  # model 2 is equally good but three times longer
    len_a = base[a] * rng.uniform(0.7, 1.3, n)
    len_b = base[b] * rng.uniform(0.7, 1.3, n)
    gamma = 1.5
    p_a = 1 / (1 + np.exp(-gamma * (len_a - len_b) / (len_a + len_b)))
    out = np.where(rng.random(n) < p_a, -1, 1)
    c = pair_counts_from_codes(a, b, out, ["x", "y", "verbose"], len_a=len_a, len_b=len_b)
    raw = leaderboard(c, rounds=200)
    controlled = leaderboard(c, rounds=200, length_control=True)
    raw_rating = raw.table.set_index("model")["rating"]
    fair = controlled.table.set_index("model")
    assert raw_rating["verbose"] - raw_rating["x"] > 80
    assert fair.loc["verbose", "ci_low"] < fair.loc["x", "rating"] < fair.loc["verbose", "ci_high"]
    assert controlled.length_coef == pytest.approx(gamma, abs=0.15)
    assert controlled.length_coef_ci[0] < gamma < controlled.length_coef_ci[1]


def test_bootstrap_refuses_fractional_counts_without_parts() -> None:
    c = PairCounts(("x", "y"), *map(np.array, ([0], [1], [1.5], [2.0], [0.0])))
    with pytest.raises(StatisticsError, match="blend_counts"):
        bootstrap_bradley_terry(c, rounds=10)


def test_length_cells_are_oriented_to_the_lower_coded_model() -> None:
    # both votes: the longer answer (300 vs 100) won, once shown as A, once as B
    c = pair_counts_from_codes(
        np.array([0, 1]),
        np.array([1, 0]),
        np.array([-1, -1]),
        2,
        len_a=np.array([300, 300]),
        len_b=np.array([100, 100]),
    )
    assert c.length.tolist() == [-0.5, 0.5]
    assert c.wins_i.tolist() == [0.0, 1.0]
    assert c.wins_j.tolist() == [1.0, 0.0]


def test_sql_aggregates_with_length_bins_give_the_same_cells_as_the_votes() -> None:
    rng = np.random.default_rng(16)
    a, b, out = simulate(3_000, np.array([0.0, 0.5, -0.5]), seed=16)
    len_a = rng.integers(50, 800, len(a))
    len_b = rng.integers(50, 800, len(a))
    x = (len_a - len_b) / (len_a + len_b)
    names = np.array(["m0", "m1", "m2"])
    votes = pd.DataFrame(
        {
            "model_a": names[a],
            "model_b": names[b],
            "outcome": out,
            "length_bin": length_bin(x, 8),
            "x": x,
        }
    )
    agg = votes.groupby(["model_a", "model_b", "outcome", "length_bin"], as_index=False).agg(
        n=("x", "size"), length_diff_sum=("x", "sum")
    )
    from_agg = pair_counts_from_aggregates(agg, length_bins=8)
    from_codes = pair_counts_from_codes(
        a, b, out, ["m0", "m1", "m2"], len_a=len_a, len_b=len_b, length_bins=8
    )
    for name in ("i", "j", "wins_i", "wins_j", "ties"):
        np.testing.assert_array_equal(getattr(from_agg, name), getattr(from_codes, name))
    np.testing.assert_allclose(from_agg.length, from_codes.length, atol=1e-12)


# --- one bootstrap unit: comparisons (issue 12, point 9) ---------------------------------------


def comparison_frame(seed: int, n_comparisons: int = 300, votes: int = 2) -> pd.DataFrame:
    """Comparisons of three models, each carrying ``votes`` correlated votes: one latent
    verdict per comparison, each vote keeps it with probability 0.85 (else a tie)."""
    rng = np.random.default_rng(seed)
    strengths = np.array([0.0, 0.5, 1.0])
    a = rng.integers(0, 3, n_comparisons)
    b = (a + rng.integers(1, 3, n_comparisons)) % 3
    latent = np.where(
        rng.random(n_comparisons) < 1 / (1 + np.exp(strengths[a] - strengths[b])), 1, -1
    )
    keep = rng.random((n_comparisons, votes)) < 0.85
    prefs = np.where(keep, latent[:, None], 0)
    return pd.DataFrame(
        {
            "comparison": np.repeat(np.arange(n_comparisons), votes),
            "model_a": np.repeat(a, votes).astype(str),
            "model_b": np.repeat(b, votes).astype(str),
            "preference": prefs.ravel(),
        }
    )


def clusters_of(votes: pd.DataFrame) -> pd.DataFrame:
    """The SQL aggregate's shape, computed in pandas: per comparison its outcome tally,
    then the number of comparisons per (pair, tally)."""
    per = votes.groupby(["comparison", "model_a", "model_b"], as_index=False).agg(
        a_wins=("preference", lambda p: int((p < 0).sum())),
        ties=("preference", lambda p: int((p == 0).sum())),
        b_wins=("preference", lambda p: int((p > 0).sum())),
    )
    keys = ["model_a", "model_b", "a_wins", "ties", "b_wins"]
    return per.groupby(keys, as_index=False).size().rename(columns={"size": "n"})


def test_cluster_counts_hold_the_same_totals_as_the_votes() -> None:
    votes = comparison_frame(1)
    clustered = pair_counts_from_clusters(clusters_of(votes))
    plain = pair_counts_from_votes(votes)
    assert clustered.clusters is not None
    for name in ("i", "j", "wins_i", "wins_j", "ties"):
        np.testing.assert_array_equal(getattr(clustered, name), getattr(plain, name))
    per_cell = np.bincount(clustered.clusters.cell, clustered.clusters.count)
    assert per_cell.sum() == votes["comparison"].nunique()


@pytest.mark.parametrize("ragged", [False, True], ids=["fixed overlap", "ragged overlap"])
def test_cluster_bootstrap_matches_resampling_comparisons_within_pairs(ragged) -> None:
    """Mean and variance of each cell's resampled score (wins + half ties) and vote total
    equal those of drawing the pair's comparisons with replacement, computed from the
    comparison list. A fixed overlap takes the exact-sum (FFT) path; a ragged one (a
    third of the comparisons lost a vote) the multinomial over classes."""
    votes = comparison_frame(2, votes=3)
    if ragged:
        votes = votes[~((votes.comparison % 3 == 0) & (votes.index % 3 == 0))]
    counts = pair_counts_from_clusters(clusters_of(votes))
    score, rest, ties = resample_counts(counts, 40_000, np.random.default_rng(0))
    a, b = votes.model_a.astype(int), votes.model_b.astype(int)
    per = (
        votes.assign(
            lo=np.minimum(a, b),
            hi=np.maximum(a, b),
            lo_score=np.where(a < b, votes.preference < 0, votes.preference > 0)
            + 0.5 * (votes.preference == 0),
            one=1.0,
        )
        .groupby(["lo", "hi", "comparison"])[["lo_score", "one"]]
        .sum()
    )
    assert not ties.any()
    for cell, ((lo, hi), group) in enumerate(per.groupby(level=["lo", "hi"])):
        assert (counts.i[cell], counts.j[cell]) == (lo, hi)
        x, n = group.lo_score.to_numpy(), group.one.to_numpy()
        total = score[:, cell] + rest[:, cell]
        assert score[:, cell].mean() == pytest.approx(x.sum(), rel=0.01)
        assert score[:, cell].var() == pytest.approx(len(x) * x.var(), rel=0.05)
        assert total.mean() == pytest.approx(n.sum(), rel=0.01)
        if ragged:
            assert total.var() == pytest.approx(len(n) * n.var(), rel=0.05)
        else:
            assert (total == n.sum()).all()


def test_copying_every_vote_k_times_leaves_the_leaderboard_intervals_unchanged() -> None:
    votes = comparison_frame(3)
    once = clusters_of(votes)
    thrice = clusters_of(pd.concat([votes] * 3, ignore_index=True))
    assert (
        thrice[["a_wins", "ties", "b_wins"]].to_numpy()
        == 3 * once[["a_wins", "ties", "b_wins"]].to_numpy()
    ).all()
    one = leaderboard(pair_counts_from_clusters(once), rounds=400, seed=5, ridge=0.0)
    three = leaderboard(pair_counts_from_clusters(thrice), rounds=400, seed=5, ridge=0.0)
    for col in ("rating", "ci_low", "ci_high", "rank_low", "rank_high"):
        np.testing.assert_allclose(three.table[col], one.table[col], atol=1e-3)
    # the per-vote bootstrap, by contrast, treats the copies as news and narrows
    naive = leaderboard(
        pair_counts_from_votes(pd.concat([votes] * 3)), rounds=400, seed=5, ridge=0.0
    )
    width = (one.table.ci_high - one.table.ci_low).iloc[0]
    naive_width = (naive.table.ci_high - naive.table.ci_low).iloc[0]
    assert naive_width < 0.75 * width


def test_cluster_bootstrap_is_invariant_to_which_output_is_stored_as_a() -> None:
    votes = comparison_frame(4)
    flip = votes["comparison"] % 2 == 1
    flipped = votes.copy()
    flipped.loc[flip, ["model_a", "model_b"]] = votes.loc[flip, ["model_b", "model_a"]].to_numpy()
    flipped.loc[flip, "preference"] = -votes.loc[flip, "preference"]
    one = leaderboard(pair_counts_from_clusters(clusters_of(votes)), rounds=300, seed=2)
    two = leaderboard(pair_counts_from_clusters(clusters_of(flipped)), rounds=300, seed=2)
    pd.testing.assert_frame_equal(one.table, two.table, atol=1e-9, rtol=0)


def test_two_model_cluster_interval_agrees_with_the_gate_interval() -> None:
    """Two models: the Bradley–Terry win rate is the head-to-head win rate, and its cluster
    bootstrap interval agrees with the gate's design-effect Wilson interval."""
    votes = comparison_frame(5, n_comparisons=600, votes=3)
    votes = votes[(votes.model_a != "2") & (votes.model_b != "2")]
    clusters = clusters_of(votes)
    board = leaderboard(
        pair_counts_from_clusters(clusters), rounds=4000, seed=1, baseline="0", ridge=0.0
    )
    row = board.table.set_index("model").loc["1"]
    as_a = clusters.model_a == "1"
    wins = np.where(as_a, clusters.a_wins, clusters.b_wins)
    rate, lo, hi, _ = clustered_win_rate_interval(
        np.repeat(wins, clusters.n),
        np.repeat(clusters.ties, clusters.n),
        np.repeat(clusters.a_wins + clusters.ties + clusters.b_wins, clusters.n),
    )
    assert row.win_rate_vs_baseline == pytest.approx(rate, abs=1e-9)
    assert row.win_rate_vs_baseline_ci_low == pytest.approx(lo, abs=0.01)
    assert row.win_rate_vs_baseline_ci_high == pytest.approx(hi, abs=0.01)


# --- Arena-Hard's win rate against the baseline (point 11) --------------------------------------


def test_win_rate_against_baseline_is_the_elo_expectation() -> None:
    assert win_rate_against(1000.0) == pytest.approx(0.5)
    assert win_rate_against(1400.0) == pytest.approx(10 / 11)
    assert win_rate_against(np.array([900.0]), 1100.0)[0] == pytest.approx(1 / (1 + 10**0.5))


def test_win_rate_against_baseline_columns_follow_the_rating_and_its_interval() -> None:
    counts = pair_counts_from_codes(
        *simulate(3000, np.array([0.0, 0.4, 0.9]), seed=3), ["a", "b", "c"]
    )
    board = leaderboard(counts, baseline="a", rounds=300, seed=1).table.set_index("model")
    for m in ("b", "c"):
        r = board.loc[m]
        assert r.win_rate_vs_baseline == pytest.approx(1 / (1 + 10 ** ((1000 - r.rating) / 400)))
        assert r.win_rate_vs_baseline_ci_low == pytest.approx(
            1 / (1 + 10 ** ((1000 - r.ci_low) / 400))
        )
        assert r.win_rate_vs_baseline_ci_high == pytest.approx(
            1 / (1 + 10 ** ((1000 - r.ci_high) / 400))
        )
    assert board.loc["a", "win_rate_vs_baseline"] == 0.5
    assert np.isnan(board.loc["a", "win_rate_vs_baseline_ci_low"])


# --- missing is missing (point 12) --------------------------------------------------------------


def test_newton_reports_rounds_that_did_not_converge() -> None:
    counts = pair_counts_from_codes(*simulate(2000, np.array([0.0, 1.0, 2.0]), seed=4), 3)
    c = counts.collapse()
    args = (c.i, c.j, c.wins_i + 0.5 * c.ties, c.wins_j + 0.5 * c.ties, 3)
    assert not bt_solve(*args, max_iter=1).converged[0]
    solved = bt_solve(*args)
    assert solved.converged[0]
    np.testing.assert_allclose(solved.theta, bt_newton(*args)[0])
    assert fit_bradley_terry(counts).converged


def test_bootstrap_counts_rounds_in_which_a_model_never_loses() -> None:
    # "a" beats "b" in 9 of 10 votes: about 0.9^10 = 35% of rounds resample no loss for it
    counts = pair_counts_from_codes(
        np.zeros(10, int), np.ones(10, int), np.array([-1] * 9 + [1]), ["a", "b"]
    )
    boot = bootstrap_bradley_terry(counts, rounds=2000, seed=0)
    wi, _, _ = resample_counts(counts, 2000, np.random.default_rng(0))
    assert boot.n_separated == int(((wi == 10) | (wi == 0)).sum())
    assert 0.25 < boot.n_separated / 2000 < 0.45
    assert boot.usable == 2000
    board = leaderboard(counts, rounds=2000, seed=0)
    assert board.separated_rounds == boot.n_separated and board.usable_rounds == 2000


def test_unconverged_rounds_are_left_out_of_the_interval() -> None:
    theta = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0], [0.0, 50.0]])
    boot = BTBootstrap(("a", "b"), theta, converged=np.array([True, True, True, False]))
    low, high = boot.intervals(1.0, baseline="a")
    assert high[1] == pytest.approx(1000 + ELO_SCALE * 3.0)
    assert boot.usable == 3
    none = BTBootstrap(("a", "b"), theta, converged=np.zeros(4, dtype=bool))
    assert np.isnan(none.intervals()[0]).all()


def test_rank_bands_rank_within_disconnected_groups_only() -> None:
    # group 1: a > b clearly; group 2: c > d clearly; no comparison links the groups
    a = np.r_[np.zeros(50, int), np.full(50, 2)]
    b = np.r_[np.ones(50, int), np.full(50, 3)]
    outcome = np.r_[[-1] * 45 + [1] * 5, [-1] * 45 + [1] * 5]
    counts = pair_counts_from_codes(a, b, outcome, ["a", "b", "c", "d"])
    board = leaderboard(counts, rounds=300, seed=0, baseline="a")
    t = board.table.set_index("model")
    assert board.n_components == 2
    assert t.loc[["a", "b"], "group"].nunique() == 1 and t.loc["a", "group"] != t.loc["c", "group"]
    assert (t.rank_low.loc[["a", "c"]] == 1).all() and (t.rank_high.loc[["a", "c"]] == 1).all()
    assert (t.rank_low.loc[["b", "d"]] == 2).all() and (t.rank_high.loc[["b", "d"]] == 2).all()
    assert t.win_rate_vs_baseline.loc[["c", "d"]].isna().all()
    assert t.win_rate_vs_baseline.loc["b"] < 0.5


def test_rank_bands_give_a_model_without_an_interval_its_whole_group() -> None:
    low, high = rank_bands(np.array([10.0, np.nan, 0.0]), np.array([12.0, np.nan, 1.0]))
    assert list(low) == [1, 1, 2] and list(high) == [2, 3, 3]


def test_field_win_rate_interval_is_cluster_aware_like_the_gate() -> None:
    votes = comparison_frame(6, votes=2)
    clusters = clusters_of(votes)
    once = model_win_rates(pair_counts_from_clusters(clusters)).set_index("model")
    copies = clusters_of(pd.concat([votes] * 4, ignore_index=True))
    four = model_win_rates(pair_counts_from_clusters(copies)).set_index("model")
    pd.testing.assert_frame_equal(
        once[["win_rate", "ci_low", "ci_high"]], four[["win_rate", "ci_low", "ci_high"]]
    )
    # model "0" against the field, by hand: one cluster per comparison it took part in
    mine = clusters[(clusters.model_a == "0") | (clusters.model_b == "0")]
    wins = np.where(mine.model_a == "0", mine.a_wins, mine.b_wins)
    n = mine.a_wins + mine.ties + mine.b_wins
    rate, lo, hi, _ = clustered_win_rate_interval(
        np.repeat(wins, mine.n), np.repeat(mine.ties, mine.n), np.repeat(n, mine.n)
    )
    assert once.loc["0", "win_rate"] == pytest.approx(rate)
    assert (once.loc["0", "ci_low"], once.loc["0", "ci_high"]) == pytest.approx((lo, hi))
