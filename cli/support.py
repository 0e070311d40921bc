"""What every `judgeboard` command group shares: consoles, errors, engine, options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from db.errors import JudgeboardError
from metrics.errors import StatisticsError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# User text (names, reasons, paths, notes) is never read as Rich markup: a `[/x]` would crash
# the print, `[redacted]` would vanish and `[link=...]` would become a terminal link. Both
# consoles therefore print every str as written, table cells and titles included; a command
# that wants style builds a `rich.text.Text` (see `plain`) instead of writing markup.
err = Console(stderr=True, soft_wrap=True, markup=False)
out = Console(markup=False)


def plain(value: object) -> Text:
    """``value`` as literal text for a Rich table cell or title, whatever brackets it holds."""
    return Text("" if value is None else str(value))


def domain_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into their message on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (JudgeboardError, StatisticsError) as exc:
            err.print(Text.assemble(("Error: ", "bold red"), str(exc)), highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def engine() -> Engine:
    from db.engine import get_engine

    return get_engine()


REPORT_FORMATS = ("table", "json")

CampaignOpt = Annotated[str, typer.Option("--campaign", "-c", help="Campaign name.")]

# The endpoint options of `judge add` and `candidate add`.
ModelOpt = Annotated[str, typer.Option(help="Model name, e.g. gpt-4o-mini.")]
ProviderOpt = Annotated[str, typer.Option(help="openai (any compatible server) or anthropic.")]
BaseUrlOpt = Annotated[str | None, typer.Option(help="API base URL (default: the provider's).")]
KeyEnvOpt = Annotated[
    str | None, typer.Option(help="Environment variable holding the API key.")
]
NoKeyOpt = Annotated[bool, typer.Option("--no-key", help="The server needs no key.")]


def text_or_file(value: str | None, option: str) -> str | None:
    """An option's ``TEXT`` as given, or the content of the UTF-8 file ``@PATH``."""
    from pathlib import Path

    from db.errors import InvalidInputError

    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InvalidInputError(
            f"{option} {value}: cannot read {path} ({reason}); give the text itself, or @PATH"
            " of a readable UTF-8 file."
        ) from None


def key_env_for(provider: str, key_env: str | None, no_key: bool) -> str | None:
    """The key variable a new config reads: none with --no-key, else --key-env, else the
    provider's usual one (OPENAI_API_KEY, ANTHROPIC_API_KEY)."""
    from judges.config import DEFAULT_KEY_ENVS

    return None if no_key else (key_env or DEFAULT_KEY_ENVS.get(provider.lower()))
InconsistentOpt = Annotated[
    str,
    typer.Option(
        "--inconsistent-as",
        help="A swapped pair that disagrees (the judge names a different winner when the"
        " answers swap places) counts as: tie or unscored (no verdict).",
    ),
]


def inconsistent_choice(value: str) -> str:
    """An --inconsistent-as value; the old name 'drop' still works, as 'unscored'."""
    if value == "drop":
        err.print(
            "Note: --inconsistent-as drop is now called 'unscored' (same meaning);"
            " 'drop' will stop working in a later release."
        )
        return "unscored"
    return value


def require_format(fmt: str, allowed: tuple[str, ...]) -> None:
    from db.errors import InvalidInputError

    if fmt not in allowed:
        raise InvalidInputError(f"Format '{fmt}' is not one of {', '.join(allowed)}.")


def local_actor(engine: Engine) -> int:
    """The CLI runs with the database's credentials, so it acts as the local admin."""
    from annotate.users import ensure_local_admin

    return ensure_local_admin(engine).id


def row_progress(label: str) -> tuple[Progress, Callable[[int], None]]:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=err,
    )
    task = progress.add_task(label, total=None)

    def update(rows: int) -> None:
        progress.update(task, description=f"{label}: {rows:,} rows")

    return progress, update


def pair_outputs(
    engine: Engine,
    campaign: str,
    strategy: str,
    baseline: str | None,
    k: int | None,
    seed: int,
) -> None:
    from annotate.pairing import generate_comparisons

    campaign_id = campaign_id_of(engine, campaign)
    out.print(
        generate_comparisons(
            engine,
            campaign_id,
            strategy,
            baseline=baseline,
            k=k,
            seed=seed,
            actor_id=local_actor(engine),
        ).summary()
    )


def campaign_id_of(engine: Engine, name: str) -> int:
    from annotate.campaigns import get_campaign

    return get_campaign(engine, name).id


def parse_source(source: str) -> tuple[str, str | None]:
    kind, _, judge = source.partition(":")
    return kind, judge or None


def show_number(v, spec: str = ".3f") -> str:
    return "—" if v is None or (isinstance(v, float) and v != v) else format(v, spec)
