"""Rating loop: "submit + fetch next item" at 100,000 comparisons / 1,000,000 judgments.

Run: ``.venv/bin/python bench/rating_loop.py`` (PostgreSQL at JUDGEBOARD_BENCH_PG_URL,
default the test database; a throw-away schema is used and dropped). Prints one line per
figure, ``<figure>: <value> <unit> (target <op> <value>) ok|MISS``, and exits 0 either way.

The stored state looks like a busy campaign: every judgment came through the app (so it has
a done assignment), comparisons stand at 5..15 of an overlap of 15, and the measured raters
are among the 1,000 who cast those votes (about 1,000 judgments each). The reference is the
obvious next-item pick: read the campaign's comparisons, the lease counts and the rater's
history, and choose in Python.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from annotate.items import Answer  # noqa: E402
from annotate.queue import next_item  # noqa: E402
from annotate.queue_sql import A, C, J  # noqa: E402
from annotate.serving import serve_rank  # noqa: E402
from annotate.submission import submit  # noqa: E402
from bench.seed import bulk_load, load_campaign_basics  # noqa: E402
from db.engine import (  # noqa: E402
    create_schema,
    dispose_engines,
    drop_schema,
    is_sqlite,
    make_engine,
)
from db.models import metadata  # noqa: E402
from metrics.vocabulary import user_key  # noqa: E402

N_PROMPTS = 10_000
N_MODELS = 5  # 10 pairs per prompt -> 100,000 comparisons
N_RATERS = 1_000
OVERLAP = 15
LOOP_RATERS = 16
LOOPS = 400
WARMUP = 50
PG_URL = os.environ.get(
    "JUDGEBOARD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STAMP = datetime(2026, 1, 1, tzinfo=UTC)
SERVE_SEED = 1


def line(figure: str, value: float, unit: str, op: str, target: float) -> None:
    ok = value <= target if op == "<=" else value >= target
    print(f"{figure}: {value:.1f} {unit} (target {op} {target:g}) {'ok' if ok else 'MISS'}")


def note(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


# --- bulk load -----------------------------------------------------------------------------


def _stamp(engine: Engine) -> Any:
    # SQLAlchemy's SQLite DATETIME text format; psycopg takes the aware datetime itself.
    return STAMP.strftime("%Y-%m-%d %H:%M:%S.%f") if is_sqlite(engine) else STAMP


def seed(engine: Engine) -> int:
    """Load the campaign; returns the number of judgments stored."""
    metadata.create_all(engine)
    stamp = _stamp(engine)
    indexes = [ix for table in metadata.sorted_tables for ix in table.indexes]
    with engine.begin() as conn:
        for ix in indexes:  # build indexes once at the end: far faster than row by row
            ix.drop(conn)
    if is_sqlite(engine):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA cache_size=-400000")
    rng = random.Random(0)
    pairs = [(a, b) for a in range(N_MODELS) for b in range(a + 1, N_MODELS)]
    n_done = [5 + (i * 7) % 11 for i in range(N_PROMPTS * len(pairs))]
    with engine.begin() as conn:
        load_campaign_basics(
            conn,
            name="rating-bench",
            overlap=OVERLAP,
            n_raters=N_RATERS,
            n_models=N_MODELS,
            stamp=stamp,
        )
        bulk_load(
            conn,
            "prompts",
            ["id", "campaign_id", "external_id", "messages"],
            (
                (p + 1, 1, f"p{p}", json.dumps([{"role": "user", "content": f"Question {p}?"}]))
                for p in range(N_PROMPTS)
            ),
        )
        bulk_load(
            conn,
            "outputs",
            ["id", "prompt_id", "candidate_id", "content"],
            (
                (p * N_MODELS + m + 1, p + 1, m + 1, f"Answer {p} by system {m}. " * (1 + m))
                for p in range(N_PROMPTS)
                for m in range(N_MODELS)
            ),
        )
        bulk_load(
            conn,
            "comparisons",
            ["id", "campaign_id", "prompt_id", "output_a_id", "output_b_id", "n_done"]
            + ["serve_rank", "created_at"],
            (
                (
                    p * len(pairs) + k + 1,
                    1,
                    p + 1,
                    p * N_MODELS + a + 1,
                    p * N_MODELS + b + 1,
                    n_done[p * len(pairs) + k],
                    serve_rank(SERVE_SEED, f"p{p}", f"model-{a:02d}", f"model-{b:02d}"),
                    stamp,
                )
                for p in range(N_PROMPTS)
                for k, (a, b) in enumerate(pairs)
            ),
        )
        votes = [
            (c + 1, (c * 37 + slot * 131) % N_RATERS + 1, rng.choice(("ab", "ba")))
            for c, n in enumerate(n_done)
            for slot in range(n)
        ]
        bulk_load(
            conn,
            "assignments",
            ["id", "campaign_id", "comparison_id", "rater_id", "shown_order", "kind", "status"]
            + ["leased_at", "expires_at", "finished_at"],
            (
                (i + 1, 1, c, r, order, "normal", "done", stamp, stamp, stamp)
                for i, (c, r, order) in enumerate(votes)
            ),
        )
        bulk_load(
            conn,
            "judgments",
            ["id", "campaign_id", "comparison_id", "rater_key", "rater_kind", "user_id"]
            + ["assignment_id", "shown_order", "preference", "both_bad", "time_on_task_ms"]
            + ["is_reshow", "version", "is_current", "source", "created_at"],
            (
                (i + 1, 1, c, user_key(r), "human", r, i + 1, order, (i % 3) - 1, False, 4000)
                + (False, 1, True, "app", stamp)
                for i, (c, r, order) in enumerate(votes)
            ),
        )
    with engine.begin() as conn:
        for ix in indexes:
            ix.create(conn)
        if not is_sqlite(engine):
            tables = ("users", "campaigns", "candidates", "prompts", "outputs", "comparisons")
            for table in (*tables, "assignments", "judgments"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
                )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    if is_sqlite(engine):
        # The bulk load leaves hundreds of MB in the WAL; fold it into the database now so
        # that the measured commits are steady-state ones, not the load's checkpoint.
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw.close()
    engine.dispose()  # measure on fresh connections, as a restarted app would
    return len(votes)


# --- measurements --------------------------------------------------------------------------


def rating_loop(engine: Engine) -> list[float]:
    """Milliseconds per "submit the current item + fetch the next one", one rater at a time."""
    rng = random.Random(1)
    raters = list(range(1, LOOP_RATERS + 1))
    held = {r: next_item(engine, r, 1, rng=rng) for r in raters}
    times = []
    for i in range(WARMUP + LOOPS):  # the first WARMUP rounds fill caches and are not timed
        r = raters[i % LOOP_RATERS]
        t0 = time.perf_counter()
        submit(engine, r, held[r].assignment_id, Answer(preference=rng.choice((-1, 0, 1))))
        held[r] = next_item(engine, r, 1, rng=rng)
        times.append((time.perf_counter() - t0) * 1000)
    return times[WARMUP:]


def naive_next(engine: Engine, rater_id: int, campaign_id: int = 1) -> int | None:
    """The reference: pull the campaign, lease counts and the rater's history; pick in Python."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
        overlap = conn.execute(text("SELECT overlap FROM campaigns WHERE id = :c"), {"c": 1})
        overlap = overlap.scalar_one()
        comparisons = conn.execute(
            select(C.c.id, C.c.n_done, C.c.check_kind, C.c.serve_rank).where(
                C.c.campaign_id == campaign_id
            )
        ).all()
        leases = dict(
            conn.execute(
                select(A.c.comparison_id, func.count())
                .where(A.c.status == "leased", A.c.expires_at > now)
                .group_by(A.c.comparison_id)
            ).all()
        )
        seen = set(
            conn.execute(select(A.c.comparison_id).where(A.c.rater_id == rater_id)).scalars()
        )
        seen |= set(
            conn.execute(select(J.c.comparison_id).where(J.c.rater_key == user_key(rater_id)))
            .scalars()
            .all()
        )
    open_ = [
        (n + leases.get(cid, 0), n, rank, cid)
        for cid, n, kind, rank in comparisons
        if kind is None and cid not in seen and n + leases.get(cid, 0) < overlap
    ]
    return min(open_)[3] if open_ else None


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def queue_vs_naive(engine: Engine) -> tuple[float, float]:
    """Median ms of a queue next-item that takes a new lease, and of the naive pick."""
    rater = LOOP_RATERS + 1
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        item = next_item(engine, rater, 1)
        times.append((time.perf_counter() - t0) * 1000)
        with engine.begin() as conn:  # hand it back (untimed) so the next call leases afresh
            conn.execute(A.delete().where(A.c.id == item.assignment_id))
    return statistics.median(times), _median_ms(lambda: naive_next(engine, rater), 10)


