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
class ClusterClasses:
    """Comparisons grouped into classes by cell and per-comparison outcome pattern.

    ``count[k]`` comparisons of cell ``cell[k]`` each carried ``wins_i[k]`` votes for the
    cell's ``i``, ``wins_j[k]`` for its ``j`` and ``ties[k]`` ties (a judge's two swapped
    verdicts, or several raters). Comparisons with the same pattern are interchangeable
    in a bootstrap, so drawing how many of each class a round takes (a multinomial over
    the classes of a cell, the cell keeping its number of comparisons) is exactly
    resampling the cell's comparisons with replacement, at a cost that depends on the
    number of classes, not of comparisons. Classes are sorted by cell, then pattern.
    """

    cell: np.ndarray
    wins_i: np.ndarray
    wins_j: np.ndarray
    ties: np.ndarray
    count: np.ndarray

    @classmethod
    def build(
        cls,
        cell: np.ndarray,
        wins_i: np.ndarray,
        wins_j: np.ndarray,
        ties: np.ndarray,
        count: np.ndarray,
    ) -> ClusterClasses:
        """Merge rows with the same cell and pattern, sorted (deterministic order)."""
        cols = [np.asarray(a, dtype=np.float64) for a in (wins_i, wins_j, ties)]
        cell = np.asarray(cell, dtype=np.int64)
        count = np.asarray(count, dtype=np.int64)
        keep = (cols[0] + cols[1] + cols[2] > 0) & (count > 0)
        cell, count = cell[keep], count[keep]
        cols = [a[keep] for a in cols]
        order = np.lexsort((cols[2], -cols[1], -cols[0], cell))
        cell, count = cell[order], count[order]
        cols = [a[order] for a in cols]
        if len(cell) == 0:
            return cls(cell, *cols, count)
        new = np.r_[
            True,
            (np.diff(cell) != 0)
            | (np.diff(cols[0]) != 0)
            | (np.diff(cols[1]) != 0)
            | (np.diff(cols[2]) != 0),
        ]
        starts = np.flatnonzero(new)
        return cls(
            cell[starts],
            cols[0][starts],
            cols[1][starts],
            cols[2][starts],
            np.add.reduceat(count, starts),
        )

    def select(self, mask: np.ndarray) -> ClusterClasses:
        return ClusterClasses(
            self.cell[mask],
            self.wins_i[mask],
            self.wins_j[mask],
            self.ties[mask],
            self.count[mask],
        )

    def recell(self, mapping: np.ndarray) -> ClusterClasses:
        """Renumber cells through ``mapping`` (old cell -> new cell), merging classes."""
        return ClusterClasses.build(
            mapping[self.cell], self.wins_i, self.wins_j, self.ties, self.count
        )


