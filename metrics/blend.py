"""Combining human and LLM-judge verdicts: a weighted blend and prediction-powered inference.

The weighted blend (:func:`blend_counts`) is for exploration: it trusts the judge as
much as you tell it to, so its intervals are only as valid as the judge is unbiased.

Prediction-powered inference (PPI; Angelopoulos et al., Science 2023) keeps intervals
valid when the judge is biased: the judge labels all ``N`` comparisons, humans label a
random subset of ``n``, and the human-minus-judge difference on that subset (the
*rectifier*) removes the judge's bias while the judge's ``N`` labels shrink the
variance. Input is a comparisons frame, one row per comparison:

=================  =======================================================
model_a, model_b   str, the two candidates
judge_preference   the judge's verdict in the votes-frame coding (< 0 A better,
                   > 0 B better, 0 tie); rows without one are dropped
human_preference   the human majority verdict in the same coding; NaN if the
                   comparison has no human label
=================  =======================================================

Power tuning (PPI++; Angelopoulos, Duchi & Zrnic 2023) scales the judge's part by a
weight ``lambda`` in [0, 1] chosen from the data to minimise the estimate's variance:
``lambda = 1`` is classic PPI, ``lambda = 0`` is human votes alone, so a judge that
agrees little with the humans is down-weighted instead of widening the interval.

The human-labelled comparisons must be a random sample (within each model pair for
:func:`ppi_bradley_terry`); PPI corrects the judge, not a biased choice of what to label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from metrics.bradley_terry import (
    DEFAULT_RIDGE,
    ELO_BASE,
    ELO_SCALE,
    bt_newton,
    rank_bands,
    to_elo,
)
from metrics.counts import ClusterClasses, PairCounts
from metrics.errors import StatisticsError
from metrics.vocabulary import missing_to_none, score_of_a

# ----------------------------------------------------------------------------- blend


def blend_counts(
    human: PairCounts, judge: PairCounts, weight: float, *, normalize: bool = False
) -> PairCounts:
    """Effective counts ``(1 - weight) * human + weight * judge`` on the union of models.

    ``weight`` is the judge's per-vote weight; ``weight=0`` is human-only and ``1`` is
    judge-only. With ``normalize=True`` the judge table is first rescaled to the human
    total, so ``weight`` becomes the judge's share of the evidence regardless of how
    many more judge votes there are. Length cells are summed away. The result keeps
    both integer tables as ``parts``, so the bootstrap resamples each source at its
    real size and the interval reflects both sources' sampling noise; a part built with
    ``clusters`` keeps them (cells renumbered, sides swapped where the union orders the pair
    the other way), so each source resamples its comparisons, not its votes.
    """
    if not 0.0 <= weight <= 1.0:
        raise StatisticsError(f"weight must be in [0, 1], got {weight}.")
    if human.parts or judge.parts:
        raise StatisticsError("Blend the original human and judge tables, not an earlier blend.")
    h, jd = human.collapse(), judge.collapse()
    models = tuple(sorted(set(h.models) | set(jd.models)))
    m = len(models)
    index = pd.Index(models)

    def keys(c: PairCounts) -> tuple[np.ndarray, np.ndarray]:
        codes = index.get_indexer(list(c.models))
        a, b = codes[c.i], codes[c.j]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return lo * m + hi, a > b

    kh, fh = keys(h)
    kj, fj = keys(jd)
    union = np.union1d(kh, kj)

    def align(c: PairCounts, k: np.ndarray, flip: np.ndarray) -> PairCounts:
        pos = np.searchsorted(union, k)
        wi = np.zeros(len(union))
        wj = np.zeros(len(union))
        t = np.zeros(len(union))
        wi[pos] = np.where(flip, c.wins_j, c.wins_i)
        wj[pos] = np.where(flip, c.wins_i, c.wins_j)
        t[pos] = c.ties
        clusters = None
        if c.clusters is not None:
            cl = c.clusters
            swap = flip[cl.cell]
            clusters = ClusterClasses.build(
                pos[cl.cell],
                np.where(swap, cl.wins_j, cl.wins_i),
                np.where(swap, cl.wins_i, cl.wins_j),
                cl.ties,
                cl.count,
            )
        return PairCounts(models, union // m, union % m, wi, wj, t, clusters=clusters)

    ah, aj = align(h, kh, fh), align(jd, kj, fj)
    w_judge = weight
    if normalize:
        n_h, n_j = ah.n.sum(), aj.n.sum()
        w_judge = weight * (n_h / n_j) if n_j > 0 else 0.0
    parts = tuple((p, w) for p, w in ((ah, 1.0 - weight), (aj, w_judge)) if w > 0)
    eff = [
        sum(w * getattr(p, name) for p, w in parts) + np.zeros(len(union))
        for name in ("wins_i", "wins_j", "ties")
    ]
    return PairCounts(models, union // m, union % m, *eff, parts=parts)


# ------------------------------------------------------------------------ PPI: means


@dataclass(frozen=True)
class PPIMean:
    """A PPI mean with its human-only and judge-only counterparts (floats or arrays).

    ``width_ratio`` = PPI interval width / human-only interval width (< 1: PPI helps).
    """

    estimate: Any
    se: Any
    ci_low: Any
    ci_high: Any
    human_estimate: Any
    human_se: Any
    human_ci_low: Any
    human_ci_high: Any
    judge_estimate: Any
    n_labelled: Any
    n_total: Any
    width_ratio: Any
    judge_weight: Any


def ppi_mean(
    judge: np.ndarray, human: np.ndarray, *, level: float = 0.95, power_tuning: bool = True
) -> PPIMean:
    """PPI estimate of a mean along the last axis (leading axes are independent problems).

    ``judge`` holds the judge's value for all ``N`` items, ``human`` the human value or
    NaN where unlabelled. Estimate: ``lambda * mean_N(judge) + mean_n(human - lambda *
    judge)``, with ``lambda = 1`` (classic PPI) or, with ``power_tuning``, the variance-
    minimising weight of :func:`power_tuned_weight`.

    Variance: the labelled items are a subset of the ``N``, so the estimate is a sum of
    independent per-item terms ``g = lambda * judge / N + (human - lambda * judge) / n``
    (labelled) and ``lambda * judge / N`` (unlabelled); its variance is
    ``n * var(g) + (N - n) * lambda^2 * var(judge) / N^2``. For ``n << N`` and
    ``lambda = 1`` this is the textbook ``var(judge) / N + var(human - judge) / n``; for
    ``n == N`` it is the human-only ``var(human) / n``. Normal-approximation interval.
    """
    f = np.asarray(judge, dtype=np.float64)
    y = np.asarray(human, dtype=np.float64)
    lab = ~np.isnan(y)
    big_n = f.shape[-1]
    n = lab.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_f = f.var(axis=-1, ddof=1) if big_n > 1 else np.full(f.shape[:-1], np.nan)
        if power_tuning:
            fl, yl = np.where(lab, f, np.nan), np.where(lab, y, np.nan)
            lam = power_tuned_weight(n, big_n, _nanvar(fl, lab, n), _nancov(fl, yl, lab, n), var_f)
        else:
            lam = np.ones(f.shape[:-1])
        lam_f = lam[..., None] * f
        rect = np.where(lab, y - lam_f, 0.0)
        est = lam_f.sum(axis=-1) / big_n + rect.sum(axis=-1) / n
        g = np.where(lab, lam_f / big_n + rect / n[..., None], np.nan)
        var_g = _nanvar(g, lab, n)
        se = np.sqrt(n * var_g + (big_n - n) * lam**2 * var_f / big_n**2)
        y0 = np.where(lab, y, 0.0)
        h_est = y0.sum(axis=-1) / n
        h_se = np.sqrt(_nanvar(np.where(lab, y, np.nan), lab, n) / n)
        z = stats.norm.ppf(0.5 + level / 2)
        ratio = se / h_se
        judge_est = f.sum(axis=-1) / big_n
    return PPIMean(
        estimate=est,
        se=se,
        ci_low=est - z * se,
        ci_high=est + z * se,
        human_estimate=h_est,
        human_se=h_se,
        human_ci_low=h_est - z * h_se,
        human_ci_high=h_est + z * h_se,
        judge_estimate=judge_est,
        n_labelled=n,
        n_total=big_n,
        width_ratio=ratio,
        judge_weight=lam if lam.ndim else float(lam),
    )


def power_tuned_weight(
    n: np.ndarray | float,
    big_n: np.ndarray | float,
    var_f_labelled: np.ndarray | float,
    cov_fy_labelled: np.ndarray | float,
    var_f_all: np.ndarray | float,
) -> np.ndarray:
    """The judge weight in [0, 1] that minimises the PPI variance of :func:`ppi_mean`.

    With ``c = 1/n - 1/N`` the variance is quadratic in ``lambda``:
    ``n c^2 var_l(f) lambda^2 - 2 c cov_l(f, y) lambda + var_l(y) / n
    + (N - n) var(f) lambda^2 / N^2``, minimised at
    ``lambda = c cov_l(f, y) / (n c^2 var_l(f) + (N - n) var(f) / N^2)``. For
    ``n << N`` this is PPI++'s ``cov(f, y) / var(f)``; PPI++'s extra ``1 + n/N`` factor
    is for a labelled set drawn apart from the ``N``, whereas here the labelled items
    are among them (so a judge that always matches the humans gets exactly 1).
    Clipping to [0, 1] keeps the estimate between human-only and classic PPI, so its
    variance never exceeds the human-only one. Where it is undefined (fewer than two
    labels, a constant judge, everything labelled) the weight is 1: the judge term then
    cancels or the estimate is judge-only anyway.
    """
    n = np.asarray(n, dtype=np.float64)
    big_n = np.asarray(big_n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = 1.0 / n - 1.0 / big_n
        denom = n * c * c * var_f_labelled + (big_n - n) * var_f_all / big_n**2
        lam = c * np.asarray(cov_fy_labelled) / denom
        ok = (n > 1) & (denom > 1e-15) & np.isfinite(lam)
    return np.where(ok, np.clip(np.where(ok, lam, 1.0), 0.0, 1.0), 1.0)


def _nancov(a: np.ndarray, b: np.ndarray, mask: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sample covariance (ddof=1) over the masked entries; NaN where fewer than two."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = np.where(mask, a, 0.0).sum(axis=-1) / n
        mb = np.where(mask, b, 0.0).sum(axis=-1) / n
        prod = np.where(mask, (a - ma[..., None]) * (b - mb[..., None]), 0.0)
        return np.where(n > 1, prod.sum(axis=-1) / (n - 1), np.nan)


def _nanvar(a: np.ndarray, mask: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sample variance (ddof=1) over the masked entries; NaN where fewer than two."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(mask, a, 0.0).sum(axis=-1) / n
        dev = np.where(mask, a - mean[..., None], 0.0)
        return np.where(n > 1, (dev * dev).sum(axis=-1) / (n - 1), np.nan)


def _prepare(comparisons: pd.DataFrame) -> pd.DataFrame:
    need = {"model_a", "model_b", "judge_preference", "human_preference"}
    missing = need - set(comparisons.columns)
    if missing:
        raise StatisticsError(f"PPI needs columns {sorted(need)}; missing {sorted(missing)}.")
    c = comparisons.loc[comparisons["judge_preference"].notna()]
    return c.assign(
        f=score_of_a(c["judge_preference"].to_numpy(dtype=np.float64, na_value=np.nan)),
        y=score_of_a(c["human_preference"].to_numpy(dtype=np.float64, na_value=np.nan)),
    )


def ppi_win_rate(
    comparisons: pd.DataFrame,
    model_x: str,
    model_y: str,
    *,
    level: float = 0.95,
    power_tuning: bool = True,
) -> PPIMean:
    """PPI win rate of ``model_x`` over ``model_y`` (ties half) from their comparisons."""
    c = _prepare(comparisons)
    xy = (c["model_a"] == model_x) & (c["model_b"] == model_y)
    yx = (c["model_a"] == model_y) & (c["model_b"] == model_x)
    sel = c.loc[xy | yx]
    flip = (sel["model_a"] == model_y).to_numpy()
    f = np.where(flip, 1.0 - sel["f"].to_numpy(), sel["f"].to_numpy())
    y = np.where(flip, 1.0 - sel["y"].to_numpy(), sel["y"].to_numpy())
    return ppi_mean(f, y, level=level, power_tuning=power_tuning)


def ppi_win_rates(
    comparisons: pd.DataFrame, *, level: float = 0.95, power_tuning: bool = True
) -> pd.DataFrame:
    """Each model's PPI win rate against the field, with human-only and judge-only columns."""
    c = _prepare(comparisons)
    models = sorted(set(c["model_a"].astype(str)) | set(c["model_b"].astype(str)))
    rows = []
    for model in models:
        as_a = (c["model_a"] == model).to_numpy()
        as_b = (c["model_b"] == model).to_numpy()
        sel = as_a | as_b
        f = np.where(as_a, c["f"].to_numpy(), 1.0 - c["f"].to_numpy())[sel]
        y = np.where(as_a, c["y"].to_numpy(), 1.0 - c["y"].to_numpy())[sel]
        r = ppi_mean(f, y, level=level, power_tuning=power_tuning)
        rows.append(
            {
                "model": model,
                "win_rate": float(r.estimate),
                "ci_low": float(r.ci_low),
                "ci_high": float(r.ci_high),
                "human_win_rate": float(r.human_estimate),
                "human_ci_low": float(r.human_ci_low),
                "human_ci_high": float(r.human_ci_high),
                "judge_win_rate": float(r.judge_estimate),
                "n_labelled": int(r.n_labelled),
                "n": int(r.n_total),
                "width_ratio": float(r.width_ratio),
                "judge_weight": float(r.judge_weight),
            }
        )
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------- PPI: BT


