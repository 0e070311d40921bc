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


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a process from /proc, or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    return int(ppid), state


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _descendants(root: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[0]
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == pid]
        found += kids
        frontier += kids
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[1] not in ("Z", "X")


def _spawned_children(proc: subprocess.Popen, deadline_s: float) -> list[int]:
    """The importing process's children once the parser exists (resource tracker included)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and proc.poll() is None:
        children = _descendants(proc.pid)
        if any("spawn_main" in _cmdline(pid) for pid in children):
            return children
        time.sleep(0.05)
    raise AssertionError("the import never started its parser process")


def _wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    """The pids still alive after waiting up to ``timeout_s`` for all of them to exit."""
    end = time.monotonic() + timeout_s
    while (alive := [pid for pid in pids if _alive(pid)]) and time.monotonic() < end:
        time.sleep(0.1)
    return alive


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
    children: list[int] = []
    try:
        children = _spawned_children(proc, deadline_s=20)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert [_cmdline(pid) for pid in _wait_gone(children, timeout_s=20)] == []
    finally:
        proc.kill()
        proc.wait()
        for pid in children:
            if _alive(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
