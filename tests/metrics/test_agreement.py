from __future__ import annotations

import json
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats import inter_rater

from metrics import _alpha_fast
from metrics.agreement import (
    AgreementReport,
    agreement_report,
    alpha_by_criterion,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    long_frame_from_reliability_data,
    pairwise_cohen_kappa,
    percent_agreement,
    preference_long_frame,
)
from metrics.errors import StatisticsError
from metrics.frames import SCORE_COLUMNS, VOTE_COLUMNS
from tests import factory

LEVELS = ("nominal", "ordinal", "interval", "ratio")
nan = np.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", p. 8:
# coders A..D (rows) x units 1..12 (columns), NaN where a coder left a unit out.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)
PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

# Two raters, four units: A = 1 1 2 2, B = 1 2 2 2.
TWO_BY_FOUR = long_frame_from_reliability_data([[1, 1, 2, 2], [1, 2, 2, 2]], raters=["A", "B"])


def _table(matrix: np.ndarray) -> _alpha_fast.PatternTable:
    rater, unit = np.nonzero(~np.isnan(matrix))
    return _alpha_fast.pattern_table(unit, matrix[rater, unit])


def _random_reliability(
    rng: np.random.Generator, raters: int, units: int, k: int, p_noise: float = 0.4
) -> np.ndarray:
    """Raters who copy a true value, or miss it by one step with probability ``p_noise``."""
    truth = rng.integers(1, k + 1, units)
    noise = rng.integers(-1, 2, (raters, units)) * (rng.random((raters, units)) < p_noise)
    data = np.clip(truth + noise, 1, k).astype(float)
    data[rng.random((raters, units)) < 0.3] = nan
    return data


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha: point estimates


def test_alpha_two_raters_four_units_nominal_by_hand():
    # Each unit has m = 2, so it adds its 2 ordered pairs / (m - 1) = 1 to the coincidences:
    # o = [[2, 1], [1, 4]], n_1 = 3, n_2 = 5, n = 8.
    # alpha = 1 - (n - 1) * (o_12 + o_21) / (n_1 n_2 + n_2 n_1) = 1 - 7 * 2 / 30 = 8/15.
    result = krippendorff_alpha(TWO_BY_FOUR, "nominal", n_boot=0)
    assert result.alpha == pytest.approx(8 / 15, abs=1e-12)
    assert (result.n_units, result.n_pairable_values) == (4, 8)


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_reproduces_krippendorffs_published_example(level):
    frame = long_frame_from_reliability_data(KRIPPENDORFF_2011, raters=list("ABCD"))
    package = krippendorff.alpha(KRIPPENDORFF_2011, level_of_measurement=level)
    result = krippendorff_alpha(frame, level, n_boot=0)
    assert round(package, 3) == PUBLISHED[level]
    assert round(result.alpha, 3) == PUBLISHED[level]
    assert result.alpha == pytest.approx(package, abs=1e-9)
    # Unit 12 has a single value: not pairable, so 11 units and 40 pairable values remain.
    assert (result.n_units, result.n_pairable_values) == (11, 40)


@pytest.mark.parametrize("level", LEVELS)
def test_fast_alpha_equals_package_on_random_data_with_missing_values(level):
    rng = np.random.default_rng(7)
    for _ in range(15):
        data = _random_reliability(rng, int(rng.integers(2, 7)), int(rng.integers(3, 400)), 6)
        if (np.sum(~np.isnan(data), axis=0) < 2).all():
            continue
        fast = krippendorff_alpha(long_frame_from_reliability_data(data), level, n_boot=0)
        assert fast.alpha == pytest.approx(
            krippendorff.alpha(data, level_of_measurement=level), abs=1e-9
        )


def test_fast_alpha_equals_package_on_non_integer_and_many_valued_data():
    rng = np.random.default_rng(3)
    data = np.round(rng.normal(50, 10, (4, 300)) + rng.normal(0, 10, 300))
    data[rng.random(data.shape) < 0.25] = nan
    frame = long_frame_from_reliability_data(data)
    for level in ("ordinal", "interval"):
        assert krippendorff_alpha(frame, level, n_boot=0).alpha == pytest.approx(
            krippendorff.alpha(data, level_of_measurement=level), abs=1e-9
        )


