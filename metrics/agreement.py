"""Agreement among raters: Krippendorff's alpha with bootstrap CIs, kappas, percent agreement.

The statistics work on a *long frame*: one row per rating with columns ``unit``, ``rater`` and
``value`` (numeric; NaN = missing, dropped). Each rater gives at most one value per unit.
:func:`preference_long_frame` and :func:`scores_long_frame` build it from the vote and score
frames described in :mod:`metrics.frames`.

Units with fewer than two ratings are not pairable and play no part in any statistic here,
as Krippendorff defines it. Bootstrap CIs resample pairable units with replacement; every
bootstrap result says how many of its rounds were usable (a round whose resample has no
variation has no value, and is counted, not hidden).

**Orientation.** A pairwise preference is coded relative to the stored order of the two
outputs (negative = A better), and which output is stored as A is an accident of import order.
With ``mirror=True`` (what :func:`agreement_report` uses for preferences) every comparison is
counted in both orientations at half weight: alpha's coincidence matrix, the kappa contingency
tables and Fleiss' category shares are symmetrised over orientation, ``(t + t^flip) / 2``,
where the flip negates every value of a unit. Agreement within a unit is unchanged; only the
chance term loses its dependence on the stored order, so storing any comparison the other way
round changes no figure (nor any bootstrap round: units are drawn per orientation class).
Rubric scores belong to outputs and need no mirroring.
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
    n_boot_usable: int = 0

    @property
    def reason(self) -> str | None:
        """Why alpha is missing, in words (None when it is not)."""
        return missing_reason(self.alpha, self.n_units)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": missing_to_none(self.alpha),
            "ci_low": missing_to_none(self.ci_low),
            "ci_high": missing_to_none(self.ci_high),
            "level": self.level,
            "n_units": self.n_units,
            "n_pairable_values": self.n_pairable_values,
            "n_boot": self.n_boot,
            "n_boot_usable": self.n_boot_usable,
            "confidence": self.confidence,
            "reason": self.reason,
        }


def missing_reason(value: float, n_units: int, shared: bool = False) -> str | None:
    """Why a figure on ``n_units`` units is NaN, in words a reader can act on; None if it is not.

    ``shared`` words it for one pair of raters ("rated by both")."""
    if value == value:
        return None
    by = "rated by both raters" if shared else "with two ratings"
    if n_units == 0:
        return f"no comparison {by}"
    if n_units == 1:
        return f"only one comparison {by}"
    return "no variation: every rating is in one category, so chance agreement is total"


@dataclass(frozen=True)
class KappaResult:
    """A kappa with a percentile bootstrap CI over units (resampled comparisons).

    ``n_boot_usable`` counts the rounds that had a value; the others had no variation (or too
    few shared units) in their resample and are left out of the percentiles, but shown.
    """

    kappa: float
    ci_low: float
    ci_high: float
    n_units: int
    n_boot: int
    n_boot_usable: int
    confidence: float = 0.95

    @property
    def reason(self) -> str | None:
        """Why kappa is missing, in words (None when it is not)."""
        return missing_reason(self.kappa, self.n_units)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kappa": missing_to_none(self.kappa),
            "ci_low": missing_to_none(self.ci_low),
            "ci_high": missing_to_none(self.ci_high),
            "n_units": self.n_units,
            "n_boot": self.n_boot,
            "n_boot_usable": self.n_boot_usable,
            "confidence": self.confidence,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class PairAgreement:
    """Share of agreeing vote pairs (MT-Bench style), pooled over comparisons."""

    agreement: float
    n_pairs: int
    n_units: int

    def to_dict(self) -> dict[str, Any]:
        reason = None
        if self.n_pairs == 0:
            reason = "no two votes on one comparison" + (" (ties left out)" if self.n_units else "")
        return {
            "agreement": missing_to_none(self.agreement),
            "n_pairs": self.n_pairs,
            "n_units": self.n_units,
            "reason": reason,
        }


@dataclass(frozen=True)
class PairwiseKappa:
    """Cohen's kappa for every pair of raters, over the units both rated.

    ``kappa`` and ``n_shared`` are square rater x rater frames with the same labels; kappa is
    NaN where two raters share fewer than two units or chance agreement is total. ``ci_low``,
    ``ci_high`` and ``n_boot_usable`` (same shape) hold each pair's bootstrap over comparisons
    when ``n_boot`` > 0 (see :func:`pairwise_cohen_kappa`).
    """

    kappa: pd.DataFrame
    n_shared: pd.DataFrame
    weights: str | None = None
    ci_low: pd.DataFrame | None = None
    ci_high: pd.DataFrame | None = None
    n_boot_usable: pd.DataFrame | None = None
    n_boot: int = 0
    mirror: bool = False

    def pairs(self) -> list[dict[str, Any]]:
        """Each unordered pair once, in label order, as ``{rater_1, rater_2, kappa, n, ci_low,
        ci_high, n_boot, n_boot_usable, reason}``."""
        raters = list(self.kappa.index)
        out = []
        for i, r1 in enumerate(raters):
            for j, r2 in enumerate(raters):
                if i >= j:
                    continue
                kappa, n = self.kappa.iat[i, j], int(self.n_shared.iat[i, j])
                out.append(
                    {
                        "rater_1": str(r1),
                        "rater_2": str(r2),
                        "kappa": missing_to_none(kappa),
                        "n": n,
                        "ci_low": None if self.ci_low is None else missing_to_none(
                            self.ci_low.iat[i, j]
                        ),
                        "ci_high": None if self.ci_high is None else missing_to_none(
                            self.ci_high.iat[i, j]
                        ),
                        "n_boot": self.n_boot,
                        "n_boot_usable": 0
                        if self.n_boot_usable is None
                        else int(self.n_boot_usable.iat[i, j]),
                        "reason": missing_reason(kappa, n, shared=True),
                    }
                )
        return out


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


def _table(rated: pd.DataFrame, mirror: bool = False) -> PatternTable:
    codes, _ = pd.factorize(rated["unit"])
    table = _alpha_fast.pattern_table(codes.astype(np.int64), rated["value"].to_numpy(float))
    return _alpha_fast.mirror(table) if mirror else table


def _percentiles(boots: np.ndarray, confidence: float) -> tuple[float, float, int]:
    """Percentile interval of the finite rounds, and how many rounds were finite."""
    finite = boots[np.isfinite(boots)]
    if not finite.size:
        return float("nan"), float("nan"), 0
    tail = (1 - confidence) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return float(low), float(high), int(finite.size)


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise StatisticsError(f"confidence must be between 0 and 1, got {confidence}.")


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
    mirror: bool = False,
) -> AlphaResult:
    """Krippendorff's alpha at ``level`` with a percentile bootstrap CI over pairable units.

    The point estimate equals ``krippendorff.alpha`` on the same data. Alpha is NaN (not an
    error) when no unit has two ratings or all pairable values are identical, so a dashboard
    can show "not enough data". Rounds where a resample has no variation are left out of the
    percentile CI and counted in ``n_boot_usable``. ``mirror=True`` is for signed preferences:
    the coincidence matrix is symmetrised over orientation (module docstring).
    """
    if level not in LEVELS:
        raise StatisticsError(f"Unknown level {level!r}; use one of {list(LEVELS)}.")
    _check_confidence(confidence)
    table = _table(_check_long(long_frame), mirror)
    return _alpha_result(table, level, n_boot, confidence, seed)


def _alpha_result(
    table: PatternTable,
    level: str,
    n_boot: int,
    confidence: float,
    seed: int | np.random.Generator | None,
) -> AlphaResult:
    point = _alpha_fast.alpha_point(table, level)
    boots = _alpha_fast.alpha_bootstrap(table, level, n_boot, np.random.default_rng(seed))
    low, high, usable = _percentiles(boots, confidence)
    return AlphaResult(
        alpha=point,
        ci_low=low,
        ci_high=high,
        level=level,
        n_units=table.n_units,
        n_pairable_values=table.n_pairable_values,
        n_boot=max(n_boot, 0),
        confidence=confidence,
        n_boot_usable=usable,
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
    return _pair_agreement(_table(_check_long(long_frame))).agreement


def _pair_agreement(table: PatternTable) -> PairAgreement:
    c, m = table.counts, table.m
    pairs = float(table.freq @ (m * (m - 1))) / 2
    agreeing = float(table.freq @ (c * (c - 1)).sum(axis=1)) / 2
    return PairAgreement(
        agreement=agreeing / pairs if pairs else float("nan"),
        n_pairs=int(round(pairs)),
        n_units=table.n_units,
    )


def vote_pair_agreement(long_frame: pd.DataFrame, ties: bool = True) -> PairAgreement:
    """Human-human agreement the MT-Bench way (Zheng et al. 2023, "Judging LLM-as-a-judge").

    Every pair of votes by two different raters on the same comparison is one trial, agreeing
    when both name the same winner; trials are pooled over comparisons, as FastChat's
    ``compute_agreement.py`` does. ``ties=True`` is setup S1 (ties are votes like any other);
    ``ties=False`` is S2 (a pair counts only when both votes are non-tie, i.e. tie votes are
    dropped before pairing). Values are preference signs (-1, 0, +1); agreement is invariant
    to orientation, since flipping a comparison flips both votes of each pair.
    """
    rated = _check_long(long_frame)
    if not ties:
        rated = rated[rated["value"] != 0]
    return _pair_agreement(_table(rated))


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


def _symmetric_values(values: np.ndarray) -> np.ndarray:
    return np.unique(np.r_[values, -values] + 0.0)


def _mirror_tables(tables: np.ndarray) -> np.ndarray:
    """(t + t^flip) / 2 for K x K tables on a symmetric sorted domain (flip = reverse both)."""
    return (tables + tables[..., ::-1, ::-1]) / 2


def cohen_kappa(a: Any, b: Any, weights: KappaWeights = None, *, mirror: bool = False) -> float:
    """Cohen's kappa for two aligned rating vectors; pairs with a NaN on either side are dropped.

    ``weights`` "linear" / "quadratic" give weighted kappa with disagreement |x - y| / (x - y)^2
    on the numeric values. NaN with fewer than two complete pairs or when chance agreement is 1.
    ``mirror=True`` is for signed preferences: the contingency table is symmetrised over
    orientation, ``(t + t^flip) / 2`` with the flip negating both ratings of a unit, so the
    figure does not depend on which output is stored as A (module docstring).
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise StatisticsError(
            f"cohen_kappa needs two aligned 1-D rating vectors, got shapes {x.shape} and {y.shape}."
        )
    both = ~(np.isnan(x) | np.isnan(y))
    x, y = x[both], y[both]
    values = np.unique(np.r_[x, y])
    if mirror:
        values = _symmetric_values(values)
    idx = np.searchsorted(values, np.r_[x, y])
    k = len(values)
    table = np.bincount(idx[: len(x)] * k + idx[len(x) :], minlength=k * k).reshape(k, k)
    table = _mirror_tables(table.astype(float)) if mirror else table.astype(float)
    return float(_kappa_from_tables(table, _disagreement_weights(values, weights)))


