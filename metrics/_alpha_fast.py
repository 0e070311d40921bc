"""Krippendorff's alpha over collapsed rating patterns, vectorised over bootstrap rounds.

A unit with m >= 2 pairable values adds its ordered value pairs, divided by m - 1, to the
coincidence matrix ``o``. That contribution depends only on the unit's multiset of values (its
*pattern*), so units sharing a pattern collapse to one row with a frequency, and a bootstrap
round over units is a multinomial re-draw of those frequencies. Everything alpha needs is linear
in the pattern weights, so all rounds are a few matrix products over a (rounds x patterns)
weight matrix. With V distinct values, alpha = 1 - (n - 1) * D_o / D_e where

* ``D_o = sum_ck o_ck d_ck`` is a sum of per-pattern terms ``c' d c / (m - 1)``, because the
  diagonal of every distance matrix is zero;
* ``D_e = n' d n`` with ``n`` the per-value totals of pairable values (the margins of ``o``).

Nominal, interval and ratio distances are fixed, so each pattern's D_o term is a constant. The
ordinal distance depends on the margins of each round, but it is a squared difference of the
round's mid-ranks (``d_ck = (M_k - M_c)**2``, ``M = cumsum(n) - n/2``), so it reduces to the
first two moments of the mid-ranks within each pattern. No round ever materialises a V x V
matrix, so memory stays O(patterns x V) and the domain may be large.

A *mirrored* table (:func:`mirror`) is for signed preferences, where negating every value of a
unit is the same verdicts with the unit's two outputs stored in the other order. Each unit is
counted in both orientations at half weight, which is the coincidence matrix symmetrised over
orientation, ``(o + o^flip) / 2``: the observed disagreement is unchanged, the margins become
symmetric, and n stays the number of pairable values. Patterns are stored once per orientation
class, so a bootstrap round draws units (not orientations) and is itself orientation-free.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")

_MAX_CELLS = 4_000_000


@dataclass(frozen=True)
class PatternTable:
    """Distinct rating patterns of the pairable units (units with >= 2 values)."""

    domain: np.ndarray
    counts: np.ndarray
    freq: np.ndarray
    mirrored: bool = False

    @property
    def m(self) -> np.ndarray:
        return self.counts.sum(axis=1)

    @property
    def n_units(self) -> int:
        return int(self.freq.sum())

    @property
    def n_pairable_values(self) -> int:
        return int(self.freq @ self.m)


def pattern_table(unit_codes: np.ndarray, values: np.ndarray) -> PatternTable:
    """Collapse ratings (one per row, no NaN) into pattern counts.

    ``unit_codes`` are non-negative integer unit ids; ``values`` are numeric. The domain is every
    distinct value seen, including values only seen in single-rating units (they get zero
    pairable counts, which is what the krippendorff package does too).
    """
    domain, value_idx = np.unique(values, return_inverse=True)
    n_values = len(domain)
    if len(values) == 0:
        return PatternTable(domain, np.zeros((0, n_values)), np.zeros(0))
    order = np.lexsort((value_idx, unit_codes))
    units, vals = unit_codes[order], value_idx[order]
    starts = np.flatnonzero(np.r_[True, units[1:] != units[:-1]])
    sizes = np.diff(np.r_[starts, len(units)])
    pairable = sizes >= 2
    if not pairable.any():
        return PatternTable(domain, np.zeros((0, n_values)), np.zeros(0))

    row_of_rating = np.repeat(np.cumsum(pairable) - 1, sizes)
    pos_in_unit = np.arange(len(units)) - np.repeat(starts, sizes)
    keep = np.repeat(pairable, sizes)
    width = int(sizes[pairable].max())
    pad = n_values
    sorted_values = np.full((int(pairable.sum()), width), pad, dtype=np.int64)
    sorted_values[row_of_rating[keep], pos_in_unit[keep]] = vals[keep]

    base = n_values + 1
    if width * np.log2(base) < 62:
        keys = sorted_values @ (base ** np.arange(width, dtype=np.int64))
        _, first, freq = np.unique(keys, return_index=True, return_counts=True)
        patterns = sorted_values[first]
    else:
        patterns, freq = np.unique(sorted_values, axis=0, return_counts=True)

    flat = (np.arange(len(patterns))[:, None] * base + patterns).ravel()
    counts = np.bincount(flat, minlength=len(patterns) * base).reshape(len(patterns), base)
    return PatternTable(domain, counts[:, :n_values].astype(float), freq.astype(float))


def _canonical_orientation(counts: np.ndarray) -> np.ndarray:
    """Each pattern or its mirror image, whichever is lexicographically larger (domain symmetric,
    so the mirror image is the reversed row)."""
    flipped = counts[:, ::-1]
    diff = counts - flipped
    nonzero = diff != 0
    first = nonzero.argmax(axis=1)
    take_flipped = nonzero.any(axis=1) & (diff[np.arange(len(counts)), first] < 0)
    return np.where(take_flipped[:, None], flipped, counts)


def mirror(table: PatternTable) -> PatternTable:
    """The orientation-free table of signed values: see the module docstring.

    The first half of the rows holds one pattern per orientation class (canonical orientation,
    sorted), the second half their mirror images; every row has half its class's frequency.
    """
    domain = np.unique(np.r_[table.domain, -table.domain] + 0.0)
    index = np.searchsorted(domain, table.domain)
    counts = np.zeros((len(table.counts), len(domain)))
    counts[:, index] = table.counts
    if len(counts):
        canon, inverse = np.unique(_canonical_orientation(counts), axis=0, return_inverse=True)
        freq = np.bincount(np.ravel(inverse), weights=table.freq, minlength=len(canon))
    else:
        canon, freq = counts, table.freq
    return PatternTable(
        domain,
        np.vstack([canon, canon[:, ::-1]]),
        np.r_[freq, freq] / 2,
        mirrored=True,
    )


def _drawn_patterns(table: PatternTable) -> np.ndarray:
    """The frequencies a bootstrap draws units from: one per orientation class if mirrored."""
    if table.mirrored:
        return table.freq[: len(table.freq) // 2] * 2
    return table.freq


def bootstrap_weights(
    table: PatternTable, n_boot: int, rng: np.random.Generator
) -> Iterator[tuple[int, np.ndarray]]:
    """Chunks of bootstrap rounds as (first round, rounds x patterns weights).

    Resampling N units with replacement and collapsing them to patterns is exactly a
    multinomial draw of N over the pattern frequencies, so no unit-level index is ever built.
    A mirrored table draws units and gives each drawn unit half weight in both orientations.
    """
    freq = _drawn_patterns(table)
    width = max(table.counts.shape)
    chunk = max(1, min(n_boot, _MAX_CELLS // max(width, 1)))
    probs = freq / freq.sum()
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        drawn = rng.multinomial(table.n_units, probs, size=size).astype(float)
        yield start, (np.hstack([drawn, drawn]) / 2 if table.mirrored else drawn)


def _ratio_distances(domain: np.ndarray) -> np.ndarray:
    total = domain[:, None] + domain[None, :]
    diff = domain[:, None] - domain[None, :]
    return np.divide(diff, total, out=np.zeros_like(total), where=total != 0) ** 2


def _centered_domain(table: PatternTable) -> np.ndarray:
    """Values minus their pairable mean: distances ignore the shift, rounding error does not."""
    return table.domain - (table.freq @ table.counts @ table.domain) / table.n_pairable_values


def _fixed_observed_terms(table: PatternTable, level: str) -> np.ndarray:
    """Per-pattern D_o term ``c' d c / (m - 1)`` for levels whose distance is fixed."""
    c, m = table.counts, table.m
    if level == "nominal":
        quad = m**2 - (c**2).sum(axis=1)
    elif level == "interval":
        x = _centered_domain(table)
        quad = 2 * (m * (c @ x**2) - (c @ x) ** 2)
    else:
        quad = ((c @ _ratio_distances(table.domain)) * c).sum(axis=1)
    return quad / (m - 1)