def test_single_rating_units_drop_out_of_alpha():
    extra = pd.DataFrame({"unit": [99, 100], "rater": ["A", "B"], "value": [7.0, 1.0]})
    with_singles = pd.concat([TWO_BY_FOUR, extra], ignore_index=True)
    for level in ("nominal", "ordinal", "interval"):
        base = krippendorff_alpha(TWO_BY_FOUR, level, n_boot=0)
        padded = krippendorff_alpha(with_singles, level, n_boot=0)
        assert padded.alpha == pytest.approx(base.alpha, abs=1e-12)
        assert padded.n_units == base.n_units == 4


def test_alpha_is_nan_without_pairable_units():
    frame = pd.DataFrame({"unit": [1, 2], "rater": ["A", "B"], "value": [1.0, 2.0]})
    result = krippendorff_alpha(frame, "nominal", n_boot=50)
    assert np.isnan(result.alpha) and np.isnan(result.ci_low)
    assert result.n_units == 0
    assert result.to_dict()["alpha"] is None


def test_alpha_rejects_two_values_from_one_rater_on_one_unit():
    frame = pd.DataFrame({"unit": [1, 1, 1], "rater": ["A", "A", "B"], "value": [1.0, 2.0, 1.0]})
    with pytest.raises(StatisticsError, match="more than once"):
        krippendorff_alpha(frame)


def test_alpha_rejects_unknown_level_and_missing_columns():
    with pytest.raises(StatisticsError, match="Unknown level"):
        krippendorff_alpha(TWO_BY_FOUR, "cardinal")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError, match="missing"):
        krippendorff_alpha(TWO_BY_FOUR.rename(columns={"value": "score"}))


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha: bootstrap


@pytest.mark.parametrize("level", LEVELS)
def test_bootstrap_round_equals_package_alpha_on_the_resampled_units(level):
    rng = np.random.default_rng(11)
    data = _random_reliability(rng, 4, 120, 5)
    data = data[:, np.sum(~np.isnan(data), axis=0) >= 2]
    table = _table(data)
    vc = (data.T[:, :, None] == table.domain[None, None, :]).sum(axis=1)
    pattern_of_unit = [int(np.flatnonzero((table.counts == row).all(axis=1))[0]) for row in vc]
    for _ in range(5):
        idx = rng.integers(0, data.shape[1], data.shape[1])
        weights = np.bincount(np.asarray(pattern_of_unit)[idx], minlength=len(table.freq))
        fast = _alpha_fast.alpha_for_weights(table, level, weights[None, :].astype(float))[0]
        assert fast == pytest.approx(
            krippendorff.alpha(data[:, idx], level_of_measurement=level), abs=1e-9
        )


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    data = _random_reliability(np.random.default_rng(1), 3, 300, 5)
    frame = long_frame_from_reliability_data(data)
    first = krippendorff_alpha(frame, "ordinal", n_boot=300, seed=42)
    again = krippendorff_alpha(frame, "ordinal", n_boot=300, seed=42)
    other = krippendorff_alpha(frame, "ordinal", n_boot=300, seed=43)
    assert first == again
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low < first.alpha < first.ci_high
    assert first.n_boot == 300


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_bootstrap_ci_covers_population_alpha_at_nominal_rate(level):
    # A 40k-unit population with moderate agreement (alpha ~ 0.25 nominal, ~ 0.49 ordinal);
    # 95% CIs from samples of 200 units should cover its alpha ~95% of the time, and not
    # nearly always (which would mean the intervals are too wide).
    rng = np.random.default_rng(2024)
    population = _random_reliability(rng, 3, 40_000, 3, p_noise=0.9)
    population = population[:, np.sum(~np.isnan(population), axis=0) >= 2]
    truth = krippendorff.alpha(population, level_of_measurement=level)
    replicates, covered = 150, 0
    for _ in range(replicates):
        sample = population[:, rng.choice(population.shape[1], 200, replace=False)]
        result = krippendorff_alpha(
            long_frame_from_reliability_data(sample), level, n_boot=200, seed=rng
        )
        covered += result.ci_low <= truth <= result.ci_high
    assert 0.88 <= covered / replicates <= 0.99


# ---------------------------------------------------------------------------------------------
# Percent agreement and kappas


