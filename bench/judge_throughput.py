"""Judge runner throughput against the local fake provider (tests/llm_server.py).

Reference: an ideal client that always keeps 64 requests in flight at 1 s latency stores
64 verdicts/s. The runner uses ``httpx.AsyncClient`` on the httpx-aiohttp transport; we
report stored verdicts per second (claiming, HTTP, parsing and batched DB writes included)
as a share of that, the client's CPU per verdict (process CPU time / verdicts), then lost
and duplicate verdicts with 5% of requests answered 429 + Retry-After, and finally two
worker processes sharing one run on PostgreSQL against one, at concurrency 256 and 1 s
latency (ideal ratio 2).

Run from the repo root: ``PYTHONPATH=. .venv/bin/python bench/judge_throughput.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from db.engine import make_engine  # noqa: E402
from db.models import JudgeRun, JudgeTask, Judgment, metadata  # noqa: E402
from judges.runs import RunOptions, create_run  # noqa: E402
from judges.worker import run_blocking  # noqa: E402
from tests import factory  # noqa: E402
from tests.llm_fixtures import ROOT, running_llm_server  # noqa: E402

CONCURRENCY = 64
LATENCY_MS = 1000
IDEAL = CONCURRENCY / (LATENCY_MS / 1000)
PG_CONCURRENCY = 256
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


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
        judge_id = judge.id
    return create_run(engine, judge_id, campaign_id, actor_id=factory.admin_id(engine)).id


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


def throughput(engine, server, n_tasks: int) -> None:
    server.reset()
    server.configure(latency_ms=LATENCY_MS)
    run_id = prepare(engine, server, f"bench-{uuid.uuid4().hex[:6]}", n_tasks)
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = run_blocking(engine, run_id, RunOptions(concurrency=CONCURRENCY))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    done = result.n_done
    pct = 100 * done / elapsed / IDEAL
    line(
        f"judge throughput at concurrency {CONCURRENCY}, 1 s latency",
        f"{pct:.1f}", "% of ideal", ">=", "90", pct >= 90,
    )  # fmt: skip
    ms = 1000 * cpu / max(1, done)
    line(
        f"client CPU per verdict (httpx-aiohttp, SQLite, {done} verdicts)",
        f"{ms:.2f}", "ms", "<=", "3", ms <= 3,
    )  # fmt: skip
    print(
        f"(info) {done / elapsed:.1f} verdicts/s against an ideal {IDEAL:.0f}/s;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )


def with_429s(engine, server, n_tasks: int) -> None:
    server.reset()
    server.configure(latency_ms=LATENCY_MS, rate_429=0.05, retry_after="1", seed=7)
    run_id = prepare(engine, server, f"bench429-{uuid.uuid4().hex[:6]}", n_tasks)
    run_blocking(engine, run_id, RunOptions(concurrency=CONCURRENCY))
    _tasks, lost, duplicates = verdict_counts(engine, run_id)
    n429 = server.stats()["by_status"].get("429", 0)
    line(f"lost verdicts with 5% 429s ({n429} 429s)", str(lost), "", "==", "0", lost == 0)
    line("duplicate verdicts with 5% 429s", str(duplicates), "", "==", "0", duplicates == 0)


def worker_rate(engine, url: str, server, n_workers: int, n_tasks: int) -> float:
    """Verdicts/s of ``n_workers`` ``judgeboard judge work`` processes sharing one run.

    Timed from the run's start (the first worker's first claim) to its last stored verdict,
    so interpreter start-up is not counted.
    """
    server.reset()
    server.configure(latency_ms=LATENCY_MS)
    run_id = prepare(engine, server, f"benchpg{n_workers}-{uuid.uuid4().hex[:6]}", n_tasks)
    env = {**os.environ, "JUDGEBOARD_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cli.judge", "work", str(run_id), "--quiet",
           "--concurrency", str(PG_CONCURRENCY)]  # fmt: skip
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        for _ in range(n_workers)
    ]
    for p in procs:
        p.wait(timeout=300)
    with factory.session(engine) as s:
        started = s.get(JudgeRun, run_id).started_at
        last, n = s.exec(
            select(func.max(Judgment.created_at), func.count()).where(
                Judgment.judge_run_id == run_id
            )
        ).one()
    return n / max(1e-9, (last - started).total_seconds())


def pg_workers(server, n_tasks: int) -> None:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        print(f"(info) PostgreSQL not reachable, two-worker figure skipped: {exc}")
        return
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
        one = worker_rate(engine, url, server, 1, n_tasks)
        two = worker_rate(engine, url, server, 2, n_tasks)
        ratio = two / one
        line(
            f"two worker processes vs one on PostgreSQL (concurrency {PG_CONCURRENCY},"
            " 1 s latency)",
            f"{ratio:.2f}", "x", ">=", "1.8", ratio >= 1.8,
        )  # fmt: skip
        print(
            f"(info) one worker {one:.0f} verdicts/s, two {two:.0f} verdicts/s"
            f" (ideal {PG_CONCURRENCY}/s per worker); load average"
            f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            flush=True,
        )
    finally:
        engine.dispose()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=640, help="Tasks in the SQLite run.")
    parser.add_argument(
        "--pg-tasks",
        type=int,
        default=16 * PG_CONCURRENCY,
        help="Tasks per PostgreSQL run: eight claim batches (2 x concurrency each), so two"
        " workers split it evenly and start-up and the last flush do not dominate.",
    )
    parser.add_argument("--no-pg", action="store_true", help="Skip the two-worker figure.")
    args = parser.parse_args()
    with running_llm_server() as server, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        metadata.create_all(engine)
        throughput(engine, server, args.tasks)
        with_429s(engine, server, args.tasks // 2)
        engine.dispose()
        if not args.no_pg:
            pg_workers(server, args.pg_tasks)


if __name__ == "__main__":
    main()
