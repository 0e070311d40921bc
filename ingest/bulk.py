"""Bulk writing shared by the outputs and votes importers: id lookups in chunks,
insert-if-missing, the raw outputs insert (COPY on PostgreSQL), the comparisons insert (with
serve ranks) and a background batch writer."""

from __future__ import annotations

import errno
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from annotate import serving
from db.errors import ImportFileError
from db.models import Candidate, Output, Prompt, utcnow
from db.upsert import dialect_insert

_LOOKUP_CHUNK = 500
_NULL_JSON = "null"


def lookup_ids(
    conn: Connection, key_col: Any, id_col: Any, keys: Iterable[Any], *where: Any
) -> dict[Any, int]:
    """Map each key that exists to its id, in chunks that stay under parameter limits."""
    keys = list(keys)
    found: dict[Any, int] = {}
    for i in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[i : i + _LOOKUP_CHUNK]
        found.update(conn.execute(select(key_col, id_col).where(key_col.in_(chunk), *where)).all())
    return found


def ensure_rows(
    conn: Connection,
    model: Any,
    key: str,
    rows: Sequence[dict[str, Any]],
    *where: Any,
) -> tuple[dict[Any, int], int]:
    """Insert the rows whose ``key`` is new (ON CONFLICT DO NOTHING); return key -> id, added."""
    col = getattr(model, key)
    ids = lookup_ids(conn, col, model.id, (r[key] for r in rows), *where)
    missing = [r for r in rows if r[key] not in ids]
    if missing:
        conn.execute(dialect_insert(conn, model).on_conflict_do_nothing(), missing)
        ids.update(lookup_ids(conn, col, model.id, (r[key] for r in missing), *where))
    return ids, len(missing)


def ensure_candidates(conn: Connection, names: Sequence[str]) -> tuple[dict[str, int], int]:
    return ensure_rows(conn, Candidate, "name", [{"name": n} for n in names])


def ensure_prompts(
    conn: Connection, campaign_id: int, rows: Sequence[dict[str, Any]]
) -> tuple[dict[str, int], int]:
    """Create missing prompts of a campaign; an existing prompt is kept as it is."""
    return ensure_rows(conn, Prompt, "external_id", rows, Prompt.campaign_id == campaign_id)


def fill_placeholders(
    conn: Connection, campaign_id: int, rows: Sequence[dict[str, Any]], is_placeholder: Any
) -> int:
    """Give stored stand-in prompts (from files without the question text) the real text of
    ``rows``; prompts with real text are never changed. Returns how many were filled."""
    real = {r["external_id"]: r for r in rows if not is_placeholder(r["messages"])}
    if not real:
        return 0
    table = Prompt.__table__
    filled = 0
    keys = list(real)
    for i in range(0, len(keys), _LOOKUP_CHUNK):
        stored = conn.execute(
            select(table.c.id, table.c.external_id, table.c.messages, table.c.category).where(
                table.c.campaign_id == campaign_id,
                table.c.external_id.in_(keys[i : i + _LOOKUP_CHUNK]),
            )
        ).all()
        for pid, ext, messages, category in stored:
            if is_placeholder(messages):
                new = real[ext]
                conn.execute(
                    table.update()
                    .where(table.c.id == pid)
                    .values(messages=new["messages"], category=category or new.get("category"))
                )
                filled += 1
    return filled


class RawInsert:
    """``INSERT ... ON CONFLICT DO NOTHING`` of ready-made tuples, around SQLAlchemy.

    The outputs insert is the hot path of a million-row import. On SQLite it is the DBAPI
    cursor's ``executemany``; on PostgreSQL each batch is COPied into a temporary table and
    moved over with one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, many times faster
    than row-by-row statements. Values must be ready for the driver (JSON columns as JSON
    text). Returns the number of rows inserted.
    """

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cols = ", ".join(table.c[c].name for c in columns)
        self.pg = conn.dialect.name == "postgresql"
        if self.pg:
            self.tmp = f"import_{table.name}_batch"
            types = ", ".join(
                f"{table.c[c].name} {table.c[c].type.compile(dialect=conn.dialect)}"
                for c in columns
            )
            self.cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.tmp} ({types}) ON COMMIT DROP"
            )
            self.copy_sql = f"COPY {self.tmp} ({cols}) FROM STDIN"
            self.sql = (
                f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {self.tmp}"
                " ON CONFLICT DO NOTHING"
            )
        else:
            marks = ", ".join("?" * len(columns))
            self.sql = f"INSERT INTO {table.name} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"

    def __call__(self, rows: Sequence[tuple]) -> int:
        if not rows:
            return 0
        cur = self.cursor
        if self.pg:
            cur.execute(f"TRUNCATE {self.tmp}")
            with cur.copy(self.copy_sql) as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
            cur.execute(self.sql)
        else:
            cur.executemany(self.sql, rows)
        return max(cur.rowcount, 0)