def _human_elo(
    models: tuple[str, ...], has_label: np.ndarray, baseline: str | None
) -> Callable[[np.ndarray], np.ndarray]:
    """Human-only strengths -> Elo for the models with a human label; NaN for the others.

    A model no human judged has no human-only figure (the fit leaves it at the prior, which
    is no measurement), so it is missing rather than 1000 [1000, 1000], and the anchor is
    the mean of the labelled models, or the baseline when humans judged it.
    """

    def elo(theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if baseline is not None:
            if not has_label[list(models).index(baseline)]:
                return np.full(theta.shape, np.nan)
            rated = to_elo(theta, models, baseline)
        elif has_label.any():
            anchor = theta[..., has_label].mean(axis=-1, keepdims=True)
            rated = ELO_BASE + ELO_SCALE * (theta - anchor)
        else:
            return np.full(theta.shape, np.nan)
        return np.where(has_label, rated, np.nan)

    return elo


@dataclass(frozen=True)
class PPIRatings:
    """PPI Bradley–Terry leaderboard.

    ``table`` starts with :data:`~metrics.leaderboard.LEADERBOARD_COLUMNS` (``win_rate``
    is the PPI win rate against the field, ``n`` all judged comparisons) followed by
    ``human_rating``/``human_ci_low``/``human_ci_high``, ``judge_rating``, ``n_labelled``
    and ``width_ratio``. A model no human labelled has no human-only figures (NaN, shown as
    missing) and no ``width_ratio``; the human-only ratings are anchored at the mean of the
    labelled models (or at ``baseline``; all missing if humans never judged it).
    ``width_ratio`` here is the median, over models that have both intervals, of PPI CI
    width / human-only CI width. ``judge_weight`` is the median power-tuning weight over pairs
    (1 = classic PPI, 0 = human votes alone).
    """

    table: pd.DataFrame
    width_ratio: float
    n_labelled: int
    n_total: int
    judge_weight: float
    level: float
    rounds: int
    baseline: str | None

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {k: missing_to_none(v) for k, v in row.items()}
            for row in self.table.to_dict(orient="records")
        ]


