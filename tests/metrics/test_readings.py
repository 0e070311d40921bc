"""Plain-language readings: every band boundary, missing inputs, and orientation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics import readings
from metrics.readings import (
    NOT_MEASURED,
    alpha_band,
    alpha_reading,
    alpha_text,
    kappa_band,
    kappa_reading,
    kappa_text,
    length_bias_warning,
    negative_kappa_warning,
    pairs_below_chance_warning,
    position_bias_warning,
    swap_consistency_warning,
    wilson,
)
from metrics.vocabulary import PREFERENCE_WORDS, preference_word, scale_name


@pytest.mark.parametrize(
    ("kappa", "band"),
    [
        (-0.5, "poor"),
        (-0.006, "poor"),
        (-0.004, "slight"),
        (0.0, "slight"),
        (0.20, "slight"),
        (0.204, "slight"),
        (0.206, "fair"),
        (0.21, "fair"),
        (0.40, "fair"),
        (0.41, "moderate"),
        (0.60, "moderate"),
        (0.61, "substantial"),
        (0.80, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
    ],
)
def test_kappa_bands_follow_landis_and_koch_at_two_decimals(kappa, band) -> None:
    assert kappa_band(kappa) == band


@pytest.mark.parametrize(
    ("alpha", "band"),
    [
        (-0.2, "below chance"),
        (-0.0004, "unreliable"),
        (0.0, "unreliable"),
        (0.666, "unreliable"),
        (0.6664, "unreliable"),
        (0.6666, "tentative"),
        (0.667, "tentative"),
        (0.799, "tentative"),
        (0.7996, "reliable"),
        (0.8, "reliable"),
        (1.0, "reliable"),
    ],
)
def test_alpha_bands_follow_krippendorffs_cutoffs_at_three_decimals(alpha, band) -> None:
    assert alpha_band(alpha) == band


@pytest.mark.parametrize("missing", [None, math.nan, np.float64("nan")])
def test_missing_figures_read_as_not_measured(missing) -> None:
    assert kappa_band(missing) is None and alpha_band(missing) is None
    assert kappa_reading(missing) == NOT_MEASURED == alpha_reading(missing)
    assert kappa_text(missing) == f"— ({NOT_MEASURED})"
    assert alpha_text(missing, 0.1, 0.2) == f"— ({NOT_MEASURED})"
    assert length_bias_warning(missing, 100) is None
    assert position_bias_warning(0.9, missing) is None
    assert swap_consistency_warning(missing, None) is None
    assert negative_kappa_warning(missing, -0.5, -0.1) is None
    assert wilson(0.5, 0) is None


def test_kappa_text_carries_its_interval_and_reading() -> None:
    assert kappa_text(0.31, 0.2, 0.42) == (
        "0.31 (95% CI 0.20 to 0.42) — fair agreement; raters often disagree"
        " (95% CI spans slight to moderate)"
    )
    assert kappa_text(0.31, 0.25, 0.38) == (
        "0.31 (95% CI 0.25 to 0.38) — fair agreement; raters often disagree"
    )
    assert kappa_text(0.31).startswith("0.31 (no 95% CI) — fair agreement")


def test_alpha_text_carries_its_interval_and_reading() -> None:
    assert alpha_text(0.85, 0.81, 0.9) == "0.850 (95% CI 0.810 to 0.900) — reliable agreement"
    assert "tentative" in alpha_reading(0.7)
    assert "clarify the instructions" in alpha_reading(0.3)


def test_wilson_interval_contains_the_share_and_narrows_with_n() -> None:
    small, large = wilson(0.8, 10), wilson(0.8, 1000)
    assert small.low < 0.8 < small.high
    assert large.high - large.low < small.high - small.low
    assert wilson(1.0, 5).high == 1.0


def test_a_perfect_length_preference_is_extreme_only_with_enough_verdicts() -> None:
    assert length_bias_warning(1.0, 3) is None  # 3 of 3 could be chance
    warning = length_bias_warning(1.0, 40)
    assert warning is not None and "longer answer wins in 100% of 40" in warning
    assert "shorter answer wins" in length_bias_warning(0.0, 40)


def test_a_bias_just_under_its_limit_is_not_extreme_even_with_many_verdicts() -> None:
    limit = readings.LENGTH_BIAS_LIMIT
    assert length_bias_warning(limit - 0.01, 100_000) is None
    assert length_bias_warning(limit, 100_000) is not None
    assert position_bias_warning(readings.POSITION_BIAS_LIMIT - 0.01, 100_000) is None
    assert position_bias_warning(readings.POSITION_BIAS_LIMIT, 100_000) is not None


@pytest.mark.parametrize("share", [0.0, 0.1, 0.3, 0.5, 0.66, 0.9, 1.0])
@pytest.mark.parametrize("n", [2, 20, 200])
def test_bias_readings_do_not_depend_on_which_side_is_a(share, n) -> None:
    # Swapping A and B turns P(prefer first) p into 1 - p: extreme either both ways or neither.
    for warn in (length_bias_warning, position_bias_warning):
        assert (warn(share, n) is None) == (warn(1 - share, n) is None)


def test_position_warning_names_the_side_it_favours() -> None:
    assert "shown first" in position_bias_warning(0.9, 100)
    assert "shown second" in position_bias_warning(0.1, 100)
    assert "shown on the left" in position_bias_warning(0.9, 100, who="Humans", first="left")
    assert "shown on the right" in position_bias_warning(0.1, 100, first="left")


def test_swap_consistency_is_low_only_when_its_interval_says_so() -> None:
    assert swap_consistency_warning(0.5, 4) is None
    assert "only 50% of 100" in swap_consistency_warning(0.5, 100)
    assert swap_consistency_warning(readings.SWAP_CONSISTENCY_LIMIT, 100_000) is None


def test_negative_kappa_is_extreme_only_when_its_interval_is_below_zero() -> None:
    assert negative_kappa_warning(-0.3, -0.5, 0.05) is None
    assert negative_kappa_warning(0.1, -0.1, 0.3) is None
    assert negative_kappa_warning(-0.3, -0.5, None) is None
    warning = negative_kappa_warning(-0.3, -0.5, -0.1)
    assert "-0.30 (95% CI -0.50 to -0.10)" in warning
    assert "less agreement with the humans than chance" in warning


@pytest.mark.parametrize("value", [-2, -1, 0, 1, 2])
def test_preference_words_mirror_when_a_and_b_swap(value) -> None:
    swap = str.maketrans({"A": "B", "B": "A"})
    assert preference_word(-value) == preference_word(value).translate(swap)
    assert preference_word(float(value)) == PREFERENCE_WORDS[value]


def test_preference_words_cover_the_scale_and_winner_codes() -> None:
    assert [preference_word(v) for v in range(-2, 3)] == [
        "A much better", "A better", "Tie", "B better", "B much better"
    ]  # fmt: skip
    assert [preference_word(c) for c in ("a", "tie", "b")] == ["A better", "Tie", "B better"]
    for missing in (None, math.nan, 0.5, 3, "x", True):
        assert preference_word(missing) == "no verdict"


def test_scale_codes_have_names() -> None:
    assert scale_name("likert5") == "1–5 Likert"
    assert scale_name("binary") == "Yes / No"
    assert scale_name("odd") == "odd"


def test_rater_pairs_below_chance_are_counted_only_when_their_interval_is() -> None:
    assert pairs_below_chance_warning([(-0.2, 0.1), (0.5, 0.7), (None, None)]) is None
    one = pairs_below_chance_warning([(-0.4, -0.1), (-0.2, 0.1)])
    assert one is not None and one.startswith("1 pair of raters agrees less than chance")
    assert pairs_below_chance_warning([(-0.4, -0.1), (-0.3, -0.05)]).startswith("2 pairs")
