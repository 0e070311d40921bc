"""Dialect-aware INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert


def dialect_insert(conn: Connection, table: Table | Any) -> Insert:
    """An INSERT that supports ``on_conflict_do_nothing`` on the connection's backend."""
    table = getattr(table, "__table__", table)
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table | Any, rows: list[dict[str, Any]]) -> int:
    """Insert rows, silently skipping those that hit a unique constraint; returns rows sent."""
    if not rows:
        return 0
    conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(), rows)
    return len(rows)
