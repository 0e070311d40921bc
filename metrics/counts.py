"""Pairwise outcome counts: the one table every leaderboard statistic works on.

A :class:`PairCounts` holds, for each unordered pair of integer-coded models ``i < j``
(optionally split further into length-difference cells), how often ``i`` won, ``j`` won,
or the two tied. The database aggregates votes with ``GROUP BY model_a, model_b, outcome``;
:func:`pair_counts_from_aggregates` takes that result, :func:`pair_counts_from_votes` takes
a votes frame and :func:`pair_counts_from_codes` takes integer arrays. All three share one
core, so a million votes cost one ``np.bincount`` and every later step costs O(pairs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from metrics.errors import StatisticsError
from metrics.vocabulary import preference_sign

DEFAULT_LENGTH_BINS = 16


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
    :func:`metrics.bradley_terry.fit_bradley_terry` with ``length_control=True``.
    """
    names = tuple(str(x) for x in range(models)) if isinstance(models, int) else tuple(models)
    a = np.asarray(a)
    b = np.asarray(b)
    sign = preference_sign(outcome)
    if (len_a is None) != (len_b is None):
        raise StatisticsError("Pass both len_a and len_b, or neither.")
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
        raise StatisticsError(
            "votes mention models that are not in `models`; add them to the list."
        )
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
    'a'/'b'/'tie' of ``metrics.vocabulary.winner_code``. For length control also pass
    ``length_bin`` (see :func:`length_bin`) and ``length_diff_sum`` (the group's sum of
    ``(len_a - len_b) / (len_a + len_b)``) columns and the ``length_bins`` used.
    """
    names = _model_list(frame, models)
    index = pd.Index(names)
    a = index.get_indexer(frame["model_a"])
    b = index.get_indexer(frame["model_b"])
    if (a < 0).any() or (b < 0).any():
        raise StatisticsError("aggregates mention models that are not in `models`; add them.")
    sign = preference_sign(frame["outcome"].to_numpy())
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


def _integer_counts(c: PairCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = tuple(np.rint(a) for a in c._outcomes())
    if any(not np.allclose(a, r) for a, r in zip(c._outcomes(), out, strict=True)):
        raise StatisticsError(
            "The bootstrap resamples whole votes, so counts must be integers; build weighted "
            "tables with metrics.blend.blend_counts, which keeps the integer parts."
        )
    return out  # type: ignore[return-value]


def resample_counts(
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
