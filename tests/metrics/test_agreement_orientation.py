"""Orientation-free preference agreement, the MT-Bench human-human figures and kappa CIs."""

from __future__ import annotations

import math
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats import inter_rater

from metrics.agreement import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_ci,
    krippendorff_alpha,
    pairwise_cohen_kappa,
    preference_long_frame,
    vote_pair_agreement,
)
from metrics.frames import SCORE_COLUMNS, VOTE_COLUMNS
from metrics.rater_quality import position_bias, rater_quality
from tests import factory

LEVELS = ("nominal", "ordinal", "interval")


def _data_set(seed: int = 0, n_comparisons: int = 80, n_raters: int = 6) -> pd.DataFrame:
    """Human votes on a 5-point scale: a true preference per comparison (skewed towards A, so
    the stored order matters to a stored-order coding), 2-4 raters each who slip by a step,
    some ties, both-bad votes, unscored rows, a re-show, an attention check and a judge."""
    rng = np.random.default_rng(seed)
    rows = []
    for cid in range(1, n_comparisons + 1):
        truth = rng.choice([-2, -1, 0, 1, 2], p=[0.35, 0.3, 0.15, 0.12, 0.08])
        for r in rng.choice(n_raters, size=min(rng.integers(2, 5), n_raters), replace=False):
            pref = float(np.clip(truth + rng.integers(-1, 2) * (rng.random() < 0.4), -2, 2))
            if rng.random() < 0.04:
                pref = np.nan
            rows.append(
                factory.vote_row(
                    cid, f"u:{r}", pref,
                    model_a="m1", model_b="m2", len_a=100 + cid, len_b=50,
                    shown_order=("ab", "ba", "unknown")[rng.integers(0, 3)],
                    both_bad=bool(rng.random() < 0.03), time_on_task_ms=4000.0,
                )
            )  # fmt: skip
    rows.append(factory.vote_row(3, rows[0]["rater"], 1.0, is_reshow=True, shown_order="ba"))
    rows.append(factory.vote_row(5, "j:1", -2.0, rater_kind="llm", judge="judge@v1"))
    for r in range(3):
        rows.append(
            factory.vote_row(n_comparisons + 1, f"u:{r}", -2.0, check_kind="attention",
                             expected_preference=-2.0)
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(VOTE_COLUMNS))


def _flip(votes: pd.DataFrame, comparisons: set) -> pd.DataFrame:
    """The same votes with ``comparisons`` stored the other way round (B first)."""
    out = votes.copy()
    hit = out["comparison_id"].isin(comparisons).to_numpy()
    swap = {"ab": "ba", "ba": "ab"}
    out.loc[hit, ["model_a", "model_b"]] = out.loc[hit, ["model_b", "model_a"]].to_numpy()
    out.loc[hit, ["len_a", "len_b"]] = out.loc[hit, ["len_b", "len_a"]].to_numpy()
    out.loc[hit, "preference"] = -out.loc[hit, "preference"]
    out.loc[hit, "expected_preference"] = -out.loc[hit, "expected_preference"]
    out.loc[hit, "shown_order"] = out.loc[hit, "shown_order"].map(lambda o: swap.get(o, o))
    return out


