"""Drift detection with a stated false-alarm rate: windowed scans against a reference.

Every watched series is a run of consecutive windows (hours or days) after a reference
period. At each window ``t`` and for each scan length ``m`` in ``Design.lengths`` (1, 2, 4, ...
windows) the pooled windows ``t-m+1 .. t`` are tested against the reference:

* ``MeanSeries`` (pass rates, latency, cost, tokens, volume): a two-sample z test of the
  pooled mean against the reference mean, both variances taken from the reference (the null
  variance), so the statistic does not depend on the unit. ``ref_df`` switches to Student's t
  when the reference variance comes from few observations (volume: one count per window).
* ``CountSeries`` of kind ``"chi-square"`` (input mix): Pearson's chi-square on the 2 x K
  table pooled windows x reference.
* ``CountSeries`` of kind ``"ks"`` (prompt length): the two-sample Kolmogorov-Smirnov
  statistic on histograms over bins cut at the reference's quantiles, with the asymptotic
  Kolmogorov p-value; binning can only lower D, so the test stays conservative.

False alarms: a test alarms when its p-value is below ``alpha / (series x horizon x
lengths)`` (Bonferroni). The union bound holds under any dependence (overlapping scans, one
shared reference), so with no change the chance of any alarm across all watched series over
``horizon`` windows is at most ``alpha``. Each series reports its first alarm only.

Change start: a change-point fit over the reference followed by the windows up to the alarm
(Gaussian mean shift with the reference variance for means, multinomial for counts): the
segment before ``tau`` (reference included) against the one from ``tau`` on, ``tau``
maximising the log likelihood ``l(tau)``. The
interval is every ``tau`` with ``l(tau_hat) - l(tau) <= CHANGE_CUTOFF``: for a shift in a
random walk, the log-LR at the true change behaves like the larger of two independent
``sup_s W(s) - s/2`` (Hinkley 1970; each exceeds x with probability e^-x), so
``(1 - e^-c)^2 = 0.95`` gives c = 3.68 for 95 %.

Sizes come with 95 % intervals: a mean's shift (a relative change on the log scale) by the
normal interval after the estimated start; the largest share change of a mix by Wald; the KS
distance by the DKW bound of each sample at 2.5 % (triangle inequality).

Detection promise: a shift ``delta`` in a mean series is caught within ``m`` windows of its
start (at a window boundary) with probability at least ``power`` when the single scan of
length ``m`` that covers exactly the changed windows has that power
(``detection_delay``); ``detectable_shift`` inverts it for the current volume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from metrics.errors import StatisticsError

CHANGE_CUTOFF = -math.log(1.0 - math.sqrt(0.95))
MIN_POOLED = 50
KS_BINS = 50


@dataclass(frozen=True)
class Design:
    """What the false-alarm statement covers: ``alpha`` over ``series`` x ``horizon`` windows."""

    alpha: float = 0.05
    series: int = 6
    horizon: int = 1000
    lengths: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    power: float = 0.9

    @property
    def tests(self) -> int:
        return self.series * self.horizon * len(self.lengths)

    @property
    def per_test_alpha(self) -> float:
        return self.alpha / self.tests

    def statement(self) -> str:
        return (
            f"false-alarm rate: at most {self.alpha:.0%} chance of any false alarm across"
            f" {self.series} series over {self.horizon:,} windows"
        )


@dataclass(frozen=True)
class MeanSeries:
    """Per-window counts and sums of one numeric series, and its reference summary."""

    name: str
    n: np.ndarray
    total: np.ndarray
    ref_n: int
    ref_mean: float
    ref_var: float
    ref_df: int | None = None
    log: bool = False

    @classmethod
    def from_values(
        cls,
        name: str,
        reference: Sequence[float] | np.ndarray,
        windows: Sequence[Sequence[float] | np.ndarray],
        *,
        log: bool = False,
    ) -> MeanSeries:
        ref = _values(reference, log)
        if ref.size < 2:
            raise StatisticsError(
                f"Series '{name}' has {ref.size} reference values: widen the reference"
                " period (--reference-days) so it holds at least 2."
            )
        wins = [_values(w, log) for w in windows]
        return cls(
            name=name,
            n=np.array([w.size for w in wins], dtype=float),
            total=np.array([w.sum() for w in wins], dtype=float),
            ref_n=int(ref.size),
            ref_mean=float(ref.mean()),
            ref_var=float(ref.var(ddof=1)),
            log=log,
        )

    @classmethod
    def counts_per_window(
        cls, name: str, reference: Sequence[float], windows: Sequence[float]
    ) -> MeanSeries:
        """Volume: one observation (the count) per window; t-based, as the reference is short."""
        ref = np.asarray(reference, dtype=float)
        if ref.size < 3:
            raise StatisticsError(
                f"Series '{name}' needs at least 3 reference windows, it has {ref.size}:"
                " widen the reference period."
            )
        wins = np.asarray(windows, dtype=float)
        return cls(
            name=name,
            n=np.ones(wins.size),
            total=wins,
            ref_n=int(ref.size),
            ref_mean=float(ref.mean()),
            ref_var=float(ref.var(ddof=1)),
            ref_df=int(ref.size - 1),
        )


@dataclass(frozen=True)
class CountSeries:
    """Per-window counts over categories (or bins) and the reference's counts."""

    name: str
    kind: str
    labels: tuple[str, ...]
    counts: np.ndarray
    reference: np.ndarray

    @classmethod
    def categories(
        cls, name: str, reference: Sequence[str], windows: Sequence[Sequence[str]]
    ) -> CountSeries:
        labels = tuple(sorted({*reference, *(x for w in windows for x in w)}))
        index = {label: i for i, label in enumerate(labels)}

        def tally(items: Sequence[str]) -> np.ndarray:
            return np.bincount([index[x] for x in items], minlength=len(labels)).astype(float)

        return cls(
            name=name,
            kind="chi-square",
            labels=labels,
            counts=np.array([tally(w) for w in windows]).reshape(len(windows), len(labels)),
            reference=tally(reference),
        )

    @classmethod
    def binned(
        cls,
        name: str,
        reference: Sequence[float] | np.ndarray,
        windows: Sequence[Sequence[float] | np.ndarray],
        bins: int = KS_BINS,
    ) -> CountSeries:
        ref = np.asarray(reference, dtype=float)
        if ref.size < 2:
            raise StatisticsError(
                f"Series '{name}' has {ref.size} reference values: widen the reference period."
            )
        inner = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1], method="lower"))
        labels = tuple(f"<= {e:g}" for e in inner) + (f"> {inner[-1]:g}",)

        def tally(values: Sequence[float] | np.ndarray) -> np.ndarray:
            idx = np.searchsorted(inner, np.asarray(values, dtype=float), side="left")
            return np.bincount(idx, minlength=inner.size + 1).astype(float)

        return cls(
            name=name,
            kind="ks",
            labels=labels,
            counts=np.array([tally(w) for w in windows]).reshape(len(windows), len(labels)),
            reference=tally(ref),
        )


