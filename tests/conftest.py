"""Shared fixtures: isolated databases on SQLite and PostgreSQL, the fake LLM server.

Isolation is cheap on purpose, because nearly every test asks for a database:

* SQLite: the schema is created once per process in a template file, and every test gets
  a copy of that file.
* PostgreSQL: every process (each xdist worker) creates one schema with all tables once;
  before each test, one ``TRUNCATE ... RESTART IDENTITY CASCADE`` empties it, so ids start
  at 1 as in a fresh database. ``empty_engine`` (migration tests) and
  ``database_url_factory`` still give a fresh, empty schema.

PostgreSQL is the server at ``JUDGEBOARD_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) when one answers there; otherwise the
session starts a throwaway PostgreSQL from PyPI (pgserver) in the run's temporary directory,
shared by all xdist workers and stopped when the last one finishes.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from db.engine import create_schema, drop_schema, make_engine
from db.models import metadata

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
PGSERVER_DIR = "pgserver"  # under the run's shared temporary directory


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_reachable(url: str) -> bool:
    try:
        with psycopg.connect(_dsn(url), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary directory the whole run shares (xdist workers each have a child of it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def _throwaway_pg(run_dir: Path):
    """Start (or join, from another worker) a PostgreSQL 16 from PyPI on a Unix socket."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
        import pgserver

    pgdata = run_dir / PGSERVER_DIR
    pgdata.mkdir(exist_ok=True)  # get_server's own mkdir races between workers
    # pgserver serialises start-up across processes, counts the processes using the server
    # and stops it when the last one calls cleanup().
    return pgserver.get_server(pgdata, cleanup_mode="stop")


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The PostgreSQL URL the tests use: the configured server, else a throwaway one."""
    configured = os.environ.get("JUDGEBOARD_TEST_PG_URL", DEFAULT_PG_URL)
    if _pg_reachable(configured):
        yield configured
        return
    server = _throwaway_pg(_run_dir(tmp_path_factory))
    try:
        uri = make_url(server.get_uri()).set(drivername="postgresql+psycopg", password=None)
        with psycopg.connect(_dsn(str(uri)), autocommit=True) as conn:
            # Its data is thrown away: no fsync, at commits nor at the final checkpoint.
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
        yield uri.render_as_string(hide_password=False)
    finally:
        server.cleanup()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Safety net (controller or serial run): stop a throwaway server a worker left behind."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    basetemp = getattr(factory, "_basetemp", None) if factory is not None else None
    if basetemp is None:
        return
    pid_file = Path(basetemp) / PGSERVER_DIR / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGINT)  # fast shutdown of the postmaster this run started
    except (OSError, ValueError, IndexError):
        pass


# ---- PostgreSQL: one schema per worker, emptied before each test -----------------------------

TABLES = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)


class _WorkerSchema:
    """This process's schema with every table; ``reset`` empties it for the next test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = make_engine(url)  # no search_path: every statement names the schema
        self.name = ""
        self._create()

    def _create(self) -> None:
        self.name = f"w_{_worker()}_{uuid.uuid4().hex[:8]}"
        create_schema(self.url, self.name)
        engine = make_engine(self.url, schema=self.name)
        try:
            metadata.create_all(engine)
        finally:
            engine.dispose()

    def _intact(self, conn) -> bool:
        names = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": self.name}
        ).scalars()
        return set(names) == set(metadata.tables)

    def reset(self) -> None:
        try:
            with self.admin.begin() as conn:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
                if self._intact(conn):
                    conn.exec_driver_sql(f'SET LOCAL search_path TO "{self.name}"')
                    conn.exec_driver_sql(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
                    return
        except OperationalError:  # a connection from the last test still holds a lock
            pass
        self._abandon()
        self._create()

    def _abandon(self) -> None:
        try:
            with self.admin.begin() as conn:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        except OperationalError:
            pass

    def close(self) -> None:
        self._abandon()
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_worker_schema(pg_url: str) -> Iterator[_WorkerSchema]:
    schema = _WorkerSchema(pg_url)
    yield schema
    schema.close()


# ---- SQLite: a template file with every table, copied per test ------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _sqlite_copy(template: Path, path: Path) -> str:
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


# ---- the fixtures tests use -----------------------------------------------------------------


@pytest.fixture
def database_url_factory(request, tmp_path: Path):
    """Yields a function backend -> engine on an isolated, empty database (no tables)."""
    cleanups: list[tuple[str, str]] = []

    def make(backend: str) -> Engine:
        if backend == "sqlite":
            return make_engine(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}")
        url = request.getfixturevalue("pg_url")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        create_schema(url, schema)
        cleanups.append((url, schema))
        return make_engine(url, schema=schema)

    yield make
    for url, schema in cleanups:
        drop_schema(url, schema)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_engine(backend: str, database_url_factory) -> Iterator[Engine]:
    """An isolated database with no tables, on each backend."""
    engine = database_url_factory(backend)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(backend: str, request, tmp_path: Path) -> Iterator[Engine]:
    """An isolated database with the full schema and no rows, on SQLite and on PostgreSQL."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        engine = make_engine(_sqlite_copy(template, tmp_path / f"{uuid.uuid4().hex[:8]}.db"))
    else:
        schema = request.getfixturevalue("pg_worker_schema")
        schema.reset()
        engine = make_engine(schema.url, schema=schema.name)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    engine = make_engine(_sqlite_copy(sqlite_template, tmp_path / "only.db"))
    yield engine
    engine.dispose()


@pytest.fixture
def app_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path
) -> Iterator[Engine]:
    """A fresh SQLite file that the Streamlit app's cached engine points at."""
    import streamlit as st

    from db.engine import dispose_engines

    url = _sqlite_copy(sqlite_template, tmp_path / "app.db")
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    st.cache_resource.clear()
    st.cache_data.clear()
    dispose_engines()
    engine = make_engine(url)
    yield engine
    engine.dispose()
    st.cache_resource.clear()
    st.cache_data.clear()
    dispose_engines()


@pytest.fixture(autouse=True)
def _restore_main_module() -> Iterator[None]:
    """Streamlit's AppTest leaves ``sys.modules["__main__"]`` pointing at the page it ran;
    a later ``multiprocessing`` spawn in the same process would then run that page (app.py)
    in its child. Put the real ``__main__`` back after every test."""
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's rich consoles draw 200 columns wide (no truncated table cells).

    They are created at import, and take their width from COLUMNS then if it is set (xdist
    workers have COLUMNS=80), so setting COLUMNS in a test is not enough.
    """
    from cli import support

    for console in (support.out, support.err):
        monkeypatch.setattr(console, "_width", 200)


@pytest.fixture(scope="session")
def llm():
    """One scripted OpenAI/Anthropic server on 127.0.0.1 for the whole run."""
    from tests.llm_fixtures import running_llm_server

    with running_llm_server() as srv:
        yield srv


@pytest.fixture
def server(llm):
    """The scripted LLM server with latency, faults and counters reset."""
    llm.reset()
    return llm