@dataclass(frozen=True)
class PairCounts:
    """Outcome counts per cell; a cell is a model pair ``i < j`` (and a length bin).

    ``wins_i``/``wins_j``/``ties`` are float arrays so weighted (blended) tables fit the
    same type. ``length`` is the mean normalised length difference
    ``(len_i - len_j) / (len_i + len_j)`` of the votes in the cell (``None`` without
    length information). Cells are sorted by pair, so a pair's cells are contiguous.
    ``parts`` records the integer tables and weights a blended table was made from;
    the bootstrap resamples those parts separately. ``clusters`` (see
    :class:`ClusterClasses`) groups the votes by the comparison they were cast on; with it
    the bootstrap resamples comparisons rather than votes.
    """

    models: tuple[str, ...]
    i: np.ndarray
    j: np.ndarray
    wins_i: np.ndarray
    wins_j: np.ndarray
    ties: np.ndarray
    length: np.ndarray | None = None
    parts: tuple[tuple[PairCounts, float], ...] = field(default=(), repr=False)
    clusters: ClusterClasses | None = field(default=None, repr=False)

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
        clusters = None if self.clusters is None else self.clusters.recell(inv)
        return PairCounts(
            self.models,
            (uniq // self.n_models).astype(np.int64),
            (uniq % self.n_models).astype(np.int64),
            *sums,
            parts=parts,
            clusters=clusters,
        )

    def votes_per_unit(self) -> float:
        """Mean votes per bootstrap unit: per comparison with ``clusters``, else 1 (a vote).

        The Bradley–Terry ridge is scaled by it, so the prior weighs the same number of
        units whatever the votes per comparison: copying every vote k times then changes
        neither the fit nor its interval.
        """
        cl = self.clusters
        if cl is None or cl.count.sum() == 0:
            return 1.0
        votes = ((cl.wins_i + cl.wins_j + cl.ties) * cl.count).sum()
        return float(votes / cl.count.sum())

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

        new_cell = np.cumsum(keep_cells) - 1

        def pick(c: PairCounts) -> PairCounts:
            clusters = None
            if c.clusters is not None:
                kept = c.clusters.select(keep_cells[c.clusters.cell])
                clusters = kept.recell(new_cell)
            return PairCounts(
                models,
                recode[c.i[keep_cells]],
                recode[c.j[keep_cells]],
                c.wins_i[keep_cells],
                c.wins_j[keep_cells],
                c.ties[keep_cells],
                None if c.length is None else c.length[keep_cells],
                clusters=clusters,
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
    return _build_keyed(models, a, b, sign, weight, length_bins, xsum, cell_bin)[0]


def _build_keyed(
    models: tuple[str, ...],
    a: np.ndarray,
    b: np.ndarray,
    sign: np.ndarray,
    weight: np.ndarray | None,
    length_bins: int | None,
    xsum: np.ndarray | None,
    cell_bin: np.ndarray | None,
) -> tuple[PairCounts, np.ndarray]:
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
    table = PairCounts(
        models,
        pair // m,
        pair % m,
        counts[nz, 0].astype(np.float64),
        counts[nz, 1].astype(np.float64),
        counts[nz, 2].astype(np.float64),
        length,
    )
    return table, nz


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


def pair_counts_from_clusters(
    frame: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    length_bins: int | None = None,
) -> PairCounts:
    """Counts that remember which votes shared a comparison, from a SQL aggregate.

    One row per (``model_a``, ``model_b``, per-comparison pattern): ``a_wins``, ``ties``,
    ``b_wins`` are the (possibly weighted) votes one comparison carried and ``n`` how many
    comparisons of the pair had exactly that pattern. For length control also pass
    ``length_bin`` (the comparison's bin, see :func:`length_bin`), ``length_diff_sum``
    (sum over the row's votes of the normalised length difference) and ``length_bins``.
    The bootstrap then resamples comparisons (see :class:`ClusterClasses`); with one vote
    per comparison that is the per-vote bootstrap, drawn the same way, so copying every
    vote k times changes no draw.
    """
    names = _model_list(frame, models)
    index = pd.Index(names)
    a = index.get_indexer(frame["model_a"])
    b = index.get_indexer(frame["model_b"])
    if (a < 0).any() or (b < 0).any():
        raise StatisticsError("aggregates mention models that are not in `models`; add them.")
    aw = frame["a_wins"].to_numpy(dtype=np.float64)
    tw = frame["ties"].to_numpy(dtype=np.float64)
    bw = frame["b_wins"].to_numpy(dtype=np.float64)
    cnt = frame["n"].to_numpy(dtype=np.float64)
    rows = len(frame)
    sign = np.repeat([-1.0, 0.0, 1.0], rows)
    weight = np.r_[aw * cnt, tw * cnt, bw * cnt]
    a3, b3 = np.tile(a, 3), np.tile(b, 3)
    if length_bins is None:
        table, nz = _build_keyed(names, a3, b3, sign, weight, None, None, None)
        cell_bin = np.zeros(rows, dtype=np.int64)
    else:
        cell_bin = frame["length_bin"].to_numpy(dtype=np.int64)
        xsum = frame["length_diff_sum"].to_numpy(dtype=np.float64)
        table, nz = _build_keyed(
            names,
            a3,
            b3,
            sign,
            weight,
            length_bins,
            np.r_[xsum, np.zeros(2 * rows)],
            np.tile(cell_bin, 3),
        )
    m, k = len(names), length_bins or 1
    ok = (a != b) & (aw + tw + bw > 0) & (cnt > 0)
    flip = a > b
    lo, hi = np.where(flip, b, a), np.where(flip, a, b)
    bins = np.where(flip, k - 1 - cell_bin, cell_bin)
    cell = np.searchsorted(nz, ((lo * m + hi) * k + bins)[ok])
    classes = ClusterClasses.build(
        cell,
        np.where(flip, bw, aw)[ok],
        np.where(flip, aw, bw)[ok],
        tw[ok],
        np.rint(cnt[ok]),
    )
    return replace(table, clusters=classes)


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

    A part with ``clusters`` resamples comparisons instead of votes
    (:func:`resample_clusters`; its ties come back folded into half wins, which is all any
    statistic here reads of them). Otherwise, drawing
    ``(wins_i, wins_j, ties) ~ Multinomial(n_cell, observed shares)`` is exactly
    the same as resampling the cell's votes with replacement, i.e. a bootstrap
    stratified by pair (and length bin): each pair keeps its observed number of votes.
    """
    parts = counts.parts or ((counts, 1.0),)
    shape = (rounds, len(counts.i))
    acc = [np.zeros(shape), np.zeros(shape), np.zeros(shape)]
    for part, weight in parts:
        if part.clusters is not None:
            for target, drawn in zip(
                acc, resample_clusters(part.clusters, len(part.i), rounds, rng), strict=True
            ):
                target += weight * drawn
            continue
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


_FFT_BATCH = 1 << 22
_PMF_FLOOR = 1e-12


def resample_clusters(
    classes: ClusterClasses, n_cells: int, rounds: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resample each cell's comparisons with replacement, ``rounds`` times.

    Returns per round and cell ``(score_i, n - score_i, 0)`` with ``score_i`` = wins of
    ``i`` plus half its ties: Bradley–Terry and the win rates read ties only as half
    wins, so the cell's score and vote total are all a round needs. Where every
    comparison of a cell carries the same number of votes (a fixed overlap, a judge's
    two swapped verdicts) the total is fixed and the score is the sum of ``n_cell`` iid
    draws from the comparisons' scores: its exact distribution is that pmf convolved
    ``n_cell`` times (by FFT, once per cell), and one uniform per round and cell picks
    the value from its CDF. That costs O(cells * (support + rounds)) instead of a random
    draw per comparison class, round and cell; pmf values below 1e-12 (FFT rounding) are
    set to zero. Cells whose comparisons carry different numbers of votes take the
    multinomial over classes (:func:`cluster_draws`). One uniform is drawn per round and
    cell before anything else, so tables whose cells have the same classes up to a
    common factor (every vote copied k times) get the same draws, times k.
    """
    score2 = np.rint(2 * classes.wins_i + classes.ties).astype(np.int64)
    votes = np.rint(classes.wins_i + classes.wins_j + classes.ties).astype(np.int64)
    merged = ClusterClasses.build(
        classes.cell, score2, 2 * votes - score2, 0 * votes, classes.count
    )
    cell = merged.cell
    s2 = merged.wins_i.astype(np.int64)
    nv = (merged.wins_i + merged.wins_j).astype(np.int64) // 2
    count = merged.count
    score = np.zeros((rounds, n_cells))
    total = np.zeros((rounds, n_cells))
    uniform = rng.random((rounds, n_cells))
    if len(cell) == 0:
        return score, total, np.zeros((rounds, n_cells))
    starts = np.flatnonzero(np.r_[True, np.diff(cell) != 0])
    cells = cell[starts]
    fixed = np.minimum.reduceat(nv, starts) == np.maximum.reduceat(nv, starts)
    n_clusters = np.add.reduceat(count, starts)
    top = np.maximum.reduceat(s2, starts)
    support = n_clusters * top + 1
    size = 1 << np.ceil(np.log2(np.maximum(support, 2))).astype(np.int64)
    which = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(cell)]))
    for fft_size in np.unique(size[fixed]):
        group = np.flatnonzero(fixed & (size == fft_size))
        step = max(1, _FFT_BATCH // int(fft_size))
        for lo in range(0, len(group), step):
            batch = group[lo : lo + step]
            rows = np.full(len(starts), -1)
            rows[batch] = np.arange(len(batch))
            mine = rows[which] >= 0
            pmf = np.zeros((len(batch), int(fft_size)))
            pmf[rows[which[mine]], s2[mine]] = count[mine] / n_clusters[which[mine]]
            phi = np.fft.rfft(pmf, axis=1) ** n_clusters[batch, None]
            pmf = np.fft.irfft(phi, n=int(fft_size), axis=1)
            pmf[pmf < _PMF_FLOOR] = 0.0
            cdf = np.cumsum(pmf, axis=1)
            cdf /= cdf[:, -1:]
            offset = np.arange(len(batch))
            flat = (cdf + offset[:, None]).ravel()
            # one cell's queries together, so each binary search stays in cache
            queries = uniform[:, cells[batch]].T + offset[:, None]
            pick = np.searchsorted(flat, queries, side="right")
            value = np.minimum(pick - (offset * int(fft_size))[:, None], support[batch, None] - 1)
            score[:, cells[batch]] = value.T / 2.0
            total[:, cells[batch]] = n_clusters[batch] * nv[starts[batch]]
    if not fixed.all():
        rest = merged.select(fixed[which] == 0)
        draws = cluster_draws(rest, n_cells, rounds, rng)
        score += cluster_totals(rest, draws, rest.wins_i / 2.0, n_cells)
        total += cluster_totals(rest, draws, (rest.wins_i + rest.wins_j) / 2.0, n_cells)
    return score, total - score, np.zeros((rounds, n_cells))


def cluster_draws(
    classes: ClusterClasses, n_cells: int, rounds: int, rng: np.random.Generator
) -> np.ndarray:
    """How many comparisons of each class every round takes, shape ``(rounds, classes)``.

    Per cell and round a multinomial over the cell's classes with the cell's number of
    comparisons, drawn as a chain of binomials (class ``s`` of a cell gets
    ``Binomial(left, count_s / count of classes s.. of the cell)``), vectorised over the
    cells that have an ``s``-th class.
    """
    cell, count = classes.cell, classes.count
    k = len(cell)
    draws = np.zeros((rounds, k), dtype=np.int64)
    if k == 0:
        return draws
    starts = np.flatnonzero(np.r_[True, np.diff(cell) != 0])
    first = np.repeat(starts, np.diff(np.r_[starts, k]))
    slot = np.arange(k) - first
    tail = np.cumsum(count[::-1])[::-1]
    ends = np.r_[starts[1:], k]
    cell_end_tail = np.where(ends < k, np.r_[tail, 0][ends], 0)
    within_tail = tail - np.repeat(cell_end_tail, np.diff(np.r_[starts, k]))
    p = count / within_tail
    left = np.zeros((rounds, n_cells), dtype=np.int64)
    left[:, cell[starts]] = np.add.reduceat(count, starts)
    for s in range(int(slot.max()) + 1):
        idx = np.flatnonzero(slot == s)
        cells = cell[idx]
        d = rng.binomial(left[:, cells], p[idx])
        draws[:, idx] = d
        left[:, cells] -= d
    return draws


def cluster_totals(
    classes: ClusterClasses, draws: np.ndarray, pattern: np.ndarray, n_cells: int
) -> np.ndarray:
    """Per round and cell, the sum of ``pattern`` over the comparisons drawn."""
    out = np.zeros((draws.shape[0], n_cells))
    if len(classes.cell) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, np.diff(classes.cell) != 0])
    out[:, classes.cell[starts]] = np.add.reduceat(draws * pattern, starts, axis=1)
    return out
