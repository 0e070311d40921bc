"""Judge runner throughput against the local fake provider (tests/llm_server.py).

Reference: an ideal client with 64 requests always in flight at 100 ms latency stores
64 / 0.1 = 640 verdicts/s. We report stored verdicts per second (claiming, HTTP, parsing
and batched DB writes included) as a share of that, then run again with 5% of requests
answered 429 + Retry-After and count lost and duplicate verdicts.

Run from the repo root: ``.venv/bin/python bench/judge_throughput.py [--tasks N] [--pg]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from db.engine import make_engine  # noqa: E402
from db.models import JudgeTask, Judgment, metadata  # noqa: E402
from judges.runner import RunOptions, create_run, run_blocking  # noqa: E402
from tests import factory  # noqa: E402
from tests.llm_fixtures import running_llm_server  # noqa: E402

CONCURRENCY = 64
LATENCY_MS = 100
IDEAL = CONCURRENCY / (LATENCY_MS / 1000)


def line(figure: str, value: str, unit: str, op: str, target: str, ok: bool) -> None:
    value = f"{value} {unit}" if unit else value
    print(f"{figure}: {value} (target {op} {target}) {'ok' if ok else 'MISS'}", flush=True)


def prepare(engine, server, name: str, n_tasks: int) -> int:
    """A campaign with n_tasks / 2 comparisons and a judge swapping both orders."""
    campaign_id = factory.bulk_pairwise_campaign(engine, name, n_prompts=n_tasks // 2)
    with factory.session(engine) as s:
        judge = factory.judge_config(
            s, f"{name}-judge", base_url=server.openai_base, model=f"{name}-model"
        )
        s.commit()
        return create_run(s, judge.id, campaign_id).id


def measure(engine, run_id: int) -> tuple[float, int]:
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = run_blocking(engine, run_id, RunOptions(concurrency=CONCURRENCY))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    # CPU per verdict in this process (HTTP client + runner + DB writes): at 640/s a core
    # is needed for 1.56 ms, so this tells whether a MISS is the code or a busy machine.
    print(
        f"(info) client CPU {1000 * cpu / max(1, result.n_done):.2f} ms/verdict;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    return elapsed, result.n_done


def verdict_counts(engine, run_id: int) -> tuple[int, int, int]:
    """(tasks, tasks without a verdict, verdicts beyond one per task)."""
    with factory.session(engine) as s:
        tasks = s.exec(select(func.count()).where(JudgeTask.run_id == run_id)).one()
        rows = s.exec(
            select(Judgment.comparison_id, Judgment.shown_order, func.count())
            .where(Judgment.judge_run_id == run_id)
            .group_by(Judgment.comparison_id, Judgment.shown_order)
        ).all()
    lost = tasks - len(rows)
    duplicates = sum(n - 1 for _c, _o, n in rows)
    return tasks, lost, duplicates


def throughput(engine, server, label: str, n_tasks: int) -> None:
    server.reset()
    server.configure(latency_ms=LATENCY_MS)
    run_id = prepare(engine, server, f"bench-{uuid.uuid4().hex[:6]}", n_tasks)
    elapsed, done = measure(engine, run_id)
    rate = done / elapsed
    pct = 100 * rate / IDEAL
    line(
        f"verdicts/s at concurrency {CONCURRENCY}, {LATENCY_MS} ms latency ({label},"
        f" {done} verdicts)",
        f"{rate:.0f}", "/s", ">=", f"{0.9 * IDEAL:.0f}", pct >= 90,
    )  # fmt: skip
    line(
        f"judge throughput vs ideal {IDEAL:.0f}/s (c={CONCURRENCY}, {LATENCY_MS} ms, {label})",
        f"{pct:.1f}", "%", ">=", "90", pct >= 90,
    )  # fmt: skip


def with_429s(engine, server, label: str, n_tasks: int) -> None:
    server.reset()
    server.configure(latency_ms=LATENCY_MS, rate_429=0.05, retry_after="1", seed=7)
    run_id = prepare(engine, server, f"bench429-{uuid.uuid4().hex[:6]}", n_tasks)
    elapsed, done = measure(engine, run_id)
    tasks, lost, duplicates = verdict_counts(engine, run_id)
    n429 = server.stats()["by_status"].get("429", 0)
    line(f"lost verdicts with 5% 429s ({label}, {n429} 429s)", str(lost), "", "==", "0", lost == 0)
    line(f"duplicate verdicts with 5% 429s ({label})", str(duplicates), "", "==", "0",
         duplicates == 0)  # fmt: skip
    print(f"(info) with 5% 429s: {done / elapsed:.0f} verdicts/s over {tasks} tasks", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--pg", action="store_true", help="Also measure on PostgreSQL.")
    args = parser.parse_args()
    with running_llm_server() as server, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        metadata.create_all(engine)
        throughput(engine, server, "SQLite", args.tasks)
        with_429s(engine, server, "SQLite", args.tasks // 2)
        engine.dispose()
        if args.pg:
            pg_bench(server, args.tasks)


def pg_bench(server, n_tasks: int) -> None:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    dsn = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        print(f"(info) PostgreSQL not reachable, skipped: {exc}")
        return
    engine = make_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    )
    try:
        metadata.create_all(engine)
        throughput(engine, server, "PostgreSQL", n_tasks)
    finally:
        engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
