"""`judgeboard leaderboard | export | gate | agreement | calibration | rubrics`: results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli.support import (
    REPORT_FORMATS,
    CampaignOpt,
    InconsistentOpt,
    campaign_id_of,
    domain_errors,
    err,
    inconsistent_choice,
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
    strong_weight: Annotated[
        int,
        typer.Option(
            min=1,
            help="Count a strong verdict (5-point ±2, e.g. A>>B) this many times;"
            " Arena-Hard-Auto uses 3.",
        ),
    ] = 1,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="CSV only: keep text cells that start with = + - @ as they are (by default"
            " they get a ' so a spreadsheet shows them instead of running them).",
        ),
    ] = False,
) -> None:
    """Rank candidates (Bradley–Terry with bootstrap CIs and rank bands).

    With --baseline the table also gives each model's win rate against the baseline and
    its interval, computed from the ratings as Arena-Hard-Auto does. --output files are
    written whole or not at all.
    """
    from db.errors import InvalidInputError
    from results.export import frame_to_csv, write_atomically
    from results.leaderboards import LeaderboardQuery, compute_leaderboard

    require_format(fmt, LEADERBOARD_FORMATS)
    if fmt == "parquet" and output is None:
        raise InvalidInputError("Parquet is binary: pass --output FILE.parquet.")
    if raw_csv and fmt != "csv":
        raise InvalidInputError(f"--raw-csv applies to CSV only, not {fmt}: leave it out.")
    engine = _engine()
    kind, judge = parse_source(source)
    campaign_id = campaign_id_of(engine, campaign)
    actor = local_actor(engine)
    result = compute_leaderboard(
        engine,
        LeaderboardQuery(
            campaign_id,
            source=kind,
            judge=judge,
            weight=weight,
            category=category,
            split=split,
            rounds=rounds,
            baseline=baseline,
            length_control=length_control,
            strong_weight=strong_weight,
        ),
        actor_id=actor,
    )
    if result.judge_label is not None:
        err.print(_judge_choice(engine, campaign_id, kind, judge, result.judge_label, actor))
    for note in result.notes:
        err.print(note, highlight=False, markup=False)
    for warning in result.warnings:
        err.print(f"Warning: {warning}", style="bold yellow", highlight=False, markup=False)
    n = len(result.table)
    if fmt == "parquet":

        def write_parquet(path: Path) -> int:
            result.table.to_parquet(path, index=False)
            return n

        write_atomically(output, write_parquet)
        out.print(f"Wrote {n} rows to {output}.")
        return
    if fmt == "json":
        import json

        text = json.dumps(result.records(), indent=2)
    elif fmt == "csv":
        text = frame_to_csv(result.table, raw=raw_csv)
    else:
        from results.leaderboards import markdown_table

        text = markdown_table(result.table)
    if output is None:
        typer.echo(text)
    else:

        def write_text(path: Path) -> int:
            path.write_text(text + "\n", encoding="utf-8")
            return n

        write_atomically(output, write_text)
        out.print(f"Wrote {n} rows to {output}.")


def _judge_choice(
    engine, campaign_id: int, kind: str, asked: str | None, used: str, actor: int
) -> str:
    """Which judge a leaderboard used, why, and the others there are to choose from."""
    from results.leaderboards import judges_in_campaign

    verdicts = {label: n for _, label, n in judges_in_campaign(engine, campaign_id, actor_id=actor)}
    others = [label for label in verdicts if label != used]
    if asked is not None:
        why = "as asked"
    elif others:
        why = "the one with the most verdicts"
    else:
        why = "the only judge with verdicts here"
    n = verdicts.get(used, 0)
    text = f"Judge: {used}, {why} ({n:,} verdict{'' if n == 1 else 's'})."
    if others:
        listing = ", ".join(f"{label} ({verdicts[label]:,})" for label in others)
        text += (
            f" Other judges with verdicts: {listing}."
            f" Choose one with --source {kind}:NAME, e.g. --source {kind}:{others[0]}."
        )
    return text


@domain_errors
def export_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or jsonl.")] = "parquet",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Destination (default: <campaign name made file-safe>-judgments.<format>).",
        ),
    ] = None,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="CSV only: keep text cells as stored. By default a text cell starting with"
            " =, +, -, @, tab or CR gets a ' in front, so a spreadsheet does not run it as a"
            " formula (OWASP CSV injection).",
        ),
    ] = False,
) -> None:
    """Write every judgment with full provenance, one row per judgment.

    Columns: the prompt (text, or its messages as JSON) and reference, category and split;
    both models and both outputs' text; the rater (handle or judge name@vN) and kind; the
    judge version, config hash and template hash; shown order, preference and winner; the
    verdict and raw reply of a judge's partner verdict in the other shown order; rationale,
    raw reply, time on task; gold / attention / re-show flags; revision (version) and
    whether it is current; and rubric scores as score_<criterion>_a / _b. Re-shown items are
    included and flagged. docs/EXPORT.md describes every column.

    CSV text cells that a spreadsheet would run as a formula are prefixed with ' (numbers
    are left alone); --raw-csv keeps them as stored. Parquet and JSONL keep raw values.
    """
    from db.errors import InvalidInputError
    from results.export import default_export_path, export_judgments
    from results.votes import left_out

    if raw_csv and fmt != "csv":
        raise InvalidInputError(
            f"--raw-csv applies to CSV only; {fmt} always keeps raw values: leave it out."
        )
    engine = _engine()
    dest = output or default_export_path(campaign, fmt)
    campaign_id = campaign_id_of(engine, campaign)
    n = export_judgments(engine, campaign_id, fmt, dest, actor_id=local_actor(engine), raw=raw_csv)
    out.print(f"Wrote {n:,} judgments to {dest}.", highlight=False, markup=False)
    if (note := left_out(engine, campaign_id).note()) is not None:
        out.print(
            f"{note.removesuffix(' (see the Review page).')} of every result; their rows are"
            " in the file, marked in comparison_retired and rater_excluded.",
            highlight=False,
            markup=False,
        )


@domain_errors
def gate_cmd(
    campaign: CampaignOpt,
    candidate: Annotated[str, typer.Option(help="The model that must win.")],
    baseline: Annotated[str, typer.Option(help="The model it must beat.")],
    min_win_rate: Annotated[float, typer.Option(help="Lower CI bound must reach this.")] = 0.5,
    source: Annotated[str, typer.Option(help="human, judge[:NAME] or ppi.")] = "human",
    strong_weight: Annotated[
        int,
        typer.Option(
            min=1, help="Count a strong verdict (±2) this many times, as the leaderboard does."
        ),
    ] = 1,
) -> None:
    """Exit 1 unless the lower CI bound of CANDIDATE's win rate over BASELINE clears the bar."""
    from results.gate import gate
    from results.leaderboards import LeaderboardQuery

    engine = _engine()
    kind, judge = parse_source(source)
    result = gate(
        engine,
        LeaderboardQuery(
            campaign_id_of(engine, campaign),
            source=kind,
            judge=judge,
            strong_weight=strong_weight,
        ),
        candidate,
        baseline,
        min_win_rate,
        actor_id=local_actor(engine),
    )
    typer.echo(result.message)
    if not result.passed:
        raise typer.Exit(1)


