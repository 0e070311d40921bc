"""Readable tables: headers in words, missing values as a dash, formats applied."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from views.widgets.tables import MISSING, header, readable


def test_snake_case_headers_become_words_with_known_abbreviations() -> None:
    assert header("win_rate_ci_low") == "Win rate CI low"
    assert header("latency_ms") == "Latency (ms)"
    assert header("p_prefer_left") == "P prefer left"
    assert header("comparison_id") == "Comparison ID"
    assert header("model") == "Model"


def test_names_that_are_already_words_or_user_text_stay_as_they_are() -> None:
    assert header("95% CI") == "95% CI"
    assert header("gpt-judge@v2 mean") == "gpt-judge@v2 mean"
    assert header("Rubric_Tone") == "Rubric_Tone"


def test_missing_values_show_as_a_dash_never_none_or_nan() -> None:
    frame = pd.DataFrame({"rating": [1000.4, math.nan], "note": [None, "x"], "ok": [True, None]})
    shown = readable(frame, {"rating": ".0f"})
    assert list(shown["Rating"]) == ["1000", MISSING]
    assert list(shown["Note"]) == [MISSING, "x"]
    assert list(shown["Ok"]) == ["yes", MISSING]


def test_numeric_columns_without_gaps_or_format_stay_numbers_so_they_sort() -> None:
    shown = readable(pd.DataFrame({"n_outputs": np.array([3, 12])}))
    assert shown["N outputs"].tolist() == [3, 12]
    assert pd.api.types.is_integer_dtype(shown["N outputs"])


def test_labels_override_headers_and_formats_may_be_functions() -> None:
    frame = pd.DataFrame({"cost_usd": [0.0021], "flags": [["slow", "left"]]})
    shown = readable(frame, {"cost_usd": lambda v: f"${v:.4f}"}, {"cost_usd": "Mean cost"})
    assert shown.loc[0, "Mean cost"] == "$0.0021"
    assert shown.loc[0, "Flags"] == "slow; left"
