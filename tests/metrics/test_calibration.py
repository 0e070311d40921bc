from __future__ import annotations

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats import inter_rater

from metrics.calibration import (
    DISAGREEMENT_COLUMNS,
    calibration_report,
    human_majority,
    judge_verdicts,
)
from metrics.errors import StatisticsError
from metrics.frames import VOTE_COLUMNS
from metrics.rater_quality import rater_quality
from tests import factory

nan = np.nan
A, T, B = -1, 0, 1
JUDGE = "judge-a@1"

# Comparisons 1-4 are "writing", 5-8 "coding"; (len_a, len_b) per comparison.
LENS = {1: (100, 200), 2: (300, 100), 3: (100, 100), 4: (50, 80),
        5: (10, 20), 6: (200, 100), 7: (100, 300), 8: (100, 400)}  # fmt: skip

# Human first showings. h1 and h3 always see A first ("ab"), h2 always B first ("ba").
#   cid  h1   h2   h3   -> majority (share)
#   1    a    a    a    -> a   (3/3)
#   2    a    a    b    -> a   (2/3)
#   3    b    b    tie  -> b   (2/3)
#   4    a    b    tie  -> none: 1-1-1
#   5    tie  tie  a    -> tie (2/3)
#   6    b    b    b    -> b   (3/3)
#   7    a    b    -    -> none: 1-1
#   8    b    -    -    -> b   (1/1)
HUMANS = {
    "h1": ("ab", {1: A, 2: A, 3: B, 4: A, 5: T, 6: B, 7: A, 8: B}),
    "h2": ("ba", {1: A, 2: A, 3: B, 4: B, 5: T, 6: B, 7: B}),
    "h3": ("ab", {1: A, 2: B, 3: T, 4: T, 5: A, 6: B}),
}

# Judge "judge-a@1" sees every comparison in both orders except 7 (ab only).
#   cid  ab   ba   -> verdict
#   3    a    b    -> tie (inconsistent)
#   6    a    b    -> tie (inconsistent)
#   7    b    -    -> b
#   else both the same as the ab column
JUDGE_A = {1: (A, A), 2: (A, A), 3: (A, B), 4: (A, A), 5: (T, T), 6: (A, B), 7: (B, None),
           8: (A, A)}  # fmt: skip


def _row(cid, rater, pref, order="ab", *, kind="human", judge=None, reshow=False, both_bad=False):
    return factory.vote_row(
        cid, rater, pref, prompt_id=100 + cid, category="writing" if cid <= 4 else "coding",
        rater_kind=kind, judge=judge, both_bad=both_bad, shown_order=order, len_a=LENS[cid][0],
        len_b=LENS[cid][1], is_reshow=reshow, time_on_task_ms=4000.0,
    )  # fmt: skip


def _votes() -> pd.DataFrame:
    rows = [_row(c, h, p, order) for h, (order, prefs) in HUMANS.items() for c, p in prefs.items()]
    # A re-show (sides swapped) that would break the 1-1-1 tie on comparison 4 if it counted.
    rows.append(_row(4, "h3", A, "ba", reshow=True))
    for cid, (ab, ba) in JUDGE_A.items():
        rows.append(_row(cid, "j:1", ab, "ab", kind="llm", judge=JUDGE))
        if ba is not None:
            rows.append(_row(cid, "j:1", ba, "ba", kind="llm", judge=JUDGE))
    # Judge "j:2" (no judge name: keyed by rater), ab only: 1 a, 2 a, 3 unscored, 5 b,
    # 6 both_bad with no preference (a tie).
    rows += [
        _row(1, "j:2", A, kind="llm"), _row(2, "j:2", A, kind="llm"),
        _row(3, "j:2", nan, kind="llm"), _row(5, "j:2", B, kind="llm"),
        _row(6, "j:2", nan, kind="llm", both_bad=True),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(VOTE_COLUMNS))


@pytest.fixture(scope="module")
def report():
    return calibration_report(_votes())


# ---------------------------------------------------------------------------------------------
# Building blocks


