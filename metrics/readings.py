"""Plain-language readings of agreement and bias figures, so every number says what it means.

Kappa (Cohen's, Fleiss') is read on Landis & Koch's scale (Biometrics 33, 1977, p. 165):
below 0 poor, 0.00-0.20 slight, 0.21-0.40 fair, 0.41-0.60 moderate, 0.61-0.80 substantial,
0.81-1.00 almost perfect. The value is rounded to two decimals first, as the table prints it,
so the reading always matches the printed figure (0.20 is slight, 0.21 fair).

Krippendorff's alpha is read on Krippendorff's own cut-offs (Content Analysis, 2004, p. 241):
0.800 or more reliable, 0.667 up to 0.800 good for tentative conclusions only, below 0.667
unreliable; below 0 the raters disagree systematically. Rounded to three decimals first.

A bias figure (a judge's or the humans' P(prefer longer), P(prefer first), swap consistency,
a kappa below zero) is *extreme* only when the point estimate is past its limit **and** the
95% interval says chance cannot explain it: for a rate, the Wilson interval over its ``n``
decisions must not reach the neutral value; for kappa, the bootstrap interval must lie below
0. A figure on a handful of decisions is therefore never extreme. Every reading here is of an
orientation-free figure: it never depends on which output is stored as A.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from metrics.vocabulary import missing_to_none

NOT_MEASURED = "not measured"

Z_95 = 1.959963984540054
"""The normal quantile of a two-sided 95% interval."""

KAPPA_BANDS: tuple[tuple[float, str, str], ...] = (
    (0.20, "slight", "slight agreement; raters mostly disagree"),
    (0.40, "fair", "fair agreement; raters often disagree"),
    (0.60, "moderate", "moderate agreement; raters disagree on many items"),
    (0.80, "substantial", "substantial agreement; raters mostly agree"),
    (1.00, "almost perfect", "almost perfect agreement"),
)
"""Landis & Koch: (highest value of the band, band, reading), for kappa of 0 or more."""
KAPPA_BELOW_CHANCE = ("poor", "poor agreement: less than chance would give")

ALPHA_RELIABLE = 0.800
"""Krippendorff: alpha at or above this is reliable."""
ALPHA_TENTATIVE = 0.667
"""Krippendorff: alpha at or above this (and below 0.800) allows tentative conclusions."""
ALPHA_BANDS: tuple[tuple[float, str, str], ...] = (
    (ALPHA_RELIABLE, "reliable", "reliable agreement"),
    (ALPHA_TENTATIVE, "tentative", "good enough for tentative conclusions only"),
    (0.0, "unreliable", "unreliable: too much disagreement; clarify the instructions"),
)
"""Krippendorff: (lowest value of the band, band, reading), highest band first."""
ALPHA_BELOW_CHANCE = ("below chance", "raters disagree systematically, more than by chance")

LENGTH_BIAS_LIMIT = 0.75
"""P(prefer longer) at or above this (or at or below 1 minus it) is a length bias."""
POSITION_BIAS_LIMIT = 0.65
"""P(prefer first / left) at or above this (or at or below 1 minus it) is a position bias."""
SWAP_CONSISTENCY_LIMIT = 0.70
"""Swap consistency below this is low ..."""
SWAP_CONSISTENCY_REFERENCE = 0.80
"""... when its 95% interval also stays below this."""
NEUTRAL = 0.5


def _number(value: float | None) -> float | None:
    value = missing_to_none(value)
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def kappa_band(value: float | None) -> str | None:
    """Landis & Koch's band name of a kappa (None when it was not measured)."""
    reading = _kappa(value)
    return None if reading is None else reading[0]


def _kappa(value: float | None) -> tuple[str, str] | None:
    number = _number(value)
    if number is None:
        return None
    rounded = round(number, 2)
    if rounded < 0:
        return KAPPA_BELOW_CHANCE
    for high, band, reading in KAPPA_BANDS:
        if rounded <= high:
            return band, reading
    return KAPPA_BANDS[-1][1:]


def alpha_band(value: float | None) -> str | None:
    """Krippendorff's band name of an alpha (None when it was not measured)."""
    reading = _alpha(value)
    return None if reading is None else reading[0]


def _alpha(value: float | None) -> tuple[str, str] | None:
    number = _number(value)
    if number is None:
        return None
    rounded = round(number, 3)
    for low, band, reading in ALPHA_BANDS:
        if rounded >= low:
            return band, reading
    return ALPHA_BELOW_CHANCE


def _spread(
    low: float | None, high: float | None, band_of: Callable[[float | None], str | None]
) -> str:
    lo, hi = band_of(low), band_of(high)
    if lo is None or hi is None or lo == hi:
        return ""
    return f" (95% CI spans {lo} to {hi})"


def kappa_reading(value: float | None, low: float | None = None, high: float | None = None) -> str:
    """What a kappa means in words, e.g. "fair agreement; raters often disagree"; when the
    interval spans more than one band, it says so."""
    reading = _kappa(value)
    if reading is None:
        return NOT_MEASURED
    return reading[1] + _spread(low, high, kappa_band)


def alpha_reading(value: float | None, low: float | None = None, high: float | None = None) -> str:
    """What a Krippendorff's alpha means in words, e.g. "reliable agreement"."""
    reading = _alpha(value)
    if reading is None:
        return NOT_MEASURED
    return reading[1] + _spread(low, high, alpha_band)


def interval_text(low: float | None, high: float | None, spec: str = ".2f") -> str:
    """ "95% CI 0.20 to 0.42", or "no 95% CI" when either end is missing."""
    lo, hi = _number(low), _number(high)
    if lo is None or hi is None:
        return "no 95% CI"
    return f"95% CI {format(lo, spec)} to {format(hi, spec)}"


