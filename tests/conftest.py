from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from db.engine import create_schema, drop_schema, make_engine
from db.models import metadata

PG_URL = os.environ.get(
    "JUDGEBOARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def _pg_dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(_pg_dsn(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _start_pg() -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    for version in versions:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            check=False,
        )


@pytest.fixture(scope="session")
def pg_available() -> bool:
    if _pg_reachable():
        return True
    _start_pg()
    if _pg_reachable():
        return True
    message = (
        f"PostgreSQL is not reachable at {PG_URL}: start it (pg_ctlcluster"
        " --skip-systemctl-redirect $(ls /etc/postgresql) main start) or point"
        " JUDGEBOARD_TEST_PG_URL at one"
    )
    if os.environ.get("JUDGEBOARD_SKIP_PG") and not os.environ.get("CI"):
        pytest.skip(message)
    pytest.fail(message)
    return False


@pytest.fixture
def database_url_factory(request, tmp_path: Path):
    """Yields a function backend -> (url, engine) for an isolated, empty database."""
    cleanups: list = []

    def make(backend: str) -> Engine:
        if backend == "sqlite":
            return make_engine(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}")
        request.getfixturevalue("pg_available")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        create_schema(PG_URL, schema)
        cleanups.append(schema)
        return make_engine(PG_URL, schema=schema)

    yield make
    for schema in cleanups:
        drop_schema(PG_URL, schema)


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
def engine(empty_engine: Engine) -> Engine:
    """An isolated database with the full schema, on SQLite and on PostgreSQL."""
    metadata.create_all(empty_engine)
    return empty_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'only.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh SQLite file that the Streamlit app's cached engine points at."""
    import streamlit as st

    from db.engine import dispose_engines

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    st.cache_resource.clear()
    st.cache_data.clear()
    dispose_engines()
    engine = make_engine(url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    st.cache_resource.clear()
    st.cache_data.clear()
    dispose_engines()


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