def test_human_majority_is_the_plurality_of_first_showings_and_none_when_tied():
    maj = human_majority(_votes()).set_index("comparison_id")
    assert maj["majority"].drop([4, 7]).to_dict() == {
        1: "a", 2: "a", 3: "b", 5: "tie", 6: "b", 8: "b"
    }  # fmt: skip
    assert maj["majority"].isna()[[4, 7]].all()
    # The re-show of 4 (h3 -> a) is not a vote: still 1 a, 1 tie, 1 b.
    assert maj.loc[4, ["votes_a", "votes_tie", "votes_b", "n_human_votes"]].tolist() == [1, 1, 1, 3]
    assert maj.loc[2, "majority_share"] == pytest.approx(2 / 3)
    assert maj.loc[8, ["majority_share", "n_human_votes"]].tolist() == [1.0, 1]


def test_swapped_verdicts_resolve_to_the_shared_winner_or_a_tie_when_they_disagree():
    v = judge_verdicts(_votes())
    a = v[v["judge"] == JUDGE].set_index("comparison_id")
    assert a["verdict"].to_dict() == {
        1: "a", 2: "a", 3: "tie", 4: "a", 5: "tie", 6: "tie", 7: "b", 8: "a"
    }  # fmt: skip
    assert a.loc[3, ["verdict_ab", "verdict_ba", "consistent"]].tolist() == ["a", "b", False]
    assert a.loc[7, "consistent"] is None


def test_inconsistent_swaps_can_be_dropped_instead():
    v = judge_verdicts(_votes(), inconsistent_as="drop")
    assert sorted(v.loc[v["judge"] == JUDGE, "comparison_id"]) == [1, 2, 4, 5, 7, 8]


def test_unscored_judge_rows_drop_and_both_bad_is_a_tie_and_judge_falls_back_to_rater():
    v = judge_verdicts(_votes())
    j2 = v[v["judge"] == "j:2"].set_index("comparison_id")["verdict"]
    assert j2.to_dict() == {1: "a", 2: "a", 5: "b", 6: "tie"}


# ---------------------------------------------------------------------------------------------
# Agreement with the human majority


def test_agreement_counts_ties_as_a_category_and_skips_tied_majorities(report):
    j = report.judge(JUDGE)
    # With a majority: 1 a=a, 2 a=a, 3 tie!=b, 5 tie=tie, 6 tie!=b, 8 a!=b -> 3/6.
    assert (j.agreement, j.n) == (pytest.approx(0.5), 6)
    # 4 and 7 have no majority; every verdict had some human vote.
    assert (j.n_no_majority, j.n_no_humans, j.n_verdicts) == (2, 0, 8)
    # Without ties (3, 5, 6 out): 1 ok, 2 ok, 8 wrong -> 2/3.
    assert (j.agreement_without_ties, j.n_without_ties) == (pytest.approx(2 / 3), 3)


def test_confusion_and_kappa_match_a_hand_count_and_statsmodels(report):
    j = report.judge(JUDGE)
    assert j.confusion == {
        "a": {"a": 2, "tie": 0, "b": 1},  # 1, 2 | 8
        "tie": {"a": 0, "tie": 1, "b": 2},  # 5 | 3, 6
        "b": {"a": 0, "tie": 0, "b": 0},
    }
    # Symmetrised: the table plus its a<->b flip, [[2, 0, 1], [2, 2, 2], [1, 0, 2]], N = 12.
    # p_o = 6/12; judge margins 3, 6, 3; majority margins 5, 2, 5; p_e = (15 + 12 + 15) / 144;
    # kappa = (72 - 42) / (144 - 42) = 5/17.
    assert j.cohen_kappa == pytest.approx(5 / 17)
    table = np.array([[2, 0, 1], [0, 1, 2], [0, 0, 0]])
    doubled = table + table[::-1, ::-1]
    assert j.cohen_kappa == pytest.approx(inter_rater.cohens_kappa(doubled).kappa)


def test_second_judge_agreement_and_kappa(report):
    j = report.judge("j:2")
    # 1 a=a, 2 a=a, 5 b!=tie, 6 tie!=b -> 2/4; without ties only 1 and 2 -> 2/2.
    assert (j.agreement, j.n, j.agreement_without_ties, j.n_without_ties) == (0.5, 4, 1.0, 2)
    # Table a->a 2, b->tie 1, tie->b 1, plus its flip: [[2, 1, 0], [1, 0, 1], [0, 1, 2]];
    # p_o = 4/8, margins 3, 2, 3 both ways, p_e = 22/64, kappa = (32 - 22) / (64 - 22) = 5/21.
    assert j.cohen_kappa == pytest.approx(5 / 21)
    assert np.isnan(j.position_consistency) and j.position_n == 0


