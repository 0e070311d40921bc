"""Leaderboard statistics on aggregated pairwise outcome counts.

Everything here works on a :class:`PairCounts` table: for each unordered pair of
integer-coded models ``i < j`` (optionally split further into length-difference
cells), how often ``i`` won, ``j`` won, or the two tied. The database aggregates
votes with ``GROUP BY model_a, model_b, outcome``; :func:`pair_counts_from_aggregates`
takes that result, :func:`pair_counts_from_votes` takes a votes frame and
:func:`pair_counts_from_codes` takes integer arrays. All three share one core, so a
million votes cost one ``np.bincount`` and every later step costs O(pairs).

Bradley–Terry model: ``P(i beats j) = sigmoid(theta_i - theta_j [+ gamma * x])`` with
natural-log strengths ``theta``. A tie counts as half a win for each side, i.e. the
likelihood is the logistic likelihood with a tie entered as two half-weight rows.
Ratings are reported on the Elo scale: ``1000 + 400 / ln(10) * (theta - anchor)``
where the anchor is the baseline model's strength, or the mean strength.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, special, stats
from scipy.sparse.csgraph import connected_components

ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0
DEFAULT_RIDGE = 0.01
"""Gaussian prior N(0, 10^2) on the natural-log strengths (sd ~ 1,740 Elo points).

