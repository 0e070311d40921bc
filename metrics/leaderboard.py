"""The leaderboard table: Bradley–Terry ratings with bootstrap CIs and rank bands, win rates,
rubric means and cost/latency, assembled per model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from metrics.bradley_terry import (
    DEFAULT_RIDGE,
    ELO_BASE,
    bootstrap_bradley_terry,
    check_identifiable,
    components,
    fit_bradley_terry,
    fit_cells,
    rank_bands,
    separated_models,
)
from metrics.counts import PairCounts
from metrics.vocabulary import missing_to_none
from metrics.win_rates import model_win_rates

LEADERBOARD_COLUMNS: tuple[str, ...] = (
    "model",
    "rating",
    "ci_low",
    "ci_high",
    "rank_low",
    "rank_high",
    "win_rate",
    "n",
)


def rubric_means(scores: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Mean rubric score per (model, criterion) with a t interval.

    Treats each score as independent; several raters scoring the same output are
    correlated, so with heavy overlap the interval is somewhat optimistic.
    """
    s = scores.loc[scores["value"].notna(), ["model", "criterion", "value"]]
    g = s.groupby(["model", "criterion"], sort=True)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    n = out["n"].to_numpy(dtype=np.float64)
    se = out["sd"].to_numpy(dtype=np.float64) / np.sqrt(n)
    with np.errstate(invalid="ignore"):
        tq = stats.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, np.nan))
    out["ci_low"] = out["mean"] - tq * se
    out["ci_high"] = out["mean"] + tq * se
    out["n"] = out["n"].astype(np.int64)
    return out[["model", "criterion", "mean", "ci_low", "ci_high", "n"]]


def cost_latency(outputs: pd.DataFrame) -> pd.DataFrame:
    """Per-model mean ``cost_usd``, median ``latency_ms`` and ``n_outputs`` from outputs."""
    g = outputs.groupby("model", sort=True)
    return pd.DataFrame(
        {
            "cost_usd": g["cost_usd"].mean(),
            "latency_ms": g["latency_ms"].median(),
            "n_outputs": g.size(),
        }
    ).reset_index()


@dataclass(frozen=True)
class Leaderboard:
    """The table (columns :data:`LEADERBOARD_COLUMNS` first, extras after) and fit facts."""

    table: pd.DataFrame
    level: float
    rounds: int
    baseline: str | None
    n_components: int
    length_coef: float | None = None
    length_coef_ci: tuple[float, float] | None = None
    converged: bool = True
    usable_rounds: int = 0
    separated_rounds: int = 0
    separated_models: tuple[str, ...] = ()

    def to_records(self) -> list[dict[str, Any]]:
        """Rows as plain-Python dicts (NaN -> None), in table order, for stable JSON."""
        return [
            {k: missing_to_none(v) for k, v in row.items()}
            for row in self.table.to_dict(orient="records")
        ]


def win_rate_against(rating: np.ndarray | float, baseline_rating: float = ELO_BASE) -> np.ndarray:
    """Expected win rate of a model rated ``rating`` against one rated ``baseline_rating``,
    on the Elo scale (400 points, base 10): ``1 / (1 + 10^((baseline - rating) / 400))``.

    This is how Arena-Hard-Auto turns ratings into its "win rate against the baseline":
    applied to the point rating it gives the score, applied to the lower and upper
    percentile ratings (the baseline fixed at its anchor) the interval.
    """
    r = np.asarray(rating, dtype=np.float64)
    return 1.0 / (1.0 + np.power(10.0, (baseline_rating - r) / 400.0))


