"""`judgeboard dataset`: versioned sets of prompts (add, list, show, diff, campaign)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.support import REPORT_FORMATS, domain_errors, local_actor, out, plain, require_format
from cli.support import engine as _engine

dataset_app = typer.Typer(
    help="Datasets: immutable, versioned sets of prompts (see docs/FORMATS.md).",
    no_args_is_help=True,
)

RefArg = Annotated[str, typer.Argument(help="NAME (the latest version) or NAME@VERSION.")]


@dataset_app.command("add")
@domain_errors
def dataset_add(
    file: Annotated[Path, typer.Argument(help="JSONL, JSON, CSV or Parquet prompts file.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="jsonl, json, csv or parquet (default: the extension)."),
    ] = None,
) -> None:
    """Add a file's prompts as a new version of a dataset (created if missing).

    Fields: prompt_id, prompt (text or chat messages), and optional reference, category,
    split and metadata. The same content as an existing version makes no new version.
    """
    from experiments.datasets import add_dataset

    engine = _engine()
    result = add_dataset(engine, file, name, actor_id=local_actor(engine), fmt=fmt)
    out.print(result.summary(), highlight=False)


@dataset_app.command("list")
@domain_errors
def dataset_list() -> None:
    """Every dataset with its latest version."""
    from experiments.datasets import list_datasets

    table = Table("dataset", "latest version", "versions", "prompts", "hash", "added")
    for v in list_datasets(_engine()):
        table.add_row(
            plain(v.dataset),
            str(v.version),
            str(v.n_versions),
            f"{v.n_items:,}",
            v.content_hash[:12],
            v.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@dataset_app.command("show")
@domain_errors
def dataset_show(
    ref: RefArg,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """A version's prompts by id, with category and split."""
    from experiments.datasets import resolve_version, version_items

    require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    info = resolve_version(engine, ref)
    items = version_items(engine, info.version_id)
    if fmt == "json":
        typer.echo(json.dumps([i.content() for i in items], ensure_ascii=False, indent=2))
        return
    out.print(
        f"{info.ref}: {info.n_items:,} prompts, hash {info.content_hash[:12]}, from"
        f" {info.source}, added {info.created_at:%Y-%m-%d %H:%M}.",
        highlight=False,
    )
    table = Table("prompt_id", "category", "split", "prompt")
    for i in items:
        first = i.messages[-1]["content"] if i.messages else ""
        table.add_row(
            plain(i.external_id), plain(i.category or ""), plain(i.split or ""),
            plain(first[:80] + ("…" if len(first) > 80 else "")),
        )  # fmt: skip
    out.print(table)


@dataset_app.command("diff")
@domain_errors
def dataset_diff(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    old: Annotated[int, typer.Argument(help="Old version.")],
    new: Annotated[int, typer.Argument(help="New version.")],
) -> None:
    """Prompts added, removed and changed between two versions, by prompt_id."""
    from experiments.datasets import diff_versions

    diff = diff_versions(_engine(), name, old, new)
    out.print(diff.summary(), highlight=False)
    for label, ids in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)):
        for ext in ids:
            out.print(f"  {label}: {ext}", highlight=False)


@dataset_app.command("campaign")
@domain_errors
def dataset_campaign(
    ref: RefArg,
    campaign: Annotated[str, typer.Option("--campaign", "-c", help="New campaign's name.")],
    split: Annotated[str | None, typer.Option(help="Only this split's prompts.")] = None,
) -> None:
    """Make a new campaign from a dataset version's prompts."""
    from experiments.datasets import create_campaign_from_dataset

    engine = _engine()
    made = create_campaign_from_dataset(
        engine, ref, campaign, actor_id=local_actor(engine), split=split
    )
    out.print(made.summary(), highlight=False)
