"""Agreement among raters: Krippendorff's alpha with bootstrap CIs, kappas, percent agreement.

The statistics work on a *long frame*: one row per rating with columns ``unit``, ``rater`` and
``value`` (numeric; NaN = missing, dropped). Each rater gives at most one value per unit.
:func:`preference_long_frame` and :func:`scores_long_frame` build it from the vote and score
frames described in :mod:`metrics.frames`.

Units with fewer than two ratings are not pairable and play no part in any statistic here,
as Krippendorff defines it. Bootstrap CIs resample pairable units with replacement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from metrics import _alpha_fast
from metrics._alpha_fast import LEVELS, PatternTable
from metrics.errors import StatisticsError
from metrics.vocabulary import missing_to_none, preference_sign

Level = Literal["nominal", "ordinal", "interval", "ratio"]
KappaWeights = Literal["linear", "quadratic"] | None

LONG_COLUMNS: tuple[str, ...] = ("unit", "rater", "value")



@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha with a percentile bootstrap CI over units.

    ``n_units`` counts pairable units (>= 2 ratings); ``ci_low``/``ci_high`` are NaN when
    ``n_boot`` is 0 or nothing is pairable.
    """

    alpha: float
    ci_low: float
    ci_high: float
    level: str
    n_units: int
    n_pairable_values: int
    n_boot: int
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": missing_to_none(self.alpha),
            "ci_low": missing_to_none(self.ci_low),
            "ci_high": missing_to_none(self.ci_high),
            "level": self.level,
            "n_units": self.n_units,
            "n_pairable_values": self.n_pairable_values,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class PairwiseKappa:
    """Cohen's kappa for every pair of raters, over the units both rated.

    ``kappa`` and ``n_shared`` are square rater x rater frames with the same labels; kappa is
    NaN where two raters share fewer than two units or chance agreement is total.
    """

    kappa: pd.DataFrame
    n_shared: pd.DataFrame
    weights: str | None = None

    def pairs(self) -> list[dict[str, Any]]:
        """Each unordered pair once, in label order, as ``{rater_1, rater_2, kappa, n}``."""
        raters = list(self.kappa.index)
        return [
            {
                "rater_1": str(r1),
                "rater_2": str(r2),
                "kappa": missing_to_none(self.kappa.iat[i, j]),
                "n": int(self.n_shared.iat[i, j]),
            }
            for i, r1 in enumerate(raters)
            for j, r2 in enumerate(raters)
            if i < j
        ]


# ---------------------------------------------------------------------------------------------
# Long frames


def _check_long(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in LONG_COLUMNS if c not in frame.columns]
    if missing:
        raise StatisticsError(
            f"Agreement needs a long frame with columns {list(LONG_COLUMNS)}; missing {missing}. "
            "Build it with preference_long_frame() or scores_long_frame()."
        )
    try:
        values = pd.to_numeric(frame["value"]).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise StatisticsError(
            "Agreement values must be numeric (NaN for missing); code categories as numbers, "
            "e.g. winner a/tie/b as -1/0/1."
        ) from exc
    rated = frame.loc[~np.isnan(values), ["unit", "rater"]].assign(value=values[~np.isnan(values)])
    dupes = rated.duplicated(["unit", "rater"])
    if dupes.any():
        first = rated.loc[dupes].iloc[0]
        raise StatisticsError(
            f"Rater {first['rater']!r} rated unit {first['unit']!r} more than once; keep one "
            "value per rater and unit (drop re-shown rows with is_reshow, or aggregate first)."
        )
    return rated.reset_index(drop=True)


def _table(rated: pd.DataFrame) -> PatternTable:
    codes, _ = pd.factorize(rated["unit"])
    return _alpha_fast.pattern_table(codes.astype(np.int64), rated["value"].to_numpy(float))


