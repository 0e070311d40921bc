"""Benchmark: Krippendorff's alpha with a 1,000-round bootstrap vs krippendorff.alpha per round.

Run from the repo root: ``.venv/bin/python bench/agreement.py``. Always exits 0; a figure that
misses its target says MISS.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import krippendorff  # noqa: E402
import numpy as np  # noqa: E402

from metrics.agreement import krippendorff_alpha, long_frame_from_reliability_data  # noqa: E402

UNITS, RATERS, MISSING, SCALE = 100_000, 5, 0.30, 5
N_BOOT, REPEATS, BASELINE_ROUNDS = 1000, 5, 3
TARGET_SECONDS, TARGET_SPEEDUP = 0.5, 100.0


def make_data(seed: int = 0) -> np.ndarray:
    """Raters x units, 5-point ordinal: a true value, a rater-specific +-1 slip, 30% missing."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, SCALE + 1, UNITS)
    slip = rng.integers(-1, 2, (RATERS, UNITS)) * (rng.random((RATERS, UNITS)) < 0.5)
    data = np.clip(truth + slip, 1, SCALE).astype(float)
    data[rng.random((RATERS, UNITS)) < MISSING] = np.nan
    return data


def figure(name: str, value: float, shown: str, op: str, target: float) -> str:
    ok = value <= target if op == "<=" else value >= target
    return f"{name}: {shown} (target {op} {target:g}) {'ok' if ok else 'MISS'}"


def main() -> None:
    data = make_data()
    frame = long_frame_from_reliability_data(data)

    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = krippendorff_alpha(frame, "ordinal", n_boot=N_BOOT, seed=0)
        times.append(time.perf_counter() - start)
    ours = statistics.median(times)

    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(BASELINE_ROUNDS):
        resampled = data[:, rng.integers(0, UNITS, UNITS)]
        krippendorff.alpha(resampled, level_of_measurement="ordinal")
    per_round = (time.perf_counter() - start) / BASELINE_ROUNDS
    package = krippendorff.alpha(data, level_of_measurement="ordinal")

    name = f"alpha+{N_BOOT} bootstrap (100k units x {RATERS} raters, ordinal)"
    print(figure(name, ours, f"{ours:.2f} s", "<=", TARGET_SECONDS))
    speedup = per_round * N_BOOT / ours
    name = "speedup vs krippendorff.alpha per round"
    print(figure(name, speedup, f"{speedup:.0f}x", ">=", TARGET_SPEEDUP))
    print(
        f"point estimate: {result.alpha:.12f} vs krippendorff.alpha {package:.12f} "
        f"(|diff| {abs(result.alpha - package):.1e}); 95% CI [{result.ci_low:.4f}, "
        f"{result.ci_high:.4f}], {result.n_units} pairable units; "
        f"median of {REPEATS} runs, baseline {per_round:.3f} s/round over {BASELINE_ROUNDS} rounds"
    )


if __name__ == "__main__":
    main()
