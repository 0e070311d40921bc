from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.errors import StatisticsError
from metrics.frames import VOTE_COLUMNS
from metrics.rater_quality import (
    QUALITY_COLUMNS,
    QualityThresholds,
    apply_thresholds,
    flag_reasons,
    loo_majority,
    position_bias,
    rater_quality,
)
from tests import factory

nan = np.nan
A, T, B = -1, 0, 1


def _row(cid, rater, pref, order="ab", *, time=4000.0, check=None, expected=nan, reshow=False,
         both_bad=False, kind="human"):  # fmt: skip
    return factory.vote_row(
        cid, rater, pref, shown_order=order, time_on_task_ms=time, len_a=10, len_b=20,
        check_kind=check, expected_preference=expected, is_reshow=reshow, both_bad=both_bad,
        rater_kind=kind,
    )  # fmt: skip


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(VOTE_COLUMNS))


def _one(rows, rater: str, **thresholds) -> pd.Series:
    table = rater_quality(_frame(rows), QualityThresholds(**thresholds))
    return table.set_index("rater").loc[rater]


# ---------------------------------------------------------------------------------------------
# Figures


def _loo_rows():
    # cid  r1   r2   r3   r4
    #  1   a    a    a    b      r4 vs (a, a, a) -> a; everyone else vs (a, a, b) -> a
    #  2   a    b    tie  -      each vs two others that split -> skipped
    #  3   b    b    -    -      one other only -> skipped
    #  4   tie  tie  b    -      r1 vs (tie, b): split; r2 likewise; r3 vs (tie, tie) -> tie
    votes = {1: {"r1": A, "r2": A, "r3": A, "r4": B}, 2: {"r1": A, "r2": B, "r3": T},
             3: {"r1": B, "r2": B}, 4: {"r1": T, "r2": T, "r3": B}}  # fmt: skip
    rows = [_row(cid, r, p) for cid, by in votes.items() for r, p in by.items()]
    rows.append(_row(2, "r4", A, reshow=True))  # a re-show is not a vote on 2
    rows.append(_row(2, "j:1", A, kind="llm"))  # nor is a judge's
    return rows


def test_loo_majority_is_the_plurality_of_the_other_raters():
    loo = loo_majority(_frame(_loo_rows())).set_index(["comparison_id", "rater"])
    assert loo.loc[(1, "r4"), "loo_majority"] == "a" and loo.loc[(1, "r4"), "n_others"] == 3
    assert loo.loc[(4, "r3"), "loo_majority"] == "tie"
    assert loo.loc[[(2, "r1"), (3, "r1"), (4, "r1")], "loo_majority"].isna().all()
    assert loo.loc[(2, "r1"), "n_others"] == 2  # r4's re-show and the judge do not count


def test_loo_agreement_is_the_share_of_units_agreeing_with_the_others_majority():
    table = rater_quality(_frame(_loo_rows())).set_index("rater")
    # r1: unit 1 only (a = a) -> 1/1; r3: 1 (a = a), 4 (b vs tie) -> 1/2; r4: 1 (b vs a) -> 0/1.
    assert table.loc["r1", ["loo_agreement", "loo_n"]].tolist() == [1.0, 1]
    assert table.loc["r3", ["loo_agreement", "loo_n"]].tolist() == [0.5, 2]
    assert table.loc["r4", ["loo_agreement", "loo_n"]].tolist() == [0.0, 1]


def test_one_other_rater_is_enough_when_min_others_is_lowered():
    table = rater_quality(_frame(_loo_rows()), min_others=1).set_index("rater")
    # r1 now also scores 3 (b vs r2's b) -> 1 (a=a), 3 (b=b) -> 2/2.
    assert table.loc["r1", ["loo_agreement", "loo_n"]].tolist() == [1.0, 2]


def test_gold_accuracy_compares_three_way_winners_with_the_expected_answer():
    rows = [
        _row(1, "g", -1, check="gold", expected=-2),  # a vs a: right
        _row(2, "g", 2, check="gold", expected=1),  # b vs b: right
        _row(3, "g", 1, check="gold", expected=0),  # b vs tie: wrong
        _row(4, "g", -1, check="gold", expected=2),  # a vs b: wrong
        _row(5, "g", nan, check="gold", expected=1),  # unscored: not counted
        _row(6, "g", -1),  # not a gold item
    ]
    q = _one(rows, "g")
    assert (q["gold_accuracy"], q["gold_n"], q["n"]) == (0.5, 4, 6)