def _random_half(votes: pd.DataFrame, seed: int = 1) -> set:
    ids = np.unique(votes["comparison_id"])
    rng = np.random.default_rng(seed)
    return set(rng.choice(ids, size=len(ids) // 2, replace=False).tolist())


def _scores(votes: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = [
        (cid, rater, "human", None, 2 * cid + side, "m", "helpfulness", float(rng.integers(1, 6)))
        for (cid, rater) in votes[["comparison_id", "rater"]].drop_duplicates().itertuples(False)
        for side in (0, 1)
    ]
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def _assert_same(left, right, path="") -> None:
    """Deep equality of to_dict() outputs, floats to 1e-9."""
    if isinstance(left, dict):
        assert list(left) == list(right), path
        for key in left:
            _assert_same(left[key], right[key], f"{path}/{key}")
    elif isinstance(left, list):
        assert len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            _assert_same(a, b, f"{path}[{i}]")
    elif isinstance(left, float) and isinstance(right, float):
        assert left == pytest.approx(right, abs=1e-9, nan_ok=True), path
    else:
        assert left == right, path


# ---------------------------------------------------------------------------------------------
# Invariance


def test_flipping_a_random_half_of_the_comparisons_changes_no_agreement_figure():
    votes = _data_set()
    flipped = _flip(votes, _random_half(votes))
    scores = _scores(votes)
    before = agreement_report(votes, scores, n_boot=200, seed=4).to_dict()
    after = agreement_report(flipped, scores, n_boot=200, seed=4).to_dict()
    stored_before, stored_after = before.pop("as_stored"), after.pop("as_stored")
    _assert_same(before, after)
    assert before["krippendorff_alpha"]["preference/nominal"]["alpha"] is not None
    assert before["fleiss_kappa"]["ci_low"] is not None
    # The stored-order coding, kept only as a labelled extra, is what used to move:
    for key in ("preference/nominal alpha", "preference/ordinal alpha", "Fleiss' kappa"):
        assert abs(stored_before[key] - stored_after[key]) > 1e-3, key


def test_flipping_changes_no_rater_quality_figure():
    votes = _data_set(seed=2)
    flipped = _flip(votes, _random_half(votes, seed=3))
    pd.testing.assert_frame_equal(rater_quality(votes), rater_quality(flipped))
    assert position_bias(votes) == position_bias(flipped)
    assert position_bias(votes).n_unknown_order > 0


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_each_kappa_is_orientation_free_and_the_stored_coding_is_not(weights):
    votes = _data_set(seed=5)
    flipped = _flip(votes, _random_half(votes, seed=6))
    five, five_flipped = (preference_long_frame(v, "five_point") for v in (votes, flipped))
    same = pairwise_cohen_kappa(five, weights, mirror=True, n_boot=100)
    other = pairwise_cohen_kappa(five_flipped, weights, mirror=True, n_boot=100)
    for attr in ("kappa", "ci_low", "ci_high", "n_boot_usable"):
        np.testing.assert_allclose(getattr(same, attr), getattr(other, attr), atol=1e-9)
    stored = pairwise_cohen_kappa(five, weights).kappa.to_numpy()
    stored_flipped = pairwise_cohen_kappa(five_flipped, weights).kappa.to_numpy()
    assert np.nanmax(np.abs(stored - stored_flipped)) > 1e-3


@pytest.mark.parametrize("level", LEVELS)
def test_mirrored_alpha_and_its_bootstrap_are_orientation_free(level):
    votes = _data_set(seed=8)
    flipped = _flip(votes, _random_half(votes, seed=9))
    a, b = (
        krippendorff_alpha(preference_long_frame(v, "five_point"), level, n_boot=300, mirror=True)
        for v in (votes, flipped)
    )
    for attr in ("alpha", "ci_low", "ci_high"):
        assert getattr(a, attr) == pytest.approx(getattr(b, attr), abs=1e-9)
    assert a.n_boot_usable == b.n_boot_usable == 300


# ---------------------------------------------------------------------------------------------
# Against independent computations


def _both_orientations(frame: pd.DataFrame) -> pd.DataFrame:
    """Every unit twice: as stored, and negated under a new unit id."""
    mirrored = frame.assign(unit=frame["unit"].map(lambda u: ("flip", u)), value=-frame["value"])
    return pd.concat([frame.assign(unit=frame["unit"].map(lambda u: ("kept", u))), mirrored])


def _matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame.pivot(index="rater", columns="unit", values="value").to_numpy(float)


@pytest.mark.parametrize("level", LEVELS)
def test_mirrored_alpha_is_the_package_alpha_on_both_orientations_with_n_kept(level):
    # Counting every unit twice doubles the coincidences and n; the package then uses 2n - 1
    # where the half-weight symmetrised matrix keeps n - 1, so
    # 1 - alpha_mirrored = (1 - alpha_doubled) * 2 (n - 1) / (2n - 1).
    frame = preference_long_frame(_data_set(seed=11), "five_point")
    result = krippendorff_alpha(frame, level, n_boot=0, mirror=True)
    doubled = krippendorff.alpha(_matrix(_both_orientations(frame)), level_of_measurement=level)
    n = result.n_pairable_values
    expected = 1 - (1 - doubled) * 2 * (n - 1) / (2 * n - 1)
    assert result.alpha == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_mirrored_cohen_kappa_is_statsmodels_kappa_on_the_symmetrised_table(weights):
    frame = preference_long_frame(_data_set(seed=12, n_raters=2), "five_point")
    frame = frame[frame["rater"].isin(["u:0", "u:1"])]
    wide = frame.pivot(index="unit", columns="rater", values="value").dropna()
    x, y = wide.iloc[:, 0].to_numpy(), wide.iloc[:, 1].to_numpy()
    values = np.arange(-2, 3)
    table = np.zeros((5, 5))
    np.add.at(table, (np.searchsorted(values, x), np.searchsorted(values, y)), 1)
    symmetric = (table + table[::-1, ::-1]) / 2
    wt = {None: None, "linear": "linear", "quadratic": "quadratic"}[weights]
    expected = inter_rater.cohens_kappa(symmetric, wt=wt).kappa
    assert cohen_kappa(x, y, weights, mirror=True) == pytest.approx(expected, abs=1e-12)
    pairwise = pairwise_cohen_kappa(frame, weights, mirror=True)
    assert pairwise.kappa.iat[0, 1] == pytest.approx(expected, abs=1e-12)


def test_mirrored_fleiss_is_statsmodels_fleiss_on_both_orientations():
    # Fleiss is a mean over units, so counting every unit twice changes nothing but the shares.
    frame = preference_long_frame(_data_set(seed=13), "winner")
    counts = pd.crosstab(frame["unit"], frame["value"]).reindex(columns=[-1.0, 0.0, 1.0])
    counts = counts.fillna(0).to_numpy()
    counts = counts[counts.sum(axis=1) >= 2]
    # statsmodels assumes a constant number of raters: compare on units with exactly 3.
    three = counts[counts.sum(axis=1) == 3]
    keep = frame["unit"].isin(frame["unit"].value_counts().loc[lambda s: s == 3].index)
    expected = inter_rater.fleiss_kappa(np.vstack([three, three[:, ::-1]]))
    assert fleiss_kappa(frame[keep], mirror=True) == pytest.approx(expected, abs=1e-12)


def _mt_bench_reference(frame: pd.DataFrame, ties: bool) -> tuple[float, int]:
    agree = pairs = 0
    for _, unit in frame.groupby("unit"):
        for (r1, v1), (r2, v2) in combinations(zip(unit["rater"], unit["value"], strict=True), 2):
            assert r1 != r2
            if not ties and (v1 == 0 or v2 == 0):
                continue
            pairs += 1
            agree += v1 == v2
    return (agree / pairs if pairs else math.nan), pairs


@pytest.mark.parametrize("ties", [True, False])
def test_mt_bench_human_agreement_counts_every_pair_of_votes_on_a_comparison(ties):
    frame = preference_long_frame(_data_set(seed=14), "winner")
    expected, pairs = _mt_bench_reference(frame, ties)
    got = vote_pair_agreement(frame, ties=ties)
    assert got.agreement == pytest.approx(expected, abs=1e-12)
    assert got.n_pairs == pairs


def test_mt_bench_agreement_by_hand_with_and_without_ties():
    # unit 1: a, a, tie -> pairs (a,a) agree, (a,tie) x2 disagree; unit 2: b, tie -> disagree.
    frame = pd.DataFrame(
        {"unit": [1, 1, 1, 2, 2], "rater": ["x", "y", "z", "x", "y"],
         "value": [-1.0, -1.0, 0.0, 1.0, 0.0]}
    )  # fmt: skip
    s1 = vote_pair_agreement(frame, ties=True)
    s2 = vote_pair_agreement(frame, ties=False)
    assert (s1.agreement, s1.n_pairs) == (pytest.approx(1 / 4), 4)
    assert (s2.agreement, s2.n_pairs) == (1.0, 1)
    none = vote_pair_agreement(frame[frame["value"] == 0], ties=False)
    assert math.isnan(none.agreement) and none.to_dict()["reason"] is not None


def test_report_gives_s1_and_s2_from_the_human_votes():
    votes = _data_set(seed=15)
    report = agreement_report(votes, n_boot=0)
    winner = preference_long_frame(votes[votes["check_kind"].ne("attention")], "winner")
    assert report.human_human["S1"].agreement == pytest.approx(report.percent_agreement)
    assert report.human_human["S2"].agreement == pytest.approx(
        _mt_bench_reference(winner, ties=False)[0]
    )


# ---------------------------------------------------------------------------------------------
# Kappa bootstrap CIs


def _naive_pair_bootstrap(frame: pd.DataFrame, r1: str, r2: str, rounds: int) -> np.ndarray:
    """Resample the pairable units with replacement and recompute the pair's mirrored kappa."""
    wide = frame.pivot(index="unit", columns="rater", values="value")
    wide = wide[wide.notna().sum(axis=1) >= 2]
    rng = np.random.default_rng(99)
    out = []
    for _ in range(rounds):
        sample = wide.iloc[rng.integers(0, len(wide), len(wide))]
        out.append(cohen_kappa(sample[r1], sample[r2], mirror=True))
    return np.array(out)


def test_pairwise_kappa_ci_matches_a_naive_unit_bootstrap():
    frame = preference_long_frame(_data_set(seed=16, n_comparisons=150, n_raters=3), "winner")
    result = pairwise_cohen_kappa(frame, mirror=True, n_boot=2000, seed=1)
    naive = _naive_pair_bootstrap(frame, "u:0", "u:1", 2000)
    naive = naive[np.isfinite(naive)]
    low, high = np.quantile(naive, [0.025, 0.975])
    assert result.ci_low.loc["u:0", "u:1"] == pytest.approx(low, abs=0.04)
    assert result.ci_high.loc["u:0", "u:1"] == pytest.approx(high, abs=0.04)
    kappa = result.kappa.loc["u:0", "u:1"]
    assert result.ci_low.loc["u:0", "u:1"] < kappa < result.ci_high.loc["u:0", "u:1"]


def test_fleiss_ci_brackets_the_estimate_and_is_seeded():
    frame = preference_long_frame(_data_set(seed=17), "winner")
    a = fleiss_kappa_ci(frame, mirror=True, n_boot=400, seed=2)
    assert a == fleiss_kappa_ci(frame, mirror=True, n_boot=400, seed=2)
    assert a.ci_low < a.kappa < a.ci_high
    assert a.kappa == pytest.approx(fleiss_kappa(frame, mirror=True))
    assert a.n_boot_usable == 400 and a.reason is None


def test_rounds_without_variation_are_counted_not_hidden():
    # Two raters who always say "tie" on two comparisons: every figure is undefined, and every
    # bootstrap round too; the results say how many rounds were usable (none) and why.
    frame = pd.DataFrame({"unit": [1, 1, 2, 2], "rater": list("xyxy"), "value": [0.0] * 4})
    alpha = krippendorff_alpha(frame, mirror=True, n_boot=50)
    fleiss = fleiss_kappa_ci(frame, mirror=True, n_boot=50)
    pair = pairwise_cohen_kappa(frame, mirror=True, n_boot=50).pairs()[0]
    assert (alpha.n_boot, alpha.n_boot_usable) == (50, 0)
    assert (fleiss.n_boot, fleiss.n_boot_usable) == (50, 0)
    assert (pair["n_boot"], pair["n_boot_usable"]) == (50, 0)
    assert alpha.reason == fleiss.reason == pair["reason"]
    assert "no variation" in alpha.reason


def test_some_rounds_without_variation_are_counted():
    # One disagreement among many agreeing units: a resample without it has no variation.
    frame = pd.DataFrame(
        {"unit": np.repeat(np.arange(6), 2), "rater": ["x", "y"] * 6,
         "value": [1.0, 1.0] * 5 + [1.0, 0.0]}
    )  # fmt: skip
    alpha = krippendorff_alpha(frame, mirror=False, n_boot=500, seed=3)
    assert 0 < alpha.n_boot_usable < 500
    assert alpha.to_dict()["n_boot_usable"] == alpha.n_boot_usable