def test_dropping_inconsistent_swaps_changes_agreement_but_not_position_consistency():
    j = calibration_report(_votes(), inconsistent_as="drop").judge(JUDGE)
    # 3 and 6 drop: 1 ok, 2 ok, 5 ok, 8 wrong -> 3/4.
    assert (j.agreement, j.n) == (0.75, 4)
    assert j.position_consistency == pytest.approx(5 / 7)
    assert j.disagreements["comparison_id"].tolist() == [8]


# ---------------------------------------------------------------------------------------------
# Ceiling and alpha


def test_ceiling_scores_each_human_against_the_others_majority(report):
    # Two others needed, and they must not split:
    #   1: each human vs (a, a) -> 3 of 3     2: only h3 has agreeing others (a, a); h3 b -> 0/1
    #   3: only h3 (b, b); tie -> 0/1          4: every pair of others splits -> none
    #   5: only h3 (tie, tie); a -> 0/1        6: 3 of 3     7, 8: fewer than two others
    # Ceiling = 6/9.
    assert (report.human_ceiling, report.human_ceiling_n) == (pytest.approx(2 / 3), 9)
    j = report.judge(JUDGE)
    assert (j.human_ceiling, j.human_ceiling_n) == (pytest.approx(2 / 3), 9)
    # The judge against the same nine reference majorities: 1 a x3 ok, 2 a ok, 3 tie vs b,
    # 5 tie ok, 6 tie vs b x3 -> 5/9.
    assert j.agreement_loo == pytest.approx(5 / 9)


def test_ceiling_is_the_n_weighted_mean_of_each_raters_loo_agreement(report):
    q = rater_quality(_votes())
    weighted = (q["loo_agreement"] * q["loo_n"]).sum() / q["loo_n"].sum()
    assert report.human_ceiling == pytest.approx(weighted)


def test_alpha_with_and_without_the_judge_equals_the_krippendorff_package(report):
    j = report.judge(JUDGE)
    code = {A: 1.0, T: 2.0, B: 3.0}
    flipped = {1.0: 3.0, 2.0: 2.0, 3.0: 1.0}
    # Orientation-free: every comparison once as stored and once with a and b swapped.
    humans = [
        [code[prefs[c]] if c in prefs else nan for c in range(1, 9)] for _, prefs in HUMANS.values()
    ]
    humans = [row + [flipped.get(v, nan) for v in row] for row in humans]
    judge = [code[A], code[A], code[T], code[A], code[T], code[T], code[B], code[A]]
    judge = judge + [flipped[v] for v in judge]
    assert j.alpha_humans == pytest.approx(
        krippendorff.alpha(reliability_data=humans, level_of_measurement="nominal")
    )
    assert j.alpha_with_judge == pytest.approx(
        krippendorff.alpha(reliability_data=[*humans, judge], level_of_measurement="nominal")
    )


# ---------------------------------------------------------------------------------------------
# Position and length


def test_position_consistency_is_the_share_of_swapped_pairs_that_agree(report):
    j = report.judge(JUDGE)
    # Both orders on 1-6 and 8 (7 pairs); 3 and 6 disagree -> 5/7.
    assert (j.position_consistency, j.position_n, j.n_inconsistent) == (
        pytest.approx(5 / 7), 7, 2
    )  # fmt: skip


def test_prefer_first_counts_every_non_tie_row_for_judge_and_humans(report):
    j = report.judge(JUDGE)
    # First = A in "ab", B in "ba". Judge rows (ties on 5 out):
    #   1 ab:a yes ba:a no; 2 same; 3 ab:a yes ba:b yes; 4 yes, no; 6 yes, yes; 7 ab:b no;
    #   8 yes, no -> 8 of 13.
    assert (j.p_prefer_first, j.first_n) == (pytest.approx(8 / 13), 13)
    # Humans: h1 (ab) picks A on 1, 2, 4, 7 of 7 non-ties; h2 (ba) picks B on 3, 4, 6, 7 of 6;
    # h3 (ab) picks A on 1, 5 of 4; the re-show (ba, a) is a showing too: no -> 10 of 18.
    assert (j.p_prefer_first_humans, j.first_n_humans) == (pytest.approx(10 / 18), 18)
    assert (report.p_prefer_first_humans, report.first_n_humans) == (pytest.approx(10 / 18), 18)


