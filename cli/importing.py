"""`judgeboard import`: outputs and votes from files.

Every format, field by field, is described in docs/FORMATS.md.
"""

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

FORMATS_DOC = "docs/FORMATS.md"

import_app = typer.Typer(
    help=f"Import outputs or votes. Every file format, field by field: {FORMATS_DOC}.",
    no_args_is_help=True,
)

ExistingFile = typer.Argument(exists=True, dir_okay=False, readable=True)
SkipInvalidOpt = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Import the valid rows and write every invalid one (line, reason, row) to a"
        " rejects file, instead of rejecting the whole file.",
    ),
]
RejectsOpt = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        dir_okay=False,
        help="Where --skip-invalid writes rejected rows (default: <file>.rejects.jsonl).",
    ),
]


def _print(text: str) -> None:
    out.print(text, markup=False, highlight=False, soft_wrap=True)


@import_app.command("outputs")
@domain_errors
def import_outputs_cmd(
    files: Annotated[list[Path], ExistingFile],
    campaign: CampaignOpt,
    questions: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="MT-Bench / Arena-Hard questions file (question.jsonl) that gives the"
            " answers their prompts.",
        ),
    ] = None,
    skip_invalid: SkipInvalidOpt = False,
    rejects: RejectsOpt = None,
    pair: Annotated[
        str | None,
        typer.Option(help="Then pair outputs: all_pairs, baseline or random_k."),
    ] = None,
    baseline: Annotated[str | None, typer.Option(help="Baseline for --pair baseline.")] = None,
    k: Annotated[int | None, typer.Option(help="Pairs per prompt for --pair random_k.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --pair random_k.")] = 0,
) -> None:
    """Import model outputs: long-form JSONL/CSV/Parquet, AlpacaEval JSON, MT-Bench and
    Arena-Hard model answers (with --questions for their prompts). Several files are
    imported one after another, each all or nothing. Fields: docs/FORMATS.md."""
    from db.errors import InvalidInputError
    from ingest.outputs import import_outputs, load_questions

    if rejects is not None and len(files) > 1:
        raise InvalidInputError(
            "--rejects names one file, but several inputs were given: leave it out (each"
            " input gets <file>.rejects.jsonl) or import one file at a time."
        )
    engine = _engine()
    asked = load_questions(questions) if questions is not None else None
    for file in files:
        progress, update = row_progress(f"Importing {file.name}")
        with progress:
            result = import_outputs(
                engine,
                file,
                campaign,
                actor_id=local_actor(engine),
                progress=update,
                skip_invalid=skip_invalid,
                rejects=rejects,
                questions=asked,
            )
        _print(result.summary())
    if pair:
        pair_outputs(engine, campaign, pair, baseline, k, seed)


@import_app.command("votes")
@domain_errors
def import_votes_cmd(
    file: Annotated[Path, ExistingFile],
    campaign: CampaignOpt,
    skip_invalid: SkipInvalidOpt = False,
    rejects: RejectsOpt = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="Arena-Hard judgment files: the baseline model every row was compared with."
        ),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            help="Arena-Hard judgment files: the judge's name (default: each row's 'judge')."
        ),
    ] = None,
) -> None:
    """Import votes as judgments: Chatbot Arena / MT-Bench judgment JSONL or Arena-Hard
    judgment files (two position-swapped games per row; needs --baseline).
    Fields: docs/FORMATS.md."""
    from ingest.votes import import_votes

    progress, update = row_progress(f"Importing {file.name}")
    with progress:
        engine = _engine()
        result = import_votes(
            engine,
            file,
            campaign,
            actor_id=local_actor(engine),
            progress=update,
            skip_invalid=skip_invalid,
            rejects=rejects,
            baseline=baseline,
            judge=judge,
        )
    _print(result.summary())