Series = MeanSeries | CountSeries


@dataclass(frozen=True)
class Alarm:
    """The first alarm of one series; window numbers count from 0 after the reference."""

    series: str
    test: str
    window: int
    length: int
    start: int
    start_low: int
    start_high: int
    size: float
    size_low: float
    size_high: float
    size_label: str
    statistic: float
    threshold: float
    p_value: float
    extra: dict[str, str] = field(default_factory=dict)


def _values(values: Sequence[float] | np.ndarray, log: bool) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if log:
        arr = arr[arr > 0]
        return np.log(arr)
    return arr


def _pooled(x: np.ndarray, m: int) -> np.ndarray:
    """Sums of ``x`` over the ``m`` windows ending at each t (NaN where fewer exist)."""
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
    out = np.full(x.shape, np.nan)
    if m <= x.shape[0]:
        out[m - 1 :] = c[m:] - c[:-m]
    return out


def _mean_scan(s: MeanSeries, design: Design) -> tuple[np.ndarray, np.ndarray]:
    """p-values and statistics, shape (windows, lengths)."""
    from scipy import stats

    w = s.n.size
    p = np.ones((w, len(design.lengths)))
    z = np.zeros((w, len(design.lengths)))
    if s.ref_var <= 0:
        return p, z
    min_n = 1 if s.ref_df is not None else MIN_POOLED
    for j, m in enumerate(design.lengths):
        n = _pooled(s.n, m)
        total = _pooled(s.total, m)
        ok = np.isfinite(n) & (n >= min_n)
        mean = np.divide(total, n, out=np.zeros(w), where=ok)
        se = np.sqrt(s.ref_var / np.where(ok, n, 1.0) + s.ref_var / s.ref_n)
        zj = np.where(ok, (mean - s.ref_mean) / se, 0.0)
        z[:, j] = zj
        tail = stats.norm.sf(np.abs(zj)) if s.ref_df is None else stats.t.sf(np.abs(zj), s.ref_df)
        p[:, j] = np.where(ok, 2 * tail, 1.0)
    return p, z