def test_attention_checks_count_failures_and_their_share():
    rows = [
        _row(1, "x", 1, check="attention", expected=2),  # b vs b: passed
        _row(2, "x", -1, check="attention", expected=-1),  # passed
        _row(3, "x", 0, check="attention", expected=-2),  # tie vs a: failed
    ]
    q = _one(rows, "x")
    assert q[["attention_failures", "attention_n"]].tolist() == [1, 3]
    assert q["attention_failure_rate"] == pytest.approx(1 / 3)


def test_consistency_pairs_each_reshow_with_the_first_showing_in_canonical_terms():
    rows = [
        _row(1, "c", -2, "ab"), _row(1, "c", -1, "ba", reshow=True),  # a, a: same
        _row(2, "c", 1, "ab"), _row(2, "c", -1, "ba", reshow=True),  # b, a: flipped
        _row(3, "c", 0, "ab"), _row(3, "c", nan, "ba", reshow=True, both_bad=True),  # tie, tie
        _row(4, "c", 1, "ab"),  # never re-shown
    ]  # fmt: skip
    q = _one(rows, "c")
    assert q["consistency"] == pytest.approx(2 / 3) and q["consistency_n"] == 3


def test_prefer_left_counts_non_tie_votes_by_the_side_shown_left():
    rows = [
        _row(1, "p", -1, "ab"),  # A on the left, chose A: left
        _row(2, "p", 1, "ab"),  # chose B, on the right
        _row(3, "p", 2, "ba"),  # B on the left, chose B: left
        _row(4, "p", 1, "ba"),  # left
        _row(5, "p", 0, "ab"),  # tie: not counted
    ]
    q = _one(rows, "p")
    assert (q["p_prefer_left"], q["left_n"]) == (0.75, 4)


def test_prefer_left_leaves_out_votes_of_unknown_order_and_counts_them():
    rows = [
        _row(1, "p", -1, "ab"),  # left
        _row(2, "p", 1, "ab"),  # right
        _row(3, "p", -2, "unknown"),  # decisive, order unknown: left out, counted
        _row(4, "p", 1, "unknown"),  # likewise
        _row(5, "p", 0, "unknown"),  # a tie never counts for P(prefer left)
        _row(6, "p", 1, None),  # no order recorded at all: left out, counted
    ]
    q = _one(rows, "p")
    assert (q["p_prefer_left"], q["left_n"], q["left_unknown_n"]) == (0.5, 2, 3)
    assert q["n"] == 6  # they still count as judgments


def test_position_bias_pools_decisive_human_votes_of_known_order_and_counts_the_rest():
    rows = [
        _row(1, "p", -1, "ab"),  # left
        _row(2, "q", 1, "ab"),  # right
        _row(3, "q", 2, "ba"),  # left
        _row(3, "p", 1, "ba", reshow=True),  # a re-show counts for consistency only
        _row(4, "p", 0, "ab"),  # tie: not decisive
        _row(5, "q", -2, "unknown"),  # unknown order: left out, counted
        _row(6, "j:1", -1, "ab", kind="llm"),  # a judge is not a human rater
    ]
    bias = position_bias(_frame(rows))
    assert (bias.p_prefer_left, bias.n, bias.n_unknown_order) == (2 / 3, 3, 1)
    assert bias.to_dict()["reason"] is None


def test_position_bias_says_why_it_is_missing():
    only_unknown = position_bias(_frame([_row(1, "p", -1, "unknown")]))
    assert only_unknown.to_dict() == {
        "p_prefer_left": None, "n": 0, "n_unknown_order": 1,
        "reason": "every decisive vote has an unknown shown order",
    }  # fmt: skip
    assert position_bias(_frame([_row(1, "p", 0, "ab")])).reason == "no decisive human vote"


def test_a_rater_with_only_unknown_orders_has_no_left_figure_and_is_not_flagged_for_it():
    rows = [_row(c, "u", A, "unknown") for c in range(1, 11)]
    q = _one(rows, "u", max_left_bias=0.6)
    assert np.isnan(q["p_prefer_left"]) and q["left_n"] == 0 and q["left_unknown_n"] == 10
    assert not any("left" in reason for reason in q["flags"])


def test_median_time_ignores_missing_times():
    rows = [_row(1, "t", A, time=1000.0), _row(2, "t", A, time=2000.0),
            _row(3, "t", A, time=5000.0), _row(4, "t", A, time=nan)]  # fmt: skip
    q = _one(rows, "t")
    assert (q["median_time_ms"], q["time_n"], q["n"]) == (2000.0, 3, 4)


