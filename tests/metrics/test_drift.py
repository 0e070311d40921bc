"""Drift detection (issue 16, point 6): the stated false-alarm rate and detection promise,
proved on seeded simulations, and each statistic against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from metrics.drift import (
    CHANGE_CUTOFF,
    CountSeries,
    Design,
    MeanSeries,
    detect,
    detectable_shift,
    detection_delay,
)
from metrics.errors import StatisticsError

PER_DAY = 500
REF_DAYS = 14
CATEGORIES = ("billing", "code", "chat", "legal")
MIX = (0.4, 0.3, 0.2, 0.1)


def rate_series(rng, p_ref: float, rates: np.ndarray, per_day: int = PER_DAY) -> MeanSeries:
    ref = rng.binomial(1, p_ref, REF_DAYS * per_day)
    passed = rng.binomial(per_day, rates)
    return MeanSeries(
        name="pass rate",
        n=np.full(rates.size, float(per_day)),
        total=passed.astype(float),
        ref_n=ref.size,
        ref_mean=float(ref.mean()),
        ref_var=float(ref.var(ddof=1)),
    )


def latency_windows(rng, windows: int, scale: np.ndarray | float = 800.0) -> list[np.ndarray]:
    scales = np.broadcast_to(scale, (windows,))
    return [scales[i] * rng.lognormal(0.0, 0.6, PER_DAY) for i in range(windows)]


def no_change_series(rng, windows: int, unit: float = 1.0) -> list:
    ref_lat = unit * 800.0 * rng.lognormal(0.0, 0.6, REF_DAYS * PER_DAY)
    lat = [unit * w for w in latency_windows(rng, windows)]
    ref_cost = rng.gamma(2.0, 0.001, REF_DAYS * PER_DAY)
    cost = [rng.gamma(2.0, 0.001, PER_DAY) for _ in range(windows)]
    ref_mix = rng.choice(CATEGORIES, REF_DAYS * PER_DAY, p=MIX)
    mix = [rng.choice(CATEGORIES, PER_DAY, p=MIX) for _ in range(windows)]
    ref_len = rng.negative_binomial(5, 0.02, REF_DAYS * PER_DAY)
    lengths = [rng.negative_binomial(5, 0.02, PER_DAY) for _ in range(windows)]
    return [
        rate_series(rng, 0.8, np.full(windows, 0.8)),
        MeanSeries.from_values("latency", ref_lat, lat, log=True),
        MeanSeries.from_values("cost", ref_cost, cost),
        CountSeries.categories("input mix", list(ref_mix), [list(m) for m in mix]),
        CountSeries.binned("prompt length", ref_len, lengths),
        MeanSeries.counts_per_window(
            "volume", rng.poisson(PER_DAY, REF_DAYS), rng.poisson(PER_DAY, windows)
        ),
    ]


# ---- the stated false-alarm rate --------------------------------------------------------------


def test_no_change_over_1000_windows_raises_at_most_one_alarm_across_six_series() -> None:
    design = Design(alpha=0.05, series=6, horizon=1000)
    series = no_change_series(np.random.default_rng(16), 1000)
    assert len(detect(series, design)) <= 1


def test_any_false_alarm_happens_in_at_most_the_stated_share_of_seeded_runs() -> None:
    design = Design(alpha=0.05, series=2, horizon=1000)
    runs_with_alarm = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        series = [
            rate_series(rng, 0.8, np.full(1000, 0.8)),
            rate_series(rng, 0.5, np.full(1000, 0.5)),
        ]
        runs_with_alarm += bool(detect(series, design))
    # alpha = 5 %: 60 runs give 3 on average; 8 or more has probability < 1 % under Binomial.
    assert runs_with_alarm <= 7


def test_the_design_states_its_false_alarm_rate_and_per_test_level() -> None:
    design = Design(alpha=0.05, series=5, horizon=1000)
    assert design.per_test_alpha == pytest.approx(0.05 / (5 * 1000 * len(design.lengths)))
    assert "5%" in design.statement() and "5 series" in design.statement()


# ---- the detection promise --------------------------------------------------------------------


def test_five_point_drop_in_pass_rate_at_500_a_day_is_caught_within_the_promised_delay() -> None:
    design = Design(series=6, horizon=1000)
    promised = detection_delay(-0.05, np.sqrt(0.8 * 0.2), REF_DAYS * PER_DAY, PER_DAY, design)
    assert promised is not None and promised <= 16
    change = 300
    rates = np.where(np.arange(1000) < change, 0.8, 0.75)
    alarm = detect([rate_series(np.random.default_rng(5), 0.8, rates)], design)[0]
    assert change <= alarm.window < change + promised
    assert alarm.start_low <= change <= alarm.start_high
    assert alarm.size_low < -0.05 < alarm.size_high


def test_the_drop_is_caught_in_time_and_the_change_time_covered_in_most_seeded_runs() -> None:
    design = Design(series=6, horizon=1000)
    promised = detection_delay(-0.05, np.sqrt(0.8 * 0.2), REF_DAYS * PER_DAY, PER_DAY, design)
    in_time = covered = 0
    runs = 40
    for seed in range(runs):
        change = 100 + seed
        rates = np.where(np.arange(400) < change, 0.8, 0.75)
        alarms = detect([rate_series(np.random.default_rng(seed), 0.8, rates)], design)
        if alarms and change <= alarms[0].window < change + promised:
            in_time += 1
            covered += alarms[0].start_low <= change <= alarms[0].start_high
    assert in_time >= 0.8 * runs  # promised with 90 % power
    assert covered >= 0.85 * in_time  # a 95 % interval


def test_a_latency_slowdown_is_caught_with_its_relative_size() -> None:
    rng = np.random.default_rng(7)
    ref = 800.0 * rng.lognormal(0.0, 0.6, REF_DAYS * PER_DAY)
    scale = np.where(np.arange(200) < 120, 800.0, 800.0 * 1.15)
    series = MeanSeries.from_values("latency", ref, latency_windows(rng, 200, scale), log=True)
    design = Design(series=6)
    promised = detection_delay(np.log(1.15), 0.6, ref.size, PER_DAY, design)
    alarm = detect([series], design)[0]
    assert 120 <= alarm.window < 120 + promised
    assert alarm.start_low <= 120 <= alarm.start_high
    assert alarm.size_label == "relative change"
    assert alarm.size_low < 0.15 < alarm.size_high


def test_detectable_shift_is_caught_within_the_windows_it_names() -> None:
    design = Design()
    shift = detectable_shift(0.4, 7000, 500, 7, design)
    assert detection_delay(shift, 0.4, 7000, 500, design) <= 7
    assert detection_delay(shift * 0.9, 0.4, 7000, 500, design) > 4
    assert detectable_shift(0.4, 7000, 5, 1, design) == np.inf


# ---- input drift ------------------------------------------------------------------------------


def test_input_mix_shift_is_caught_by_chi_square_naming_the_category() -> None:
    rng = np.random.default_rng(11)
    ref = list(rng.choice(CATEGORIES, REF_DAYS * PER_DAY, p=MIX))
    after = (0.3, 0.3, 0.2, 0.2)
    wins = [list(rng.choice(CATEGORIES, PER_DAY, p=MIX if i < 50 else after)) for i in range(100)]
    alarm = detect([CountSeries.categories("input mix", ref, wins)], Design(series=6))[0]
    assert alarm.test == "chi-square"
    assert 50 <= alarm.window < 55
    assert alarm.start_low <= 50 <= alarm.start_high
    assert alarm.extra["category"] in ("billing", "legal")
    assert alarm.statistic > alarm.threshold


def test_prompt_length_shift_is_caught_by_ks() -> None:
    rng = np.random.default_rng(12)
    ref = rng.negative_binomial(5, 0.02, REF_DAYS * PER_DAY)
    wins = [rng.negative_binomial(5, 0.02 if i < 40 else 0.017, PER_DAY) for i in range(80)]
    alarm = detect([CountSeries.binned("prompt length", ref, wins)], Design(series=6))[0]
    assert alarm.test == "ks"
    assert 40 <= alarm.window < 50
    assert alarm.start_low <= 40 <= alarm.start_high
    assert alarm.size_low <= alarm.size <= alarm.size_high


# ---- statistics against independent computations ---------------------------------------------


def _one_window_design() -> Design:
    return Design(alpha=0.999, series=1, horizon=1, lengths=(1,))


def test_mean_alarm_statistic_is_the_two_sample_z_with_the_reference_variance() -> None:
    ref = np.array([1.0, 2.0, 3.0, 4.0, 5.0] * 20)
    win = np.array([3.5, 4.5, 5.5, 6.5] * 20)
    alarm = detect([MeanSeries.from_values("x", ref, [win])], _one_window_design())[0]
    var = ref.var(ddof=1)
    z = (win.mean() - ref.mean()) / np.sqrt(var / win.size + var / ref.size)
    assert alarm.statistic == pytest.approx(abs(z))
    assert alarm.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert alarm.size == pytest.approx(win.mean() - ref.mean())


def test_chi_square_statistic_matches_scipy_contingency() -> None:
    ref = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    win = ["a"] * 30 + ["b"] * 30 + ["c"] * 20
    alarm = detect([CountSeries.categories("mix", ref, [win])], _one_window_design())[0]
    chi, p, _, _ = stats.chi2_contingency([[60, 30, 10], [30, 30, 20]], correction=False)
    assert alarm.statistic == pytest.approx(chi)
    assert alarm.p_value == pytest.approx(p)


def test_ks_distance_matches_scipy_on_integer_lengths() -> None:
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 10, 400)
    win = rng.integers(2, 12, 300)
    alarm = detect([CountSeries.binned("len", ref, [win])], _one_window_design())[0]
    assert alarm.statistic == pytest.approx(stats.ks_2samp(ref, win).statistic)


def test_change_cutoff_gives_95_percent_for_the_two_sided_argmax() -> None:
    assert (1 - np.exp(-CHANGE_CUTOFF)) ** 2 == pytest.approx(0.95)


# ---- invariances ------------------------------------------------------------------------------


def _key(alarms) -> list[tuple]:
    return sorted((a.series, a.window, a.start, a.start_low, a.start_high) for a in alarms)


def test_latency_units_do_not_change_the_alarms() -> None:
    design = Design(series=6, horizon=300)

    def slowed(unit: float) -> list:
        rng = np.random.default_rng(21)
        ref = unit * 800.0 * rng.lognormal(0.0, 0.6, REF_DAYS * PER_DAY)
        scale = unit * np.where(np.arange(300) < 150, 800.0, 900.0)
        return [MeanSeries.from_values("latency", ref, latency_windows(rng, 300, scale), log=True)]

    ms, seconds = detect(slowed(1.0), design), detect(slowed(0.001), design)
    assert ms and _key(ms) == _key(seconds)
    assert ms[0].p_value == pytest.approx(seconds[0].p_value)
    raw_ms = detect([_raw(slowed(1.0)[0], 1.0)], design)
    raw_s = detect([_raw(slowed(1.0)[0], 0.001)], design)
    assert _key(raw_ms) == _key(raw_s)


def _raw(s: MeanSeries, unit: float) -> MeanSeries:
    return MeanSeries(
        name=s.name,
        n=s.n,
        total=s.total * unit,
        ref_n=s.ref_n,
        ref_mean=s.ref_mean * unit,
        ref_var=s.ref_var * unit**2,
    )


def test_order_of_series_does_not_change_the_alarms() -> None:
    rng = np.random.default_rng(8)
    series = no_change_series(rng, 200)
    series[0] = rate_series(rng, 0.8, np.where(np.arange(200) < 100, 0.8, 0.7))
    design = Design(series=6, horizon=200)
    forward = detect(series, design)
    assert forward
    assert _key(forward) == _key(detect(series[::-1], design))


def test_more_series_than_the_design_covers_is_refused_with_the_fix() -> None:
    series = no_change_series(np.random.default_rng(1), 10)
    with pytest.raises(StatisticsError, match="Design\\(series=6\\)"):
        detect(series, Design(series=2))


def test_volume_statistic_is_t_with_the_reference_windows_degrees_of_freedom() -> None:
    ref = np.array([480.0, 510.0, 495.0, 530.0, 470.0, 505.0, 500.0])
    alarm = detect([MeanSeries.counts_per_window("volume", ref, [650.0])], _one_window_design())[0]
    sd = ref.std(ddof=1)
    t = (650.0 - ref.mean()) / (sd * np.sqrt(1 + 1 / ref.size))
    assert alarm.test == "t"
    assert alarm.statistic == pytest.approx(t)
    assert alarm.p_value == pytest.approx(2 * stats.t.sf(t, ref.size - 1))
