"""``judgeboard``: the same domain calls as the app, without Streamlit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from cli_support import domain_errors, err, out
from cli_support import engine as _engine
from judges.cli import judge_app

app = typer.Typer(help="Judge LLM outputs with humans and LLM judges.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import outputs or votes.", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(campaign_app, name="campaign")
app.add_typer(judge_app, name="judge")


CampaignOpt = Annotated[str, typer.Option("--campaign", "-c", help="Campaign name.")]


def _require_format(fmt: str, allowed: tuple[str, ...]) -> None:
    from db.errors import InvalidInputError

    if fmt not in allowed:
        raise InvalidInputError(f"Format '{fmt}' is not one of {', '.join(allowed)}.")


def _actor(engine) -> int:
    """The CLI runs with the database's credentials, so it acts as the local admin."""
    from annotate.users import ensure_local_admin

    with Session(engine, expire_on_commit=False) as s:
        return ensure_local_admin(s).id


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
            engine,
            campaign_id,
            strategy,
            baseline=baseline,
            k=k,
            seed=seed,
            actor_id=_actor(engine),
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


@campaign_app.command("flags")
@domain_errors
def campaign_flags(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Items raters flagged as broken, newest first, with their reasons."""
    from annotate.flags import flagged_items

    _require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    flags = flagged_items(engine, _campaign_id(engine, campaign), actor_id=_actor(engine))
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


def _campaign_id(engine, name: str) -> int:
    from annotate.campaigns import get_campaign

    with Session(engine) as s:
        return get_campaign(s, name).id


def _parse_source(source: str) -> tuple[str, str | None]:
    kind, _, judge = source.partition(":")
    return kind, judge or None


LEADERBOARD_FORMATS = ("md", "csv", "json", "parquet")


@app.command("leaderboard")
@domain_errors
def leaderboard_cmd(
    campaign: CampaignOpt,
    source: Annotated[
        str, typer.Option(help="human, judge[:NAME], blend or ppi (judge = busiest by default).")
    ] = "human",
    fmt: Annotated[str, typer.Option("--format", help="md, csv, json or parquet.")] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    weight: Annotated[float, typer.Option(help="Judge weight for --source blend.")] = 0.5,
    category: Annotated[str | None, typer.Option(help="Only this prompt category.")] = None,
    split: Annotated[str | None, typer.Option(help="Only this split (dev/test).")] = None,
    baseline: Annotated[str | None, typer.Option(help="Anchor this model at 1000.")] = None,
    rounds: Annotated[int, typer.Option(help="Bootstrap rounds.")] = 1000,
    length_control: Annotated[bool, typer.Option(help="Control for output length.")] = False,
) -> None:
    """Rank candidates (Bradley–Terry with bootstrap CIs and rank bands)."""
    from annotate.leaderboards import LeaderboardQuery, compute_leaderboard
    from db.errors import InvalidInputError

    _require_format(fmt, LEADERBOARD_FORMATS)
    if fmt == "parquet" and output is None:
        raise InvalidInputError("Parquet is binary: pass --output FILE.parquet.")
    engine = _engine()
    kind, judge = _parse_source(source)
    result = compute_leaderboard(
        engine,
        LeaderboardQuery(
            _campaign_id(engine, campaign),
            source=kind,
            judge=judge,
            weight=weight,
            category=category,
            split=split,
            rounds=rounds,
            baseline=baseline,
            length_control=length_control,
        ),
        actor_id=_actor(engine),
    )
    for note in result.notes:
        err.print(note, highlight=False)
    if fmt == "parquet":
        result.table.to_parquet(output, index=False)
        out.print(f"Wrote {len(result.table)} rows to {output}.")
        return
    if fmt == "json":
        import json

        text = json.dumps(result.records(), indent=2)
    elif fmt == "csv":
        text = result.table.to_csv(index=False)
    else:
        from annotate.leaderboards import markdown_table

        text = markdown_table(result.table)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"Wrote {len(result.table)} rows to {output}.")


@app.command("export")
@domain_errors
def export_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or jsonl.")] = "parquet",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Destination.")] = None,
) -> None:
    """Write every judgment with full provenance."""
    from annotate.export import export_judgments

    engine = _engine()
    dest = output or Path(f"{campaign.replace(' ', '_').replace('/', '_')}-judgments.{fmt}")
    n = export_judgments(engine, _campaign_id(engine, campaign), fmt, dest, actor_id=_actor(engine))
    out.print(f"Wrote {n:,} judgments to {dest}.")


@app.command("gate")
@domain_errors
def gate_cmd(
    campaign: CampaignOpt,
    candidate: Annotated[str, typer.Option(help="The model that must win.")],
    baseline: Annotated[str, typer.Option(help="The model it must beat.")],
    min_win_rate: Annotated[float, typer.Option(help="Lower CI bound must reach this.")] = 0.5,
    source: Annotated[str, typer.Option(help="human, judge[:NAME] or ppi.")] = "human",
) -> None:
    """Exit 1 unless the lower CI bound of CANDIDATE's win rate over BASELINE clears the bar."""
    from annotate.leaderboards import LeaderboardQuery, gate

    engine = _engine()
    kind, judge = _parse_source(source)
    result = gate(
        engine,
        LeaderboardQuery(_campaign_id(engine, campaign), source=kind, judge=judge),
        candidate,
        baseline,
        min_win_rate,
        actor_id=_actor(engine),
    )
    typer.echo(result.message)
    if not result.passed:
        raise typer.Exit(1)


REPORT_FORMATS = ("table", "json")


def _fmt(v, spec: str = ".3f") -> str:
    return "—" if v is None or (isinstance(v, float) and v != v) else format(v, spec)


@app.command("agreement")
@domain_errors
def agreement_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap rounds.")] = 1000,
    category: Annotated[str | None, typer.Option(help="Only this prompt category.")] = None,
) -> None:
    """How far human raters agree: Krippendorff's alpha with CIs, kappas, rater quality."""
    import json

    from annotate.reports import campaign_agreement

    _require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    page = campaign_agreement(
        engine,
        _campaign_id(engine, campaign),
        n_boot=n_boot,
        category=category,
        actor_id=_actor(engine),
    )
    if fmt == "json":
        typer.echo(json.dumps(page.to_dict(), indent=2))
        return
    data = page.to_dict()
    alphas = Table("criterion / level", "alpha", "95% CI", "units", title="Krippendorff's alpha")
    for key, r in data["krippendorff_alpha"].items():
        ci = f"{_fmt(r['ci_low'])} to {_fmt(r['ci_high'])}"
        alphas.add_row(key, _fmt(r["alpha"]), ci, str(r["n_units"]))
    out.print(alphas)
    out.print(
        f"Percent agreement {_fmt(data['percent_agreement'])}; Fleiss' kappa"
        f" {_fmt(data['fleiss_kappa'])}; {data['n_raters']} raters, {data['n_units']} units."
    )
    kappas = Table("rater 1", "rater 2", "Cohen's kappa", "shared units", title="Pairwise kappa")
    for row in data["pairwise_cohen_kappa"]:
        kappas.add_row(row["rater_1"], row["rater_2"], _fmt(row["kappa"]), str(row["n"]))
    out.print(kappas)
    raters = Table(title="Raters")
    raters.add_column("rater", no_wrap=True, min_width=14)
    for name in ("n", "LOO agree", "gold acc", "consistency", "P(left)", "median s", "flags"):
        raters.add_column(name)
    for r in data["raters"]:
        raters.add_row(
            r["rater"],
            str(r["n"]),
            _fmt(r["loo_agreement"]),
            _fmt(r["gold_accuracy"]),
            _fmt(r["consistency"]),
            _fmt(r["p_prefer_left"]),
            _fmt((r["median_time_ms"] or float("nan")) / 1000, ".1f"),
            "; ".join(r["flags"]),
        )
    out.print(raters)
    for note in data["notes"]:
        err.print(note, highlight=False)