def _draw_multinomial(rng: np.random.Generator, counts: np.ndarray, rounds: int) -> np.ndarray:
    """(rounds, cells, K) multinomial draws with each cell's total and observed shares."""
    counts = np.rint(counts).astype(np.int64)
    cells, k = counts.shape
    out = np.zeros((rounds, cells, k), dtype=np.int64)
    left = np.broadcast_to(counts.sum(axis=1), (rounds, cells)).copy()
    mass = counts.sum(axis=1).astype(np.float64)
    for c in range(k - 1):
        p = np.divide(counts[:, c], mass, out=np.zeros(cells), where=mass > 0)
        draw = rng.binomial(left, np.clip(p, 0.0, 1.0))
        out[:, :, c] = draw
        left -= draw
        mass = mass - counts[:, c]
    out[:, :, k - 1] = left
    return out


def ppi_bradley_terry(
    comparisons: pd.DataFrame,
    *,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    baseline: str | None = None,
    ridge: float = DEFAULT_RIDGE,
    power_tuning: bool = True,
) -> PPIRatings:
    """Bradley–Terry ratings by prediction-powered M-estimation, with bootstrap CIs.

    The BT loss is linear in the outcome, so the PPI loss (judge loss on all
    comparisons plus the human-minus-judge loss on the labelled ones) is BT on
    rectified counts. Rectifying within each pair (stratified PPI) gives pair ``p`` the
    "i won" weight ``W_p = N_p * (mean_N_p(judge) + mean_n_p(human - judge))`` out of
    ``N_p``; ``W_p / N_p`` is clipped to [0, 1] so the loss stays bounded. Pairs without
    human labels enter unrectified (judge-only).

    CI: percentile bootstrap, stratified by pair, that resamples the labelled
    comparisons (jointly over judge x human verdict, 9 cells) and the unlabelled ones
    (judge verdict, 3 cells) separately; the human-only ratings are refitted on the same
    labelled draws, so ``width_ratio`` compares like with like.

    With ``power_tuning`` each pair's judge term is scaled by its own variance-minimising
    weight (:func:`power_tuned_weight`), re-estimated in every bootstrap round so the
    interval accounts for estimating it; ``judge_weight`` reports the median over pairs
    with human labels.
    """
    c = _prepare(comparisons)
    models = tuple(sorted(set(c["model_a"].astype(str)) | set(c["model_b"].astype(str))))
    index = pd.Index(models)
    m = len(models)
    a = index.get_indexer(c["model_a"].astype(str))
    b = index.get_indexer(c["model_b"].astype(str))
    keep = a != b
    a, b = a[keep], b[keep]
    f = c["f"].to_numpy()[keep]
    y = c["y"].to_numpy()[keep]
    flip = a > b
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    f = np.where(flip, 1.0 - f, f)
    y = np.where(flip, 1.0 - y, y)
    # outcome code from the i (= lo) side: 0 = i won, 1 = j won, 2 = tie
    fc = np.where(f == 1.0, 0, np.where(f == 0.0, 1, 2))
    lab = ~np.isnan(y)
    yc = np.where(lab, np.where(y == 1.0, 0, np.where(y == 0.0, 1, 2)), 0)
    pair_key = lo * m + hi
    pairs, pidx = np.unique(pair_key, return_inverse=True)
    n_pairs = len(pairs)
    joint = np.bincount(pidx[lab] * 9 + fc[lab] * 3 + yc[lab], minlength=n_pairs * 9).reshape(
        n_pairs, 9
    )
    unlab = np.bincount(pidx[~lab] * 3 + fc[~lab], minlength=n_pairs * 3).reshape(n_pairs, 3)
    pi, pj = pairs // m, pairs % m

    half = np.array([1.0, 0.0, 0.5])
    f_of_joint = np.repeat(half, 3)
    y_of_joint = np.tile(half, 3)

    def weight(jt: np.ndarray, un: np.ndarray) -> np.ndarray:
        """Each pair's judge weight, from the (co)variances its cell counts imply."""
        if not power_tuning:
            return np.ones(jt.shape[:-1])
        n_lab = jt.sum(axis=-1)
        n_all = n_lab + un.sum(axis=-1)
        sf, sy = jt @ f_of_joint, jt @ y_of_joint
        sf_all = sf + un @ half
        with np.errstate(invalid="ignore", divide="ignore"):
            var_fl = (jt @ f_of_joint**2 - sf * sf / n_lab) / (n_lab - 1)
            cov_l = (jt @ (f_of_joint * y_of_joint) - sf * sy / n_lab) / (n_lab - 1)
            var_f = (jt @ f_of_joint**2 + un @ half**2 - sf_all * sf_all / n_all) / (n_all - 1)
        return power_tuned_weight(n_lab, n_all, var_fl, cov_l, var_f)

    def rectified(jt: np.ndarray, un: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_lab = jt.sum(axis=-1)
        n_all = n_lab + un.sum(axis=-1)
        lam = weight(jt, un)
        f_all = jt @ f_of_joint + un @ half
        rect = jt @ y_of_joint - lam * (jt @ f_of_joint)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n_lab > 0, lam * f_all / n_all + rect / n_lab, f_all / n_all)
        share = np.clip(share, 0.0, 1.0)
        return n_all * share, n_all * (1.0 - share)

    def human(jt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_lab = jt.sum(axis=-1)
        wi = jt @ y_of_joint
        return wi, n_lab - wi

    def judge(jt: np.ndarray, un: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wi = jt @ f_of_joint + un @ half
        return wi, jt.sum(axis=-1) + un.sum(axis=-1) - wi

    theta_ppi, _ = bt_newton(pi, pj, *rectified(joint, unlab), m, ridge=ridge)
    theta_h, _ = bt_newton(pi, pj, *human(joint), m, ridge=ridge)
    theta_j, _ = bt_newton(pi, pj, *judge(joint, unlab), m, ridge=ridge)

    rng = np.random.default_rng(seed)
    jt_b = _draw_multinomial(rng, joint, rounds)
    un_b = _draw_multinomial(rng, unlab, rounds)
    boot_ppi, _ = bt_newton(
        pi, pj, *rectified(jt_b, un_b), m, ridge=ridge, theta0=theta_ppi, tol=1e-3
    )
    boot_h, _ = bt_newton(pi, pj, *human(jt_b), m, ridge=ridge, theta0=theta_h, tol=1e-3)

    q = (1 - level) / 2
    lo_p, hi_p = np.quantile(to_elo(boot_ppi, models, baseline), [q, 1 - q], axis=0)
    labelled_pairs = joint.sum(axis=1) > 0
    has_label = np.zeros(m, dtype=bool)
    has_label[pi[labelled_pairs]] = has_label[pj[labelled_pairs]] = True
    human_elo = _human_elo(models, has_label, baseline)
    lo_h, hi_h = np.quantile(human_elo(boot_h), [q, 1 - q], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (hi_p - lo_p) / (hi_h - lo_h)
    ratio = np.where(np.isfinite(ratio), ratio, np.nan)
    finite = ratio[np.isfinite(ratio)]
    rank_low, rank_high = rank_bands(lo_p, hi_p)
    if baseline is not None:
        # the anchor is 1000 in every round: it has no interval of its own to show
        anchor = list(models).index(baseline)
        lo_p[anchor] = hi_p[anchor] = lo_h[anchor] = hi_h[anchor] = np.nan
    wr = ppi_win_rates(comparisons, level=level, power_tuning=power_tuning)
    wr = wr.set_index("model").reindex(list(models))
    pair_weights = weight(joint, unlab)[labelled_pairs]
    table = pd.DataFrame(
        {
            "model": list(models),
            "rating": to_elo(theta_ppi, models, baseline),
            "ci_low": lo_p,
            "ci_high": hi_p,
            "rank_low": rank_low,
            "rank_high": rank_high,
            "win_rate": wr["win_rate"].to_numpy(),
            "n": wr["n"].to_numpy(dtype=np.int64),
            "human_rating": human_elo(theta_h),
            "human_ci_low": lo_h,
            "human_ci_high": hi_h,
            "judge_rating": to_elo(theta_j, models, baseline),
            "n_labelled": wr["n_labelled"].to_numpy(dtype=np.int64),
            "width_ratio": ratio,
        }
    )
    table = table.sort_values(["rating", "model"], ascending=[False, True], kind="stable")
    return PPIRatings(
        table.reset_index(drop=True),
        width_ratio=float(np.median(finite)) if len(finite) else float("nan"),
        n_labelled=int(lab.sum()),
        n_total=len(f),
        judge_weight=float(np.median(pair_weights)) if len(pair_weights) else float("nan"),
        level=level,
        rounds=rounds,
        baseline=baseline,
    )