def alpha_for_weights(
    table: PatternTable, level: str, weights: np.ndarray, fixed_terms: np.ndarray | None = None
) -> np.ndarray:
    """Alpha for each row of ``weights`` (rounds x patterns): row r counts how many units of
    each pattern the round holds. ``fixed_terms`` caches the per-pattern D_o terms."""
    if fixed_terms is None and level != "ordinal":
        fixed_terms = _fixed_observed_terms(table, level)
    margins = weights @ table.counts
    n = margins.sum(axis=1)
    if level == "ordinal":
        mid = np.cumsum(margins, axis=1) - margins / 2
        mid -= ((margins * mid).sum(axis=1) / n)[:, None]
        first = table.counts @ mid.T
        second = table.counts @ (mid**2).T
        per_pattern = (table.m[:, None] * second - first**2) / (table.m - 1)[:, None]
        observed = 2 * np.einsum("bp,pb->b", weights, per_pattern)
        expected = 2 * (n * (margins * mid**2).sum(axis=1) - (margins * mid).sum(axis=1) ** 2)
    else:
        observed = weights @ fixed_terms
        if level == "nominal":
            expected = n**2 - (margins**2).sum(axis=1)
        elif level == "interval":
            x = _centered_domain(table)
            expected = 2 * (n * (margins @ x**2) - (margins @ x) ** 2)
        else:
            expected = ((margins @ _ratio_distances(table.domain)) * margins).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - (n - 1) * observed / expected


def alpha_point(table: PatternTable, level: str) -> float:
    """Alpha of the observed data (NaN when nothing is pairable or all values agree trivially)."""
    if table.n_units == 0:
        return float("nan")
    terms = None if level == "ordinal" else _fixed_observed_terms(table, level)
    return float(alpha_for_weights(table, level, table.freq[None, :], terms)[0])


def alpha_bootstrap(
    table: PatternTable, level: str, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Alpha for ``n_boot`` resamples of the pairable units, drawn with replacement
    (:func:`bootstrap_weights`); rounds are processed in chunks to bound memory."""
    if table.n_units == 0 or n_boot <= 0:
        return np.full(max(n_boot, 0), np.nan)
    terms = None if level == "ordinal" else _fixed_observed_terms(table, level)
    out = np.empty(n_boot)
    for start, weights in bootstrap_weights(table, n_boot, rng):
        out[start : start + len(weights)] = alpha_for_weights(table, level, weights, terms)
    return out
