"""`judgeboard demo`: the bundled demo campaign."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.support import (
    domain_errors,
    out,
)
from cli.support import engine as _engine


@domain_errors
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only load into an empty database.")
    ] = False,
) -> None:
    """Load the bundled demo campaign."""
    from ingest.demo import database_is_empty, load_demo

    engine = _engine()
    if if_empty and not database_is_empty(engine):
        out.print("Database already has campaigns; demo not loaded.")
        return
    out.print(load_demo(engine).summary())