def test_prefer_first_for_humans_is_on_the_judges_comparisons(report):
    j = report.judge("j:2")
    # j:2 judged 1, 2, 5 (b, ab: no), 6: rows 1 ab:a yes, 2 yes, 5 no -> 2/3.
    assert (j.p_prefer_first, j.first_n) == (pytest.approx(2 / 3), 3)
    # Humans on 1, 2, 5, 6: h1 1 yes 2 yes 6 no; h2 1 no 2 no 6 yes; h3 1 yes 2 no 5 yes 6 no
    # -> 5 of 10.
    assert (j.p_prefer_first_humans, j.first_n_humans) == (0.5, 10)


def test_prefer_longer_uses_resolved_verdicts_and_human_first_showings(report):
    j = report.judge(JUDGE)
    # Non-tie verdicts, lengths differ: 1 a (B longer) no, 2 a (A longer) yes, 4 a no,
    # 7 b (B longer) yes, 8 a no -> 2/5. (3 has equal lengths; 5 and 6 are ties.)
    assert (j.p_prefer_longer, j.longer_n) == (pytest.approx(0.4), 5)
    # Humans: 1 B longer, a a a: 0/3; 2 A longer, a a b: 2/3; 4 B longer, a b: 1/2;
    # 5 B longer, a: 0/1; 6 A longer, b b b: 0/3; 7 B longer, a b: 1/2; 8 b: 1/1 -> 5/15.
    assert (j.p_prefer_longer_humans, j.longer_n_humans) == (pytest.approx(1 / 3), 15)


# ---------------------------------------------------------------------------------------------
# Per category, disagreements, output


def test_every_figure_is_repeated_per_category(report):
    j = report.judge(JUDGE)
    assert list(j.by_category) == ["coding", "writing"]
    writing, coding = j.by_category["writing"], j.by_category["coding"]
    # Writing: 1 ok, 2 ok, 3 wrong (4 has no majority) -> 2/3. Coding: 5 ok, 6, 8 wrong -> 1/3.
    assert (writing.agreement, writing.n, writing.n_no_majority) == (pytest.approx(2 / 3), 3, 1)
    assert (coding.agreement, coding.n, coding.n_no_majority) == (pytest.approx(1 / 3), 3, 1)
    # Ceiling pairs: writing 1 x3 ok, 2 no, 3 no -> 3/5; coding 5 no, 6 x3 ok -> 3/4.
    assert (writing.human_ceiling, writing.human_ceiling_n) == (pytest.approx(3 / 5), 5)
    assert (coding.human_ceiling, coding.human_ceiling_n) == (pytest.approx(3 / 4), 4)
    # Swaps: writing 1, 2, 4 agree, 3 not -> 3/4; coding 5, 8 agree, 6 not -> 2/3.
    assert writing.position_consistency == pytest.approx(3 / 4)
    assert coding.position_consistency == pytest.approx(2 / 3)


def test_disagreements_rank_the_surest_human_majorities_first(report):
    d = report.judge(JUDGE).disagreements
    assert list(d.columns) == list(DISAGREEMENT_COLUMNS)
    # 6: 3 of 3 humans; 8: 1 of 1 (same share, fewer votes); 3: 2 of 3.
    assert d["comparison_id"].tolist() == [6, 8, 3]
    first = d.iloc[0]
    assert (first["judge_verdict"], first["human_majority"], first["category"]) == (
        "tie", "b", "coding"
    )  # fmt: skip
    assert first[["votes_a", "votes_tie", "votes_b", "prompt_id"]].tolist() == [0, 0, 3, 106]
    assert first["judge_consistent"] is False  # the two orders disagreed


def test_report_counts_comparisons_with_and_without_a_majority(report):
    assert (report.n_comparisons, report.n_no_majority) == (6, 2)
    assert [j.judge for j in report.judges] == ["j:2", JUDGE]
    assert report.notes == []


