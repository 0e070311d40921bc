"""`judgeboard db`: the database schema."""

from __future__ import annotations

import typer

from cli.support import (
    domain_errors,
    out,
)

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
@domain_errors
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from db.migrate import upgrade

    upgrade()
    out.print("Database schema is up to date.")
