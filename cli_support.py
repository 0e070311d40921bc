"""What the `judgeboard` command and its `judge` sub-command share: consoles, errors, engine."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from db.errors import JudgeboardError

err = Console(stderr=True, soft_wrap=True)
out = Console()


def domain_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into their message on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JudgeboardError as exc:
            err.print(f"[bold red]Error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(1) from None

    return wrapper


def engine() -> Engine:
    from db.engine import get_engine

    return get_engine()