def _cell_bootstrap(
    table: np.ndarray,
    n_units: int,
    w: np.ndarray,
    n_boot: int,
    seed: int | None,
    mirror: bool,
) -> np.ndarray:
    """Kappa of ``n_boot`` resamples of ``n_units`` units, for one pair's K x K table.

    Resampling all N units with replacement gives this pair a multinomial draw over its cells
    plus "a unit the pair did not share", which is all a pair's kappa needs. With ``mirror``
    the draw is over orientation classes of cells (a cell and its flip), so it is itself
    orientation-free; each drawn unit then counts half in both orientations.
    """
    k = table.shape[0]
    flat = table.ravel()
    cells = np.arange(k * k)
    if mirror:
        canonical = np.minimum(cells, k * k - 1 - cells)
        flat = np.bincount(canonical, weights=flat, minlength=k * k)
    other = max(n_units - flat.sum(), 0.0)
    probs = np.r_[flat, other] / max(n_units, 1)
    drawn = np.random.default_rng(seed).multinomial(n_units, probs / probs.sum(), size=n_boot)
    rounds = drawn[:, :-1].astype(float).reshape(n_boot, k, k)
    if mirror:
        rounds = _mirror_tables(rounds)
    return _kappa_from_tables(rounds, w)


def pairwise_cohen_kappa(
    long_frame: pd.DataFrame,
    weights: KappaWeights = None,
    *,
    mirror: bool = False,
    n_boot: int = 0,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> PairwiseKappa:
    """Cohen's kappa for every pair of raters over their shared units (labels sorted).

    All pairs come from one product ``X' X`` of the units x (rater, category) indicator matrix,
    which holds every pair's contingency table. The diagonal is each rater against itself.
    ``mirror=True`` symmetrises every table over orientation (signed preferences, module
    docstring). With ``n_boot`` > 0 each pair gets a percentile CI from resampling the pairable
    units (comparisons with two ratings) with replacement; every pair draws from a generator
    seeded with ``seed``, so a pair's interval depends only on its own votes.
    """
    _check_confidence(confidence)
    return _pairwise(_check_long(long_frame), weights, mirror, n_boot, confidence, seed)


def _pairwise(
    rated: pd.DataFrame,
    weights: KappaWeights,
    mirror: bool,
    n_boot: int,
    confidence: float,
    seed: int | None,
) -> PairwiseKappa:
    raters = sorted(rated["rater"].unique(), key=str)
    values = np.unique(rated["value"].to_numpy(float))
    if mirror:
        values = _symmetric_values(values)
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
    if mirror:
        gram = _mirror_tables(gram)
    kappa = _kappa_from_tables(gram, w)
    shared = np.rint(gram.sum(axis=(-2, -1))).astype(int)
    labels = pd.Index(raters, name="rater")

    def frame(data: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(data, index=labels, columns=labels)

    low = np.full((n_r, n_r), np.nan)
    high = np.full((n_r, n_r), np.nan)
    usable = np.zeros((n_r, n_r), dtype=int)
    if n_boot > 0:
        n_units = int((np.bincount(unit_idx) >= 2).sum()) if len(unit_idx) else 0
        for i in range(n_r):
            for j in range(i + 1, n_r):
                if shared[i, j] == 0:
                    continue
                boots = _cell_bootstrap(gram[i, j], n_units, w, n_boot, seed, mirror)
                lo, hi, ok = _percentiles(boots, confidence)
                low[i, j] = low[j, i] = lo
                high[i, j] = high[j, i] = hi
                usable[i, j] = usable[j, i] = ok
    return PairwiseKappa(
        kappa=frame(kappa),
        n_shared=frame(shared),
        weights=weights,
        ci_low=frame(low),
        ci_high=frame(high),
        n_boot_usable=frame(usable),
        n_boot=max(n_boot, 0),
        mirror=mirror,
    )


def _fleiss_for_weights(table: PatternTable, weights: np.ndarray) -> np.ndarray:
    """Fleiss' kappa for each row of ``weights`` (rounds x patterns)."""
    c, m = table.counts, table.m
    per_unit = (c * (c - 1)).sum(axis=1) / (m * (m - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_bar = (weights @ per_unit) / weights.sum(axis=1)
        shares = (weights @ c) / (weights @ m)[:, None]
        p_e = (shares**2).sum(axis=1)
        kappa = (p_bar - p_e) / (1 - p_e)
    return np.where(p_e < 1 - 1e-12, kappa, np.nan)


def fleiss_kappa(long_frame: pd.DataFrame, *, mirror: bool = False) -> float:
    """Fleiss' kappa, generalised to a varying number of raters per unit.

    Fleiss (1971) assumes every unit has the same number n of ratings. With n_i ratings on
    unit i we use the common extension: per-unit agreement
    P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)), P_bar = mean of P_i over units with n_i >= 2,
    category shares p_j = sum_i n_ij / sum_i n_i over those units, P_e = sum_j p_j^2, and
    kappa = (P_bar - P_e) / (1 - P_e). With a constant n it is exactly Fleiss' kappa.
    Categories are the distinct values (nominal). ``mirror=True`` symmetrises the category
    shares over orientation (signed preferences, module docstring); P_bar is unchanged by it.
    """
    return _fleiss_result(_table(_check_long(long_frame), mirror), 0, 0.95, None).kappa


def fleiss_kappa_ci(
    long_frame: pd.DataFrame,
    *,
    mirror: bool = False,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> KappaResult:
    """:func:`fleiss_kappa` with a percentile bootstrap CI over pairable units."""
    _check_confidence(confidence)
    return _fleiss_result(_table(_check_long(long_frame), mirror), n_boot, confidence, seed)


def _fleiss_result(
    table: PatternTable,
    n_boot: int,
    confidence: float,
    seed: int | np.random.Generator | None,
) -> KappaResult:
    point = float("nan")
    boots = np.full(max(n_boot, 0), np.nan)
    if table.n_units:
        point = float(_fleiss_for_weights(table, table.freq[None, :])[0])
        if n_boot > 0:
            rng = np.random.default_rng(seed)
            for start, weights in _alpha_fast.bootstrap_weights(table, n_boot, rng):
                boots[start : start + len(weights)] = _fleiss_for_weights(table, weights)
    low, high, usable = _percentiles(boots, confidence)
    return KappaResult(point, low, high, table.n_units, max(n_boot, 0), usable, confidence)


# ---------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class AgreementReport:
    """Human-human agreement on one campaign's votes (and rubric scores).

    ``krippendorff_alpha`` is keyed "<variable>/<level>": "preference/nominal" (3-way winner),
    "preference/ordinal" (5-point preference), "<criterion>/ordinal" and "<criterion>/interval".
    Every preference figure is orientation-free (module docstring); ``as_stored`` gives the
    point estimates that code each vote in the stored A/B order instead, for comparison with
    published figures that did so. Percent agreement, the MT-Bench figures (``human_human``:
    "S1" with ties, "S2" without), pairwise Cohen's kappa and Fleiss' kappa are on the 3-way
    winner, the statistic a reader compares across campaigns; the weighted kappa (linear) is
    on the 5-point preference. Every kappa carries a bootstrap CI over comparisons.
    """

    krippendorff_alpha: dict[str, AlphaResult]
    percent_agreement: float
    human_human: dict[str, PairAgreement]
    pairwise_cohen_kappa: PairwiseKappa
    pairwise_weighted_kappa: PairwiseKappa
    fleiss_kappa: KappaResult
    as_stored: dict[str, float]
    n_units: int
    n_raters: int
    n_ratings: int
    n_boot: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with stable keys and order; NaN becomes null, and every
        missing figure carries a ``reason``."""
        return {
            "krippendorff_alpha": {
                key: {
                    "alpha": missing_to_none(r.alpha),
                    "ci_low": missing_to_none(r.ci_low),
                    "ci_high": missing_to_none(r.ci_high),
                    "n_units": r.n_units,
                    "n_boot_usable": r.n_boot_usable,
                    "reason": r.reason,
                }
                for key, r in self.krippendorff_alpha.items()
            },
            "percent_agreement": missing_to_none(self.percent_agreement),
            "percent_agreement_reason": missing_reason(self.percent_agreement, self.n_units),
            "human_human": {key: r.to_dict() for key, r in self.human_human.items()},
            "pairwise_cohen_kappa": self.pairwise_cohen_kappa.pairs(),
            "pairwise_weighted_kappa": self.pairwise_weighted_kappa.pairs(),
            "fleiss_kappa": self.fleiss_kappa.to_dict(),
            "as_stored": {key: missing_to_none(v) for key, v in self.as_stored.items()},
            "n_units": self.n_units,
            "n_raters": self.n_raters,
            "n_ratings": self.n_ratings,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "notes": list(self.notes),
        }


def _first_showings(votes: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``votes`` with each rater's first human vote per comparison (frame order) and the
    number of later ones left out.

    Re-shown rows are not repeats (they are dropped later, as re-shows). A repeat that is not
    marked (older imports, votes stored by other tools) would otherwise make the whole
    campaign's report fail on one unit.
    """
    looked = pd.Series(True, index=votes.index)
    if "is_reshow" in votes.columns:
        looked &= ~votes["is_reshow"].fillna(False).astype(bool)
    if "rater_kind" in votes.columns:
        looked &= votes["rater_kind"] == "human"
    repeat = looked & votes[looked].duplicated(["comparison_id", "rater"], keep="first").reindex(
        votes.index, fill_value=False
    )
    n = int(repeat.sum())
    return (votes.loc[~repeat] if n else votes), n


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
    and kappa uses the same seed, so adding a criterion never moves another CI.
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
    votes, n_repeats = _first_showings(votes)
    if n_repeats:
        notes.append(
            f"{n_repeats} repeated vote{'s' if n_repeats != 1 else ''} left out: a rater voted"
            " on a comparison more than once without a re-show mark; each rater's first"
            " showing is kept."
        )
    winner = _check_long(preference_long_frame(votes, "winner"))
    five = _check_long(preference_long_frame(votes, "five_point"))
    winner_table, five_table = _table(winner), _table(five)
    mirrored = _alpha_fast.mirror(winner_table)
    alphas = {
        "preference/nominal": _alpha_result(mirrored, "nominal", n_boot, 0.95, seed),
        "preference/ordinal": _alpha_result(
            _alpha_fast.mirror(five_table), "ordinal", n_boot, 0.95, seed
        ),
    }
    if scores is not None and len(scores):
        levels: tuple[Level, ...] = ("ordinal", "interval")
        by_level = {lv: alpha_by_criterion(scores, lv, n_boot=n_boot, seed=seed) for lv in levels}
        for criterion in by_level["ordinal"]:
            for level in levels:
                alphas[f"{criterion}/{level}"] = by_level[level][criterion]
    if alphas["preference/nominal"].n_units == 0:
        notes.append("No comparison has two human votes yet; raise the campaign's overlap.")
    as_stored = {
        "preference/nominal alpha": _alpha_fast.alpha_point(winner_table, "nominal"),
        "preference/ordinal alpha": _alpha_fast.alpha_point(five_table, "ordinal"),
        "Fleiss' kappa": _fleiss_result(winner_table, 0, 0.95, None).kappa,
    }
    s1 = _pair_agreement(winner_table)
    return AgreementReport(
        krippendorff_alpha=alphas,
        percent_agreement=s1.agreement,
        human_human={
            "S1": s1,
            "S2": _pair_agreement(_table(winner[winner["value"] != 0])),
        },
        pairwise_cohen_kappa=_pairwise(winner, None, True, n_boot, 0.95, seed),
        pairwise_weighted_kappa=_pairwise(five, "linear", True, n_boot, 0.95, seed),
        fleiss_kappa=_fleiss_result(mirrored, n_boot, 0.95, seed),
        as_stored=as_stored,
        n_units=int(winner["unit"].nunique()),
        n_raters=int(winner["rater"].nunique()),
        n_ratings=len(winner),
        n_boot=n_boot,
        seed=seed,
        notes=notes,
    )