Against real data it is negligible (one pair with 100 votes already carries Fisher
information ~25 against the prior's 0.01), but it keeps the fit finite for a model
that never loses (in the data or in a bootstrap round) and pins each disconnected
component of the comparison graph to mean strength 0. Ratings *across* components are
then set by the prior alone; :attr:`Leaderboard.n_components` says when that happens.
Pass ``ridge=0`` for the plain maximum-likelihood fit (needs a connected graph).
"""
DEFAULT_LENGTH_BINS = 16
_SAFE_STEP = 0.25

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


# --------------------------------------------------------------------------- counts


@dataclass(frozen=True)
class PairCounts:
    """Outcome counts per cell; a cell is a model pair ``i < j`` (and a length bin).

    ``wins_i``/``wins_j``/``ties`` are float arrays so weighted (blended) tables fit the
    same type. ``length`` is the mean normalised length difference
    ``(len_i - len_j) / (len_i + len_j)`` of the votes in the cell (``None`` without
    length information). Cells are sorted by pair, so a pair's cells are contiguous.
    ``parts`` records the integer tables and weights a blended table was made from;
    the bootstrap resamples those parts separately.
    """

    models: tuple[str, ...]
    i: np.ndarray
    j: np.ndarray
    wins_i: np.ndarray
    wins_j: np.ndarray
    ties: np.ndarray
    length: np.ndarray | None = None
    parts: tuple[tuple[PairCounts, float], ...] = field(default=(), repr=False)

    @property
    def n(self) -> np.ndarray:
        return self.wins_i + self.wins_j + self.ties

    @property
    def n_models(self) -> int:
        return len(self.models)

    def collapse(self) -> PairCounts:
        """Sum the length cells of each pair (drops the length covariate)."""
        if self.length is None and not self.parts:
            return self
        key = self.i.astype(np.int64) * self.n_models + self.j
        uniq, inv = np.unique(key, return_inverse=True)
        sums = [np.bincount(inv, weights=a, minlength=len(uniq)) for a in self._outcomes()]
        parts = tuple((p.collapse(), w) for p, w in self.parts)
        return PairCounts(
            self.models,
            (uniq // self.n_models).astype(np.int64),
            (uniq % self.n_models).astype(np.int64),
            *sums,
            parts=parts,
        )

    def model_totals(self) -> np.ndarray:
        """Number of comparisons each model took part in."""
        n = self.n
        m = self.n_models
        return np.bincount(self.i, weights=n, minlength=m) + np.bincount(
            self.j, weights=n, minlength=m
        )

    def used(self) -> PairCounts:
        """Drop models without any comparison and cells without any count."""
        keep_cells = self.n > 0
        present = np.zeros(self.n_models, dtype=bool)
        present[self.i[keep_cells]] = True
        present[self.j[keep_cells]] = True
        if present.all() and keep_cells.all():
            return self
        recode = np.cumsum(present) - 1
        models = tuple(m for m, p in zip(self.models, present, strict=True) if p)

        def pick(c: PairCounts) -> PairCounts:
            return PairCounts(
                models,
                recode[c.i[keep_cells]],
                recode[c.j[keep_cells]],
                c.wins_i[keep_cells],
                c.wins_j[keep_cells],
                c.ties[keep_cells],
                None if c.length is None else c.length[keep_cells],
            )

        out = pick(self)
        return replace(out, parts=tuple((pick(p), w) for p, w in self.parts))

    def _outcomes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.wins_i, self.wins_j, self.ties


def _outcome_sign(outcome: Any) -> np.ndarray:
    """Map preference values or 'a'/'b'/'tie' labels to -1 (A wins), +1 (B), 0, NaN."""
    arr = np.asarray(outcome)
    if arr.dtype.kind in "biuf":
        return np.sign(arr.astype(np.float64))
    labels = pd.Series(arr, dtype=object).map({"a": -1.0, "b": 1.0, "tie": 0.0})
    return labels.to_numpy(dtype=np.float64, na_value=np.nan)


def length_bin(length_diff: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bin of a normalised length difference in [-1, 1].

    The SQL equivalent is ``MIN(bins - 1, CAST(FLOOR((x + 1) / 2 * bins) AS INT))``.
    """
    b = np.floor((np.asarray(length_diff, dtype=np.float64) + 1.0) * 0.5 * bins)
    return np.clip(b, 0, bins - 1).astype(np.int64)


def _build(
    models: tuple[str, ...],
    a: np.ndarray,
    b: np.ndarray,
    sign: np.ndarray,
    weight: np.ndarray | None,
    length_bins: int | None,
    xsum: np.ndarray | None,
    cell_bin: np.ndarray | None,
) -> PairCounts:
    """Shared core: scatter (a, b, sign[, bin]) rows with optional weights into cells.

    ``xsum`` is the per-row sum of length differences oriented to ``a`` (per vote it is
    the difference itself, per aggregated row the group's sum) and ``cell_bin`` the bin of
    that a-oriented difference; rows with ``a > b`` are mirrored into the ``i < j`` frame.
    """
    m = len(models)
    ok = ~np.isnan(sign) & (a != b)
    if not ok.all():
        a, b, sign = a[ok], b[ok], sign[ok]
        weight = None if weight is None else weight[ok]
        xsum = None if xsum is None else xsum[ok]
        cell_bin = None if cell_bin is None else cell_bin[ok]
    flip = a > b
    lo = np.where(flip, b, a).astype(np.int64)
    hi = np.where(flip, a, b).astype(np.int64)
    # outcome code in canonical orientation: 0 = lo wins, 1 = hi wins, 2 = tie
    s = np.where(flip, -sign, sign)
    code = np.where(s < 0, 0, np.where(s > 0, 1, 2))
    k = length_bins or 1
    if cell_bin is None:
        bins = np.zeros(len(lo), dtype=np.int64)
    else:
        bins = np.where(flip, k - 1 - cell_bin, cell_bin)
    cell = (lo * m + hi) * k + bins
    size = m * m * k
    counts = np.bincount(cell * 3 + code, weights=weight, minlength=size * 3).reshape(size, 3)
    total = counts.sum(axis=1)
    nz = np.flatnonzero(total)
    length = None
    if xsum is not None:
        xs = np.bincount(cell, weights=np.where(flip, -xsum, xsum), minlength=size)
        length = xs[nz] / total[nz]
    pair = nz // k
    return PairCounts(
        models,
        pair // m,
        pair % m,
        counts[nz, 0].astype(np.float64),
        counts[nz, 1].astype(np.float64),
        counts[nz, 2].astype(np.float64),
        length,
    )


def pair_counts_from_codes(
    a: np.ndarray,
    b: np.ndarray,
    outcome: np.ndarray,
    models: Sequence[str] | int,
    *,
    len_a: np.ndarray | None = None,
    len_b: np.ndarray | None = None,
    length_bins: int = DEFAULT_LENGTH_BINS,
) -> PairCounts:
    """Counts from integer-coded votes: ``outcome`` < 0 means ``a`` won, > 0 ``b``, 0 tie.

    NaN outcomes and self-comparisons are ignored. ``models`` names the codes (or gives
    their number). With ``len_a``/``len_b`` the table is split into ``length_bins``
    equal-width bins of ``(len_i - len_j) / (len_i + len_j)`` per pair, for
    :func:`fit_bradley_terry` with ``length_control=True``.
    """
    names = tuple(str(x) for x in range(models)) if isinstance(models, int) else tuple(models)
    a = np.asarray(a)
    b = np.asarray(b)
    sign = np.sign(np.asarray(outcome, dtype=np.float64))
    if (len_a is None) != (len_b is None):
        raise ValueError("Pass both len_a and len_b, or neither.")
    if len_a is None:
        return _build(names, a, b, sign, None, None, None, None)
    la = np.asarray(len_a, dtype=np.float64)
    lb = np.asarray(len_b, dtype=np.float64)
    den = la + lb
    x = np.divide(la - lb, den, out=np.zeros_like(den), where=den > 0)
    return _build(names, a, b, sign, None, length_bins, x, length_bin(x, length_bins))


def pair_counts_from_votes(
    votes: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    length_bins: int | None = None,
) -> PairCounts:
    """Counts from a votes frame (see ``metrics.frames``); NaN preferences are ignored.

    ``models`` fixes the model list and order (default: sorted names seen in the frame).
    ``length_bins`` splits by length difference using ``len_a``/``len_b``.
    """
    names = _model_list(votes, models)
    index = pd.Index(names)
    a = index.get_indexer(votes["model_a"])
    b = index.get_indexer(votes["model_b"])
    if (a < 0).any() or (b < 0).any():
        raise ValueError("votes mention models that are not in `models`; add them to the list.")
    pref = votes["preference"].to_numpy(dtype=np.float64, na_value=np.nan)
    if length_bins is None:
        return pair_counts_from_codes(a, b, pref, names)
    return pair_counts_from_codes(
        a,
        b,
        pref,
        names,
        len_a=votes["len_a"].to_numpy(dtype=np.float64),
        len_b=votes["len_b"].to_numpy(dtype=np.float64),
        length_bins=length_bins,
    )


def pair_counts_from_aggregates(
    frame: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    length_bins: int | None = None,
) -> PairCounts:
    """Counts from a SQL aggregate: columns ``model_a``, ``model_b``, ``outcome``, ``n``.

    ``outcome`` is a preference sign (-1/0/1, any preference value works) or the labels
    'a'/'b'/'tie' of ``frames.winner_code``. For length control also pass
    ``length_bin`` (see :func:`length_bin`) and ``length_diff_sum`` (the group's sum of
    ``(len_a - len_b) / (len_a + len_b)``) columns and the ``length_bins`` used.
    """
    names = _model_list(frame, models)
    index = pd.Index(names)
    a = index.get_indexer(frame["model_a"])
    b = index.get_indexer(frame["model_b"])
    if (a < 0).any() or (b < 0).any():
        raise ValueError("aggregates mention models that are not in `models`; add them.")
    sign = _outcome_sign(frame["outcome"].to_numpy())
    n = frame["n"].to_numpy(dtype=np.float64)
    if length_bins is None:
        return _build(names, a, b, sign, n, None, None, None)
    cell_bin = frame["length_bin"].to_numpy(dtype=np.int64)
    xsum = frame["length_diff_sum"].to_numpy(dtype=np.float64)
    return _build(names, a, b, sign, n, length_bins, xsum, cell_bin)


def _model_list(frame: pd.DataFrame, models: Sequence[str] | None) -> tuple[str, ...]:
    if models is not None:
        return tuple(models)
    seen = pd.unique(pd.concat([frame["model_a"], frame["model_b"]], ignore_index=True))
    return tuple(sorted(str(x) for x in seen))


# ------------------------------------------------------------------------- win rates


@dataclass(frozen=True)
class WinRateMatrix:
    """``rate.loc[x, y]`` = share of x-vs-y comparisons x won (ties half); NaN if none."""

    rate: pd.DataFrame
    n: pd.DataFrame


def win_rate_matrix(counts: PairCounts) -> WinRateMatrix:
    """Head-to-head win rates with ties as half a win, and the number of comparisons."""
    c = counts.collapse()
    m = c.n_models
    wins = np.zeros((m, m))
    n = np.zeros((m, m))
    wins[c.i, c.j] = c.wins_i + 0.5 * c.ties
    wins[c.j, c.i] = c.wins_j + 0.5 * c.ties
    n[c.i, c.j] = n[c.j, c.i] = c.n
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, wins / n, np.nan)
    idx = pd.Index(c.models, name="model")
    cols = pd.Index(c.models, name="opponent")
    return WinRateMatrix(pd.DataFrame(rate, idx, cols), pd.DataFrame(n, idx, cols))