def _measured(value: float | None, reason: str | None, spec: str = ".3f") -> str:
    """A figure, or "—" with why it is missing: never a 0 for something not measured."""
    if value is None:
        return f"— ({reason})" if reason else "—"
    return format(value, spec)


def _interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{low:.3f} to {high:.3f}"


def _rounds(usable: int, total: int) -> str:
    return f"{usable}/{total}" if total else "—"


@domain_errors
def agreement_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap rounds.")] = 1000,
    category: Annotated[str | None, typer.Option(help="Only this prompt category.")] = None,
) -> None:
    """How far human raters agree: Krippendorff's alpha and kappas with CIs, the MT-Bench
    human-human figures (S1 with ties, S2 without), rater quality. Preference figures do not
    depend on which output is stored as A; "as stored" figures are labelled as such."""
    import json

    from rich.text import Text

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
    from metrics.readings import alpha_reading, kappa_reading

    alphas = Table(
        "criterion / level", "alpha", "95% CI", "reading", "units", "usable rounds",
        title="Krippendorff's alpha",
    )  # fmt: skip
    for key, r in data["krippendorff_alpha"].items():
        alphas.add_row(
            Text(key),
            _measured(r["alpha"], r["reason"]),
            _interval(r["ci_low"], r["ci_high"]),
            Text(alpha_reading(r["alpha"], r["ci_low"], r["ci_high"])),
            str(r["n_units"]),
            _rounds(r["n_boot_usable"], data["n_boot"]),
        )
    out.print(alphas)
    fleiss = data["fleiss_kappa"]
    s1, s2 = data["human_human"]["S1"], data["human_human"]["S2"]
    percent = _measured(data["percent_agreement"], data["percent_agreement_reason"])
    lines = [
        f"{data['n_raters']} raters, {data['n_units']} comparisons, {data['n_ratings']} votes.",
        f"Percent agreement {percent}.",
        f"Human-human agreement (MT-Bench): S1 with ties {_measured(s1['agreement'], s1['reason'])}"
        f" over {s1['n_pairs']} vote pairs; S2 without ties"
        f" {_measured(s2['agreement'], s2['reason'])} over {s2['n_pairs']} vote pairs.",
        f"Fleiss' kappa {_measured(fleiss['kappa'], fleiss['reason'])}, 95% CI"
        f" {_interval(fleiss['ci_low'], fleiss['ci_high'])}"
        f" ({_rounds(fleiss['n_boot_usable'], fleiss['n_boot'])} bootstrap rounds usable):"
        f" {kappa_reading(fleiss['kappa'], fleiss['ci_low'], fleiss['ci_high'])}.",
        "As stored (codes each vote in the stored A/B order, as some published figures do): "
        + "; ".join(
            f"{key} {_measured(value, 'not measured')}" for key, value in data["as_stored"].items()
        )
        + ".",
    ]
    position = data.get("position_bias")
    if position is not None:
        lines.append(
            f"P(prefer left) {_measured(position['p_prefer_left'], position['reason'])} over"
            f" {position['n']} decisive votes of known shown order"
            f" ({position['n_unknown_order']} of unknown order left out)."
        )
    for line in lines:
        out.print(line, markup=False, highlight=False)
    kappas = Table(
        "rater 1", "rater 2", "Cohen's kappa", "95% CI", "reading", "weighted kappa", "shared",
        "usable rounds", title="Pairwise kappa (3-way winner; weighted: 5-point, linear)",
    )  # fmt: skip
    weighted = {(p["rater_1"], p["rater_2"]): p for p in data["pairwise_weighted_kappa"]}
    for row in data["pairwise_cohen_kappa"]:
        w = weighted.get((row["rater_1"], row["rater_2"]), {})
        kappas.add_row(
            Text(row["rater_1"]),
            Text(row["rater_2"]),
            _measured(row["kappa"], row["reason"]),
            _interval(row["ci_low"], row["ci_high"]),
            Text(kappa_reading(row["kappa"], row["ci_low"], row["ci_high"])),
            _measured(w.get("kappa"), w.get("reason")),
            str(row["n"]),
            _rounds(row["n_boot_usable"], row["n_boot"]),
        )
    out.print(kappas)
    raters = Table(title="Raters")
    raters.add_column("rater", no_wrap=True, min_width=14)
    columns = ("n", "LOO agree", "gold acc", "consistency", "P(left)", "order unknown",
               "median s", "flags")  # fmt: skip
    for name in columns:
        raters.add_column(name)
    for r in data["raters"]:
        time_s = None if r["median_time_ms"] is None else r["median_time_ms"] / 1000
        raters.add_row(
            Text(str(r["rater"])),
            str(r["n"]),
            _measured(r["loo_agreement"], "no majority of others"),
            _measured(r["gold_accuracy"], "no gold items"),
            _measured(r["consistency"], "no re-shows"),
            _measured(r["p_prefer_left"], "no decisive vote of known order"),
            str(r["left_unknown_n"]),
            _measured(time_s, None, ".1f"),
            Text("; ".join(r["flags"])),
        )
    out.print(raters)
    for note in data["notes"]:
        err.print(note, highlight=False, markup=False)