def kappa_text(
    value: float | None, low: float | None = None, high: float | None = None, spec: str = ".2f"
) -> str:
    """The kappa, its interval and its reading on one line:
    "0.31 (95% CI 0.20 to 0.42) — fair agreement; raters often disagree"."""
    number = _number(value)
    if number is None:
        return f"— ({NOT_MEASURED})"
    reading = kappa_reading(number, low, high)
    return f"{format(number, spec)} ({interval_text(low, high, spec)}) — {reading}"


def alpha_text(
    value: float | None, low: float | None = None, high: float | None = None, spec: str = ".3f"
) -> str:
    """Krippendorff's alpha, its interval and its reading on one line."""
    number = _number(value)
    if number is None:
        return f"— ({NOT_MEASURED})"
    reading = alpha_reading(number, low, high)
    return f"{format(number, spec)} ({interval_text(low, high, spec)}) — {reading}"


@dataclass(frozen=True)
class Proportion:
    """A share of ``n`` decisions with its 95% Wilson interval."""

    share: float
    n: int
    low: float
    high: float


def wilson(share: float | None, n: int | None) -> Proportion | None:
    """The share with its 95% Wilson score interval; None when not measured or ``n`` < 1."""
    p = _number(share)
    count = _number(n)
    if p is None or count is None or count < 1:
        return None
    k = int(count)
    z2 = Z_95 * Z_95
    centre = (p + z2 / (2 * k)) / (1 + z2 / k)
    half = Z_95 * math.sqrt(p * (1 - p) / k + z2 / (4 * k * k)) / (1 + z2 / k)
    return Proportion(p, k, max(0.0, centre - half), min(1.0, centre + half))


def _pct(p: Proportion) -> str:
    return f"{p.share:.0%} of {p.n} (95% CI {p.low:.0%} to {p.high:.0%})"


def _two_sided(share: float | None, n: int | None, limit: float) -> tuple[Proportion, bool] | None:
    """The proportion and whether it is high (True) or low (False), when it is extreme."""
    p = wilson(share, n)
    if p is None:
        return None
    if p.share >= limit and p.low > NEUTRAL:
        return p, True
    if p.share <= 1 - limit and p.high < NEUTRAL:
        return p, False
    return None


def length_bias_warning(share: float | None, n: int | None, who: str = "The judge") -> str | None:
    """A sentence when P(prefer longer) is extreme, else None."""
    found = _two_sided(share, n, LENGTH_BIAS_LIMIT)
    if found is None:
        return None
    p, longer = found
    side = "longer" if longer else "shorter"
    return (
        f"{who}: the {side} answer wins in {_pct(p)} decisive verdicts between answers of"
        " different length. Length, not quality, may be deciding: compare with the"
        " length-controlled leaderboard before trusting these verdicts."
    )


def position_bias_warning(
    share: float | None, n: int | None, who: str = "The judge", first: str = "first"
) -> str | None:
    """A sentence when P(prefer first) (or P(prefer left): ``first="left"``) is extreme."""
    found = _two_sided(share, n, POSITION_BIAS_LIMIT)
    if found is None:
        return None
    p, favours_first = found
    side = first if favours_first else {"first": "second", "left": "right"}.get(first, "other")
    shown = "shown" if first == "first" else "shown on the"
    return (
        f"{who}: the answer {shown} {side} wins in {_pct(p)} decisive verdicts. Where an"
        " answer is shown decides more than it should: show every pair in both orders (a"
        " pair whose verdicts disagree then counts as a tie)."
    )


def swap_consistency_warning(
    share: float | None, n: int | None, who: str = "The judge"
) -> str | None:
    """A sentence when swap consistency is low beyond doubt, else None."""
    p = wilson(share, n)
    if p is None or p.share >= SWAP_CONSISTENCY_LIMIT or p.high >= SWAP_CONSISTENCY_REFERENCE:
        return None
    return (
        f"{who}: the verdict stays the same when the two answers are swapped in only"
        f" {_pct(p)} swapped pairs. Many verdicts depend on the order, not on the answers."
    )


def kappa_below_chance(kappa: float | None, high: float | None) -> bool:
    """True when a kappa and the top of its 95% interval are both below 0: less agreement
    than chance, beyond doubt."""
    value, top = _number(kappa), _number(high)
    return value is not None and top is not None and value < 0 and top < 0


def negative_kappa_warning(
    kappa: float | None, low: float | None, high: float | None, who: str = "The judge"
) -> str | None:
    """A sentence when kappa is below 0 and its whole 95% interval is too, else None."""
    if not kappa_below_chance(kappa, high):
        return None
    return (
        f"{who}: Cohen's kappa is {kappa:.2f} ({interval_text(low, high)}), less agreement"
        " with the humans than chance would give. Check that the judge's template does not"
        " swap A and B, and read the disagreements below."
    )


def pairs_below_chance_warning(pairs: list[tuple[float | None, float | None]]) -> str | None:
    """A sentence when some rater pairs' (kappa, top of its 95% CI) lie below chance."""
    n = sum(kappa_below_chance(kappa, high) for kappa, high in pairs)
    if not n:
        return None
    which = "1 pair of raters agrees" if n == 1 else f"{n} pairs of raters agree"
    return (
        f"{which} less than chance would give (kappa and its whole 95% CI below 0): one of"
        " the two may have misread the instructions or swapped A and B. Compare their votes"
        " with the others'."
    )
