"""An import killed with SIGKILL leaves no process behind (issue 13, point 16).

Big files are parsed in a spawned process that sends batches down a queue; when the importing
process dies, nobody reads that queue, and the parser blocked on it forever (with the
resource tracker it keeps alive). The parser now exits when its parent dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests import factory

ROOT = Path(__file__).resolve().parents[2]

IMPORT_SCRIPT = """
import sys
from pathlib import Path

import ingest.outputs as outputs
from db.engine import make_engine
from db.models import metadata
from tests import factory

outputs.PARALLEL_MIN_BYTES = 0  # parse this (small) file in the spawned parser, as a big one
engine = make_engine(f"sqlite:///{sys.argv[1]}")
metadata.create_all(engine)
outputs.import_outputs(engine, Path(sys.argv[2]), "big", actor_id=factory.admin_id(engine))
"""


def _big_outputs_file(path: Path) -> Path:
    """Far more than the queue and its pipe hold (a few MB): the parser blocks on a dead
    reader unless it notices that the importing process died."""
    rows = factory.output_rows(4000, ("m1", "m2"))
    for row in rows:
        row["output"] = row["output"] + " and more" * 80
    return factory.write_jsonl(path, rows)


def _spawned_children(proc: subprocess.Popen, deadline_s: float) -> list[psutil.Process]:
    """The importing process's children once the parser exists (resource tracker included)."""
    parent = psutil.Process(proc.pid)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and proc.poll() is None:
        children = parent.children(recursive=True)
        if any("spawn_main" in " ".join(_cmdline(c)) for c in children):
            return children
        time.sleep(0.05)
    raise AssertionError("the import never started its parser process")


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def test_the_parser_process_exits_when_its_import_is_killed(tmp_path: Path) -> None:
    source = _big_outputs_file(tmp_path / "big.jsonl")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", IMPORT_SCRIPT, str(tmp_path / "db.sqlite"), str(source)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[psutil.Process] = []
    try:
        children = _spawned_children(proc, deadline_s=8)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _, alive = psutil.wait_procs(children, timeout=8)
        assert [_cmdline(p) for p in alive] == []
    finally:
        proc.kill()
        proc.wait()
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
