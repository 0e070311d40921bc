"""`judgeboard campaign`: list, pair, serving seed, judge instructions, flagged items."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.support import (
    REPORT_FORMATS,
    CampaignOpt,
    campaign_id_of,
    domain_errors,
    local_actor,
    out,
    pair_outputs,
    plain,
    require_format,
    text_or_file,
)
from cli.support import engine as _engine

campaign_app = typer.Typer(help="Campaigns.", no_args_is_help=True)


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
    pair_outputs(_engine(), campaign, strategy, baseline, k, seed)


@campaign_app.command("seed")
@domain_errors
def campaign_seed(
    campaign: CampaignOpt,
    set_to: Annotated[
        int | None,
        typer.Option("--set", help="Serve in the order of this seed (before rating starts)."),
    ] = None,
) -> None:
    """Show or set the seed of a campaign's random serving order (reproducible orders)."""
    from sqlalchemy import select

    from annotate.serving import set_serve_seed
    from db.models import Campaign

    engine = _engine()
    campaign_id = campaign_id_of(engine, campaign)
    if set_to is not None:
        n = set_serve_seed(engine, campaign_id, set_to, actor_id=local_actor(engine))
        out.print(f"Serving seed set to {set_to}; {n} comparisons re-ranked.", highlight=False)
        return
    with engine.connect() as conn:
        seed = conn.execute(select(Campaign.serve_seed).where(Campaign.id == campaign_id)).scalar()
    if seed is None:
        out.print(
            "This campaign has no serving seed yet: one is drawn when comparisons are next"
            " added, or set one with --set.",
            highlight=False,
        )
    else:
        out.print(str(seed), highlight=False)


@campaign_app.command("judge-instructions")
@domain_errors
def campaign_judge_instructions(
    campaign: CampaignOpt,
    set_to: Annotated[
        str | None,
        typer.Option(
            "--judge-instructions",
            "--set",
            help="What LLM judges of this campaign are told: TEXT, or @FILE to read it.",
        ),
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Go back to the neutral default.")
    ] = False,
) -> None:
    """Show or set what LLM judges are told (never the instructions for raters)."""
    from dataclasses import replace

    from annotate.campaign_setup import load_campaign_form, save_campaign
    from db.errors import InvalidInputError
    from judges.templates import default_judge_instructions

    if set_to is not None and default:
        raise InvalidInputError("Give --judge-instructions or --default, not both.")
    engine = _engine()
    actor = local_actor(engine)
    campaign_id = campaign_id_of(engine, campaign)
    form = load_campaign_form(engine, campaign_id, actor_id=actor)
    if set_to is not None or default:
        text = None if default else text_or_file(set_to or "", "--judge-instructions")
        settings = replace(form.settings, judge_instructions=text)
        save_campaign(engine, settings, campaign_id, actor_id=actor)
        form = load_campaign_form(engine, campaign_id, actor_id=actor)
    current = form.settings
    if current.judge_instructions is None:
        kind = "rubric" if current.mode == "rubric" else "pairwise"
        out.print(
            "No judge instructions set: judges are told this neutral statement of the task,"
            " ending with each judge's own answer format:",
            highlight=False,
        )
        text = default_judge_instructions(current.mode, current.criteria, kind=kind)
        out.print(text, highlight=False)
    else:
        out.print(current.judge_instructions, highlight=False)


@campaign_app.command("list")
@domain_errors
def campaign_list() -> None:
    """List campaigns with their size and vote counts."""
    from annotate.campaigns import list_campaigns

    table = Table("campaign", "mode", "prompts", "comparisons", "human votes", "judge votes")
    for c in list_campaigns(_engine()):
        table.add_row(
            plain(c.name),
            plain(c.mode),
            str(c.n_prompts),
            str(c.n_comparisons),
            str(c.n_human_judgments),
            str(c.n_judge_judgments),
        )
    out.print(table)


@campaign_app.command("flags")
@domain_errors
def campaign_flags(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Items raters flagged as broken, newest first, with their reasons."""
    from annotate.flags import flagged_items

    require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    flags = flagged_items(engine, campaign_id_of(engine, campaign), actor_id=local_actor(engine))
    if fmt == "json":
        typer.echo(flags.to_json(orient="records", date_format="iso", indent=2))
        return
    if flags.empty:
        out.print(f"Nobody has flagged an item in '{campaign}'.")
        return
    out.print(f"{len(flags)} flagged item{'s' if len(flags) != 1 else ''} in '{campaign}':")
    for row in flags.itertuples(index=False):
        out.print(
            f"comparison {row.comparison_id} (prompt {row.prompt}, {row.model_a} vs"
            f" {row.model_b}), flagged by {row.rater} at {row.flagged_at:%Y-%m-%d %H:%M}:",
            highlight=False,
        )
        out.print(f"    {row.reason}", highlight=False, soft_wrap=True)
