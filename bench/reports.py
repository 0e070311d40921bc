"""Reports benchmark: the agreement and calibration reports straight from the database.

A campaign of 1,000,000 judgments: 300,000 human votes over 100,000 comparisons (three per
comparison), and 700,000 from two LLM judges (each in both shown orders on every comparison,
400,000 current verdicts plus 300,000 superseded revisions the reports must skip). Each report
is timed through its domain call (``results.reports.campaign_agreement`` /
``campaign_calibration``) against the reference measured in the same run: pull every vote into
pandas (``votes_frame``), then the metrics functions.

Run from the repo root: ``.venv/bin/python bench/reports.py``. Prints one line per figure,
``<figure>: <value> <unit> (target <op> <value>) ok|MISS``, and exits 0 either way. Timings of
the domain calls are medians of three runs; the reference runs once (it is the slow one).
PostgreSQL is ``JUDGEBOARD_TEST_PG_URL`` (default postgresql+psycopg://postgres@127.0.0.1/test),
in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median_time, report  # noqa: E402

N_COMPARISONS = 100_000
HUMANS_PER_COMPARISON = 3
N_JUDGES = 2
SUPERSEDED = 300_000
N_BOOT = 1000
TARGET_SECONDS = 2.0


def figures(backend: str, workdir: Path) -> None:
    from annotate.users import ensure_local_admin
    from bench.seed import seed_campaign, temporary_database
    from metrics.agreement import agreement_report
    from metrics.calibration import calibration_report
    from metrics.rater_quality import rater_quality
    from results.reports import campaign_agreement, campaign_calibration
    from results.votes import VoteFilter, scores_frame, votes_frame

    label = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
    with temporary_database(backend, workdir) as engine:
        seeded = seed_campaign(
            engine,
            n_prompts=2_100,
            comparisons_per_prompt=50,
            judgments_per_comparison=HUMANS_PER_COMPARISON,
            n_raters=HUMANS_PER_COMPARISON,
            max_comparisons=N_COMPARISONS,
            n_judges=N_JUDGES,
            superseded_judge_rows=SUPERSEDED,
        )
        cid = seeded.campaign_id
        admin = ensure_local_admin(engine).id
        size = f"{seeded.n_judgments / 1e6:.1f}M judgments stored"

        def agreement() -> None:
            campaign_agreement(engine, cid, n_boot=N_BOOT, actor_id=admin)

        def agreement_reference() -> None:
            flt = VoteFilter(cid, rater_kind="human", include_reshows=True)
            votes = votes_frame(engine, flt)
            agreement_report(votes, scores_frame(engine, flt), n_boot=N_BOOT, seed=0)
            rater_quality(votes)

        def calibration() -> None:
            campaign_calibration(engine, cid, n_boot=N_BOOT, actor_id=admin)

        def calibration_reference() -> None:
            calibration_report(votes_frame(engine, VoteFilter(cid)), n_boot=N_BOOT)

        for name, ours, reference in (
            ("agreement", agreement, agreement_reference),
            ("calibration", calibration, calibration_reference),
        ):
            ours()  # warm-up: the first read of the tables, imports
            seconds = median_time(ours, repeats=3)
            baseline = median_time(reference, repeats=1)
            report(
                f"database ({size}) to {name} report, {label}",
                seconds,
                " s",
                "<=",
                TARGET_SECONDS,
                ".2f",
            )
            report(
                f"{name} report speedup vs pulling every vote into pandas, {label}",
                baseline / seconds,
                "x",
                ">=",
                1,
                ".1f",
            )


def main() -> int:
    with tempfile.TemporaryDirectory() as workdir:
        for backend in ("sqlite", "postgresql"):
            figures(backend, Path(workdir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
