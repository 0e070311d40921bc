from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics.blend import (
    blend_counts,
    power_tuned_weight,
    ppi_bradley_terry,
    ppi_mean,
    ppi_win_rate,
    ppi_win_rates,
)
from metrics.bradley_terry import ELO_SCALE
from metrics.counts import pair_counts_from_codes
from metrics.leaderboard import leaderboard


def sources(seed: int = 0):
    rng = np.random.default_rng(seed)
    strengths = np.array([0.0, 0.6, -0.4, 0.3])

    def votes(n: int):
        a = rng.integers(0, 4, n)
        b = (a + rng.integers(1, 4, n)) % 4
        p_a = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
        out = np.where(rng.random(n) < p_a, -1, 1)
        return pair_counts_from_codes(a, b, out, ["m0", "m1", "m2", "m3"])

    return votes(800), votes(5_000)


def test_blend_weight_zero_is_human_only_and_one_is_judge_only() -> None:
    human, judge = sources()
    pd.testing.assert_frame_equal(
        leaderboard(blend_counts(human, judge, 0.0), rounds=200).table,
        leaderboard(human, rounds=200).table,
    )
    pd.testing.assert_frame_equal(
        leaderboard(blend_counts(human, judge, 1.0), rounds=200).table,
        leaderboard(judge, rounds=200).table,
    )


def test_blend_adds_weighted_counts() -> None:
    human, judge = sources()
    mixed = blend_counts(human, judge, 0.25)
    np.testing.assert_allclose(mixed.wins_i, 0.75 * human.wins_i + 0.25 * judge.wins_i)
    assert len(mixed.parts) == 2
    board = leaderboard(mixed, rounds=100)
    assert board.table["rating"].notna().all()


def test_blend_normalize_gives_the_judge_a_share_of_the_human_total() -> None:
    human, judge = sources()
    mixed = blend_counts(human, judge, 0.5, normalize=True)
    assert mixed.n.sum() == pytest.approx(human.n.sum())


def test_ppi_mean_matches_hand_arithmetic() -> None:
    judge = np.array([1.0, 1.0, 0.0, 1.0, 0.5, 1.0])
    human = np.array([1.0, 0.0, 0.0, np.nan, np.nan, np.nan])
    r = ppi_mean(judge, human, power_tuning=False)
    assert r.judge_weight == 1.0
    # mean judge over N=6: 4.5 / 6 = 0.75; rectifier on n=3: (0 - 1 + 0) / 3 = -1/3
    assert r.estimate == pytest.approx(0.75 - 1 / 3)
    # per labelled item g = f/6 + (y - f)/3 = [1/6, -1/6, 0]: var (ddof 1) = 1/36
    # var(judge over all 6) = 0.875 / 5 = 0.175
    # var = 3 * 1/36 + (6 - 3) * 0.175 / 36 = 0.0833333 + 0.0145833 = 0.0979167
    assert r.se == pytest.approx(math.sqrt(0.0979167), rel=1e-5)
    # human only: mean 1/3, var (ddof 1) 1/3 -> se = sqrt(1/3 / 3) = 1/3
    assert r.human_estimate == pytest.approx(1 / 3)
    assert r.human_se == pytest.approx(1 / 3)
    assert r.width_ratio == pytest.approx(math.sqrt(0.0979167) * 3, rel=1e-5)
    assert r.ci_high - r.estimate == pytest.approx(1.959964 * r.se, rel=1e-6)


def test_power_tuned_ppi_mean_matches_hand_arithmetic() -> None:
    judge = np.array([1.0, 1.0, 0.0, 1.0, 0.5, 1.0])
    human = np.array([1.0, 0.0, 0.0, np.nan, np.nan, np.nan])
    r = ppi_mean(judge, human)
    # labelled f = [1, 1, 0], y = [1, 0, 0]: var_l(f) = 1/3, cov_l(f, y) = 1/6,
    # var_l(y) = 1/3; var(f over all 6) = 0.175; c = 1/n - 1/N = 1/6
    # lambda = c cov / (n c^2 var_l(f) + (N - n) var(f) / N^2) = (1/36) / (1.525/36)
    lam = 1 / 1.525
    assert r.judge_weight == pytest.approx(lam)
    # estimate = lambda * 0.75 + mean(y - lambda f) = 1/3 + lambda / 12
    assert r.estimate == pytest.approx(1 / 3 + lam / 12)
    # variance = 1.525/36 lambda^2 - lambda/18 + 1/9, at the optimum 1/9 - lambda/36
    assert r.se == pytest.approx(math.sqrt(1 / 9 - lam / 36))
    assert r.width_ratio < 1


