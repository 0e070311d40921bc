"""Rubric scores per criterion and model: means with cluster-aware intervals, distributions.

Input is the scores frame of ``metrics.frames`` (one row per score; ``output_id`` says which
output was scored, so nothing here depends on which output a comparison stores as "A").
Human scores and each judge's scores are kept apart in a ``scored_by`` column: ``"human"``
for people, the judge label (``name@vN``) for a judge.

Several raters (or a judge's two swapped verdicts) scoring the same output are not
independent observations of the model, so the interval treats each output as a cluster:
the mean is the plain mean of all scores, its variance the cluster-robust (CR1) variance
``G/(G-1) * sum_g e_g**2 / N**2`` with ``e_g`` the sum of an output's residuals and ``G``
outputs, and the interval uses Student's t with ``G - 1`` degrees of freedom. With one
score per output this is exactly the usual t interval; with equal-sized clusters it is the
t interval of the per-output means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

HUMAN = "human"
SUMMARY_COLUMNS = (
    "scored_by",
    "criterion",
    "model",
    "n",
    "n_outputs",
    "mean",
    "ci_low",
    "ci_high",
)
DISTRIBUTION_COLUMNS = ("scored_by", "criterion", "model", "value", "count", "share")
_KEYS = ["scored_by", "criterion", "model"]


def with_scored_by(scores: pd.DataFrame) -> pd.DataFrame:
    """The scores with ``scored_by``: "human" for people, the judge label for a judge."""
    is_human = scores["rater_kind"].eq("human")
    judge = scores["judge"].where(scores["judge"].notna(), scores["rater"])
    return scores.assign(scored_by=np.where(is_human, HUMAN, judge.astype(object)))


def _interval(group: pd.DataFrame, level: float) -> pd.Series:
    x = group["value"].to_numpy(dtype=np.float64)
    n = len(x)
    mean = float(x.mean())
    residual = pd.Series(x - mean).groupby(group["output_id"].to_numpy()).sum().to_numpy()
    g = len(residual)
    lo = hi = np.nan
    if g > 1:
        se = np.sqrt(g / (g - 1) * float(np.sum(residual**2))) / n
        half = float(stats.t.ppf(0.5 + level / 2, g - 1)) * se
        lo, hi = mean - half, mean + half
    return pd.Series({"n": n, "n_outputs": g, "mean": mean, "ci_low": lo, "ci_high": hi})


def rubric_summary(
    scores: pd.DataFrame,
    *,
    models: Sequence[str] = (),
    criteria: Sequence[str] = (),
    level: float = 0.95,
) -> pd.DataFrame:
    """Per ``scored_by``, criterion and model: n scores, n outputs, mean and its interval.

    Every (scored_by, criterion, model) combination of the scorers present, the given
    ``models`` and ``criteria`` appears; one without scores has ``n = 0`` and missing (NaN)
    mean and bounds, never 0. The interval is missing with fewer than two scored outputs.
    """
    s = with_scored_by(scores.loc[scores["value"].notna()])
    if s.empty:
        parts = pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    else:
        parts = (
            s.groupby(_KEYS, sort=True)[["value", "output_id"]]
            .apply(_interval, level=level)
            .reset_index()
        )
    scorers = sorted(set(parts["scored_by"]), key=lambda v: (v != HUMAN, v))
    grid = pd.MultiIndex.from_product(
        [
            scorers,
            sorted(set(parts["criterion"]) | set(criteria), key=_order(criteria)),
            sorted(set(parts["model"]) | set(models)),
        ],
        names=_KEYS,
    )
    out = parts.set_index(_KEYS).reindex(grid).reset_index()
    out["n"] = out["n"].fillna(0).astype(np.int64)
    out["n_outputs"] = out["n_outputs"].fillna(0).astype(np.int64)
    for col in ("mean", "ci_low", "ci_high"):
        out[col] = out[col].astype(np.float64)
    return out[list(SUMMARY_COLUMNS)]


def score_distribution(
    scores: pd.DataFrame, *, values: dict[str, Sequence[float]] | None = None
) -> pd.DataFrame:
    """Counts per score value, per ``scored_by``, criterion and model that has scores.

    ``values`` lists each criterion's possible values (its scale), so a value nobody chose
    shows as a count of 0 for a model that was scored; a model without scores has no rows.
    ``share`` is the count over the group's scores.
    """
    s = with_scored_by(scores.loc[scores["value"].notna()])
    if s.empty:
        return pd.DataFrame(columns=list(DISTRIBUTION_COLUMNS))
    counts = s.groupby([*_KEYS, "value"], sort=True).size().rename("count").reset_index()
    rows = []
    for (by, criterion, model), part in counts.groupby(_KEYS, sort=True):
        observed = dict(zip(part["value"], part["count"], strict=True))
        scale = (values or {}).get(criterion, ())
        total = sum(observed.values())
        for value in sorted(set(observed) | {float(v) for v in scale}):
            count = int(observed.get(value, 0))
            rows.append((by, criterion, model, float(value), count, count / total))
    return pd.DataFrame(rows, columns=list(DISTRIBUTION_COLUMNS))


def _order(criteria: Sequence[str]):
    position = {name: i for i, name in enumerate(criteria)}
    return lambda name: (position.get(name, len(position)), name)
