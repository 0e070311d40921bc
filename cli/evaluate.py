"""`judgeboard eval ...`: run an evaluation spec for CI, list recorded runs.

`eval run` exits 0 when every criterion passes, 1 on a FAIL, 2 on INCONCLUSIVE (or
`--inconclusive-exit N`, else the spec's `run.inconclusive_exit`) and 3 on any error,
including a bad spec: CI must tell "the model is worse" from "the evaluation broke".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli.judge import Attempts, Concurrency, Rpm, Timeout, run_options
from cli.support import REPORT_FORMATS, domain_errors, err, local_actor, out, plain
from cli.support import engine as _engine

ERROR_EXIT = 3
eval_app = typer.Typer(help="Evaluation specs: success criteria judged PASS / FAIL / INCONCLUSIVE.")


@eval_app.command("run")
def run_cmd(
    spec_file: Annotated[Path, typer.Argument(help="The evaluation spec (TOML).")],
    sample: Annotated[
        int | None,
        typer.Option(help="Rapid tier: N prompts of the dev split, stratified by category."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    junit: Annotated[
        Path | None, typer.Option(help="Write JUnit XML here (one test case per criterion).")
    ] = None,
    summary: Annotated[
        Path | None, typer.Option(help="Write a Markdown summary here ($GITHUB_STEP_SUMMARY).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json (stdout).")] = "table",
    inconclusive_exit: Annotated[
        int | None,
        typer.Option(help="Exit code for INCONCLUSIVE (default: the spec's, else 2)."),
    ] = None,
    concurrency: Concurrency = 8,
    rpm: Rpm = None,
    max_attempts: Attempts = 6,
    timeout: Timeout = 60.0,
) -> None:
    """Generate what is missing, run the checks and judges, judge every criterion."""
    from db.errors import JudgeboardError
    from metrics.errors import StatisticsError

    try:
        code = _run(spec_file, sample, seed, junit, summary, fmt, inconclusive_exit,
                    concurrency, rpm, max_attempts, timeout)  # fmt: skip
    except (JudgeboardError, StatisticsError) as exc:
        err.print(Text.assemble(("Error: ", "bold red"), str(exc)), highlight=False)
        raise typer.Exit(ERROR_EXIT) from None
    except Exception as exc:  # CI must see exit 3, not Python's 1, for any breakage
        err.print(
            Text.assemble(("Error: ", "bold red"), f"{type(exc).__name__}: {exc}"),
            highlight=False,
        )
        raise typer.Exit(ERROR_EXIT) from None
    raise typer.Exit(code)


def _run(
    spec_file: Path,
    sample: int | None,
    seed: int,
    junit: Path | None,
    summary: Path | None,
    fmt: str,
    inconclusive_exit: int | None,
    concurrency: int,
    rpm: float | None,
    max_attempts: int,
    timeout: float,
) -> int:
    from cli.support import require_format
    from db.errors import InvalidInputError
    from experiments.eval_reports import junit_xml, summary_markdown
    from experiments.evaluation import run_evaluation
    from experiments.spec import load_spec

    require_format(fmt, REPORT_FORMATS)
    if inconclusive_exit is not None and not 0 <= inconclusive_exit <= 2:
        raise InvalidInputError("--inconclusive-exit must be 0, 1 or 2.")
    if sample is None and seed != 0:
        raise InvalidInputError("--seed draws a sample: give --sample N with it.")
    spec = load_spec(spec_file)
    options = run_options(concurrency, rpm, max_attempts, timeout)
    engine = _engine()
    result = run_evaluation(
        engine, spec, actor_id=local_actor(engine), sample=sample, seed=seed,
        progress=lambda m: err.print(m, highlight=False), options=options,
    )  # fmt: skip
    if junit is not None:
        _write(junit, junit_xml(result))
    if summary is not None:
        _write(summary, summary_markdown(result))
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        _print_table(result)
    return result.exit_code(inconclusive_exit)


def _write(path: Path, text: str) -> None:
    from results.export import write_atomically

    data = text.encode("utf-8")
    write_atomically(path, lambda tmp: tmp.write_bytes(data))


def _print_table(result) -> None:
    table = Table(title=plain(f"{result.name}: {result.verdict}"))
    for col in ("Criterion", "Candidate", "Verdict", "Figure", "Interval", "Threshold", "n"):
        table.add_column(col)
    for c in result.criteria:
        interval = "—" if c.low is None else f"{c.figure(c.low)} to {c.figure(c.high)}"
        table.add_row(
            plain(c.criterion), plain(c.candidate), plain(c.verdict), plain(c.figure(c.value)),
            plain(interval), plain(f"{c.op} {c.figure(c.threshold)}"),
            plain(f"{c.n} ({c.n_prompts} prompts)"),
        )  # fmt: skip
    out.print(table)
    out.print(
        f"{result.dataset} {result.split}: {result.n_prompts} prompts, campaign"
        f" '{result.campaign}', eval run {result.eval_run_id}; {len(result.regressions)}"
        " regressions against the baseline.",
        highlight=False,
    )


@eval_app.command("list")
@domain_errors
def list_cmd(
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Recorded evaluation runs with their verdicts."""
    from cli.support import require_format
    from experiments.evaluation import list_eval_runs

    require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    runs = list_eval_runs(engine, actor_id=local_actor(engine), limit=limit)
    if fmt == "json":
        typer.echo(json.dumps([r.__dict__ for r in runs], indent=2, default=str))
        return
    table = Table(title="Evaluation runs")
    for col in ("Run", "Spec", "Dataset", "Split", "Sample", "Status", "Verdict", "When"):
        table.add_column(col)
    for r in runs:
        sample = "—" if r.sample_size is None else f"{r.sample_size} (seed {r.seed})"
        table.add_row(
            plain(r.id), plain(r.name), plain(r.dataset), plain(r.split), plain(sample),
            plain(r.status), plain(r.verdict or "—"), plain(f"{r.created_at:%Y-%m-%d %H:%M}"),
        )  # fmt: skip
    out.print(table)