@app.command("calibration")
@domain_errors
def calibration_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    inconsistent_as: Annotated[
        str, typer.Option(help="A swapped pair that disagrees counts as: tie or drop.")
    ] = "tie",
    category: Annotated[str | None, typer.Option(help="Only this prompt category.")] = None,
) -> None:
    """How far each LLM judge agrees with the human majority, and its biases."""
    import json

    from annotate.reports import campaign_calibration
    from db.errors import InvalidInputError

    _require_format(fmt, REPORT_FORMATS)
    if inconsistent_as not in ("tie", "drop"):
        raise InvalidInputError("--inconsistent-as takes tie or drop.")
    engine = _engine()
    report = campaign_calibration(
        engine,
        _campaign_id(engine, campaign),
        inconsistent_as=inconsistent_as,
        category=category,
        actor_id=_actor(engine),
    )
    data = report.to_dict()
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    if not data["judges"]:
        err.print("No judge verdicts in this campaign yet: run `judgeboard judge run` first.")
        return
    judges = data["judges"]
    table = Table("figure", *[j["judge"] for j in judges], "humans", title="Judges vs humans")
    figures = [
        ("comparisons with a human majority", "n", "n", None),
        ("agreement with the majority", "agreement", ".3f", None),
        ("agreement without ties", "agreement_without_ties", ".3f", None),
        ("Cohen's kappa", "cohen_kappa", ".3f", None),
        ("human ceiling (leave-one-out)", "human_ceiling", ".3f", "human_ceiling"),
        ("alpha, humans only", "alpha_humans", ".3f", None),
        ("alpha, humans + judge", "alpha_with_judge", ".3f", None),
        ("consistency under position swap", "position_consistency", ".3f", None),
        ("P(prefer first shown)", "p_prefer_first", ".3f", "p_prefer_first_humans"),
        ("P(prefer longer)", "p_prefer_longer", ".3f", "p_prefer_longer_humans"),
    ]
    for label, key, spec, human_key in figures:
        cells = [str(j[key]) if spec == "n" else _fmt(j[key], spec) for j in judges]
        table.add_row(label, *cells, _fmt(data[human_key], spec) if human_key else "")
    out.print(table)


if __name__ == "__main__":
    app()