def _field_win_rate(
    i: np.ndarray, j: np.ndarray, wi: np.ndarray, wj: np.ndarray, ties: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Share of all its comparisons each model won (ties half); works on (..., cells)."""
    inc_i = sparse.csr_matrix((np.ones(len(i)), (np.arange(len(i)), i)), shape=(len(i), m))
    inc_j = sparse.csr_matrix((np.ones(len(j)), (np.arange(len(j)), j)), shape=(len(j), m))
    half = 0.5 * ties
    won = (inc_i.T @ (wi + half).T + inc_j.T @ (wj + half).T).T
    n = wi + wj + ties
    tot = (inc_i.T @ n.T + inc_j.T @ n.T).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, won / tot, np.nan), tot


def wilson_interval(
    successes: np.ndarray | float, n: np.ndarray | float, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval; fractional successes (ties as half wins) are allowed."""
    s = np.asarray(successes, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = s / nn
        centre = (p + z * z / (2 * nn)) / (1 + z * z / nn)
        half = z / (1 + z * z / nn) * np.sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn))
    return centre - half, centre + half


def clustered_win_rate_interval(
    wins: np.ndarray, ties: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Win rate (ties half) over votes grouped in clusters, with a cluster-aware interval.

    ``wins``, ``ties`` and ``n`` hold one entry per cluster (a comparison, with all its
    votes: several raters, or a judge's two swapped verdicts). Votes on one comparison
    are not independent, so the vote-level Wilson interval is shrunk to an effective
    sample size ``n / deff``, where the design effect ``deff`` is the cluster-robust
    (ratio-estimator) variance over the variance the votes would have if independent,
    floored at 1. With one vote per comparison it is the plain Wilson interval; copying
    every vote k times leaves it unchanged. Returns ``(rate, low, high, n_effective)``.
    """
    won, tied = np.asarray(wins, dtype=np.float64), np.asarray(ties, dtype=np.float64)
    w = won + 0.5 * tied
    nn = np.asarray(n, dtype=np.float64)
    total, clusters = nn.sum(), len(nn)
    if total <= 0:
        return float("nan"), float("nan"), float("nan"), 0.0
    rate = w.sum() / total
    n_eff = total
    if clusters > 1:
        # both variances without the C/(C-1) correction, so one vote per cluster gives
        # deff = 1 exactly and k identical copies of each vote give deff = k exactly
        robust = ((w - rate * nn) ** 2).sum() / total**2
        independent = ((won + 0.25 * tied).sum() / total - rate * rate) / total
        if independent <= 0:
            # every vote the same: no spread to measure the clustering by, so each
            # comparison counts once (exact for the swapped pair of one judge)
            n_eff = float(clusters)
        elif robust > independent:
            n_eff = total * independent / robust
    elif total > 1:
        n_eff = 1.0
    low, high = wilson_interval(rate * n_eff, n_eff, level)
    return float(rate), float(low), float(high), float(n_eff)


def model_win_rates(
    counts: PairCounts,
    *,
    level: float = 0.95,
    method: str = "wilson",
    rounds: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Each model's win rate against the field (ties half) with a CI.

    ``method="wilson"`` treats the model's comparisons as independent trials;
    ``method="bootstrap"`` resamples counts within pairs (see :func:`bootstrap_bradley_terry`)
    and takes percentiles. The win rate depends on who a model happened to face, which
    is why the ranking uses Bradley–Terry ratings instead.
    """
    c = counts.collapse()
    rate, n = _field_win_rate(c.i, c.j, c.wins_i, c.wins_j, c.ties, c.n_models)
    if method == "wilson":
        low, high = wilson_interval(rate * n, n, level)
    elif method == "bootstrap":
        wi, wj, t = _resample_parts(c, rounds, np.random.default_rng(seed))
        boot, _ = _field_win_rate(c.i, c.j, wi, wj, t, c.n_models)
        q = (1 - level) / 2
        low, high = np.nanquantile(boot, [q, 1 - q], axis=0)
    else:
        raise ValueError(f"Unknown method {method!r}; use 'wilson' or 'bootstrap'.")
    return pd.DataFrame(
        {"model": list(c.models), "win_rate": rate, "n": n, "ci_low": low, "ci_high": high}
    )


# ---------------------------------------------------------------------- Bradley–Terry


def bt_newton(
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
) -> tuple[np.ndarray, np.ndarray | None]:
    """Batched Bradley–Terry fit by damped Newton on weighted cell counts.

    ``w_i``/``w_j`` (shape ``(cells,)`` or ``(rounds, cells)``) are the weights of "i won"
    and "j won" (ties already split in half). Maximises, per round,
    ``sum w_i log s(eta) + w_j log s(-eta) - ridge/2 * |theta|^2`` with
    ``eta = theta_i - theta_j + gamma * x``. Cells must be sorted by pair. Each Newton
    step costs O(rounds * (cells + models^3)); the Hessian gets ``11^T / m`` added, which
    fixes the otherwise free mean of ``theta`` at 0 without changing the optimum.
    Returns ``theta`` (rounds, models) with mean 0 and ``gamma`` (rounds,) or ``None``.
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
        raise ValueError("Cells must be sorted by pair (i, j).")
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
            raise ValueError(
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
    if squeeze:
        return theta[0], (None if gam is None else np.asarray(gam[0]))
    return theta, gam


def _integer_counts(c: PairCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = tuple(np.rint(a) for a in c._outcomes())
    if any(not np.allclose(a, r) for a, r in zip(c._outcomes(), out, strict=True)):
        raise ValueError(
            "The bootstrap resamples whole votes, so counts must be integers; build weighted "
            "tables with metrics.blend.blend_counts, which keeps the integer parts."
        )
    return out  # type: ignore[return-value]


def _resample_parts(
    counts: PairCounts, rounds: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One multinomial draw per cell and round, per integer part; weighted sum of parts.

    Drawing ``(wins_i, wins_j, ties) ~ Multinomial(n_cell, observed shares)`` is exactly
    the same as resampling the cell's votes with replacement, i.e. a bootstrap
    stratified by pair (and length bin): each pair keeps its observed number of votes.
    """
    parts = counts.parts or ((counts, 1.0),)
    shape = (rounds, len(counts.i))
    acc = [np.zeros(shape), np.zeros(shape), np.zeros(shape)]
    for part, weight in parts:
        wi, wj, t = _integer_counts(part)
        n = (wi + wj + t).astype(np.int64)
        p1 = np.divide(wi, n, out=np.zeros(len(n)), where=n > 0)
        rest_share = wj + t
        p2 = np.divide(wj, rest_share, out=np.zeros(len(n)), where=rest_share > 0)
        d1 = rng.binomial(n, p1, size=shape)
        rest = n - d1
        d2 = rng.binomial(rest, p2)
        acc[0] += weight * d1
        acc[1] += weight * d2
        acc[2] += weight * (rest - d2)
    return acc[0], acc[1], acc[2]


def to_elo(theta: np.ndarray, models: Sequence[str], baseline: str | None = None) -> np.ndarray:
    """Natural-log strengths -> Elo scale, anchored at ``baseline`` = 1000 or mean = 1000."""
    theta = np.asarray(theta, dtype=np.float64)
    if baseline is None:
        anchor = theta.mean(axis=-1, keepdims=True)
    else:
        if baseline not in models:
            raise ValueError(
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

    def ratings(self, baseline: str | None = None) -> np.ndarray:
        return to_elo(self.theta, self.models, baseline)


@dataclass(frozen=True)
class BTBootstrap:
    """Bootstrap replicates: ``theta`` (rounds, models), ``length_coef`` (rounds,)."""

    models: tuple[str, ...]
    theta: np.ndarray
    length_coef: np.ndarray | None = None

    def ratings(self, baseline: str | None = None) -> np.ndarray:
        return to_elo(self.theta, self.models, baseline)

    def intervals(
        self, level: float = 0.95, baseline: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval per model on the Elo scale (anchored per round)."""
        q = (1 - level) / 2
        low, high = np.quantile(self.ratings(baseline), [q, 1 - q], axis=0)
        return low, high


def _cell_inputs(counts: PairCounts, length_control: bool) -> tuple[PairCounts, np.ndarray | None]:
    if not length_control:
        return counts.collapse().used(), None
    if counts.length is None:
        raise ValueError(
            "length_control needs lengths: build counts with len_a/len_b (length_bins)."
        )
    c = counts.used()
    return c, c.length


def _check_identifiable(c: PairCounts, ridge: float) -> int:
    m = c.n_models
    graph = sparse.coo_matrix((np.ones(len(c.i)), (c.i, c.j)), shape=(m, m))
    n_comp, _ = connected_components(graph, directed=False)
    if ridge <= 0 and n_comp > 1:
        raise ValueError(
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
    c, x = _cell_inputs(counts, length_control)
    _check_identifiable(c, ridge)
    theta, gamma = bt_newton(
        c.i,
        c.j,
        c.wins_i + 0.5 * c.ties,
        c.wins_j + 0.5 * c.ties,
        c.n_models,
        ridge=ridge,
        x=x,
    )
    return BTFit(c.models, theta, None if gamma is None else float(gamma), ridge)


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
    c, x = _cell_inputs(counts, length_control)
    if start is None:
        start = fit_bradley_terry(counts, ridge=ridge, length_control=length_control)
    wi, wj, t = _resample_parts(c, rounds, np.random.default_rng(seed))
    theta, gamma = bt_newton(
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
    return BTBootstrap(c.models, theta, gamma)


# --------------------------------------------------------------------------- ranking


def rank_bands(ci_low: np.ndarray, ci_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank range each model could hold given its interval.

    ``rank_low`` (best possible rank) = 1 + number of models whose ``ci_low`` is above
    this model's ``ci_high`` (they are clearly better). ``rank_high`` (worst possible) =
    number of models whose ``ci_high`` is at or above this model's ``ci_low``, itself
    included (everything not clearly worse). Models with overlapping intervals share a
    rank range; a model clear of all others gets ``rank_low == rank_high``.
    """
    low = np.asarray(ci_low, dtype=np.float64)
    high = np.asarray(ci_high, dtype=np.float64)
    better = (low[None, :] > high[:, None]).sum(axis=1)
    not_worse = (high[None, :] >= low[:, None]).sum(axis=1)
    return (1 + better).astype(np.int64), not_worse.astype(np.int64)


# ------------------------------------------------------------------- rubric and cost


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


# ----------------------------------------------------------------------- leaderboard


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

    def to_records(self) -> list[dict[str, Any]]:
        """Rows as plain-Python dicts (NaN -> None), in table order, for stable JSON."""
        return [
            {k: json_value(v) for k, v in row.items()}
            for row in self.table.to_dict(orient="records")
        ]


def json_value(v: Any) -> Any:
    """A table cell as a plain Python value for JSON (numpy scalars unwrapped, NaN -> None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


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
    from :func:`cost_latency`) those columns.
    """
    c, _ = _cell_inputs(counts, length_control)
    n_comp = _check_identifiable(c, ridge)
    fit = fit_bradley_terry(c, ridge=ridge, length_control=length_control)
    boot = bootstrap_bradley_terry(
        c, rounds=rounds, seed=seed, ridge=ridge, length_control=length_control, start=fit
    )
    rating = fit.ratings(baseline)
    ci_low, ci_high = boot.intervals(level, baseline)
    rank_low, rank_high = rank_bands(ci_low, ci_high)
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
    if scores is not None:
        table = _merge_rubric(table, rubric_means(scores, level=level))
    if costs is not None:
        extra = costs[["model", "cost_usd", "latency_ms", "n_outputs"]]
        table = table.merge(extra, on="model", how="left")
    table = table.sort_values(["rating", "model"], ascending=[False, True], kind="stable")
    gamma_ci = None
    if boot.length_coef is not None:
        q = (1 - level) / 2
        lo, hi = np.quantile(boot.length_coef, [q, 1 - q])
        gamma_ci = (float(lo), float(hi))
    return Leaderboard(
        table.reset_index(drop=True),
        level=level,
        rounds=rounds,
        baseline=baseline,
        n_components=n_comp,
        length_coef=fit.length_coef,
        length_coef_ci=gamma_ci,
    )


def _merge_rubric(table: pd.DataFrame, rubric: pd.DataFrame) -> pd.DataFrame:
    for crit, part in rubric.groupby("criterion", sort=True):
        cols = part.set_index("model")[["mean", "ci_low", "ci_high"]]
        cols.columns = [f"rubric_{crit}", f"rubric_{crit}_ci_low", f"rubric_{crit}_ci_high"]
        table = table.merge(cols, left_on="model", right_index=True, how="left")
    return table