@domain_errors
def calibration_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    inconsistent_as: InconsistentOpt = "tie",
    category: Annotated[str | None, typer.Option(help="Only this prompt category.")] = None,
) -> None:
    """How far each LLM judge agrees with the human majority, and its biases."""
    import json

    from metrics import readings
    from metrics.readings import kappa_band
    from results.reports import campaign_calibration

    require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    report = campaign_calibration(
        engine,
        campaign_id_of(engine, campaign),
        inconsistent_as=inconsistent_choice(inconsistent_as),
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
        ("  Landis & Koch band", "cohen_kappa", "kappa band", None),
        ("per vote, with ties (MT-Bench S1)", "s1", ".3f", "human_s1"),
        ("per vote, without ties (MT-Bench S2)", "s2", ".3f", "human_s2"),
        ("human ceiling (leave-one-out)", "human_ceiling", ".3f", "human_ceiling"),
        ("alpha, humans only", "alpha_humans", ".3f", None),
        ("  95% bootstrap interval", "alpha_humans", "alpha ci", None),
        ("alpha, humans + judge", "alpha_with_judge", ".3f", None),
        ("  95% bootstrap interval", "alpha_with_judge", "alpha ci", None),
        ("consistency under position swap", "position_consistency", ".3f", None),
        ("P(prefer first shown)", "p_prefer_first", ".3f", "p_prefer_first_humans"),
        ("verdicts of unknown shown order", "unknown_order_n", "n", "unknown_order_n_humans"),
        ("P(prefer longer)", "p_prefer_longer", ".3f", "p_prefer_longer_humans"),
    ]

    def cell(j: dict, key: str, spec: str) -> Text:
        if spec == "n":
            return Text(str(j[key]))
        if spec == "kappa band":
            return Text(kappa_band(j["cohen_kappa"]) or "—")
        if spec == "alpha ci":
            low, high = j[f"{key}_low"], j[f"{key}_high"]
            if low is None or high is None:
                return Text("—")
            return Text(f"[{low:.3f}, {high:.3f}]")
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
        for warning in (
            readings.negative_kappa_warning(
                j["cohen_kappa"], j["cohen_kappa_low"], j["cohen_kappa_high"], j["judge"]
            ),
            readings.length_bias_warning(j["p_prefer_longer"], j["longer_n"], j["judge"]),
            readings.position_bias_warning(j["p_prefer_first"], j["first_n"], j["judge"]),
            readings.swap_consistency_warning(
                j["position_consistency"], j["position_n"], j["judge"]
            ),
        ):
            if warning:
                err.print(Text(f"Warning: {warning}"))
        if j["position_missing_reason"]:
            err.print(
                Text(
                    f"{j['judge']}: position figures not computed: {j['position_missing_reason']}."
                )
            )
    for note in data["notes"]:
        err.print(Text(note))