def long_frame_from_reliability_data(
    data: Any, raters: Sequence[Any] | None = None, units: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Long frame from a raters x units matrix (NaN = missing), the krippendorff package layout."""
    matrix = np.asarray(data, dtype=float)
    r, u = np.nonzero(~np.isnan(matrix))
    rater_labels = np.arange(matrix.shape[0]) if raters is None else np.asarray(raters, object)
    unit_labels = np.arange(matrix.shape[1]) if units is None else np.asarray(units, object)
    return pd.DataFrame({"unit": unit_labels[u], "rater": rater_labels[r], "value": matrix[r, u]})


def _human_rows(frame: pd.DataFrame, humans_only: bool) -> pd.DataFrame:
    if humans_only and "rater_kind" in frame.columns:
        frame = frame[frame["rater_kind"] == "human"]
    return frame


def preference_long_frame(
    votes: pd.DataFrame,
    scale: Literal["winner", "five_point"] = "winner",
    humans_only: bool = True,
) -> pd.DataFrame:
    """Long frame of the preference: unit = comparison_id.

    ``scale="winner"`` codes the 3-way winner as A = -1, tie = 0, B = +1 (use at nominal level);
    ``"five_point"`` keeps the -2..+2 preference (ordinal). A ``both_bad`` vote is a tie on both
    scales whatever its preference field says. Re-shown rows (``is_reshow``) are dropped so each
    rater gives one value per comparison; unscored rows (NaN preference) are dropped.
    """
    frame = _human_rows(votes, humans_only)
    if "is_reshow" in frame.columns:
        frame = frame[~frame["is_reshow"].fillna(False).astype(bool)]
    pref = frame["preference"].astype(float)
    if "both_bad" in frame.columns:
        pref = pref.mask(frame["both_bad"].fillna(False).astype(bool), 0.0)
    if scale == "winner":
        pref = pd.Series(preference_sign(pref), index=pref.index)
    elif scale != "five_point":
        raise StatisticsError(
            f"Unknown preference scale {scale!r}; use 'winner' or 'five_point'."
        )
    out = pd.DataFrame(
        {"unit": frame["comparison_id"], "rater": frame["rater"], "value": pref}
    ).dropna(subset=["value"])
    return out.reset_index(drop=True)


def scores_long_frame(
    scores: pd.DataFrame, criterion: str, humans_only: bool = True
) -> pd.DataFrame:
    """Long frame of one rubric criterion: unit = (comparison_id, output_id).

    The scores frame carries no re-show flag, so when a rater scored the same output in the
    same comparison twice only the first row (frame order) is kept.
    """
    frame = _human_rows(scores, humans_only)
    frame = frame[frame["criterion"] == criterion].dropna(subset=["value"])
    frame = frame.drop_duplicates(["comparison_id", "output_id", "rater"], keep="first")
    unit = pd.Series(
        list(zip(frame["comparison_id"], frame["output_id"], strict=True)),
        index=frame.index,
        dtype=object,
    )
    return pd.DataFrame(
        {"unit": unit, "rater": frame["rater"], "value": frame["value"].astype(float)}
    ).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha


def krippendorff_alpha(
    long_frame: pd.DataFrame,
    level: Level = "nominal",
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> AlphaResult:
    """Krippendorff's alpha at ``level`` with a percentile bootstrap CI over pairable units.

    The point estimate equals ``krippendorff.alpha`` on the same data. Alpha is NaN (not an
    error) when no unit has two ratings or all pairable values are identical, so a dashboard
    can show "not enough data". Rounds where a resample has no variation are left out of the
    percentile CI.
    """
    if level not in LEVELS:
        raise StatisticsError(f"Unknown level {level!r}; use one of {list(LEVELS)}.")
    if not 0 < confidence < 1:
        raise StatisticsError(f"confidence must be between 0 and 1, got {confidence}.")
    table = _table(_check_long(long_frame))
    point = _alpha_fast.alpha_point(table, level)
    low = high = float("nan")
    boots = _alpha_fast.alpha_bootstrap(table, level, n_boot, np.random.default_rng(seed))
    boots = boots[np.isfinite(boots)]
    if boots.size:
        tail = (1 - confidence) / 2
        low, high = (float(q) for q in np.quantile(boots, [tail, 1 - tail]))
    return AlphaResult(
        alpha=point,
        ci_low=low,
        ci_high=high,
        level=level,
        n_units=table.n_units,
        n_pairable_values=table.n_pairable_values,
        n_boot=max(n_boot, 0),
        confidence=confidence,
    )


def alpha_by_criterion(
    scores: pd.DataFrame,
    level: Level = "ordinal",
    *,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    humans_only: bool = True,
) -> dict[str, AlphaResult]:
    """Alpha per rubric criterion (sorted by name), units = (comparison, output)."""
    return {
        str(criterion): krippendorff_alpha(
            scores_long_frame(scores, criterion, humans_only), level, n_boot=n_boot, seed=seed
        )
        for criterion in sorted(scores["criterion"].dropna().unique(), key=str)
    }


# ---------------------------------------------------------------------------------------------
# Percent agreement and kappas


def percent_agreement(long_frame: pd.DataFrame) -> float:
    """Share of agreeing rater pairs, pooled over all pairs within pairable units.

    A unit rated by m raters contributes m(m-1)/2 pairs, so units with more raters weigh
    more (unlike Fleiss' mean of per-unit agreement). NaN when no unit has two ratings.
    """
    table = _table(_check_long(long_frame))
    if table.n_units == 0:
        return float("nan")
    c, m = table.counts, table.m
    agreeing = table.freq @ (c * (c - 1)).sum(axis=1)
    pairs = table.freq @ (m * (m - 1))
    return float(agreeing / pairs)


def _disagreement_weights(values: np.ndarray, weights: KappaWeights) -> np.ndarray:
    """Disagreement weights on the category *values* (equal to the usual index weights when the
    codes are equally spaced); kappa is invariant to their scale."""
    diff = values[:, None] - values[None, :]
    if weights is None:
        return (diff != 0).astype(float)
    if weights == "linear":
        return np.abs(diff)
    if weights == "quadratic":
        return diff**2
    raise StatisticsError(
        f"Unknown kappa weights {weights!r}; use None, 'linear' or 'quadratic'."
    )


def _kappa_from_tables(tables: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Kappa for a stack of K x K contingency tables (..., K, K)."""
    n = tables.sum(axis=(-2, -1))
    rows, cols = tables.sum(axis=-1), tables.sum(axis=-2)
    observed = (tables * w).sum(axis=(-2, -1))
    expected = np.einsum("...i,ij,...j->...", rows, w, cols)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = 1 - n * observed / expected
    return np.where(n >= 2, kappa, np.nan)


def cohen_kappa(a: Any, b: Any, weights: KappaWeights = None) -> float:
    """Cohen's kappa for two aligned rating vectors; pairs with a NaN on either side are dropped.

    ``weights`` "linear" / "quadratic" give weighted kappa with disagreement |x - y| / (x - y)^2
    on the numeric values. NaN with fewer than two complete pairs or when chance agreement is 1.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise StatisticsError(
            f"cohen_kappa needs two aligned 1-D rating vectors, got shapes {x.shape} and {y.shape}."
        )
    both = ~(np.isnan(x) | np.isnan(y))
    x, y = x[both], y[both]
    values, idx = np.unique(np.r_[x, y], return_inverse=True)
    k = len(values)
    table = np.bincount(idx[: len(x)] * k + idx[len(x) :], minlength=k * k).reshape(k, k)
    return float(_kappa_from_tables(table.astype(float), _disagreement_weights(values, weights)))


def pairwise_cohen_kappa(long_frame: pd.DataFrame, weights: KappaWeights = None) -> PairwiseKappa:
    """Cohen's kappa for every pair of raters over their shared units (labels sorted).

    All pairs come from one product ``X' X`` of the units x (rater, category) indicator matrix,
    which holds every pair's contingency table. The diagonal is each rater against itself.
    """
    rated = _check_long(long_frame)
    raters = sorted(rated["rater"].unique(), key=str)
    values = np.unique(rated["value"].to_numpy(float))
    w = _disagreement_weights(values, weights)
    n_r, k = len(raters), len(values)
    unit_idx, _ = pd.factorize(rated["unit"])
    rater_idx = pd.Index(raters).get_indexer(rated["rater"])
    value_idx = np.searchsorted(values, rated["value"].to_numpy(float))
    indicator = sparse.csr_array(
        (np.ones(len(rated)), (unit_idx, rater_idx * k + value_idx)),
        shape=(int(unit_idx.max()) + 1 if len(unit_idx) else 0, n_r * k),
    )
    gram = (indicator.T @ indicator).toarray().reshape(n_r, k, n_r, k).transpose(0, 2, 1, 3)
    kappa = _kappa_from_tables(gram, w)
    shared = gram.sum(axis=(-2, -1)).astype(int)
    labels = pd.Index(raters, name="rater")
    return PairwiseKappa(
        kappa=pd.DataFrame(kappa, index=labels, columns=labels),
        n_shared=pd.DataFrame(shared, index=labels, columns=labels),
        weights=weights,
    )


def fleiss_kappa(long_frame: pd.DataFrame) -> float:
    """Fleiss' kappa, generalised to a varying number of raters per unit.

    Fleiss (1971) assumes every unit has the same number n of ratings. With n_i ratings on
    unit i we use the common extension: per-unit agreement
    P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)), P_bar = mean of P_i over units with n_i >= 2,
    category shares p_j = sum_i n_ij / sum_i n_i over those units, P_e = sum_j p_j^2, and
    kappa = (P_bar - P_e) / (1 - P_e). With a constant n it is exactly Fleiss' kappa.
    Categories are the distinct values (nominal).
    """
    table = _table(_check_long(long_frame))
    if table.n_units == 0:
        return float("nan")
    c, m, f = table.counts, table.m, table.freq
    p_bar = (f @ ((c * (c - 1)).sum(axis=1) / (m * (m - 1)))) / f.sum()
    shares = (f @ c) / (f @ m)
    p_e = float(shares @ shares)
    if p_e >= 1:
        return float("nan")
    return float((p_bar - p_e) / (1 - p_e))


# ---------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class AgreementReport:
    """Human-human agreement on one campaign's votes (and rubric scores).

    ``krippendorff_alpha`` is keyed "<variable>/<level>": "preference/nominal" (3-way winner),
    "preference/ordinal" (5-point preference), "<criterion>/ordinal" and "<criterion>/interval".
    Percent agreement, pairwise Cohen's kappa (unweighted) and Fleiss' kappa are on the 3-way
    winner, the statistic a reader compares across campaigns.
    """

    krippendorff_alpha: dict[str, AlphaResult]
    percent_agreement: float
    pairwise_cohen_kappa: PairwiseKappa
    fleiss_kappa: float
    n_units: int
    n_raters: int
    n_ratings: int
    n_boot: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with stable keys and order; NaN becomes null."""
        return {
            "krippendorff_alpha": {
                key: {
                    "alpha": missing_to_none(r.alpha),
                    "ci_low": missing_to_none(r.ci_low),
                    "ci_high": missing_to_none(r.ci_high),
                    "n_units": r.n_units,
                }
                for key, r in self.krippendorff_alpha.items()
            },
            "percent_agreement": missing_to_none(self.percent_agreement),
            "pairwise_cohen_kappa": self.pairwise_cohen_kappa.pairs(),
            "fleiss_kappa": missing_to_none(self.fleiss_kappa),
            "n_units": self.n_units,
            "n_raters": self.n_raters,
            "n_ratings": self.n_ratings,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "notes": list(self.notes),
        }


