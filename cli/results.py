"""`judgeboard leaderboard | export | gate | agreement | calibration`: results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli.support import (
    REPORT_FORMATS,
    CampaignOpt,
    campaign_id_of,
    domain_errors,
    err,
    local_actor,
    out,
    parse_source,
    require_format,
    show_number,
)
from cli.support import engine as _engine

LEADERBOARD_FORMATS = ("md", "csv", "json", "parquet")


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
    from db.errors import InvalidInputError
    from results.leaderboards import LeaderboardQuery, compute_leaderboard

    require_format(fmt, LEADERBOARD_FORMATS)
    if fmt == "parquet" and output is None:
        raise InvalidInputError("Parquet is binary: pass --output FILE.parquet.")
    engine = _engine()
    kind, judge = parse_source(source)
    result = compute_leaderboard(
        engine,
        LeaderboardQuery(
            campaign_id_of(engine, campaign),
            source=kind,
            judge=judge,
            weight=weight,
            category=category,
            split=split,
            rounds=rounds,
            baseline=baseline,
            length_control=length_control,
        ),
        actor_id=local_actor(engine),
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
        from results.leaderboards import markdown_table

        text = markdown_table(result.table)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"Wrote {len(result.table)} rows to {output}.")


@domain_errors
def export_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or jsonl.")] = "parquet",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Destination.")] = None,
) -> None:
    """Write every judgment with full provenance."""
    from results.export import export_judgments

    engine = _engine()
    dest = output or Path(f"{campaign.replace(' ', '_').replace('/', '_')}-judgments.{fmt}")
    campaign_id = campaign_id_of(engine, campaign)
    n = export_judgments(engine, campaign_id, fmt, dest, actor_id=local_actor(engine))
    out.print(f"Wrote {n:,} judgments to {dest}.")


@domain_errors
def gate_cmd(
    campaign: CampaignOpt,
    candidate: Annotated[str, typer.Option(help="The model that must win.")],
    baseline: Annotated[str, typer.Option(help="The model it must beat.")],
    min_win_rate: Annotated[float, typer.Option(help="Lower CI bound must reach this.")] = 0.5,
    source: Annotated[str, typer.Option(help="human, judge[:NAME] or ppi.")] = "human",
) -> None:
    """Exit 1 unless the lower CI bound of CANDIDATE's win rate over BASELINE clears the bar."""
    from results.gate import gate
    from results.leaderboards import LeaderboardQuery

    engine = _engine()
    kind, judge = parse_source(source)
    result = gate(
        engine,
        LeaderboardQuery(campaign_id_of(engine, campaign), source=kind, judge=judge),
        candidate,
        baseline,
        min_win_rate,
        actor_id=local_actor(engine),
    )
    typer.echo(result.message)
    if not result.passed:
        raise typer.Exit(1)