@domain_errors
def rubrics_cmd(
    campaign: CampaignOpt,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    category: Annotated[str | None, typer.Option(help="Only this prompt category.")] = None,
    split: Annotated[str | None, typer.Option(help="Only this split (dev/test).")] = None,
) -> None:
    """Rubric scores per criterion and model: mean with a 95% CI and the score distribution.

    Humans and each judge are shown apart; "—" means nobody of that kind scored it.
    """
    import json

    from results.rubrics import campaign_rubrics

    require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    report = campaign_rubrics(
        engine,
        campaign_id_of(engine, campaign),
        category=category,
        split=split,
        actor_id=local_actor(engine),
    )
    if fmt == "json":
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    for note in report.notes:
        err.print(note, highlight=False, markup=False)
    if report.summary.empty:
        return
    for criterion in report.criteria:
        table = report.criterion_table(criterion.name)
        out.print(_plain_table(f"{criterion.name} ({criterion.scale})", table))
        dist = report.distribution[report.distribution["criterion"] == criterion.name]
        if dist.empty:
            continue
        labels = list(dict.fromkeys(dist["label"]))
        counts = (
            dist.pivot_table(
                index=["scored_by", "model"],
                columns="label",
                values="count",
                aggfunc="sum",
                fill_value=0,
            )
            .reindex(columns=labels, fill_value=0)
            .reset_index()
            .rename(columns={"scored_by": "scored by"})
        )
        out.print(_plain_table(f"{criterion.name}: score counts", counts))


def _plain_table(title: str, frame) -> Table:
    """A Rich table whose title, headers and cells are shown as text, never as markup."""
    table = Table(title=Text(title))
    for column in frame.columns:
        table.add_column(Text(str(column)))
    for row in frame.itertuples(index=False):
        table.add_row(*(Text(str(cell)) for cell in row))
    return table