def test_the_table_has_one_row_per_human_rater_and_stable_columns():
    table = rater_quality(_frame(_loo_rows()))
    assert list(table.columns) == list(QUALITY_COLUMNS)
    assert table["rater"].tolist() == ["r1", "r2", "r3", "r4"]
    # r4: its vote on 1 and its re-show of 2.
    assert table.set_index("rater").loc["r4", "n"] == 2
    assert np.isnan(table.loc[0, "gold_accuracy"]) and table.loc[0, "gold_n"] == 0


def test_no_human_rows_give_an_empty_table_and_missing_columns_name_the_fix():
    empty = rater_quality(_frame([_row(1, "j:1", A, kind="llm")]))
    assert empty.empty and list(empty.columns) == list(QUALITY_COLUMNS)
    with pytest.raises(StatisticsError, match="missing columns \\['rater'\\]"):
        rater_quality(_frame(_loo_rows()).drop(columns="rater"))


# ---------------------------------------------------------------------------------------------
# Flags


def test_a_sloppy_rater_is_flagged_with_reasons():
    # Gold: expected a on 1-5, voted a a b b b -> 2/5. Attention on 6: expected b, voted a.
    # Left: (ab a) yes, (ba a) no, (ab b) no, (ba b) yes, (ab b) no, (ba a) no -> 2/6, in range.
    orders = ["ab", "ba", "ab", "ba", "ab"]
    prefs = [A, A, B, B, B]
    rows = [_row(c, "s", p, o, check="gold", expected=A)
            for c, p, o in zip(range(1, 6), prefs, orders, strict=True)]  # fmt: skip
    rows.append(_row(6, "s", A, "ba", check="attention", expected=B))
    q = _one(rows, "s")
    assert q["p_prefer_left"] == pytest.approx(1 / 3)
    assert q["flags"] == ["gold accuracy 40% < 70%", "attention failures 1 > 0"]
    assert q["flagged"]


def test_a_fast_left_clicker_is_flagged_but_not_with_too_few_judgments():
    rows = [_row(c, "fast", A, "ab", time=1000.0) for c in range(1, 6)]
    rows += [_row(c, "new", A, "ab", time=1000.0) for c in range(1, 5)]
    table = rater_quality(_frame(rows)).set_index("rater")
    # 5 of 5 left picks, median 1000 ms; "new" has the same habits but only 4 < 5 judgments.
    assert table.loc["fast", "flags"] == [
        "P(prefer left) 100% > 70%",
        "median time 1000 ms < 3000 ms",
    ]
    assert table.loc["new", "flags"] == [] and not table.loc["new", "flagged"]


def _row_figures(**overrides):
    base = dict(n=20, loo_agreement=0.9, loo_n=10, gold_accuracy=0.9, gold_n=10,
                attention_failures=0, consistency=0.9, consistency_n=10, p_prefer_left=0.5,
                left_n=10, median_time_ms=8000.0, time_n=10)  # fmt: skip
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"loo_agreement": 0.4}, "LOO agreement 40% < 50%"),
        ({"gold_accuracy": 0.5}, "gold accuracy 50% < 70%"),
        ({"attention_failures": 2}, "attention failures 2 > 0"),
        ({"consistency": 0.55}, "consistency 55% < 60%"),
        ({"p_prefer_left": 0.8}, "P(prefer left) 80% > 70%"),
        ({"p_prefer_left": 0.2}, "P(prefer left) 20% < 30%"),  # right bias is bias too
        ({"median_time_ms": 2500.0}, "median time 2500 ms < 3000 ms"),
    ],
)
def test_each_threshold_flags_with_its_own_reason(overrides, reason):
    assert flag_reasons(_row_figures(), QualityThresholds()) == []
    assert flag_reasons(_row_figures(**overrides), QualityThresholds()) == [reason]


def test_a_share_on_too_few_items_is_not_judged():
    # Gold accuracy 0/2 is not checked (2 < min_metric_n 5); attention is a count, always checked.
    row = _row_figures(gold_accuracy=0.0, gold_n=2, attention_failures=1)
    assert flag_reasons(row, QualityThresholds()) == ["attention failures 1 > 0"]
    assert flag_reasons(row, QualityThresholds(min_metric_n=2))[0] == "gold accuracy 0% < 70%"


def test_a_threshold_set_to_none_is_switched_off_and_flags_can_be_recomputed():
    table = pd.DataFrame([_row_figures(name="z", median_time_ms=1000.0)]).rename(
        columns={"name": "rater"}
    )
    strict = apply_thresholds(table, QualityThresholds())
    assert strict.loc[0, "flags"] == ["median time 1000 ms < 3000 ms"]
    relaxed = apply_thresholds(table, QualityThresholds(min_median_time_ms=None))
    assert relaxed.loc[0, "flags"] == [] and not relaxed.loc[0, "flagged"]
