"""Bradley–Terry ratings on pairwise counts, with a bootstrap and rank bands.

Model: ``P(i beats j) = sigmoid(theta_i - theta_j [+ gamma * x])`` with natural-log
strengths ``theta``. A tie counts as half a win for each side, i.e. the likelihood is the
logistic likelihood with a tie entered as two half-weight rows. Ratings are reported on the
Elo scale: ``1000 + 400 / ln(10) * (theta - anchor)`` where the anchor is the baseline
model's strength, or the mean strength.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse, special
from scipy.sparse.csgraph import connected_components

from metrics.counts import PairCounts, resample_counts
from metrics.errors import StatisticsError

ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0
DEFAULT_RIDGE = 0.01
"""Gaussian prior N(0, 10^2) on the natural-log strengths (sd ~ 1,740 Elo points).

Against real data it is negligible (one pair with 100 votes already carries Fisher
information ~25 against the prior's 0.01), but it keeps the fit finite for a model
that never loses (in the data or in a bootstrap round) and pins each disconnected
component of the comparison graph to mean strength 0. Ratings *across* components are
then set by the prior alone; ``Leaderboard.n_components`` says when that happens.
Pass ``ridge=0`` for the plain maximum-likelihood fit (needs a connected graph).
"""
_SAFE_STEP = 0.25


class BTSolve(NamedTuple):
    """What :func:`bt_solve` returns: strengths, length coefficients, and per round
    whether Newton met its tolerance within ``max_iter`` steps with finite results."""

    theta: np.ndarray
    gamma: np.ndarray | None
    converged: np.ndarray


def bt_newton(
    i: np.ndarray,
    j: np.ndarray,
    w_i: np.ndarray,
    w_j: np.ndarray,
    n_models: int,
    **kwargs: Any,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`bt_solve` without the convergence flags: ``(theta, gamma)``."""
    theta, gamma, _ = bt_solve(i, j, w_i, w_j, n_models, **kwargs)
    return theta, gamma


def bt_solve(
    i: np.ndarray,
    j: np.ndarray,
    w_i: np.ndarray,
    w_j: np.ndarray,
    n_models: int,
    *,
    ridge: float = DEFAULT_RIDGE,
    x: np.ndarray | None = None,
    theta0: np.ndarray | None = None,
    gamma0: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> BTSolve:
    """Batched Bradley–Terry fit by damped Newton on weighted cell counts.

    ``w_i``/``w_j`` (shape ``(cells,)`` or ``(rounds, cells)``) are the weights of "i won"
    and "j won" (ties already split in half). Maximises, per round,
    ``sum w_i log s(eta) + w_j log s(-eta) - ridge/2 * |theta|^2`` with
    ``eta = theta_i - theta_j + gamma * x``. Cells must be sorted by pair. Each Newton
    step costs O(rounds * (cells + models^3)); the Hessian gets ``11^T / m`` added, which
    fixes the otherwise free mean of ``theta`` at 0 without changing the optimum.
    Returns ``theta`` (rounds, models) with mean 0, ``gamma`` (rounds,) or ``None``, and
    ``converged`` (rounds,): False where the last step was still above ``tol`` after
    ``max_iter`` steps or the result is not finite.
    """
    squeeze = np.ndim(w_i) == 1
    wi = np.atleast_2d(np.asarray(w_i, dtype=np.float64))
    wj = np.atleast_2d(np.asarray(w_j, dtype=np.float64))
    r, _ = wi.shape
    m = n_models
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    pair_key = i * m + j
    starts = np.flatnonzero(np.r_[True, pair_key[1:] != pair_key[:-1]])
    if np.any(np.diff(pair_key[starts]) <= 0):
        raise StatisticsError("Cells must be sorted by pair (i, j).")
    pi, pj = i[starts], j[starts]
    need_reduce = len(starts) != len(i)
    p_count = len(starts)
    rows = np.r_[np.arange(p_count), np.arange(p_count)]
    vals = np.r_[np.ones(p_count), -np.ones(p_count)]
    d = sparse.csr_matrix((vals, (rows, np.r_[pi, pj])), shape=(p_count, m))
    dabs = abs(d)
    fit_x = x is not None
    xv = None if x is None else np.asarray(x, dtype=np.float64)
    k = m + (1 if fit_x else 0)
    n_tot = wi + wj
    theta = np.zeros((r, m)) if theta0 is None else np.array(np.broadcast_to(theta0, (r, m)))
    gamma = np.zeros(r) if gamma0 is None else np.array(np.broadcast_to(gamma0, (r,)))
    ones = np.full((m, m), 1.0 / m)
    diag = np.arange(m)

    def reduce(a: np.ndarray) -> np.ndarray:
        return np.add.reduceat(a, starts, axis=1) if need_reduce else a

    def eta_of(th: np.ndarray, ga: np.ndarray) -> np.ndarray:
        e = th[:, i] - th[:, j]
        if fit_x:
            e = e + ga[:, None] * xv
        return e

    def objective(rows: np.ndarray, th: np.ndarray, ga: np.ndarray) -> np.ndarray:
        e = th[:, i] - th[:, j]
        if fit_x:
            e += ga[:, None] * xv
        # w_i log s(e) + w_j log s(-e) = -(w_i + w_j) softplus(-e) - w_j e
        ll = -(n_tot[rows] * np.logaddexp(0.0, -e) + wj[rows] * e).sum(axis=1)
        return ll - 0.5 * ridge * (th * th).sum(axis=1)

    eta = eta_of(theta, gamma)
    fval = np.full(r, np.nan)
    active = np.ones(r, dtype=bool)
    # Bootstrap rounds start from one shared point and keep each cell's total, so the
    # first Hessian is the same for every round: one factorisation, many right-hand sides.
    shared = (
        r > 1
        and np.ndim(theta0) <= 1
        and np.ndim(gamma0) == 0
        and np.array_equal(n_tot, np.broadcast_to(n_tot[:1], n_tot.shape))
    )
    for it in range(max_iter):
        one = shared and it == 0
        nt = n_tot[:1] if one else n_tot
        p = special.expit(eta[:1] if one else eta)
        expected = nt * p
        resid = wi - expected
        w = expected * (1.0 - p)
        rp = reduce(resid)
        wp = reduce(w)
        g = np.empty((r, k))
        g[:, :m] = (d.T @ rp.T).T - ridge * theta
        h = np.zeros((w.shape[0], k, k))
        h[:, pi, pj] = -wp
        h[:, pj, pi] = -wp
        h[:, diag, diag] = (dabs.T @ wp.T).T + ridge
        h[:, :m, :m] += ones
        if fit_x:
            g[:, m] = (resid * xv).sum(axis=1)
            wx = (d.T @ reduce(w * xv).T).T
            h[:, :m, m] = wx
            h[:, m, :m] = wx
            h[:, m, m] = (w * xv * xv).sum(axis=1) + 1e-12
        try:
            step = np.linalg.solve(h[0], g.T).T if one else np.linalg.solve(h, g[..., None])[..., 0]
        except np.linalg.LinAlgError as exc:
            raise StatisticsError(
                "Bradley–Terry fit is singular: the comparison graph is disconnected or a "
                "model never loses; fit with ridge > 0 (the default)."
            ) from exc
        step[~active] = 0.0
        size = np.abs(step).max(axis=1)
        t = np.ones(r)
        # Steps below SAFE_STEP nats are taken in full: the logistic Hessian changes by at
        # most a factor ~e^(2 * step) over such a step, so Newton still ascends. Larger
        # steps (cold starts, never-losing models) get an Armijo backtracking search.
        rows = np.flatnonzero(size > _SAFE_STEP)
        if rows.size:
            stale = rows[np.isnan(fval[rows])]
            if stale.size:
                fval[stale] = objective(stale, theta[stale], gamma[stale])
            slope = (g[rows] * step[rows]).sum(axis=1)
            tr = np.ones(rows.size)
            for _ in range(50):
                th_new = theta[rows] + tr[:, None] * step[rows, :m]
                ga_new = gamma[rows] + tr * step[rows, m] if fit_x else gamma[rows]
                f_new = objective(rows, th_new, ga_new)
                f_old = fval[rows]
                bad = f_new < f_old + 1e-4 * tr * slope - 1e-12 * np.abs(f_old)
                if not bad.any():
                    break
                tr = np.where(bad, tr * 0.5, tr)
            t[rows] = tr
            fval[rows] = f_new
        small = np.ones(r, dtype=bool)
        small[rows] = False
        fval[small] = np.nan
        theta = theta + t[:, None] * step[:, :m]
        if fit_x:
            gamma = gamma + t * step[:, m]
        eta = eta_of(theta, gamma)
        # Near the optimum Newton converges quadratically: after a full step of size s
        # the remaining error is O(s^2), so a full step below ``tol`` ends the round.
        active &= (t * size > tol) | (t < 1.0)
        if not active.any():
            break
    theta = theta - theta.mean(axis=1, keepdims=True)
    gam = gamma if fit_x else None
    converged = ~active & np.isfinite(theta).all(axis=1)
    if fit_x:
        converged &= np.isfinite(gamma)
    if squeeze:
        return BTSolve(theta[0], None if gam is None else np.asarray(gam[0]), converged[:1])
    return BTSolve(theta, gam, converged)


def to_elo(theta: np.ndarray, models: Sequence[str], baseline: str | None = None) -> np.ndarray:
    """Natural-log strengths -> Elo scale, anchored at ``baseline`` = 1000 or mean = 1000."""
    theta = np.asarray(theta, dtype=np.float64)
    if baseline is None:
        anchor = theta.mean(axis=-1, keepdims=True)
    else:
        if baseline not in models:
            raise StatisticsError(
                f"Baseline {baseline!r} has no comparisons; pick one of {sorted(models)}."
            )
        k = list(models).index(baseline)
        anchor = theta[..., k : k + 1]
    return ELO_BASE + ELO_SCALE * (theta - anchor)


@dataclass(frozen=True)
class BTFit:
    """A Bradley–Terry fit; ``theta`` are natural-log strengths with mean 0."""

    models: tuple[str, ...]
    theta: np.ndarray
    length_coef: float | None = None
    ridge: float = DEFAULT_RIDGE
    converged: bool = True

    def ratings(self, baseline: str | None = None) -> np.ndarray:
        return to_elo(self.theta, self.models, baseline)


@dataclass(frozen=True)
class BTBootstrap:
    """Bootstrap replicates: ``theta`` (rounds, models), ``length_coef`` (rounds,).

    ``converged`` (rounds,) marks the rounds whose Newton solve met its tolerance; only
    those are usable and enter the intervals. ``separated`` (rounds,) marks rounds in
    which some model won, or lost, every resampled vote it took part in (no variation):
    its rating in that round is set by the ridge prior, not the data. Those rounds are
    kept (dropping them would narrow the interval exactly where the data are thin) and
    counted, so a report can say how many there were.
    """

    models: tuple[str, ...]
    theta: np.ndarray
    length_coef: np.ndarray | None = None
    converged: np.ndarray | None = None
    separated: np.ndarray | None = None

    @property
    def rounds(self) -> int:
        return int(self.theta.shape[0])

    @property
    def usable(self) -> int:
        """Number of rounds that enter the intervals."""
        return self.rounds if self.converged is None else int(self.converged.sum())

    @property
    def n_separated(self) -> int:
        return 0 if self.separated is None else int(self.separated.sum())

    def ratings(self, baseline: str | None = None) -> np.ndarray:
        return to_elo(self.theta, self.models, baseline)

    def intervals(
        self, level: float = 0.95, baseline: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval per model on the Elo scale (anchored per round), over the
        usable rounds; NaN when no round is usable."""
        q = (1 - level) / 2
        ratings = self.ratings(baseline)
        if self.converged is not None:
            ratings = ratings[self.converged]
        if len(ratings) == 0:
            nan = np.full(len(self.models), np.nan)
            return nan, nan.copy()
        low, high = np.quantile(ratings, [q, 1 - q], axis=0)
        return low, high


def fit_cells(counts: PairCounts, length_control: bool) -> tuple[PairCounts, np.ndarray | None]:
    if not length_control:
        return counts.collapse().used(), None
    if counts.length is None:
        raise StatisticsError(
            "length_control needs lengths: build counts with len_a/len_b (length_bins)."
        )
    c = counts.used()
    return c, c.length


def check_identifiable(c: PairCounts, ridge: float) -> int:
    m = c.n_models
    graph = sparse.coo_matrix((np.ones(len(c.i)), (c.i, c.j)), shape=(m, m))
    n_comp, _ = connected_components(graph, directed=False)
    if ridge <= 0 and n_comp > 1:
        raise StatisticsError(
            f"The comparison graph has {n_comp} disconnected groups of models, so their "
            "relative ratings are not identified; fit with ridge > 0 (the default)."
        )
    return int(n_comp)


def fit_bradley_terry(
    counts: PairCounts,
    *,
    ridge: float = DEFAULT_RIDGE,
    length_control: bool = False,
) -> BTFit:
    """Maximum-likelihood (ridge: MAP) Bradley–Terry fit on the counts, ties as half-wins.

    Models without comparisons are dropped. With ``length_control`` the fit includes
    ``gamma * x``, ``x`` the cell's mean ``(len_i - len_j) / (len_i + len_j)``, so a
    verbose model gets no credit for length; ``length_coef`` is ``gamma`` (log-odds per
    unit of ``x``; > 0 means longer answers win).
    """
    c, x = fit_cells(counts, length_control)
    check_identifiable(c, ridge)
    theta, gamma, converged = bt_solve(
        c.i,
        c.j,
        c.wins_i + 0.5 * c.ties,
        c.wins_j + 0.5 * c.ties,
        c.n_models,
        ridge=ridge,
        x=x,
    )
    return BTFit(
        c.models, theta, None if gamma is None else float(gamma), ridge, bool(converged[0])
    )


def bootstrap_bradley_terry(
    counts: PairCounts,
    *,
    rounds: int = 1000,
    seed: int = 0,
    ridge: float = DEFAULT_RIDGE,
    length_control: bool = False,
    start: BTFit | None = None,
) -> BTBootstrap:
    """Bootstrap Bradley–Terry by resampling counts, all rounds solved together.

    Assumes votes are independent given the pair and the bootstrap is stratified by
    pair (and length bin): every round draws each cell's outcomes from a multinomial
    with the cell's own total, which is exactly resampling the cell's votes with
    replacement. Rounds start from ``start`` (the point fit) and converge in a few
    Newton steps. Blended tables resample each integer source separately.
    """
    c, x = fit_cells(counts, length_control)
    if start is None:
        start = fit_bradley_terry(counts, ridge=ridge, length_control=length_control)
    wi, wj, t = resample_counts(c, rounds, np.random.default_rng(seed))
    theta, gamma, converged = bt_solve(
        c.i,
        c.j,
        wi + 0.5 * t,
        wj + 0.5 * t,
        c.n_models,
        ridge=ridge,
        x=x,
        tol=1e-3,
        theta0=start.theta,
        gamma0=start.length_coef,
    )
    return BTBootstrap(c.models, theta, gamma, converged, _separated(c, wi, wj, t))


def _separated(c: PairCounts, wi: np.ndarray, wj: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per round: does some model have only wins, or only losses, among its votes?"""
    m = c.n_models
    inc_i = sparse.csr_matrix((np.ones(len(c.i)), (np.arange(len(c.i)), c.i)), (len(c.i), m))
    inc_j = sparse.csr_matrix((np.ones(len(c.j)), (np.arange(len(c.j)), c.j)), (len(c.j), m))
    wins = (inc_i.T @ wi.T + inc_j.T @ wj.T).T
    losses = (inc_i.T @ wj.T + inc_j.T @ wi.T).T
    ties = (inc_i.T @ t.T + inc_j.T @ t.T).T
    played = wins + losses + ties > 0
    one_sided = played & (ties == 0) & ((wins == 0) | (losses == 0))
    return one_sided.any(axis=1)


def separated_models(counts: PairCounts) -> list[str]:
    """Models that won, or lost, every vote they took part in (ties count as neither).

    Their Bradley–Terry rating is not determined by the data: it is as far out as the
    ridge prior lets it go.
    """
    c = counts.collapse().used()
    flags = _separated(c, c.wins_i[None, :], c.wins_j[None, :], c.ties[None, :])
    if not flags[0]:
        return []
    m = c.n_models
    wins = np.bincount(c.i, c.wins_i, m) + np.bincount(c.j, c.wins_j, m)
    losses = np.bincount(c.i, c.wins_j, m) + np.bincount(c.j, c.wins_i, m)
    ties = np.bincount(c.i, c.ties, m) + np.bincount(c.j, c.ties, m)
    one_sided = (ties == 0) & ((wins == 0) | (losses == 0))
    return [name for name, flag in zip(c.models, one_sided, strict=True) if flag]


def components(counts: PairCounts) -> np.ndarray:
    """Connected-component label of each model of ``counts`` in the comparison graph,
    numbered by first appearance in ``counts.models``."""
    m = counts.n_models
    graph = sparse.coo_matrix((np.ones(len(counts.i)), (counts.i, counts.j)), shape=(m, m))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    return order[labels].astype(np.int64)


def rank_bands(
    ci_low: np.ndarray, ci_high: np.ndarray, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rank range each model could hold given its interval.

    With ``groups`` (e.g. :func:`components`) models are ranked within their own group
    only: ratings of models never linked by comparisons are not comparable, so no model
    is ranked above or below one of another group. A model with a missing (NaN) interval
    gets rank range 1 to the size of its group.

    ``rank_low`` (best possible rank) = 1 + number of models whose ``ci_low`` is above
    this model's ``ci_high`` (they are clearly better). ``rank_high`` (worst possible) =
    number of models whose ``ci_high`` is at or above this model's ``ci_low``, itself
    included (everything not clearly worse). Models with overlapping intervals share a
    rank range; a model clear of all others gets ``rank_low == rank_high``.
    """
    low = np.asarray(ci_low, dtype=np.float64)
    high = np.asarray(ci_high, dtype=np.float64)
    same = (
        np.ones((len(low), len(low)), dtype=bool)
        if groups is None
        else np.asarray(groups)[:, None] == np.asarray(groups)[None, :]
    )
    better = (same & (low[None, :] > high[:, None])).sum(axis=1)
    unknown = np.isnan(low) | np.isnan(high)
    not_worse = same & ((high[None, :] >= low[:, None]) | unknown[:, None] | unknown[None, :])
    return (1 + better).astype(np.int64), not_worse.sum(axis=1).astype(np.int64)
