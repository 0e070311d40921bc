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