@domain_errors
def agreement_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap rounds.")] = 1000,
    category: Annotated[str | None, typer.Option(help="Only this prompt category.")] = None,
) -> None:
    """How far human raters agree: Krippendorff's alpha with CIs, kappas, rater quality."""
    import json

    from results.reports import campaign_agreement

    require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    page = campaign_agreement(
        engine,
        campaign_id_of(engine, campaign),
        n_boot=n_boot,
        category=category,
        actor_id=local_actor(engine),
    )
    if fmt == "json":
        typer.echo(json.dumps(page.to_dict(), indent=2))
        return
    data = page.to_dict()
    alphas = Table("criterion / level", "alpha", "95% CI", "units", title="Krippendorff's alpha")
    for key, r in data["krippendorff_alpha"].items():
        ci = f"{show_number(r['ci_low'])} to {show_number(r['ci_high'])}"
        alphas.add_row(key, show_number(r["alpha"]), ci, str(r["n_units"]))
    out.print(alphas)
    out.print(
        f"Percent agreement {show_number(data['percent_agreement'])}; Fleiss' kappa"
        f" {show_number(data['fleiss_kappa'])}; {data['n_raters']} raters, {data['n_units']} units."
    )
    kappas = Table("rater 1", "rater 2", "Cohen's kappa", "shared units", title="Pairwise kappa")
    for row in data["pairwise_cohen_kappa"]:
        kappas.add_row(row["rater_1"], row["rater_2"], show_number(row["kappa"]), str(row["n"]))
    out.print(kappas)
    raters = Table(title="Raters")
    raters.add_column("rater", no_wrap=True, min_width=14)
    for name in ("n", "LOO agree", "gold acc", "consistency", "P(left)", "median s", "flags"):
        raters.add_column(name)
    for r in data["raters"]:
        raters.add_row(
            r["rater"],
            str(r["n"]),
            show_number(r["loo_agreement"]),
            show_number(r["gold_accuracy"]),
            show_number(r["consistency"]),
            show_number(r["p_prefer_left"]),
            show_number((r["median_time_ms"] or float("nan")) / 1000, ".1f"),
            "; ".join(r["flags"]),
        )
    out.print(raters)
    for note in data["notes"]:
        err.print(note, highlight=False)


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

    from db.errors import InvalidInputError
    from results.reports import campaign_calibration

    require_format(fmt, REPORT_FORMATS)
    if inconsistent_as not in ("tie", "drop"):
        raise InvalidInputError("--inconsistent-as takes tie or drop.")
    engine = _engine()
    report = campaign_calibration(
        engine,
        campaign_id_of(engine, campaign),
        inconsistent_as=inconsistent_as,
        category=category,
        actor_id=local_actor(engine),
    )
    data = report.to_dict()
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    if not data["judges"]:
        err.print("No judge verdicts in this campaign yet: run `judgeboard judge run` first.")
        return
    judges = data["judges"]
    table = Table(title="Judges vs humans")
    table.add_column("figure")
    for j in judges:
        table.add_column(Text(j["judge"]))
    table.add_column("humans")
    figures = [
        ("comparisons with a human majority", "n", "n", None),
        ("agreement with the majority", "agreement", ".3f", None),
        ("agreement without ties", "agreement_without_ties", ".3f", None),
        ("Cohen's kappa (orientation-free)", "cohen_kappa", ".3f", None),
        ("  95% bootstrap interval", "cohen_kappa_low", "ci", None),
        ("per vote, with ties (MT-Bench S1)", "s1", ".3f", "human_s1"),
        ("per vote, without ties (MT-Bench S2)", "s2", ".3f", "human_s2"),
        ("human ceiling (leave-one-out)", "human_ceiling", ".3f", "human_ceiling"),
        ("alpha, humans only", "alpha_humans", ".3f", None),
        ("alpha, humans + judge", "alpha_with_judge", ".3f", None),
        ("consistency under position swap", "position_consistency", ".3f", None),
        ("P(prefer first shown)", "p_prefer_first", ".3f", "p_prefer_first_humans"),
        ("verdicts of unknown shown order", "unknown_order_n", "n", "unknown_order_n_humans"),
        ("P(prefer longer)", "p_prefer_longer", ".3f", "p_prefer_longer_humans"),
    ]

    def cell(j: dict, key: str, spec: str) -> Text:
        if spec == "n":
            return Text(str(j[key]))
        if spec == "ci":
            low, high = j["cohen_kappa_low"], j["cohen_kappa_high"]
            if low is None or high is None:
                return Text("—")
            return Text(f"[{low:.3f}, {high:.3f}] ({j['kappa_boot_usable']}/{data['n_boot']})")
        return Text(show_number(j[key], spec))

    for label, key, spec, human_key in figures:
        cells = [cell(j, key, spec) for j in judges]
        human = cell(data, human_key, spec) if human_key else Text("")
        table.add_row(label, *cells, human)
    out.print(table)
    for j in judges:
        if j["position_missing_reason"]:
            err.print(
                Text(
                    f"{j['judge']}: position figures not computed: {j['position_missing_reason']}."
                )
            )
    for note in data["notes"]:
        err.print(Text(note))
