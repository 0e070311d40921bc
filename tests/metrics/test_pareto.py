"""The quality-against-cost Pareto front: dominance, ties, missing cost, one model."""

from __future__ import annotations

import math

import pytest

from metrics.pareto import pareto_front


def test_a_model_beaten_on_both_quality_and_cost_is_off_the_front() -> None:
    front = pareto_front([1100, 1000, 950, 1050], [2.0, 1.0, 1.5, 3.0])
    assert front.tolist() == [True, True, False, False]


def test_the_cheapest_and_the_best_are_always_on_the_front() -> None:
    front = pareto_front([900, 1000, 1200], [0.1, 0.5, 9.0])
    assert front.tolist() == [True, True, True]


def test_two_models_equal_on_both_share_the_front() -> None:
    assert pareto_front([1000, 1000], [1.0, 1.0]).tolist() == [True, True]


def test_equal_quality_at_a_higher_cost_is_dominated() -> None:
    assert pareto_front([1000, 1000], [1.0, 2.0]).tolist() == [True, False]
    assert pareto_front([1000, 990], [1.0, 1.0]).tolist() == [True, False]


def test_a_model_without_cost_is_never_on_the_front_and_beats_no_one() -> None:
    front = pareto_front([1200, 1000, 900], [math.nan, 1.0, 2.0])
    assert front.tolist() == [False, True, False]


def test_one_model_is_its_own_front_and_none_is_empty() -> None:
    assert pareto_front([1000], [0.5]).tolist() == [True]
    assert pareto_front([1000], [None]).tolist() == [False]
    assert pareto_front([], []).tolist() == []


def test_quality_and_cost_must_line_up() -> None:
    with pytest.raises(ValueError, match="one quality and one cost"):
        pareto_front([1, 2], [1])