def rate_page_runs(url: str) -> float:
    """Median ms of the rate page's whole script run through AppTest (lease already held)."""
    from tests.page_timing import median_script_run_ms

    return median_script_run_ms(ROOT / "views" / "rate.py", url)


def pg_engine() -> tuple[Engine, str]:
    schema = f"bench_rating_{uuid.uuid4().hex[:8]}"
    create_schema(PG_URL, schema)
    return make_engine(PG_URL, schema=schema), schema


def bench_backend(label: str, engine: Engine, target_p95: float) -> None:
    t0 = time.perf_counter()
    n = seed(engine)
    took = time.perf_counter() - t0
    note(f"{label}: loaded 100,000 comparisons and {n:,} judgments in {took:.0f} s")
    times = sorted(rating_loop(engine))
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    line(f"submit+next p50 ({label}, 1M judgments)", p50, "ms", "<=", target_p95)
    line(f"submit+next p95 ({label}, 1M judgments)", p95, "ms", "<=", target_p95)
    queue, naive = queue_vs_naive(engine)
    note(f"{label}: next-item median {queue:.2f} ms (queue) vs {naive:.1f} ms (naive)")
    line(f"naive next-item / queue next-item ({label})", naive / queue, "x", ">=", 10)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'rating.db'}"
        engine = make_engine(url)
        bench_backend("SQLite", engine, 15)
        engine.dispose()
        line(
            "rate page script run median (AppTest, SQLite, 1M judgments)",
            rate_page_runs(url),
            "ms",
            "<=",
            60,
        )
        dispose_engines()
    engine, schema = pg_engine()
    try:
        bench_backend("PostgreSQL", engine, 25)
    finally:
        engine.dispose()
        drop_schema(PG_URL, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