OUTPUT_COLUMNS = (
    "prompt_id",
    "candidate_id",
    "content",
    "turns",
    "latency_ms",
    "cost_usd",
    "tokens",
    "meta",
)


def outputs_insert(conn: Connection) -> RawInsert:
    """The outputs insert both importers use; rows are tuples in ``OUTPUT_COLUMNS`` order."""
    return RawInsert(conn, Output.__table__, OUTPUT_COLUMNS)  # type: ignore[arg-type]


def insert_comparisons(
    conn: Connection, campaign_id: int, keys: Iterable[tuple[int, int, int]]
) -> int:
    """Create the comparisons ``(prompt_id, output_a_id, output_b_id)`` of a campaign that are
    missing, each with its rank in the campaign's seeded serving order; returns rows sent.
    """
    now = utcnow()
    return serving.insert_comparisons(
        conn,
        campaign_id,
        [
            {
                "prompt_id": p,
                "output_a_id": a,
                "output_b_id": b,
                "check_kind": None,
                "expected_preference": None,
                "n_done": 0,
                "created_at": now,
            }
            for p, a, b in sorted(keys)
        ],
    )


def to_json(value: Any) -> str:
    return _NULL_JSON if value is None else json.dumps(value, ensure_ascii=False)


class BatchWriter:
    """Runs a batch-writing function in one background thread, one batch behind the reader.

    Parsing and writing then overlap on two cores: sqlite3 and psycopg release the GIL while
    the database works. The database connection is only ever used by the writer thread while
    it runs; ``close()`` waits for it, and re-raises anything the writer raised.
    """

    def __init__(self, write: Callable[[Any], None]) -> None:
        self._write = write
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _DONE:
            if self._error is None:
                try:
                    self._write(item)
                except BaseException as exc:  # handed to the importing thread
                    self._error = exc

    def submit(self, item: Any) -> None:
        if self._error is not None:
            self.close()
        self._queue.put(item)

    def close(self) -> None:
        """Wait for every submitted batch to be written; re-raise a writer error."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        if self._error is not None:
            raise self._error


_DONE = object()


_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}


def rollback_for(session: Any, name: str, exc: BaseException) -> ImportFileError | None:
    """Roll an import back after ``exc``; returns the storage message to raise instead of it.

    When the database itself failed, the rollback may fail too: the storage message still
    wins over that second error.
    """
    failure = storage_error(name, exc)
    try:
        session.rollback()
    except Exception:
        if failure is None:
            raise
    return failure


def storage_error(name: str, exc: BaseException) -> ImportFileError | None:
    """The one message for an import the database could not store (issue 13, point 13).

    A database-side failure (SQLite's "disk I/O error" or "database or disk is full",
    PostgreSQL's disk full or I/O error, a lost connection: the DBAPI's OperationalError,
    raw from the bulk insert's cursor or wrapped by SQLAlchemy) or an operating-system I/O
    failure (disk full, quota, I/O error, read-only file system) becomes an ImportFileError
    naming the file and the cause. None for anything else (it is raised as it is). The
    caller rolls its transaction back, so nothing of the file is stored.
    """
    cause: BaseException = exc
    if isinstance(exc, sa_exc.OperationalError) and exc.orig is not None:
        cause = exc.orig
    database = isinstance(cause, sqlite3.OperationalError) or (
        type(cause).__module__.startswith("psycopg") and _is_operational(cause)
    )
    system = isinstance(cause, OSError) and cause.errno in _STORAGE_ERRNOS
    if not (database or system):
        return None
    reason = (cause.strerror if system and cause.strerror else str(cause)).strip()
    reason = reason.splitlines()[0] if reason else type(cause).__name__
    full = "full" in reason.lower() or (system and cause.errno in (errno.ENOSPC, errno.EDQUOT))
    if full:
        fix = "free disk space where the database lives, then import the file again"
    elif "locked" in reason.lower():
        fix = "another program held the database too long: import the file again"
    else:
        fix = "check the database's disk (or server) and import the file again"
    return ImportFileError(
        name,
        None,
        None,
        f"could not be stored: the database reported '{reason}'. Nothing from this file was"
        f" imported (the import was rolled back); {fix}.",
    )


def _is_operational(exc: BaseException) -> bool:
    return any(c.__name__ == "OperationalError" for c in type(exc).__mro__)
