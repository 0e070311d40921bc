from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metrics.frames import SCORE_COLUMNS
from metrics.rubric import rubric_summary, score_distribution


def _scores(values: dict[int, list[float]], model: str = "m1", **fields) -> pd.DataFrame:
    """Human scores of one criterion: output id -> the values its raters gave."""
    rows = [
        {
            "comparison_id": output_id,
            "rater": f"u:{i}",
            "rater_kind": "human",
            "judge": None,
            "output_id": output_id,
            "model": model,
            "criterion": "helpful",
            "value": v,
            **fields,
        }
        for output_id, vs in values.items()
        for i, v in enumerate(vs)
    ]
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def _row(summary: pd.DataFrame, **keys) -> pd.Series:
    mask = np.logical_and.reduce([summary[k] == v for k, v in keys.items()])
    return summary[mask].iloc[0]


def test_one_score_per_output_gives_the_t_interval_of_the_scores() -> None:
    x = [4.0, 5.0, 2.0, 3.0, 5.0, 4.0, 1.0]
    row = rubric_summary(_scores({i: [v] for i, v in enumerate(x)})).iloc[0]
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert row["mean"] == pytest.approx(np.mean(x), abs=1e-12)
    assert (row.ci_low, row.ci_high) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
    assert (row.n, row.n_outputs) == (7, 7)


def test_equal_clusters_give_the_t_interval_of_the_output_means() -> None:
    per_output = {0: [4.0, 5.0, 5.0], 1: [2.0, 3.0, 2.0], 2: [4.0, 4.0, 3.0], 3: [1.0, 2.0, 2.0]}
    row = rubric_summary(_scores(per_output), level=0.9).iloc[0]
    means = [np.mean(v) for v in per_output.values()]
    lo, hi = stats.t.interval(0.9, len(means) - 1, loc=np.mean(means), scale=stats.sem(means))
    assert (row.ci_low, row.ci_high) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
    assert (row.n, row.n_outputs) == (12, 4)


def test_unequal_clusters_match_the_sandwich_estimator() -> None:
    per_output = {0: [5.0], 1: [2.0, 3.0, 2.0, 1.0], 2: [4.0, 4.0], 3: [1.0, 2.0, 5.0]}
    row = rubric_summary(_scores(per_output)).iloc[0]
    y = np.concatenate([np.asarray(v) for v in per_output.values()])
    groups = np.concatenate([[g] * len(v) for g, v in per_output.items()])
    x = np.ones((len(y), 1))
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    resid = y - x @ beta
    meat = sum(
        np.outer(x[groups == g].T @ resid[groups == g], x[groups == g].T @ resid[groups == g])
        for g in per_output
    )
    n_groups = len(per_output)
    se = float(np.sqrt((n_groups / (n_groups - 1) * bread @ meat @ bread)[0, 0]))
    half = stats.t.ppf(0.975, n_groups - 1) * se
    assert row["mean"] == pytest.approx(beta[0], abs=1e-12)
    assert row.ci_high - row["mean"] == pytest.approx(half, abs=1e-9)
    assert row["mean"] - row.ci_low == pytest.approx(half, abs=1e-9)


def test_summary_does_not_depend_on_row_order_or_output_ids() -> None:
    rng = np.random.default_rng(3)
    frames = []
    for model in ("m1", "m2"):
        per_output = {i: list(rng.integers(1, 6, size=3).astype(float)) for i in range(8)}
        frame = _scores(per_output, model=model)
        frame["output_id"] += 100 if model == "m2" else 0
        frames.append(frame)
    scores = pd.concat(frames, ignore_index=True)
    relabelled = scores.assign(output_id=scores["output_id"] * 7 + 1000).sample(
        frac=1, random_state=5
    )
    pd.testing.assert_frame_equal(rubric_summary(scores), rubric_summary(relabelled))
    pd.testing.assert_frame_equal(score_distribution(scores), score_distribution(relabelled))


def test_humans_and_each_judge_are_summarised_apart_and_missing_stays_missing() -> None:
    human = _scores({0: [4.0], 1: [2.0]})
    judge = _scores({0: [5.0, 5.0], 1: [1.0, 3.0]}, rater_kind="llm", judge="j@v1")
    summary = rubric_summary(pd.concat([human, judge]), models=["m1", "m9"], criteria=["helpful"])
    assert list(summary.scored_by.unique()) == ["human", "j@v1"]
    assert _row(summary, scored_by="human", model="m1")["mean"] == 3.0
    assert _row(summary, scored_by="j@v1", model="m1")["mean"] == 3.5
    unscored = _row(summary, scored_by="human", model="m9")
    assert unscored.n == 0 and np.isnan(unscored["mean"]) and np.isnan(unscored.ci_low)


def test_a_single_scored_output_has_a_mean_but_no_interval() -> None:
    row = rubric_summary(_scores({0: [4.0, 5.0]})).iloc[0]
    assert row["mean"] == 4.5 and np.isnan(row.ci_low) and np.isnan(row.ci_high)


def test_distribution_counts_every_value_of_the_scale() -> None:
    x = [4.0, 5.0, 4.0, 2.0, 4.0]
    dist = score_distribution(
        _scores({i: [v] for i, v in enumerate(x)}), values={"helpful": [1, 2, 3, 4, 5]}
    )
    expected = pd.Series(x).value_counts().reindex([1.0, 2.0, 3.0, 4.0, 5.0], fill_value=0)
    assert list(dist["value"]) == list(expected.index)
    assert list(dist["count"]) == list(expected)
    assert dist["share"].sum() == pytest.approx(1.0)


def test_no_scores_give_empty_frames_with_their_columns() -> None:
    empty = _scores({})
    assert rubric_summary(empty, models=["m1"], criteria=["helpful"]).empty
    assert list(score_distribution(empty).columns)[-2:] == ["count", "share"]