def leaderboard(
    counts: PairCounts,
    *,
    baseline: str | None = None,
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    ridge: float = DEFAULT_RIDGE,
    length_control: bool = False,
    scores: pd.DataFrame | None = None,
    costs: pd.DataFrame | None = None,
) -> Leaderboard:
    """Bradley–Terry leaderboard with bootstrap CIs, rank bands and optional extras.

    Only models with at least one comparison are listed, best rating first. Extra
    columns: ``win_rate_ci_low``/``win_rate_ci_high`` (Wilson); with ``scores`` (the
    scores frame) ``rubric_<criterion>`` and its ``_ci_low``/``_ci_high``; with
    ``costs`` (per model: ``model``, ``cost_usd``, ``latency_ms``, ``n_outputs``, e.g.
    from :func:`cost_latency`) those columns. With ``baseline``: ``win_rate_vs_baseline``
    and its ``_ci_low``/``_ci_high`` (:func:`win_rate_against` of the rating and of its
    interval bounds, as Arena-Hard-Auto reports it; 0.5 without interval for the
    baseline itself). The baseline's own ``ci_low``/``ci_high`` are NaN: it is the anchor
    (1000) in every round, and [1000, 1000] would read as certainty.
    When the comparison graph falls apart into groups, a ``group``
    column says which group each model is in, rank bands rank within groups only and a
    model outside the baseline's group gets no win rate against it.

    The bootstrap resamples comparisons when ``counts`` knows which votes shared one
    (``counts.clusters``), and votes otherwise. ``ridge`` is per resampled unit (see
    :meth:`PairCounts.votes_per_unit`).
    """
    ridge = ridge * counts.votes_per_unit()
    c, _ = fit_cells(counts, length_control)
    n_comp = check_identifiable(c, ridge)
    fit = fit_bradley_terry(c, ridge=ridge, length_control=length_control)
    boot = bootstrap_bradley_terry(
        c, rounds=rounds, seed=seed, ridge=ridge, length_control=length_control, start=fit
    )
    rating = fit.ratings(baseline)
    ci_low, ci_high = boot.intervals(level, baseline)
    groups = components(c.collapse())
    rank_low, rank_high = rank_bands(ci_low, ci_high, groups if n_comp > 1 else None)
    if baseline is not None:
        # the anchor is 1000 in every round: it has no interval of its own to show
        anchor = list(fit.models).index(baseline)
        ci_low, ci_high = ci_low.copy(), ci_high.copy()
        ci_low[anchor] = ci_high[anchor] = np.nan
    wr = model_win_rates(c, level=level)
    table = pd.DataFrame(
        {
            "model": list(fit.models),
            "rating": rating,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "rank_low": rank_low,
            "rank_high": rank_high,
            "win_rate": wr["win_rate"].to_numpy(),
            "n": np.rint(wr["n"].to_numpy()).astype(np.int64),
            "win_rate_ci_low": wr["ci_low"].to_numpy(),
            "win_rate_ci_high": wr["ci_high"].to_numpy(),
        }
    )
    if n_comp > 1:
        table.insert(1, "group", groups + 1)
    if baseline is not None:
        in_reach = groups == groups[list(fit.models).index(baseline)]
        is_base = np.array([m == baseline for m in fit.models])
        table["win_rate_vs_baseline"] = np.where(in_reach, win_rate_against(rating), np.nan)
        table["win_rate_vs_baseline_ci_low"] = np.where(
            in_reach & ~is_base, win_rate_against(ci_low), np.nan
        )
        table["win_rate_vs_baseline_ci_high"] = np.where(
            in_reach & ~is_base, win_rate_against(ci_high), np.nan
        )
    if scores is not None:
        table = _merge_rubric(table, rubric_means(scores, level=level))
    if costs is not None:
        extra = costs[["model", "cost_usd", "latency_ms", "n_outputs"]]
        table = table.merge(extra, on="model", how="left")
    table = table.sort_values(["rating", "model"], ascending=[False, True], kind="stable")
    gamma_ci = None
    if boot.length_coef is not None and boot.usable:
        q = (1 - level) / 2
        kept = boot.length_coef if boot.converged is None else boot.length_coef[boot.converged]
        lo, hi = np.quantile(kept, [q, 1 - q])
        gamma_ci = (float(lo), float(hi))
    return Leaderboard(
        table.reset_index(drop=True),
        level=level,
        rounds=rounds,
        baseline=baseline,
        n_components=n_comp,
        length_coef=fit.length_coef,
        length_coef_ci=gamma_ci,
        converged=fit.converged,
        usable_rounds=boot.usable,
        separated_rounds=boot.n_separated,
        separated_models=tuple(separated_models(c)),
    )


def _merge_rubric(table: pd.DataFrame, rubric: pd.DataFrame) -> pd.DataFrame:
    for crit, part in rubric.groupby("criterion", sort=True):
        cols = part.set_index("model")[["mean", "ci_low", "ci_high"]]
        cols.columns = [f"rubric_{crit}", f"rubric_{crit}_ci_low", f"rubric_{crit}_ci_high"]
        table = table.merge(cols, left_on="model", right_index=True, how="left")
    return table
