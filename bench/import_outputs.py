"""Benchmark: import 1M output rows (20,000 prompts x 50 candidates) into SQLite and PostgreSQL.

Run from the repo root: ``.venv/bin/python bench/import_outputs.py``. Each import runs in its
own child process, which reports its wall time and its peak RSS (plus the peak of the
parsing process it spawns for big files), so the memory figure is the import's and nothing
else. The reference is a naive importer that adds one
ORM object per row (looking up the prompt and candidate per row) and commits at the end,
timed on a 20,000-row slice against the real importer on the same slice.

Prints ``<figure>: <value> <unit> (target <op> <value>) ok|MISS`` lines; exits 0 on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get(
    "JUDGEBOARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
N_PROMPTS, N_MODELS = 20_000, 50
SLICE_ROWS = 20_000

_CORPUS = (
    "the model should explain why a function returns none when the input list is empty and "
    "how to fix it with a guard clause first check the length then return early otherwise "
    "iterate over items and accumulate results into a dictionary keyed by name this keeps "
    "lookups fast while memory stays small for large inputs consider edge cases such as "
    "duplicates unicode strings and very long lines"
)
_WORDS = _CORPUS.split()


def _text(rng: random.Random, lo: int, hi: int) -> str:
    target = rng.randint(lo, hi)
    words: list[str] = []
    size = 0
    while size < target:
        w = rng.choice(_WORDS)
        words.append(w)
        size += len(w) + 1
    return " ".join(words).capitalize() + "."


def generate(path: Path, n_prompts: int = N_PROMPTS, n_models: int = N_MODELS) -> int:
    rng = random.Random(7)
    models = [f"model-{i:02d}" for i in range(n_models)]
    categories = ("coding", "writing", "math", "reasoning", "extraction")
    rows = 0
    with path.open("w", encoding="utf-8") as f:
        for i in range(n_prompts):
            prompt = _text(rng, 120, 300)
            category = categories[i % len(categories)]
            for m in models:
                f.write(
                    json.dumps(
                        {
                            "prompt_id": f"q{i:05d}",
                            "prompt": prompt,
                            "model": m,
                            "output": _text(rng, 200, 400),
                            "category": category,
                            "latency_ms": round(rng.uniform(200, 4000), 1),
                            "tokens": rng.randint(40, 120),
                        }
                    )
                    + "\n"
                )
                rows += 1
    return rows


def _pg_dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _engine(target: str):
    """A fresh database with the schema: a SQLite file path, or 'pg:<schema>'."""

    from db.engine import make_engine
    from db.models import metadata

    if target.startswith("pg:"):
        engine = make_engine(PG_URL, schema=target[3:])
    else:
        engine = make_engine(f"sqlite:///{target}")
    metadata.create_all(engine)
    return engine


def naive_import(engine, path: Path, campaign: str) -> int:
    """The reference: one ORM object per row, lookups per row, one commit at the end."""
    from sqlmodel import Session, select

    from annotate.campaigns import _get_or_create_campaign
    from db.models import Candidate, Output, Prompt

    rows = 0
    with Session(engine) as s:
        camp = _get_or_create_campaign(s, campaign)
        with path.open(encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                ext = str(r["prompt_id"])
                p = s.exec(
                    select(Prompt).where(Prompt.campaign_id == camp.id, Prompt.external_id == ext)
                ).first()
                if p is None:
                    p = Prompt(
                        campaign_id=camp.id,
                        external_id=ext,
                        messages=[{"role": "user", "content": r["prompt"]}],
                        category=r.get("category"),
                    )
                    s.add(p)
                    s.flush()
                c = s.exec(select(Candidate).where(Candidate.name == r["model"])).first()
                if c is None:
                    c = Candidate(name=r["model"])
                    s.add(c)
                    s.flush()
                s.add(
                    Output(
                        prompt_id=p.id,
                        candidate_id=c.id,
                        content=r["output"],
                        latency_ms=r.get("latency_ms"),
                        tokens=r.get("tokens"),
                    )
                )
                rows += 1
        s.commit()
    return rows


def child(mode: str, target: str, path: str) -> None:
    """Run one import in this process; print rows, seconds and the import's peak RSS."""
    from annotate.users import ensure_local_admin
    from ingest.outputs import import_outputs

    engine = _engine(target)
    actor_id = ensure_local_admin(engine).id
    started, cpu = time.perf_counter(), time.process_time()
    if mode == "fast":
        rows = import_outputs(engine, Path(path), "bench", actor_id=actor_id).outputs_added
    else:
        rows = naive_import(engine, Path(path), "bench")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    # Big files are parsed in a second (spawned) process: count its peak too, summed with
    # ours, which can only overstate the memory the import needed.
    peak_kb = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "cpu": cpu,
                "peak_mb": peak_kb / 1024,
                "load": os.getloadavg()[0],
            }
        )
    )


