"""Engine factory: SQLite (WAL, busy_timeout, foreign keys) or PostgreSQL via psycopg."""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from db.settings import get_settings

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _sqlite_pragmas(busy_timeout_ms: int):
    def on_connect(dbapi_connection, _record) -> None:
        # pysqlite's own transaction handling would defer BEGIN; we emit BEGIN ourselves
        # (see on_begin) so that writers can take the lock up front with BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return on_connect


def make_engine(url: str | None = None, *, echo: bool = False, schema: str | None = None) -> Engine:
    """Create a new engine for ``url`` (default: settings' database URL).

    ``schema`` (PostgreSQL only) puts every connection's search_path on that schema, which
    is how tests and benchmarks get an isolated database inside one server database.
    """
    settings = get_settings()
    url = url or settings.database_url
    if is_sqlite(url):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout_ms))

        @event.listens_for(engine, "begin")
        def on_begin(conn) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if schema is not None:

        @event.listens_for(engine, "connect")
        def set_search_path(dbapi_connection, _record) -> None:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            dbapi_connection.execute(f'SET search_path TO "{schema}"')
            dbapi_connection.autocommit = autocommit

    return engine


def create_schema(url: str, schema: str) -> None:
    """Create a PostgreSQL schema (for an isolated test or benchmark database)."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    finally:
        admin.dispose()


def drop_schema(url: str, schema: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        admin.dispose()


def get_engine(url: str | None = None) -> Engine:
    """A process-wide engine per URL, created on first use."""
    key = url or get_settings().database_url
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = make_engine(key)
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session(engine: Engine | None = None) -> Session:
    """A session that keeps loaded attributes after commit (safe to hand to pages)."""
    return Session(engine or get_engine(), expire_on_commit=False)


def write_session(engine: Engine | None = None) -> Session:
    """A session whose transaction takes SQLite's write lock up front (BEGIN IMMEDIATE).

    Use it for every transaction that reads and then writes. A DEFERRED transaction that
    read first cannot upgrade to a writer once another connection has committed since its
    read began: SQLite answers "database is locked" at once, without waiting in the busy
    handler. BEGIN IMMEDIATE waits (up to ``busy_timeout``) for the lock instead, so admin
    writes succeed while raters rate. On PostgreSQL this is an ordinary session; use row
    locks (FOR UPDATE) or the unique constraints there.
    """
    engine = engine or get_engine()
    if is_sqlite(engine):
        engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    return Session(engine, expire_on_commit=False)