@eval_app.command("compare")
@domain_errors
def compare_cmd(
    run_a: Annotated[int, typer.Argument(help="The earlier eval run id (judgeboard eval list).")],
    run_b: Annotated[int, typer.Argument(help="The later eval run id, on the same dataset.")],
    candidate: Annotated[
        str | None,
        typer.Option(help="The compared candidate of run A (and of run B, unless --candidate-b)."),
    ] = None,
    candidate_b: Annotated[
        str | None, typer.Option(help="Run B's candidate, when it is named differently.")
    ] = None,
    judge: Annotated[
        str | None, typer.Option(help="The judge whose verdicts count (default: A's first).")
    ] = None,
    detect: Annotated[
        float, typer.Option(help="Win-rate difference to size the sample for (0.05 = 5 points).")
    ] = 0.05,
    regressions: Annotated[int, typer.Option(help="How many regressions to list.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the paired bootstrap.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """B − A per prompt: win rate against the baseline with a paired bootstrap interval, the
    sign test, per category, cost and latency deltas, the regressions."""
    from cli.support import require_format
    from db.errors import InvalidInputError
    from experiments.compare import compare_runs

    require_format(fmt, REPORT_FORMATS)
    if not 0 < detect < 1:
        raise InvalidInputError(f"--detect is a win-rate difference in (0, 1) (got {detect}).")
    engine = _engine()
    result = compare_runs(
        engine, run_a, run_b, actor_id=local_actor(engine), candidate=candidate,
        candidate_b=candidate_b, judge=judge, seed=seed, max_regressions=regressions,
    )  # fmt: skip
    needed = result.overall.prompts_needed(detect)
    if fmt == "json":
        data = result.to_dict()
        data["detect"] = {"difference": detect, "prompts_needed": needed}
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    _print_comparison(result, detect, needed)


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x * 100:+.1f} pts" if signed else f"{x:.1%}"


def _num(x: float | None, unit: str, digits: int = 0) -> str:
    return "—" if x is None else f"{x:+,.{digits}f} {unit}"


def _print_comparison(r, detect: float, needed: int | None) -> None:
    o = r.overall
    out.print(
        f"{r.dataset}: run {r.a.eval_run_id} ({r.a.candidate}) vs run {r.b.eval_run_id}"
        f" ({r.b.candidate}), judge {r.b.judge}, on {r.n_shared:,} shared prompts.",
        highlight=False,
    )
    for note in r.notes:
        out.print(note, highlight=False)
    table = Table(title="Win rate against the baseline")
    for col in ("Run", "Candidate", "Baseline", "Win rate", "Cost / request", "p50", "p95"):
        table.add_column(col)
    for side in (r.a, r.b):
        table.add_row(
            plain(side.eval_run_id), plain(side.candidate), plain(side.baseline),
            plain(_pct(side.win_rate)),
            plain("—" if side.cost_mean_usd is None else f"${side.cost_mean_usd:.5f}"),
            plain("—" if side.p50_latency_ms is None else f"{side.p50_latency_ms:,.0f} ms"),
            plain("—" if side.p95_latency_ms is None else f"{side.p95_latency_ms:,.0f} ms"),
        )  # fmt: skip
    out.print(table)
    out.print(
        f"B − A: {_pct(o.diff, True)} ({o.level:.0%} CI {_pct(o.low, True)} to"
        f" {_pct(o.high, True)}); {o.n_better} prompts better, {o.n_worse} worse,"
        f" {o.n_same} the same; sign test p = {o.p_value:.3g}.",
        highlight=False,
    )
    out.print(
        f"Cost per request {_num(r.cost_delta_usd, 'USD', 5)}, p50 latency"
        f" {_num(r.p50_delta_ms, 'ms')}, p95 latency {_num(r.p95_delta_ms, 'ms')}.",
        highlight=False,
    )
    out.print(o.sentence(), highlight=False)
    if needed is None:
        out.print("Every prompt moved the same way: no more prompts are needed.", highlight=False)
    else:
        more = max(needed - o.n, 0)
        out.print(
            f"Detecting {detect * 100:g} points needs {needed:,} prompts ({more:,} more).",
            highlight=False,
        )
    cats = Table(title="Per category")
    for col in ("Category", "Prompts", "A", "B", "B − A", "Interval", "p"):
        cats.add_column(col)
    for c in r.categories:
        x = c.result
        cats.add_row(
            plain(c.category), plain(c.n),
            plain("—" if x is None else _pct(x.mean_a)),
            plain("—" if x is None else _pct(x.mean_b)),
            plain("—" if x is None else _pct(x.diff, True)),
            plain("—" if x is None else f"{_pct(x.low, True)} to {_pct(x.high, True)}"),
            plain("—" if x is None else f"{x.p_value:.3g}"),
        )  # fmt: skip
    out.print(cats)
    out.print(
        f"{r.n_regressions} regressions: B lost both swapped verdicts, A did not.",
        highlight=False,
    )
    for reg in r.regressions:
        out.print(
            plain(f"  {reg.prompt} [{reg.category}] A {reg.score_a:.2f} -> B {reg.score_b:.2f}")
        )