def _count_scan(s: CountSeries, design: Design) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats

    w = s.counts.shape[0]
    p = np.ones((w, len(design.lengths)))
    stat = np.zeros((w, len(design.lengths)))
    ref = s.reference
    n_ref = ref.sum()
    for j, m in enumerate(design.lengths):
        pooled = _pooled(s.counts, m)
        n = pooled.sum(axis=1)
        ok = np.isfinite(n) & (n >= MIN_POOLED) & (n_ref > 0)
        pooled = np.where(ok[:, None], pooled, 0.0)
        n_safe = np.where(ok, n, 1.0)
        if s.kind == "ks":
            d = np.abs(np.cumsum(pooled, axis=1) / n_safe[:, None] - np.cumsum(ref) / n_ref)
            dj = d.max(axis=1)
            scale = np.sqrt(n_safe * n_ref / (n_safe + n_ref))
            pj = stats.kstwobign.sf(dj * scale)
        else:
            col = pooled + ref
            used = col > 0
            expected_p = col * (n_safe / (n_safe + n_ref))[:, None]
            expected_r = col * (n_ref / (n_safe + n_ref))[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                chi = np.where(used, (pooled - expected_p) ** 2 / expected_p, 0.0) + np.where(
                    used, (ref - expected_r) ** 2 / expected_r, 0.0
                )
            dj = chi.sum(axis=1)
            df = used.sum(axis=1) - 1
            pj = np.where(df > 0, stats.chi2.sf(dj, np.maximum(df, 1)), 1.0)
        stat[:, j] = np.where(ok, dj, 0.0)
        p[:, j] = np.where(ok, pj, 1.0)
    return p, stat


def _multinomial_ll(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, counts * np.log(counts / np.where(total > 0, total, 1)), 0.0)
    return terms.sum(axis=1)


def _likelihood_interval(ll: np.ndarray) -> tuple[int, int, int]:
    best = int(np.argmax(ll))
    inside = np.flatnonzero(ll >= ll[best] - CHANGE_CUTOFF)
    return best, int(inside.min()), int(inside.max())


def _mean_alarm(
    s: MeanSeries, t: int, j: int, p: np.ndarray, z: np.ndarray, design: Design
) -> Alarm:
    from scipy import stats

    n = s.n[: t + 1]
    d = s.total[: t + 1] - n * s.ref_mean
    rn = np.cumsum(n[::-1])[::-1]
    rd = np.cumsum(d[::-1])[::-1]
    before_n = s.ref_n + np.concatenate([[0.0], np.cumsum(n)[:-1]])
    before_d = np.concatenate([[0.0], np.cumsum(d)[:-1]])
    after = np.where(rn > 0, rd**2 / np.where(rn > 0, rn, 1.0), 0.0)
    ll = 0.5 * (before_d**2 / before_n + after) / s.ref_var
    start, low, high = _likelihood_interval(ll)
    post_n = rn[start]
    shift = rd[start] / post_n
    crit = (
        stats.norm.isf(0.025) if s.ref_df is None or s.ref_df <= 0 else stats.t.isf(0.025, s.ref_df)
    )
    half = crit * math.sqrt(s.ref_var / post_n + s.ref_var / s.ref_n)
    lo, hi = shift - half, shift + half
    label = "difference in mean"
    if s.log:
        shift, lo, hi = (math.expm1(v) for v in (shift, lo, hi))
        label = "relative change"
    threshold = (
        stats.norm.isf(design.per_test_alpha / 2)
        if s.ref_df is None
        else stats.t.isf(design.per_test_alpha / 2, s.ref_df)
    )
    return Alarm(
        series=s.name,
        test="z" if s.ref_df is None else "t",
        window=t,
        length=design.lengths[j],
        start=start,
        start_low=low,
        start_high=high,
        size=float(shift),
        size_low=float(lo),
        size_high=float(hi),
        size_label=label,
        statistic=float(abs(z[t, j])),
        threshold=float(threshold),
        p_value=float(p[t, j]),
    )


def _count_alarm(
    s: CountSeries, t: int, j: int, p: np.ndarray, stat: np.ndarray, design: Design
) -> Alarm:
    from scipy import stats

    counts = s.counts[: t + 1]
    after = np.cumsum(counts[::-1], axis=0)[::-1]
    before = s.reference + np.vstack([np.zeros_like(s.reference), np.cumsum(counts, axis=0)[:-1]])
    ll = _multinomial_ll(before) + _multinomial_ll(after)
    start, low, high = _likelihood_interval(ll)
    m = design.lengths[j]
    pooled = counts[t - m + 1 : t + 1].sum(axis=0)
    n_p, n_r = pooled.sum(), s.reference.sum()
    extra: dict[str, str] = {}
    if s.kind == "ks":
        d = float(stat[t, j])
        eps = math.sqrt(math.log(4 / 0.05) / (2 * n_p)) + math.sqrt(math.log(4 / 0.05) / (2 * n_r))
        size, lo, hi, label = d, max(0.0, d - eps), min(1.0, d + eps), "KS distance"
        threshold = float(stats.kstwobign.isf(design.per_test_alpha))
        threshold /= math.sqrt(n_p * n_r / (n_p + n_r))
    else:
        a, b = pooled / n_p, s.reference / n_r
        k = int(np.argmax(np.abs(a - b)))
        size = float(a[k] - b[k])
        half = stats.norm.isf(0.025) * math.sqrt(a[k] * (1 - a[k]) / n_p + b[k] * (1 - b[k]) / n_r)
        lo, hi, label = size - half, size + half, "share change"
        extra["category"] = s.labels[k]
        df = int(((pooled + s.reference) > 0).sum() - 1)
        threshold = float(stats.chi2.isf(design.per_test_alpha, max(df, 1)))
    return Alarm(
        series=s.name,
        test=s.kind,
        window=t,
        length=m,
        start=start,
        start_low=low,
        start_high=high,
        size=float(size),
        size_low=float(lo),
        size_high=float(hi),
        size_label=label,
        statistic=float(stat[t, j]),
        threshold=threshold,
        p_value=float(p[t, j]),
        extra=extra,
    )


def detect(series: Sequence[Series], design: Design | None = None) -> list[Alarm]:
    """The first alarm of each series (none when it stays in line with its reference)."""
    design = design or Design(series=max(len(series), 1))
    if len(series) > design.series:
        raise StatisticsError(
            f"{len(series)} series watched but the design covers {design.series}: make a"
            f" Design(series={len(series)}) so the false-alarm rate holds."
        )
    alarms = []
    for s in series:
        if isinstance(s, MeanSeries):
            p, stat = _mean_scan(s, design)
        else:
            p, stat = _count_scan(s, design)
        if p.shape[0] > design.horizon:
            raise StatisticsError(
                f"Series '{s.name}' has {p.shape[0]} windows, more than the design's horizon"
                f" of {design.horizon}: raise the horizon or use longer windows (--by day)."
            )
        hit = np.argwhere(p < design.per_test_alpha)
        if hit.size == 0:
            continue
        t = int(hit[:, 0].min())
        j = int(np.argmin(p[t]))
        make = _mean_alarm if isinstance(s, MeanSeries) else _count_alarm
        alarms.append(make(s, t, j, p, stat, design))
    return alarms


def _crit(design: Design) -> float:
    from scipy import stats

    return float(stats.norm.isf(design.per_test_alpha / 2) + stats.norm.isf(1 - design.power))


def detectable_shift(
    ref_sd: float, ref_n: int, per_window: float, within: int, design: Design
) -> float:
    """Smallest mean shift caught within ``within`` windows with probability ``design.power``."""
    usable = [m for m in design.lengths if m <= within and m * per_window >= MIN_POOLED]
    if not usable or ref_n < 1:
        return math.inf
    m = max(usable)
    return _crit(design) * ref_sd * math.sqrt(1 / (m * per_window) + 1 / ref_n)


def detection_delay(
    shift: float, ref_sd: float, ref_n: int, per_window: float, design: Design
) -> int | None:
    """Windows after a change by which ``design.power`` of shifts of ``shift`` are caught."""
    for m in design.lengths:
        if m * per_window < MIN_POOLED:
            continue
        if abs(shift) >= _crit(design) * ref_sd * math.sqrt(1 / (m * per_window) + 1 / ref_n):
            return m
    return None