def test_percent_agreement_counts_agreeing_pairs_by_hand():
    # A = 1 1 2 2 vs B = 1 2 2 2: three of four pairs agree.
    assert percent_agreement(TWO_BY_FOUR) == pytest.approx(0.75)
    # Unit 1 rated 1,1,2 (pairs 11, 12, 12: one agrees), unit 2 rated 3,3 (agrees),
    # unit 3 rated once (not pairable): (1 + 1) / (3 + 1) = 0.5.
    frame = pd.DataFrame(
        {"unit": [1, 1, 1, 2, 2, 3], "rater": list("ABCABA"), "value": [1, 1, 2, 3, 3, 1.0]}
    )
    assert percent_agreement(frame) == pytest.approx(0.5)


def test_cohen_kappa_by_hand():
    # p_o = 3/4; margins A (1/2, 1/2), B (1/4, 3/4) -> p_e = 1/8 + 3/8 = 1/2;
    # kappa = (3/4 - 1/2) / (1 - 1/2) = 1/2.
    assert cohen_kappa([1, 1, 2, 2], [1, 2, 2, 2]) == pytest.approx(0.5)


def test_linear_weighted_kappa_by_hand():
    # a = 0 1 2 2, b = 0 2 2 1, disagreement |x - y|: observed mean = (0 + 1 + 0 + 1) / 4 = 1/2.
    # Both margins are (1/4, 1/4, 1/2) over 0, 1, 2; expected mean
    # = 1/4 (1/4 * 1 + 1/2 * 2) + 1/4 (1/4 * 1 + 1/2 * 1) + 1/2 (1/4 * 2 + 1/4 * 1) = 7/8.
    # kappa = 1 - (1/2) / (7/8) = 3/7.
    assert cohen_kappa([0, 1, 2, 2], [0, 2, 2, 1], "linear") == pytest.approx(3 / 7)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_statsmodels(weights):
    rng = np.random.default_rng(5)
    a = rng.integers(-2, 3, 500).astype(float)
    b = np.clip(a + rng.integers(-1, 2, 500) * (rng.random(500) < 0.5), -2, 2)
    table = pd.crosstab(a, b).reindex(index=range(-2, 3), columns=range(-2, 3), fill_value=0)
    expected = inter_rater.cohens_kappa(
        table.to_numpy(), wt=weights, weights=None if weights is None else np.arange(-2, 3)
    ).kappa
    assert cohen_kappa(a, b, weights) == pytest.approx(expected, abs=1e-12)


def test_cohen_kappa_drops_incomplete_pairs_and_is_nan_when_chance_agreement_is_total():
    assert cohen_kappa([1, 1, 2, nan, 2], [1, 2, 2, 1, 2]) == pytest.approx(0.5)
    assert np.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))
    assert np.isnan(cohen_kappa([1, nan], [1, 2]))


@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_pairwise_kappa_matches_kappa_on_each_pairs_shared_units(weights):
    rng = np.random.default_rng(9)
    data = _random_reliability(rng, 4, 60, 5)
    data[3, 2:] = nan  # rater 3 shares at most two units with anyone
    data[3, :2] = [1, 2]
    pairwise = pairwise_cohen_kappa(long_frame_from_reliability_data(data), weights)
    for i, j in combinations(range(4), 2):
        shared = ~np.isnan(data[i]) & ~np.isnan(data[j])
        assert pairwise.n_shared.loc[i, j] == shared.sum()
        expected = cohen_kappa(data[i], data[j], weights) if shared.sum() >= 2 else nan
        assert pairwise.kappa.loc[i, j] == pytest.approx(expected, abs=1e-12, nan_ok=True)
        assert pairwise.kappa.loc[j, i] == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_pairwise_kappa_is_nan_for_raters_sharing_fewer_than_two_units():
    frame = pd.DataFrame(
        {"unit": [1, 1, 2, 2, 3, 3], "rater": list("ABABAC"), "value": [1, 1, 2, 2, 1, 2.0]}
    )
    pairwise = pairwise_cohen_kappa(frame)
    assert pairwise.kappa.loc["A", "B"] == pytest.approx(1.0)
    assert np.isnan(pairwise.kappa.loc["A", "C"])
    assert pairwise.n_shared.loc["A", "C"] == 1
    pairs = [
        {key: p[key] for key in ("rater_1", "rater_2", "kappa", "n", "reason")}
        for p in pairwise.pairs()
    ]
    assert pairs == [
        {"rater_1": "A", "rater_2": "B", "kappa": 1.0, "n": 2, "reason": None},
        {"rater_1": "A", "rater_2": "C", "kappa": None, "n": 1,
         "reason": "only one comparison rated by both raters"},
        {"rater_1": "B", "rater_2": "C", "kappa": None, "n": 0,
         "reason": "no comparison rated by both raters"},
    ]  # fmt: skip


