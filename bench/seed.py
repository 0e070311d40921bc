"""Bulk-load a large synthetic campaign straight through the DBAPI (COPY on PostgreSQL).

Shared by the benchmarks that need "1M judgments stored"; the ORM would take minutes.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special
from sqlalchemy import text
from sqlalchemy.engine import Engine

from db.engine import is_sqlite
from metrics.vocabulary import judge_key, user_key

STAMP = "2026-01-01 00:00:00.000000"


@dataclass(frozen=True)
class Seeded:
    campaign_id: int
    n_comparisons: int
    n_judgments: int
    n_models: int
    rater_ids: list[int]


def bulk_load(conn: Any, table: str, columns: list[str], rows: Iterable) -> None:
    """executemany on SQLite, COPY on PostgreSQL, straight through the DBAPI."""
    raw = conn.connection.dbapi_connection
    if is_sqlite(conn.engine):
        marks = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        return
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        buf = io.StringIO()
        for row in rows:
            buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
            if buf.tell() > 1 << 22:
                cp.write(buf.getvalue())
                buf = io.StringIO()
        cp.write(buf.getvalue())


CAMPAIGN_COLUMNS = [
    "id",
    "name",
    "instructions",
    "mode",
    "preference_scale",
    "allow_both_bad",
    "overlap",
    "gold_rate",
    "attention_rate",
    "reshow_rate",
    "lease_seconds",
    "blind",
    "allow_remote_images",
    "archived",
    "created_at",
    "updated_at",
]


def load_campaign_basics(
    conn: Any, *, name: str, overlap: int, n_raters: int, n_models: int, stamp: str
) -> None:
    """Raters 1..n_raters, campaign 1 (pairwise, 3-way, blind) and candidates 1..n_models."""
    bulk_load(
        conn,
        "users",
        ["id", "handle", "role", "active", "imported", "created_at"],
        [(i, f"bench-rater-{i}", "rater", True, False, stamp) for i in range(1, n_raters + 1)],
    )
    bulk_load(
        conn,
        "campaigns",
        CAMPAIGN_COLUMNS,
        [
            (1, name, "Pick the better answer.", "pairwise", "3way", True, overlap)
            + (0.0, 0.0, 0.0, 600, True, False, False, stamp, stamp)
        ],
    )
    bulk_load(
        conn,
        "candidates",
        ["id", "name", "created_at"],
        [(m + 1, f"model-{m:02d}", stamp) for m in range(n_models)],
    )


JUDGMENT_COLUMNS = [
    "id",
    "campaign_id",
    "comparison_id",
    "rater_key",
    "rater_kind",
    "user_id",
    "judge_id",
    "shown_order",
    "preference",
    "both_bad",
    "time_on_task_ms",
    "is_reshow",
    "version",
    "is_current",
    "source",
    "created_at",
]


def load_judges(
    conn: Any,
    rng: np.random.Generator,
    *,
    p_a: np.ndarray,
    n_judges: int,
    superseded: int,
    first_id: int,
) -> int:
    """Judges 1..n_judges, each with a verdict in both shown orders on every comparison
    (``p_a`` is P(A wins) per comparison), and ``superseded`` earlier, non-current revisions
    of the first of those verdicts. Returns how many judgments were written."""
    bulk_load(
        conn,
        "judges",
        ["id", "name", "version", "content_hash", "provider", "model", "template_kind"]
        + ["template", "swap_policy", "inconsistent_as", "imported", "created_at"],
        [
            (j, f"bench-judge-{j}", 1, f"bench-{j}", "openai", f"judge-model-{j}", "pairwise")
            + ("", "both", "tie", False, STAMP)
            for j in range(1, n_judges + 1)
        ],
    )
    n_comp = len(p_a)
    judge = np.repeat(np.arange(1, n_judges + 1), 2 * n_comp)
    comp = np.tile(np.arange(n_comp), 2 * n_judges)
    order = np.tile(np.repeat(np.array(["ab", "ba"]), n_comp), n_judges)
    first = np.where(order == "ab", -1, 1)
    u = rng.random(len(comp))
    pref = np.where(u < 0.15, 0, np.where(u < 0.15 + 0.85 * p_a[comp], -1, 1))
    pref = np.where(rng.random(len(comp)) < 0.1, first, pref)
    old = min(superseded, len(comp))
    old_pref = -pref[:old]
    rows = [(int(judge[i]), int(comp[i]), str(order[i]), int(pref[i]), 2, True)
            for i in range(len(comp))]  # fmt: skip
    rows += [(int(judge[i]), int(comp[i]), str(order[i]), int(old_pref[i]), 1, False)
             for i in range(old)]  # fmt: skip
    bulk_load(
        conn,
        "judgments",
        JUDGMENT_COLUMNS,
        (
            (first_id + n, 1, c + 1, judge_key(j), "llm", None, j, o, p, False, None, False)
            + (version, current, "judge", STAMP)
            for n, (j, c, o, p, version, current) in enumerate(rows)
        ),
    )
    return len(rows)


def seed_campaign(
    engine: Engine,
    *,
    n_prompts: int = 2_000,
    n_models: int = 50,
    comparisons_per_prompt: int = 50,
    judgments_per_comparison: int = 10,
    n_raters: int = 10,
    seed: int = 0,
    name: str = "bench",
    max_comparisons: int | None = None,
    n_judges: int = 0,
    superseded_judge_rows: int = 0,
) -> Seeded:
    """A campaign with prompts x models outputs, random pairs and BT-distributed votes.

    ``judgments_per_comparison`` human votes per comparison (at most ``max_comparisons``
    comparisons); then ``n_judges`` LLM judges each give a verdict in both shown orders on every
    comparison (same strengths, a pull towards the answer shown first), plus
    ``superseded_judge_rows`` earlier revisions of judge verdicts (``is_current`` false) that
    every report must skip. Ids are assigned here (the database must be empty) and sequences
    are moved past them.
    """
    rng = np.random.default_rng(seed)
    strength = np.sort(rng.normal(0, 0.6, n_models))
    n_comp = n_prompts * comparisons_per_prompt
    with engine.begin() as conn:
        load_campaign_basics(
            conn,
            name=name,
            overlap=judgments_per_comparison,
            n_raters=n_raters,
            n_models=n_models,
            stamp=STAMP,
        )
        bulk_load(
            conn,
            "prompts",
            ["id", "campaign_id", "external_id", "messages", "category", "split"],
            [
                (
                    p + 1,
                    1,
                    f"p{p}",
                    json.dumps([{"role": "user", "content": f"Question {p}"}]),
                    ("writing", "coding", "reasoning", "safety")[p % 4],
                    "test",
                )
                for p in range(n_prompts)
            ],
        )
        bulk_load(
            conn,
            "outputs",
            ["id", "prompt_id", "candidate_id", "content"],
            [
                (p * n_models + m + 1, p + 1, m + 1, f"Answer {p} by model {m}. " * (1 + m % 5))
                for p in range(n_prompts)
                for m in range(n_models)
            ],
        )
        a = rng.integers(0, n_models, n_comp)
        b = (a + rng.integers(1, n_models, n_comp)) % n_models
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        prompt = np.repeat(np.arange(n_prompts), comparisons_per_prompt)
        # one comparison per (prompt, pair): drop repeats within a prompt
        key = prompt * n_models * n_models + lo * n_models + hi
        _, first = np.unique(key, return_index=True)
        first.sort()
        first = first[:max_comparisons]
        prompt, lo, hi = prompt[first], lo[first], hi[first]
        n_comp = len(first)
        out_lo = prompt * n_models + lo + 1
        out_hi = prompt * n_models + hi + 1
        bulk_load(
            conn,
            "comparisons",
            [
                "id",
                "campaign_id",
                "prompt_id",
                "output_a_id",
                "output_b_id",
                "n_done",
                "serve_rank",
                "created_at",
            ],
            [
                (
                    c + 1,
                    1,
                    int(prompt[c]) + 1,
                    int(out_lo[c]),
                    int(out_hi[c]),
                    judgments_per_comparison,
                    c + 1,
                    STAMP,
                )
                for c in range(n_comp)
            ],
        )
        k = judgments_per_comparison
        comp = np.repeat(np.arange(n_comp), k)
        rater = np.tile(np.arange(k) % n_raters, n_comp) + 1
        p_a = special.expit(strength[lo[comp]] - strength[hi[comp]])
        u = rng.random(len(comp))
        pref = np.where(u < 0.2, 0, np.where(u < 0.2 + 0.8 * p_a, -1, 1))
        order = np.where(rng.random(len(comp)) < 0.5, "ab", "ba")
        bulk_load(
            conn,
            "judgments",
            JUDGMENT_COLUMNS,
            (
                (
                    i + 1,
                    1,
                    int(comp[i]) + 1,
                    user_key(int(rater[i])),
                    "human",
                    int(rater[i]),
                    None,
                    order[i],
                    int(pref[i]),
                    False,
                    5000,
                    False,
                    1,
                    True,
                    "app",
                    STAMP,
                )
                for i in range(len(comp))
            ),
        )
        n_judged = 0
        if n_judges:
            n_judged = load_judges(
                conn,
                rng,
                p_a=special.expit(strength[lo] - strength[hi]),
                n_judges=n_judges,
                superseded=superseded_judge_rows,
                first_id=len(comp) + 1,
            )
        if not is_sqlite(engine):
            for table in (
                "users",
                "campaigns",
                "candidates",
                "prompts",
                "outputs",
                "comparisons",
                "judges",
                "judgments",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
                )
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    return Seeded(1, n_comp, n_comp * k + n_judged, n_models, list(range(1, n_raters + 1)))


PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def temporary_database(backend: str, workdir: Path) -> Iterator[Engine]:
    """A fresh, empty-schema database: a SQLite file, or a PostgreSQL schema dropped after."""
    from db.engine import create_schema, drop_schema, make_engine
    from db.models import metadata

    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        engine = make_engine(f"sqlite:///{path}")
        metadata.create_all(engine)
        try:
            yield engine
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    url = os.environ.get("JUDGEBOARD_TEST_PG_URL", PG_URL)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    create_schema(url, schema)
    engine = make_engine(url, schema=schema)
    try:
        metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        drop_schema(url, schema)