def agreement_report(
    votes: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> AgreementReport:
    """Everything a page or the CLI shows about human-human agreement.

    Only human rows count, and re-shown rows are dropped, so each rater gives one value per
    comparison. Attention-check comparisons are left out: they are built to have an obvious
    answer, so they would inflate agreement (rater quality still scores them). Every alpha
    uses the same seed, so adding a criterion never moves another CI.
    """
    notes = []
    attention = votes["check_kind"].eq("attention").to_numpy(dtype=bool)
    if attention.any():
        checks = set(votes.loc[attention, "comparison_id"])
        votes = votes.loc[~attention]
        if scores is not None:
            scores = scores.loc[~scores["comparison_id"].isin(checks)]
        notes.append(
            f"{len(checks)} attention-check comparison{'s' if len(checks) != 1 else ''} left"
            " out: their obvious answer would inflate agreement."
        )
    winner = preference_long_frame(votes, "winner")
    five = preference_long_frame(votes, "five_point")
    alphas = {
        "preference/nominal": krippendorff_alpha(winner, "nominal", n_boot=n_boot, seed=seed),
        "preference/ordinal": krippendorff_alpha(five, "ordinal", n_boot=n_boot, seed=seed),
    }
    if scores is not None and len(scores):
        levels: tuple[Level, ...] = ("ordinal", "interval")
        by_level = {lv: alpha_by_criterion(scores, lv, n_boot=n_boot, seed=seed) for lv in levels}
        for criterion in by_level["ordinal"]:
            for level in levels:
                alphas[f"{criterion}/{level}"] = by_level[level][criterion]
    if alphas["preference/nominal"].n_units == 0:
        notes.append("No comparison has two human votes yet; raise the campaign's overlap.")
    return AgreementReport(
        krippendorff_alpha=alphas,
        percent_agreement=percent_agreement(winner),
        pairwise_cohen_kappa=pairwise_cohen_kappa(winner),
        fleiss_kappa=fleiss_kappa(winner),
        n_units=int(winner["unit"].nunique()),
        n_raters=int(winner["rater"].nunique()),
        n_ratings=len(winner),
        n_boot=n_boot,
        seed=seed,
        notes=notes,
    )