def test_fleiss_kappa_by_hand_two_raters():
    # P_i = 1, 0, 1, 1 -> P_bar = 3/4; p = (3/8, 5/8) -> P_e = 34/64;
    # kappa = (3/4 - 34/64) / (1 - 34/64) = 14/30 = 7/15.
    assert fleiss_kappa(TWO_BY_FOUR) == pytest.approx(7 / 15)


def test_fleiss_kappa_matches_statsmodels_with_a_constant_number_of_raters():
    rng = np.random.default_rng(13)
    data = _random_reliability(rng, 5, 200, 4)
    data = np.where(np.isnan(data), 1.0, data)
    counts, _ = inter_rater.aggregate_raters(data.T)
    expected = inter_rater.fleiss_kappa(counts, method="fleiss")
    got = fleiss_kappa(long_frame_from_reliability_data(data))
    assert got == pytest.approx(expected, abs=1e-12)


def test_fleiss_kappa_with_varying_raters_per_unit_by_hand():
    # Units rated (1,1,1), (1,2), (2,2), (2): the last is not pairable.
    # P_i = 6/6, 0/2, 2/2 -> P_bar = 2/3; p = (4/7, 3/7) -> P_e = 25/49;
    # kappa = (2/3 - 25/49) / (24/49) = 23/72.
    frame = pd.DataFrame(
        {
            "unit": [1, 1, 1, 2, 2, 3, 3, 4],
            "rater": list("ABCABBCA"),
            "value": [1, 1, 1, 1, 2, 2, 2, 2.0],
        }
    )
    assert fleiss_kappa(frame) == pytest.approx(23 / 72)


# ---------------------------------------------------------------------------------------------
# Frames and report


def _vote(cid, rater, pref, *, kind="human", both_bad=False, reshow=False):
    return factory.vote_row(cid, rater, pref, rater_kind=kind, both_bad=both_bad, is_reshow=reshow)


def _votes():
    rows = [
        _vote(1, "u:1", -2), _vote(1, "u:2", -1), _vote(1, "u:3", -2),
        _vote(2, "u:1", 1), _vote(2, "u:2", 2), _vote(2, "u:3", 0, both_bad=True),
        _vote(3, "u:1", 0), _vote(3, "u:2", nan, both_bad=True),
        _vote(4, "u:1", 2), _vote(4, "u:2", 1), _vote(4, "u:3", 2),
        _vote(5, "u:1", -1), _vote(5, "u:3", 1),
        _vote(1, "u:1", 2, reshow=True), _vote(4, "j:7", -2, kind="llm"),
        _vote(6, "u:2", nan),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(VOTE_COLUMNS))


def _scores():
    rows = []
    for cid in (1, 2, 3):
        for out, base in ((10 * cid, 4), (10 * cid + 1, 2)):
            for rater, delta in (("u:1", 0), ("u:2", cid % 2), ("j:7", -3)):
                kind = "llm" if rater.startswith("j") else "human"
                for criterion in ("helpfulness", "accuracy"):
                    rows.append((cid, rater, kind, None, out, "m", criterion, base + delta))
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def test_preference_frame_keeps_one_human_value_per_rater_and_codes_both_bad_as_tie():
    winner = preference_long_frame(_votes(), "winner")
    five = preference_long_frame(_votes(), "five_point")
    assert not winner["rater"].str.startswith("j:").any()
    assert not winner.duplicated(["unit", "rater"]).any()
    assert len(winner) == len(five) == 13
    got = winner.set_index(["unit", "rater"])["value"]
    assert got[(1, "u:1")] == -1 and got[(2, "u:2")] == 1
    assert got[(2, "u:3")] == 0 and got[(3, "u:2")] == 0
    assert five.set_index(["unit", "rater"])["value"][(1, "u:1")] == -2