def run_child(mode: str, target: str, path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, target, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} import into {target} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pg_reachable() -> bool:
    import psycopg

    try:
        with psycopg.connect(_pg_dsn(), connect_timeout=3):
            return True
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable at {PG_URL} ({exc}): skipping its figures")
        return False


def _pg_schema() -> str:
    from db.engine import create_schema

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    create_schema(PG_URL, schema)
    return schema


def _drop_pg_schema(schema: str) -> None:
    from db.engine import drop_schema

    drop_schema(PG_URL, schema)


def line(figure: str, value: float, unit: str, op: str, target: float, fmt: str = ",.0f") -> None:
    ok = value >= target if op == ">=" else value <= target
    print(
        f"{figure}: {value:{fmt}} {unit} (target {op} {target:g}) {'ok' if ok else 'MISS'}",
        flush=True,
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="judgeboard-bench-") as tmp:
        tmpdir = Path(tmp)
        data = tmpdir / "outputs.jsonl"
        started = time.perf_counter()
        n_rows = generate(data)
        size_mb = data.stat().st_size / 1e6
        print(
            f"generated {n_rows:,} rows ({size_mb:,.0f} MB)"
            f" in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        slice_path = tmpdir / "slice.jsonl"
        with data.open("rb") as src, slice_path.open("wb") as dst:
            for i, raw in enumerate(src):
                if i >= SLICE_ROWS:
                    break
                dst.write(raw)

        targets = [("SQLite", "sqlite")]
        if _pg_reachable():
            targets.append(("PostgreSQL", "pg"))
        schemas: list[str] = []
        try:
            for label, kind in targets:

                def fresh(kind: str = kind) -> str:
                    if kind == "sqlite":
                        return str(tmpdir / f"{uuid.uuid4().hex[:8]}.db")
                    s = _pg_schema()
                    schemas.append(s)
                    return f"pg:{s}"

                full = run_child("fast", fresh(), data)
                rate = full["rows"] / full["seconds"]
                line(
                    f"import 1M outputs into {label}",
                    rate,
                    "rows/s",
                    ">=",
                    50_000 if kind == "sqlite" else 0,
                )
                line(f"import 1M outputs into {label}, peak RSS", full["peak_mb"], "MB", "<=", 1024)
                print(
                    f"  ({label} 1M import: {full['seconds']:.1f} s wall, {full['cpu']:.1f} s CPU"
                    f" in the importing process = {full['rows'] / full['cpu']:,.0f} rows per"
                    f" CPU-second; load average {full['load']:.1f} on {os.cpu_count()} cores)",
                    flush=True,
                )
                fast = run_child("fast", fresh(), slice_path)
                naive = run_child("naive", fresh(), slice_path)
                fast_rate = fast["rows"] / fast["seconds"]
                naive_rate = naive["rows"] / naive["seconds"]
                print(
                    f"  ({label} 20k-row slice: importer {fast_rate:,.0f} rows/s,"
                    f" naive ORM {naive_rate:,.0f} rows/s)",
                    flush=True,
                )
                line(
                    f"speedup vs naive ORM insert ({label}, 20k-row slice)",
                    fast_rate / naive_rate,
                    "x",
                    ">=",
                    1,
                    ".1f",
                )
        finally:
            for s in schemas:
                _drop_pg_schema(s)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("MODE", "TARGET", "PATH"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
    else:
        main()
