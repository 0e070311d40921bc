"""One settings object, read from ``JUDGEBOARD_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE_FILE = "judgeboard.db"


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_FILE}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    admins: tuple[str, ...] = ()
    lease_seconds: int = 600
    sqlite_busy_timeout_ms: int = 30_000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        admins = tuple(
            a.strip().lower() for a in env.get("JUDGEBOARD_ADMINS", "").split(",") if a.strip()
        )
        return cls(
            database_url=env.get("JUDGEBOARD_DATABASE_URL") or _default_database_url(),
            admins=admins,
            lease_seconds=int(env.get("JUDGEBOARD_LEASE_SECONDS", "600")),
            sqlite_busy_timeout_ms=int(env.get("JUDGEBOARD_SQLITE_BUSY_TIMEOUT_MS", "30000")),
        )


def get_settings() -> Settings:
    return Settings.from_env()