def test_to_dict_has_stable_keys_and_is_json_ready(report):
    d = report.to_dict()
    judge = next(j for j in d["judges"] if j["judge"] == JUDGE)
    for key in ("agreement", "agreement_without_ties", "cohen_kappa", "n"):
        assert key in judge
    assert judge["n"] == 6 and judge["confusion"]["tie"]["b"] == 2
    assert judge["by_category"]["writing"]["n"] == 3
    assert [r["comparison_id"] for r in judge["disagreements"]] == [6, 8, 3]
    j2 = next(j for j in d["judges"] if j["judge"] == "j:2")
    assert j2["position_consistency"] is None
    assert json.loads(json.dumps(d, allow_nan=False)) == d


def test_a_report_without_judges_or_humans_says_what_to_do():
    votes = _votes()
    no_judges = calibration_report(votes[votes["rater_kind"] == "human"])
    assert no_judges.judges == [] and "run a judge" in no_judges.notes[0]
    no_humans = calibration_report(votes[votes["rater_kind"] == "llm"])
    assert np.isnan(no_humans.judge(JUDGE).agreement)
    assert any("human votes" in n for n in no_humans.notes)


def test_bad_input_names_the_fix():
    with pytest.raises(StatisticsError, match="'tie' or 'drop'"):
        calibration_report(_votes(), inconsistent_as="both")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError, match="VOTE_COLUMNS"):
        calibration_report(_votes().drop(columns="rater_kind"))


# ---------------------------------------------------------------------------------------------
# MT-Bench per-vote agreement (S1 with ties, S2 without)


def _mtbench_by_brute_force(votes: pd.DataFrame, verdicts: dict[int, str]):
    """Every (judge verdict, human vote) pair and every pair of two humans' votes, one by one."""
    humans = votes[(votes["rater_kind"] == "human") & ~votes["is_reshow"]]
    winner = {-1: "a", 0: "tie", 1: "b"}
    per_cid: dict[int, list[str]] = {}
    for cid, pref in zip(humans["comparison_id"], humans["preference"], strict=True):
        per_cid.setdefault(cid, []).append(winner[int(np.sign(pref))])
    judge = [(v, h) for cid, v in verdicts.items() for h in per_cid.get(cid, [])]
    pairs = [
        (x, y)
        for cid in verdicts
        for i, x in enumerate(per_cid.get(cid, []))
        for y in per_cid.get(cid, [])[i + 1 :]
    ]

    def share(items, with_ties):
        kept = [(x, y) for x, y in items if with_ties or (x != "tie" and y != "tie")]
        return sum(x == y for x, y in kept) / len(kept), len(kept)

    return share(judge, True), share(judge, False), share(pairs, True), share(pairs, False)


def test_mtbench_s1_s2_match_every_pair_counted_one_by_one(report):
    j = report.judge(JUDGE)
    verdicts = {1: "a", 2: "a", 3: "tie", 4: "a", 5: "tie", 6: "tie", 7: "b", 8: "a"}
    s1, s2, h1, h2 = _mtbench_by_brute_force(_votes(), verdicts)
    assert (j.s1, j.s1_n) == (pytest.approx(s1[0]), s1[1])
    assert (j.s2, j.s2_n) == (pytest.approx(s2[0]), s2[1])
    assert (j.human_s1, j.human_s1_n) == (pytest.approx(h1[0]), h1[1])
    assert (j.human_s2, j.human_s2_n) == (pytest.approx(h2[0]), h2[1])
    # By hand: S1 10 of 21 pairs, S2 7 of 11; humans 9 of 19 and 8 of 12.
    assert (j.s1, j.s2, j.human_s1, j.human_s2) == pytest.approx((10 / 21, 7 / 11, 9 / 19, 2 / 3))
    assert (report.human_s1, report.human_s2) == pytest.approx((9 / 19, 2 / 3))


# ---------------------------------------------------------------------------------------------
# Orientation invariance


