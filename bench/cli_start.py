"""CLI cold start: `judgeboard --help` and `judgeboard campaign list` as a user runs them.

Run from the repo root: ``.venv/bin/python bench/cli_start.py``. Each command runs in a fresh
interpreter (the console script's own entry point) against a demo SQLite database; the figure
is the median wall time of several runs. The reference, measured in the same run, is the same
interpreter importing every package of judgeboard up front (what the CLI did before its heavy
imports moved into the commands that need them). Exits 0 even on a miss.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report  # noqa: E402

RUNS = 7
TARGET_SECONDS = 0.6
EAGER = (
    "import cli.main, ingest.outputs, ingest.votes, results.leaderboards, results.reports,"
    " results.export, metrics.agreement, metrics.calibration, metrics.blend"
)


def wall(args: list[str], env: dict[str, str]) -> float:
    """Median seconds of ``args`` in a fresh process (one warm-up run fills the OS cache)."""
    subprocess.run(args, env=env, cwd=ROOT, capture_output=True, check=True)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(args, env=env, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, JUDGEBOARD_DATABASE_URL=f"sqlite:///{Path(tmp) / 'cli.db'}")
        env["PYTHONPATH"] = str(ROOT)
        cli = [sys.executable, "-m", "cli.main"]
        subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, check=True)
        subprocess.run([*cli, "demo"], env=env, cwd=ROOT, capture_output=True, check=True)
        help_s = wall([*cli, "--help"], env)
        list_s = wall([*cli, "campaign", "list"], env)
        eager_s = wall([sys.executable, "-c", EAGER], env)
    report("judgeboard --help, cold start", help_s, " s", "<=", TARGET_SECONDS, ".2f")
    report("judgeboard campaign list, cold start", list_s, " s", "<=", TARGET_SECONDS, ".2f")
    report(
        "judgeboard --help vs importing every package up front",
        eager_s / help_s,
        "x faster",
        ">=",
        1.0,
        ".1f",
    )


if __name__ == "__main__":
    main()
