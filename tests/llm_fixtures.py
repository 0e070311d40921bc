"""Start and drive the fake provider (tests/llm_server.py) from tests and the benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


class LLMServer:
    """A running fake provider in its own process."""

    def __init__(self, proc: subprocess.Popen, port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._http = httpx.Client(base_url=self.url, timeout=10)

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base(self) -> str:
        return self.url

    def configure(self, **config: Any) -> None:
        self._http.post("/_control/config", json=config).raise_for_status()

    def reset(self) -> None:
        self._http.post("/_control/reset").raise_for_status()

    def stats(self) -> dict[str, Any]:
        return self._http.get("/_control/stats").raise_for_status().json()

    def requests(self) -> int:
        return int(self.stats()["requests"])

    def duplicate_bodies(self) -> int:
        """Request bodies seen more than once (a repeated call for the same task)."""
        return sum(1 for n in self.stats()["by_body"].values() if n > 1)

    def stop(self) -> None:
        self._http.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def running_llm_server() -> Iterator[LLMServer]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_server", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("LISTENING "):
        proc.kill()
        raise RuntimeError(f"fake LLM server did not start: {line!r}")
    server = LLMServer(proc, int(line.split()[1]))
    try:
        yield server
    finally:
        server.stop()
