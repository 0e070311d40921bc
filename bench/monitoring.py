"""Benchmark: OTLP protobuf ingest through `judgeboard serve-otlp`, batches of 512 GenAI spans.

Run from the repo root: ``.venv/bin/python bench/monitoring.py``. For SQLite and for
PostgreSQL (a throwaway schema at ``JUDGEBOARD_TEST_PG_URL``), the receiver runs in its own
processes (`python -m cli.main serve-otlp --workers N`, one worker per core by default), and
this process posts pre-encoded ExportTraceServiceRequest bodies to it from a few concurrent
senders, as several exporting services would. The figure is spans stored per second of wall
time, checked against the row count afterwards. The reference, measured in the same run on
the same database kind, is a naive writer: each span decoded and mapped the same way, then
stored as one ORM object with one commit per span.

Prints ``<figure>: <value> <unit> (target <op> <value>) ok|MISS`` lines; exits 0 on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report  # noqa: E402

PG_URL = os.environ.get(
    "JUDGEBOARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BATCH = 512
SENDERS = 4
NAIVE_SPANS = 1_000
TARGETS = {"sqlite": 10_000, "postgresql": 5_000}
QUESTIONS = (
    "How do I reset my password when the confirmation email never arrives?",
    "Summarise the attached meeting notes in three bullet points for the team.",
    "Which plan includes priority support, and how much does it cost per seat?",
    "Translate 'the invoice is overdue' into German and French, politely.",
)


def _span_request(batch_no: int, n: int = BATCH):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    def kv(key: str, value) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=value))

    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend(
        [
            kv("service.name", "support-bot"),
            kv("service.version", "3.1.0"),
            kv("telemetry.sdk.language", "python"),
        ]
    )
    ss = rs.scope_spans.add()
    ss.scope.name = "opentelemetry.instrumentation.openai_v2"
    start = 1_796_000_000_000_000_000 + batch_no * 10**12
    for i in range(n):
        question = QUESTIONS[i % len(QUESTIONS)]
        answer = f"Answer {i}: " + "here is what you can do next. " * 6
        uid = batch_no * BATCH + i + 1
        span = Span(
            trace_id=uid.to_bytes(16, "big"),
            span_id=uid.to_bytes(8, "big"),
            name="chat gpt-4o-mini",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=start + i * 1_000_000,
            end_time_unix_nano=start + i * 1_000_000 + 850_000_000,
        )
        span.attributes.extend(
            [
                kv("gen_ai.operation.name", "chat"),
                kv("gen_ai.provider.name", "openai"),
                kv("gen_ai.request.model", "gpt-4o-mini"),
                kv("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                kv("gen_ai.response.id", f"chatcmpl-{uid}"),
                kv("gen_ai.usage.input_tokens", 40 + i % 50),
                kv("gen_ai.usage.output_tokens", 60 + i % 70),
                kv(
                    "gen_ai.input.messages",
                    json.dumps(
                        [
                            {"role": "system", "parts": [{"type": "text", "content": "Be kind."}]},
                            {"role": "user", "parts": [{"type": "text", "content": question}]},
                        ]
                    ),
                ),
                kv(
                    "gen_ai.output.messages",
                    json.dumps(
                        [
                            {
                                "role": "assistant",
                                "parts": [{"type": "text", "content": answer}],
                                "finish_reason": "stop",
                            }
                        ]
                    ),
                ),
            ]
        )
        ss.spans.append(span)
    return request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database(kind: str, tmp: Path) -> tuple[str, str | None]:
    """(URL for the receiver process, PostgreSQL schema to drop afterwards)."""
    from db.engine import create_schema
    from db.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        upgrade(url)
        return url, None
    schema = f"bench_otlp_{uuid.uuid4().hex[:8]}"
    create_schema(PG_URL, schema)
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    return url, schema


def _token(url: str) -> str:
    from sqlmodel import Session

    from db.engine import make_engine
    from db.models import User
    from monitor.streams import create_token

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            admin = User(handle="bench-admin@example.com", role="admin")
            s.add(admin)
            s.commit()
            admin_id = admin.id
        return create_token(engine, "bench", actor_id=admin_id).token
    finally:
        engine.dispose()


def _count(url: str) -> int:
    from sqlalchemy import text

    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM interactions")).scalar_one())
    finally:
        engine.dispose()


def receiver_rate(url: str, bodies: list[bytes], workers: int) -> float:
    """Spans stored per second through a `serve-otlp` process."""
    import httpx

    token = _token(url)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "serve-otlp",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env={**os.environ, "JUDGEBOARD_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("serve-otlp did not start") from None
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=120) as client:
            client.post("/v1/traces", content=bodies[0], headers=headers).raise_for_status()
            before = _count(url)
            start = time.perf_counter()
            with ThreadPoolExecutor(SENDERS) as pool:
                for r in pool.map(
                    lambda b: client.post("/v1/traces", content=b, headers=headers), bodies[1:]
                ):
                    r.raise_for_status()
            elapsed = time.perf_counter() - start
        stored = _count(url) - before
        expected = (len(bodies) - 1) * BATCH
        if stored != expected:
            raise SystemExit(f"stored {stored} interactions, expected {expected}")
        return stored / elapsed
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def naive_rate(url: str, body: bytes) -> float:
    """Spans per second when each is decoded, mapped and stored as one ORM row and commit."""
    from sqlmodel import Session

    from db.engine import make_engine
    from db.models import Interaction, Stream, User
    from monitor.otlp import Limits, batch_of, decode

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            owner = User(handle="naive@example.com", role="admin")
            s.add(owner)
            s.flush()
            stream = Stream(name="naive", created_by=owner.id)
            s.add(stream)
            s.commit()
            stream_id = stream.id
        start = time.perf_counter()
        request = decode(body, "application/x-protobuf", "", Limits())
        records = batch_of(request, Limits(), {}).records[:NAIVE_SPANS]
        for record in records:
            with Session(engine) as s:
                s.add(Interaction(stream_id=stream_id, **record))
                s.commit()
        return len(records) / (time.perf_counter() - start)
    finally:
        engine.dispose()


def _drop(schema: str | None) -> None:
    if schema is not None:
        from db.engine import drop_schema

        drop_schema(PG_URL, schema)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=40, help="batches of 512 spans per run")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="serve-otlp --workers"
    )
    args = parser.parse_args()
    bodies = [_span_request(b).SerializeToString() for b in range(args.batches + 1)]
    naive_body = _span_request(10_000, n=NAIVE_SPANS).SerializeToString()
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            url, schema = _database(kind, Path(tmp))
            try:
                fast = receiver_rate(url, bodies, args.workers)
                slow = naive_rate(url, naive_body)
            finally:
                _drop(schema)
            name = "PostgreSQL" if kind == "postgresql" else "SQLite"
            report(
                f"OTLP protobuf ingest into {name}, batches of {BATCH} spans",
                fast,
                " spans/s",
                ">=",
                TARGETS[kind],
                ",.0f",
            )
            report(
                f"OTLP ingest into {name} vs naive one-row-per-span ORM insert",
                fast / slow,
                "x",
                ">=",
                20,
                ".1f",
            )


if __name__ == "__main__":
    main()