def test_power_tuned_weight_falls_back_to_classic_ppi_when_undefined() -> None:
    # one label, a constant judge, everything labelled
    lam = power_tuned_weight(np.array([1, 50, 60]), 60, np.array([0.0, 0.0, 0.2]), 0.1, 0.0)
    np.testing.assert_array_equal(lam, [1.0, 1.0, 1.0])
    assert power_tuned_weight(50, 1_000, 0.25, -0.1, 0.25) == 0.0  # judge anti-correlated


def test_power_tuned_ppi_is_never_wider_than_human_only() -> None:
    rng = np.random.default_rng(3)
    problems, big_n, n = 500, 400, 40
    human = rng.choice([0.0, 0.5, 1.0], size=(problems, big_n))
    agreement = rng.random((problems, 1))  # from a coin-flip judge to a faithful one
    noise = rng.choice([0.0, 0.5, 1.0], size=(problems, big_n))
    judge = np.where(rng.random((problems, big_n)) < agreement, human, noise)
    shown = np.where(np.arange(big_n) < n, human, np.nan)
    tuned = ppi_mean(judge, shown)
    classic = ppi_mean(judge, shown, power_tuning=False)
    assert (tuned.width_ratio <= 1 + 1e-12).all()
    assert (tuned.se <= classic.se + 1e-12).all()
    assert (classic.width_ratio > 1).any()
    useless, faithful = agreement[:, 0] < 0.05, agreement[:, 0] > 0.95
    assert np.median(tuned.judge_weight[useless]) < 0.2
    assert np.median(tuned.judge_weight[faithful]) > 0.8


def test_ppi_with_every_item_labelled_is_the_human_mean() -> None:
    human = np.array([1.0, 0.0, 0.5, 1.0])
    r = ppi_mean(np.array([1.0, 1.0, 1.0, 0.0]), human)
    assert r.estimate == pytest.approx(human.mean())
    assert r.se == pytest.approx(r.human_se)


@pytest.mark.parametrize("power_tuning", [True, False], ids=["tuned", "classic"])
def test_ppi_interval_stays_valid_under_a_biased_judge(power_tuning: bool) -> None:
    # Over 15,000 campaigns this setup covers 94.5 %; with 200 campaigns the observed
    # rate has a Monte-Carlo sd of ~1.6 points, so the 93 % bar fails for some seeds.
    rng = np.random.default_rng(0)
    campaigns, big_n, n = 200, 2_000, 200
    # humans: A wins 50 %, B wins 40 %, tie 10 % -> true A win rate 0.55
    u = rng.random((campaigns, big_n))
    human = np.where(u < 0.5, 1.0, np.where(u < 0.9, 0.0, 0.5))
    # judge copies the human 70 % of the time and otherwise says A (expected 0.685)
    judge = np.where(rng.random((campaigns, big_n)) < 0.7, human, 1.0)
    labelled = np.argsort(rng.random((campaigns, big_n)), axis=1)[:, :n]
    shown = np.full((campaigns, big_n), np.nan)
    np.put_along_axis(shown, labelled, np.take_along_axis(human, labelled, axis=1), axis=1)

    r = ppi_mean(judge, shown, power_tuning=power_tuning)
    covered = (r.ci_low <= 0.55) & (r.ci_high >= 0.55)
    assert covered.mean() >= 0.93
    judge_se = judge.std(axis=1, ddof=1) / math.sqrt(big_n)
    judge_covered = np.abs(r.judge_estimate - 0.55) <= 1.96 * judge_se
    assert judge_covered.mean() < 0.05
    assert np.median(r.width_ratio) < 0.9