def _random_votes(seed: int, n_comparisons: int = 300) -> pd.DataFrame:
    """3-5 humans per comparison, judge "x@1" in both orders, judge "y@1" with some verdicts
    combined over both orders (shown order unknown); lengths and categories vary."""
    rng = np.random.default_rng(seed)
    rows = []
    for cid in range(1, n_comparisons + 1):
        lens = (int(rng.integers(10, 60)), int(rng.integers(10, 60)))
        base = dict(
            prompt_id=cid, category=("writing", "coding", "math")[cid % 3], model_a=f"m{cid % 4}",
            model_b=f"m{cid % 4 + 1}", len_a=lens[0], len_b=lens[1],
        )  # fmt: skip
        lean = rng.choice([-1, 0, 1], p=[0.5, 0.2, 0.3])
        for h in range(int(rng.integers(1, 6))):
            pref = lean if rng.random() < 0.6 else rng.choice([-2, -1, 0, 1, 2])
            order = "ab" if rng.random() < 0.5 else "ba"
            rows.append(factory.vote_row(cid, f"h{h}", float(pref), shown_order=order, **base))
        for order in ("ab", "ba"):
            pref = lean if rng.random() < 0.7 else rng.choice([-1, 0, 1])
            rows.append(factory.vote_row(cid, "j:1", float(pref), rater_kind="llm",
                                         judge="x@1", shown_order=order, **base))  # fmt: skip
        if rng.random() < 0.8:
            orders = ("unknown",) if rng.random() < 0.3 else ("ab", "ba")
            for order in orders:
                pref = rng.choice([-1, 0, 1])
                rows.append(factory.vote_row(cid, "j:2", float(pref), rater_kind="llm",
                                             judge="y@1", shown_order=order, **base))  # fmt: skip
    return pd.DataFrame(rows, columns=list(VOTE_COLUMNS))


def _flip(votes: pd.DataFrame, cids) -> pd.DataFrame:
    """The same votes with the comparisons ``cids`` stored the other way round."""
    out = votes.copy()
    m = out["comparison_id"].isin(cids).to_numpy()
    out.loc[m, ["model_a", "model_b"]] = out.loc[m, ["model_b", "model_a"]].to_numpy()
    out.loc[m, ["len_a", "len_b"]] = out.loc[m, ["len_b", "len_a"]].to_numpy()
    out.loc[m, "preference"] = -out.loc[m, "preference"]
    out.loc[m, "shown_order"] = (
        out.loc[m, "shown_order"].map({"ab": "ba", "ba": "ab"}).fillna(out.loc[m, "shown_order"])
    )
    return out


AS_STORED = {"confusion", "disagreements"}
"""Reported in the stored A/B orientation on purpose (checked separately below)."""


def _figures_of(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in AS_STORED}


def _table(j) -> np.ndarray:
    return np.array([[j.confusion[x][y] for y in ("a", "tie", "b")] for x in ("a", "tie", "b")])


