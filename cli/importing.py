"""`judgeboard import`: outputs and votes from files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.support import (
    CampaignOpt,
    domain_errors,
    local_actor,
    out,
    pair_outputs,
    row_progress,
)
from cli.support import engine as _engine

import_app = typer.Typer(help="Import outputs or votes.", no_args_is_help=True)


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
    from ingest.outputs import import_outputs

    engine = _engine()
    progress, update = row_progress(f"Importing {file.name}")
    with progress:
        result = import_outputs(
            engine, file, campaign, actor_id=local_actor(engine), progress=update
        )
    out.print(result.summary())
    if pair:
        pair_outputs(engine, campaign, pair, baseline, k, seed)


@import_app.command("votes")
@domain_errors
def import_votes_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    campaign: CampaignOpt,
) -> None:
    """Import votes (Chatbot Arena / MT-Bench judgment JSONL) as judgments."""
    from ingest.votes import import_votes

    progress, update = row_progress(f"Importing {file.name}")
    with progress:
        engine = _engine()
        result = import_votes(engine, file, campaign, actor_id=local_actor(engine), progress=update)
    out.print(result.summary())