def ppi_frame(seed: int, big_n: int, label_rate: float, judge_accuracy: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    strengths = np.array([-0.6, 0.0, 0.5])
    a = rng.integers(0, 3, big_n)
    b = (a + rng.integers(1, 3, big_n)) % 3
    p_a = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
    human = np.where(rng.random(big_n) < p_a, -1.0, 1.0)
    judge = np.where(rng.random(big_n) < judge_accuracy, human, -1.0)
    names = np.array(["low", "mid", "top"])
    return pd.DataFrame(
        {
            "model_a": names[a],
            "model_b": names[b],
            "judge_preference": judge,
            "human_preference": np.where(rng.random(big_n) < label_rate, human, np.nan),
        }
    )


def test_ppi_win_rate_of_x_over_y_mirrors_y_over_x() -> None:
    frame = ppi_frame(13, 3_000, 0.2, 0.8)
    xy = ppi_win_rate(frame, "top", "low")
    yx = ppi_win_rate(frame, "low", "top")
    assert xy.estimate == pytest.approx(1 - yx.estimate)
    assert xy.se == pytest.approx(yx.se)
    field = ppi_win_rates(frame).set_index("model")
    assert field.loc["top", "win_rate"] > field.loc["low", "win_rate"]


def test_classic_ppi_ratings_with_a_faithful_judge_equal_the_judge_fit() -> None:
    frame = ppi_frame(14, 6_000, 0.1, 1.0)
    r = ppi_bradley_terry(frame, rounds=300, power_tuning=False)
    table = r.table.set_index("model")
    np.testing.assert_allclose(table["rating"], table["judge_rating"], atol=1e-6)
    assert r.width_ratio < 0.6
    assert r.judge_weight == 1.0


def test_ppi_ratings_with_a_faithful_judge_lean_on_it_and_are_narrower() -> None:
    frame = ppi_frame(14, 6_000, 0.1, 1.0)
    r = ppi_bradley_terry(frame, rounds=300)
    table = r.table.set_index("model")
    # a judge that always matches the humans gets weight 1 when the labelled items are
    # among the judged ones: mean_N(f) + mean_n(y - f) is then the judge mean exactly
    assert r.judge_weight > 0.95
    np.testing.assert_allclose(table["rating"], table["judge_rating"], atol=1)
    assert r.width_ratio < 0.6
    assert r.n_labelled == frame["human_preference"].notna().sum()
    assert table.loc["top", "rank_low"] == 1


def test_ppi_ratings_remove_a_judge_bias_that_judge_only_ratings_keep() -> None:
    frame = ppi_frame(15, 20_000, 0.1, 0.6)
    table = ppi_bradley_terry(frame, rounds=300).table.set_index("model")
    truth = ELO_SCALE * (0.5 - (-0.6))
    judge_gap = table.loc["top", "judge_rating"] - table.loc["low", "judge_rating"]
    ppi_gap = table.loc["top", "rating"] - table.loc["low", "rating"]
    assert abs(judge_gap - truth) > 60
    assert abs(ppi_gap - truth) < 40
    for model in table.index:
        assert table.loc[model, "ci_low"] < table.loc[model, "rating"] < table.loc[model, "ci_high"]


def test_power_tuning_keeps_a_coin_flip_judge_from_widening_the_ratings() -> None:
    rng = np.random.default_rng(16)
    frame = ppi_frame(16, 4_000, 0.2, 1.0)
    frame["judge_preference"] = rng.choice([-1.0, 1.0], size=len(frame))
    tuned = ppi_bradley_terry(frame, rounds=400)
    classic = ppi_bradley_terry(frame, rounds=400, power_tuning=False)
    assert tuned.judge_weight < 0.2
    assert classic.width_ratio > 1.1
    assert tuned.width_ratio < 1.02


def with_unlabelled_model(frame: pd.DataFrame, seed: int, n: int = 600) -> pd.DataFrame:
    """``frame`` plus comparisons of a model "new" that only the judge has seen."""
    rng = np.random.default_rng(seed)
    rivals = rng.choice(["low", "mid", "top"], n)
    extra = pd.DataFrame(
        {
            "model_a": np.where(rng.random(n) < 0.5, "new", rivals),
            "model_b": "",
            "judge_preference": rng.choice([-1.0, 0.0, 1.0], n),
            "human_preference": np.nan,
        }
    )
    extra["model_b"] = np.where(extra["model_a"] == "new", rivals, "new")
    return pd.concat([frame, extra], ignore_index=True)


def test_a_model_no_human_labelled_has_no_human_only_figures() -> None:
    frame = with_unlabelled_model(ppi_frame(17, 3_000, 0.2, 0.8), 17)
    r = ppi_bradley_terry(frame, rounds=300)
    table = r.table.set_index("model")
    human_cols = ["human_rating", "human_ci_low", "human_ci_high", "width_ratio"]
    assert table.loc["new", human_cols].isna().all()
    assert table.loc["new", "n_labelled"] == 0
    assert np.isfinite(table.loc["new", ["rating", "ci_low", "ci_high", "judge_rating"]]).all()
    labelled = table.drop(index="new")
    assert labelled[human_cols].notna().all().all()
    # the width ratio is the median over the labelled models only, computed from the table
    widths = (labelled["ci_high"] - labelled["ci_low"]) / (
        labelled["human_ci_high"] - labelled["human_ci_low"]
    )
    assert r.width_ratio == pytest.approx(float(np.median(widths)))
    # human-only ratings are anchored at the mean of the models humans judged
    assert labelled["human_rating"].mean() == pytest.approx(1000.0)


def test_human_only_ratings_ignore_a_model_only_the_judge_saw() -> None:
    frame = ppi_frame(18, 3_000, 0.2, 0.8)
    alone = ppi_bradley_terry(frame, rounds=100).table.set_index("model")
    joined = ppi_bradley_terry(with_unlabelled_model(frame, 18), rounds=100).table
    joined = joined.set_index("model").loc[alone.index]
    np.testing.assert_allclose(joined["human_rating"], alone["human_rating"], atol=1e-6)


def test_a_baseline_no_human_labelled_leaves_every_human_figure_missing() -> None:
    frame = with_unlabelled_model(ppi_frame(19, 2_000, 0.2, 0.8), 19)
    r = ppi_bradley_terry(frame, rounds=100, baseline="new")
    assert r.table["human_rating"].isna().all()
    assert r.table["width_ratio"].isna().all()
    assert math.isnan(r.width_ratio)
    assert r.table.set_index("model").loc["new", "rating"] == pytest.approx(1000.0)


def test_the_ppi_baseline_is_the_anchor_with_no_interval_of_its_own() -> None:
    frame = ppi_frame(18, 3_000, 0.2, 0.8)
    r = ppi_bradley_terry(frame, rounds=100, baseline="mid").table.set_index("model")
    anchor, others = r.loc["mid"], r.drop(index="mid")
    assert anchor["rating"] == pytest.approx(1000.0)
    for column in ("ci_low", "ci_high", "human_ci_low", "human_ci_high"):
        assert math.isnan(anchor[column])
        assert others[column].notna().all()


def _cluster_totals(c) -> np.ndarray:
    """Per-cell (wins_i, wins_j, ties) summed from a table's comparison classes."""
    cl = c.clusters
    out = np.zeros((len(c.i), 3))
    for col, arr in enumerate((cl.wins_i, cl.wins_j, cl.ties)):
        out[:, col] = np.bincount(cl.cell, weights=arr * cl.count, minlength=len(c.i))
    return out


def test_blend_parts_keep_their_comparisons_so_the_bootstrap_resamples_comparisons() -> None:
    from metrics.counts import pair_counts_from_clusters

    human = pair_counts_from_clusters(
        pd.DataFrame(
            {
                "model_a": ["b", "b", "a"],
                "model_b": ["a", "a", "c"],
                "a_wins": [2, 0, 1],
                "ties": [1, 0, 0],
                "b_wins": [0, 3, 2],
                "n": [4, 2, 5],
            }
        )
    )
    judge = pair_counts_from_clusters(
        pd.DataFrame(
            {
                "model_a": ["c", "a"],
                "model_b": ["b", "b"],
                "a_wins": [2, 1],
                "ties": [0, 0],
                "b_wins": [0, 1],
                "n": [3, 6],
            }
        )
    )
    blended = blend_counts(human, judge, 0.3)
    for part, _ in blended.parts:
        assert part.clusters is not None
        totals = _cluster_totals(part)
        np.testing.assert_allclose(totals[:, 0], part.wins_i)
        np.testing.assert_allclose(totals[:, 1], part.wins_j)
        np.testing.assert_allclose(totals[:, 2], part.ties)
    human_part = blended.parts[0][0]
    ab = [k for k in range(len(human_part.i)) if {human_part.i[k], human_part.j[k]} == {0, 1}]
    assert (human_part.wins_i[ab[0]], human_part.wins_j[ab[0]]) == (3 * 2, 2 * 4)

