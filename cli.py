"""``judgeboard``: the same domain calls as the app, without Streamlit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from db.errors import JudgeboardError

app = typer.Typer(help="Judge LLM outputs with humans and LLM judges.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import outputs or votes.", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(campaign_app, name="campaign")

err = Console(stderr=True)
out = Console()

CampaignOpt = Annotated[str, typer.Option("--campaign", "-c", help="Campaign name.")]


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


def _engine():
    from db.engine import get_engine

    return get_engine()


def _row_progress(label: str) -> tuple[Progress, Callable[[int], None]]:
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
    )
    task = progress.add_task(label, total=None)

    def update(rows: int) -> None:
        progress.update(task, description=f"{label}: {rows:,} rows")

    return progress, update


@db_app.command("upgrade")
@domain_errors
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from db.migrate import upgrade

    upgrade()
    out.print("Database schema is up to date.")


@import_app.command("outputs")
@domain_errors
def import_outputs_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    campaign: CampaignOpt,
    pair: Annotated[
        str | None,
        typer.Option(help="Then pair outputs: all_pairs, baseline or random_k."),
    ] = None,
    baseline: Annotated[str | None, typer.Option(help="Baseline for --pair baseline.")] = None,
    k: Annotated[int | None, typer.Option(help="Pairs per prompt for --pair random_k.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --pair random_k.")] = 0,
) -> None:
    """Import model outputs (JSONL, CSV, Parquet, AlpacaEval JSON, MT-Bench JSONL)."""
    from annotate.importers import import_outputs

    engine = _engine()
    progress, update = _row_progress(f"Importing {file.name}")
    with progress:
        result = import_outputs(engine, file, campaign, progress=update)
    out.print(result.summary())
    if pair:
        _pair(engine, campaign, pair, baseline, k, seed)


@import_app.command("votes")
@domain_errors
def import_votes_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    campaign: CampaignOpt,
) -> None:
    """Import votes (Chatbot Arena / MT-Bench judgment JSONL) as judgments."""
    from annotate.importers import import_votes

    progress, update = _row_progress(f"Importing {file.name}")
    with progress:
        result = import_votes(_engine(), file, campaign, progress=update)
    out.print(result.summary())


def _pair(engine, campaign: str, strategy: str, baseline, k, seed) -> None:
    from annotate.campaigns import get_campaign
    from annotate.pairing import generate_comparisons

    with Session(engine) as s:
        campaign_id = get_campaign(s, campaign).id
    out.print(
        generate_comparisons(
            engine, campaign_id, strategy, baseline=baseline, k=k, seed=seed
        ).summary()
    )


@campaign_app.command("pair")
@domain_errors
def campaign_pair(
    campaign: CampaignOpt,
    strategy: Annotated[str, typer.Option(help="all_pairs, baseline or random_k.")] = "all_pairs",
    baseline: Annotated[str | None, typer.Option(help="Baseline model.")] = None,
    k: Annotated[int | None, typer.Option(help="Pairs per prompt (random_k).")] = None,
    seed: Annotated[int, typer.Option(help="Seed (random_k).")] = 0,
) -> None:
    """Generate comparisons from a campaign's outputs."""
    _pair(_engine(), campaign, strategy, baseline, k, seed)


@campaign_app.command("list")
@domain_errors
def campaign_list() -> None:
    """List campaigns with their size and vote counts."""
    from annotate.campaigns import list_campaigns

    table = Table("campaign", "mode", "prompts", "comparisons", "human votes", "judge votes")
    with Session(_engine()) as s:
        for c in list_campaigns(s):
            table.add_row(
                c.name,
                c.mode,
                str(c.n_prompts),
                str(c.n_comparisons),
                str(c.n_human_judgments),
                str(c.n_judge_judgments),
            )
    out.print(table)


@app.command("demo")
@domain_errors
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only load into an empty database.")
    ] = False,
) -> None:
    """Load the bundled demo campaign."""
    from annotate.demo import database_is_empty, load_demo

    engine = _engine()
    if if_empty and not database_is_empty(engine):
        out.print("Database already has campaigns; demo not loaded.")
        return
    out.print(load_demo(engine).summary())


def _mount_optional_apps() -> None:
    try:
        from judges.cli import judge_app
    except ImportError:
        return
    app.add_typer(judge_app, name="judge")


_mount_optional_apps()

if __name__ == "__main__":
    app()
