"""Issue 16, point 2: a real client's spans arrive through `judgeboard serve-otlp`.

The official openai client, instrumented by opentelemetry-instrumentation-openai-v2 and
exporting with the official OTLP/HTTP exporters (spans, and the GenAI event as a log record),
calls the scripted LLM server, with messages captured in span attributes and event
(SPAN_AND_EVENT) or in the event alone (EVENT_ONLY); the receiver
runs as `python -m cli.main serve-otlp` on a free port with its own SQLite file. Both the
receiver and the client are subprocesses, so the global tracer provider never leaks into
other tests and the test runs alongside others.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from db.engine import make_engine
from db.migrate import upgrade
from db.models import Interaction
from monitor.streams import create_token
from tests import factory

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("otel_client.py")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, str, object]]:
    url = f"sqlite:///{tmp_path / 'otlp.db'}"
    upgrade(url)
    engine = make_engine(url)
    token = create_token(engine, "support", actor_id=factory.admin_id(engine)).token
    port = _free_port()
    env = {**os.environ, "JUDGEBOARD_DATABASE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve-otlp", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"serve-otlp did not start: {output}")
            time.sleep(0.1)
        yield base, token, engine
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        engine.dispose()


@pytest.mark.parametrize("capture", ["SPAN_AND_EVENT", "EVENT_ONLY"])
def test_openai_client_spans_arrive_as_an_interaction(receiver, server, capture) -> None:
    base, token, engine = receiver
    server.configure(latency_ms=30, script=[{"reply": "Paris is the capital of France."}])
    prompt = "What is the capital of France?"
    run = subprocess.run(
        [sys.executable, str(CLIENT), base, token, server.openai_base, prompt, capture],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    sent = json.loads(run.stdout.strip().splitlines()[-1])
    assert sent["exported"] is True
    assert sent["span_has_messages"] is (capture == "SPAN_AND_EVENT")

    with Session(engine) as s:
        [row] = s.exec(select(Interaction)).all()
    assert (row.trace_id, row.span_id) == (sent["trace_id"], sent["span_id"])
    assert row.operation == "chat"
    assert row.model == "gpt-4o-mini" and row.response_model == "gpt-4o-mini"
    assert (row.input_tokens, row.output_tokens) == (sent["input_tokens"], sent["output_tokens"])
    assert row.latency_ms == pytest.approx(sent["duration_ms"], abs=0.01)
    assert row.messages == [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": prompt},
    ]
    assert row.output == sent["reply"] == "Paris is the capital of France."
    assert row.response_id == "chatcmpl-fake"
    assert row.version_tags == {"service.name": "support-bot", "service.version": "3.1.0"}
    assert row.cost_usd is not None and row.cost_usd > 0