def _assert_same(x, y, path=""):
    if isinstance(x, dict):
        assert x.keys() == y.keys(), path
        for k in x:
            _assert_same(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        assert len(x) == len(y), path
        for i, (a, b) in enumerate(zip(x, y, strict=True)):
            _assert_same(a, b, f"{path}[{i}]")
    elif isinstance(x, float) and y is not None:
        assert x == pytest.approx(y, abs=1e-9, rel=0), path
    else:
        assert x == y, path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_calibration_figure_is_unchanged_when_half_the_comparisons_are_flipped(seed):
    votes = _random_votes(seed)
    rng = np.random.default_rng(100 + seed)
    cids = votes["comparison_id"].unique()
    flipped = _flip(votes, rng.choice(cids, len(cids) // 2, replace=False))
    before, after = calibration_report(votes), calibration_report(flipped)
    d0, d1 = before.to_dict(), after.to_dict()
    judges0 = [_figures_of({**j, "by_category": {c: _figures_of(f)
               for c, f in j["by_category"].items()}}) for j in d0.pop("judges")]  # fmt: skip
    judges1 = [_figures_of({**j, "by_category": {c: _figures_of(f)
               for c, f in j["by_category"].items()}}) for j in d1.pop("judges")]  # fmt: skip
    _assert_same(d0, d1)
    _assert_same(judges0, judges1)
    for j0, j1 in zip(before.judges, after.judges, strict=True):
        # The stored-orientation outputs change only by relabelling a <-> b.
        assert sorted(j0.disagreements["comparison_id"]) == sorted(
            j1.disagreements["comparison_id"]
        )
        c0, c1 = _table(j0), _table(j1)
        assert ((c0 + c0[::-1, ::-1]) == (c1 + c1[::-1, ::-1])).all()


def test_the_stored_order_coding_would_have_moved_kappa_and_alpha():
    votes = _random_votes(1)
    cids = votes["comparison_id"].unique()
    flipped = _flip(votes, cids[::2])
    before, after = (calibration_report(v).judge("x@1") for v in (votes, flipped))

    old_before = inter_rater.cohens_kappa(_table(before)).kappa
    old_after = inter_rater.cohens_kappa(_table(after)).kappa
    assert abs(old_before - old_after) > 1e-3
    assert before.cohen_kappa == pytest.approx(after.cohen_kappa, abs=1e-12)

    def raw_alpha(v):
        humans = v[v["rater_kind"] == "human"]
        wide = humans.pivot_table(index="rater", columns="comparison_id", values="preference")
        return krippendorff.alpha(np.sign(wide.to_numpy()), level_of_measurement="nominal")

    assert abs(raw_alpha(votes) - raw_alpha(flipped)) > 1e-3
    assert before.alpha_humans == pytest.approx(after.alpha_humans, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Kappa interval


def test_kappa_interval_matches_resampling_comparisons_one_round_at_a_time():
    votes = _random_votes(4, n_comparisons=400)
    j = calibration_report(votes, n_boot=2000, seed=5).judge("x@1")
    verdicts = judge_verdicts(votes)
    verdicts = verdicts[verdicts["judge"] == "x@1"]
    both = verdicts.merge(human_majority(votes), on="comparison_id").dropna(subset=["majority"])
    code = {"a": 0, "tie": 1, "b": 2}
    cells = both["verdict"].map(code).to_numpy() * 3 + both["majority"].map(code).to_numpy()
    rng = np.random.default_rng(9)
    boots = []
    for _ in range(2000):
        t = np.bincount(rng.choice(cells, len(cells)), minlength=9).reshape(3, 3)
        sym = (t + t[::-1, ::-1]) / (2 * len(cells))
        chance = sym.sum(axis=1) @ sym.sum(axis=0)
        boots.append((np.trace(sym) - chance) / (1 - chance))
    low, high = np.quantile(boots, [0.025, 0.975])
    assert j.cohen_kappa_low < j.cohen_kappa < j.cohen_kappa_high
    assert (j.cohen_kappa_low, j.cohen_kappa_high) == pytest.approx((low, high), abs=0.02)
    assert j.kappa_boot_usable == 2000


def test_kappa_rounds_without_variation_are_counted_out_not_hidden():
    votes = pd.DataFrame(
        [factory.vote_row(1, "h1", -1.0), factory.vote_row(2, "h1", 0.0),
         factory.vote_row(1, "j:1", -1.0, rater_kind="llm", judge="x@1"),
         factory.vote_row(2, "j:1", 0.0, rater_kind="llm", judge="x@1")],
        columns=list(VOTE_COLUMNS),
    )  # fmt: skip
    j = calibration_report(votes, n_boot=400, seed=0).judge("x@1")
    # A round drawing comparison 2 twice is all ties: kappa undefined (about a quarter).
    assert 0 < j.kappa_boot_usable < 400
    assert calibration_report(votes, n_boot=0).judge("x@1").kappa_boot_usable == 0


# ---------------------------------------------------------------------------------------------
# Unknown shown order


def test_verdicts_of_unknown_order_count_for_agreement_but_not_for_position_figures():
    votes = _votes()
    judge = votes["judge"] == JUDGE
    combined = votes[judge & (votes["shown_order"] == "ab")].assign(shown_order="unknown")
    votes = pd.concat([votes[~judge], combined], ignore_index=True)
    report = calibration_report(votes)
    j = report.judge(JUDGE)
    # The ab column alone: 1 a, 2 a, 3 a, 4 a, 5 tie, 6 a, 7 b, 8 a against majorities
    # 1 a, 2 a, 3 b, 5 tie, 6 b, 8 b -> 3/6.
    assert (j.agreement, j.n, j.unknown_order_n) == (0.5, 6, 8)
    assert (j.position_n, j.first_n) == (0, 0)
    assert np.isnan(j.position_consistency) and np.isnan(j.p_prefer_first)
    assert "8 verdicts came with an unknown shown order" in j.position_missing_reason()
    assert j.to_dict()["position_consistency"] is None
    assert any(JUDGE in n and "left out of position consistency" in n for n in report.notes)


def test_humans_with_unknown_order_are_left_out_of_prefer_first_and_counted():
    votes = _votes()
    h1 = votes["rater"] == "h1"
    votes.loc[h1, "shown_order"] = "unknown"
    report = calibration_report(votes)
    # h1 had 7 non-tie rows; 18 - 7 = 11 remain, of which h1's first picks (4) are gone.
    assert (report.first_n_humans, report.unknown_order_n_humans) == (11, 8)
    assert report.p_prefer_first_humans == pytest.approx(6 / 11)


def test_alpha_is_on_the_comparisons_with_a_verdict_only():
    j = calibration_report(_votes(), inconsistent_as="drop", n_boot=0).judge(JUDGE)
    kept = [1, 2, 4, 5, 7, 8]  # 3 and 6 dropped: their two orders disagree
    code = {A: 1.0, T: 2.0, B: 3.0}
    flipped = {1.0: 3.0, 2.0: 2.0, 3.0: 1.0}
    humans = [[code[prefs[c]] if c in prefs else nan for c in kept] for _, prefs in HUMANS.values()]
    humans = [row + [flipped.get(v, nan) for v in row] for row in humans]
    judge = [code[A], code[A], code[A], code[T], code[B], code[A]]
    judge = judge + [flipped[v] for v in judge]
    assert j.alpha_humans == pytest.approx(
        krippendorff.alpha(reliability_data=humans, level_of_measurement="nominal")
    )
    assert j.alpha_with_judge == pytest.approx(
        krippendorff.alpha(reliability_data=[*humans, judge], level_of_measurement="nominal")
    )


# --- alpha's bootstrap interval (issue 14, point 8: every alpha carries its CI) ------------


def _unit_rows(seed: int, n: int = 300) -> np.ndarray:
    from metrics.calibration import _unit_coincidence

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(3, [0.5, 0.2, 0.3], size=n)
    return _unit_coincidence(counts).reshape(n, 9)


def test_alpha_interval_matches_a_brute_force_unit_bootstrap() -> None:
    from metrics.calibration import _alpha_from_coincidence, alpha_bootstrap

    rows = _unit_rows(1)
    low, high, usable = alpha_bootstrap(rows, 4000, seed=3)
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(rows), (4000, len(rows)))
    brute = [_alpha_from_coincidence(rows[p].sum(axis=0).reshape(3, 3)) for p in picks]
    b_low, b_high = np.quantile(brute, [0.025, 0.975])
    point = _alpha_from_coincidence(rows.sum(axis=0).reshape(3, 3))
    assert usable == 4000
    assert low < point < high
    assert abs(low - b_low) < 0.02 and abs(high - b_high) < 0.02


def test_alpha_interval_ignores_unit_order_and_units_without_pairs() -> None:
    from metrics.calibration import alpha_bootstrap

    rows = _unit_rows(2)
    shuffled = np.random.default_rng(0).permutation(rows)
    padded = np.vstack([rows, np.zeros((50, 9))])
    expected = alpha_bootstrap(rows, 500, seed=5)
    assert alpha_bootstrap(shuffled, 500, seed=5) == expected
    assert alpha_bootstrap(padded, 500, seed=5) == expected


def test_alpha_interval_is_undefined_without_variation_or_units() -> None:
    from metrics.calibration import alpha_bootstrap

    same = np.tile(_unit_rows(3)[:1], (40, 1))
    low, high, _ = alpha_bootstrap(np.zeros((0, 9)), 100, seed=1)
    assert np.isnan(low) and np.isnan(high)
    low, high, _ = alpha_bootstrap(same, 100, seed=1)
    assert (np.isnan(low) and np.isnan(high)) or low == high


def test_alpha_interval_is_the_same_whichever_output_is_stored_as_a() -> None:
    from metrics.calibration import _flip_table, alpha_bootstrap

    rows = _unit_rows(4).reshape(-1, 3, 3)
    flipped = rows.copy()
    flipped[::2] = _flip_table(rows[::2])
    assert alpha_bootstrap(flipped.reshape(-1, 9), 500, seed=9) == alpha_bootstrap(
        rows.reshape(-1, 9), 500, seed=9
    )