def test_report_matches_the_individual_statistics_on_human_first_showings():
    votes = _votes()
    report = agreement_report(votes, _scores(), n_boot=100, seed=3)
    winner = preference_long_frame(votes, "winner")
    assert isinstance(report, AgreementReport)
    assert report.percent_agreement == pytest.approx(percent_agreement(winner))
    # Winner codes per unit, after dropping the judge, the re-show and the unscored vote:
    # (a,a,a), (b,b,tie), (tie,tie), (b,b,b), (a,b) -> agreeing pairs 3+1+1+3+0 of 3+3+1+3+1.
    assert report.percent_agreement == pytest.approx(8 / 11)
    assert report.fleiss_kappa.kappa == pytest.approx(fleiss_kappa(winner, mirror=True))
    nominal = report.krippendorff_alpha["preference/nominal"]
    assert nominal == krippendorff_alpha(winner, "nominal", n_boot=100, seed=3, mirror=True)
    assert report.as_stored["preference/nominal alpha"] == pytest.approx(
        krippendorff_alpha(winner, "nominal", n_boot=0).alpha
    )
    assert (report.n_units, report.n_raters, report.n_ratings) == (5, 3, 13)


def test_report_leaves_attention_checks_out_of_agreement_and_says_so():
    votes = _votes()
    check = [_vote(9, rater, -2) for rater in ("u:1", "u:2", "u:3")]
    with_check = pd.concat([votes, pd.DataFrame(check, columns=list(VOTE_COLUMNS))])
    with_check["check_kind"] = np.where(with_check["comparison_id"] == 9, "attention", None)
    scores = _scores()
    check_scores = scores[scores.comparison_id == 1].assign(comparison_id=9)
    report = agreement_report(with_check, pd.concat([scores, check_scores]), n_boot=50, seed=1)
    plain = agreement_report(votes, scores, n_boot=50, seed=1)
    assert report.percent_agreement == plain.percent_agreement
    assert report.krippendorff_alpha == plain.krippendorff_alpha
    assert (report.n_units, report.n_ratings) == (plain.n_units, plain.n_ratings)
    assert report.notes == ["1 attention-check comparison left out: their obvious answer would"
                            " inflate agreement."]  # fmt: skip


def test_report_to_dict_is_stable_json():
    report = agreement_report(_votes(), _scores(), n_boot=50, seed=0)
    as_dict = report.to_dict()
    assert list(as_dict["krippendorff_alpha"]) == [
        "preference/nominal",
        "preference/ordinal",
        "accuracy/ordinal",
        "accuracy/interval",
        "helpfulness/ordinal",
        "helpfulness/interval",
    ]
    assert set(as_dict["krippendorff_alpha"]["accuracy/ordinal"]) == {
        "alpha", "ci_low", "ci_high", "n_units", "n_boot_usable", "reason"
    }  # fmt: skip
    assert [(p["rater_1"], p["rater_2"]) for p in as_dict["pairwise_cohen_kappa"]] == [
        ("u:1", "u:2"), ("u:1", "u:3"), ("u:2", "u:3")
    ]  # fmt: skip
    text = json.dumps(as_dict, allow_nan=False, sort_keys=False)
    assert text == json.dumps(agreement_report(_votes(), _scores(), n_boot=50).to_dict())


def test_alpha_by_criterion_uses_humans_only_with_outputs_as_units():
    # Humans: u:1 scores 4/2 on every output pair, u:2 adds +1 on comparisons 1 and 3.
    # Six units (3 comparisons x 2 outputs), two human values each; the judge is ignored.
    results = alpha_by_criterion(_scores(), "interval", n_boot=0)
    assert list(results) == ["accuracy", "helpfulness"]
    data = np.array([[4, 2, 4, 2, 4, 2], [5, 3, 4, 2, 5, 3]], dtype=float)
    expected = krippendorff.alpha(data, level_of_measurement="interval")
    assert results["accuracy"].alpha == pytest.approx(expected, abs=1e-12)
    assert results["accuracy"].n_units == 6
