"""``judgeboard judge ...``: define judges and run them on campaigns, without Streamlit.

Mounted by the top-level CLI with ``app.add_typer(judge_app, name="judge")``; also runnable
as ``python -m cli.judge`` (the tests and ``--workers`` use that).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cli.support import (
    BaseUrlOpt,
    InconsistentOpt,
    KeyEnvOpt,
    ModelOpt,
    NoKeyOpt,
    ProviderOpt,
    campaign_id_of,
    domain_errors,
    err,
    inconsistent_choice,
    key_env_for,
    local_actor,
    out,
    plain,
)
from cli.support import engine as _engine
from db.errors import InvalidInputError

judge_app = typer.Typer(
    help="LLM judges: define them, run them on campaigns.", no_args_is_help=True
)


def parse_params(values: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"--param '{item}' must look like name=value, e.g. temperature=0."
            )
        try:
            params[key.strip()] = json.loads(raw)
        except ValueError:
            params[key.strip()] = raw
    return params


@judge_app.command("add")
@domain_errors
def add(
    name: Annotated[str, typer.Argument(help="Judge name; saving again makes a new version.")],
    model: ModelOpt,
    provider: ProviderOpt = "openai",
    base_url: BaseUrlOpt = None,
    key_env: KeyEnvOpt = None,
    no_key: NoKeyOpt = False,
    kind: Annotated[str, typer.Option(help="pairwise, pairwise_reference or rubric.")] = "pairwise",
    template_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Template text file.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="name=value, repeatable (temperature, scale...).")
    ] = None,
    swap: Annotated[str, typer.Option(help="both, ab or random.")] = "both",
    inconsistent_as: InconsistentOpt = "tie",
) -> None:
    """Save a judge config (an identical config is not duplicated).

    Without --key-env or --no-key the judge reads its key from the provider's usual
    variable (OPENAI_API_KEY, ANTHROPIC_API_KEY); the command says which.
    """
    from judges.config import JudgeSpec, key_note, save_judge

    env = key_env_for(provider, key_env, no_key)
    spec = JudgeSpec(
        provider=provider,
        model=model,
        base_url=base_url,
        api_key_env=env,
        template_kind=kind,
        template=template_file.read_text(encoding="utf-8") if template_file else None,
        params=parse_params(param or []),
        swap_policy=swap,
        inconsistent_as=inconsistent_choice(inconsistent_as),
    )
    engine = _engine()
    judge = save_judge(engine, name, spec, actor_id=local_actor(engine))
    out.print(
        f"Judge '{judge.name}' v{judge.version} (id {judge.id}, config {judge.content_hash[:12]})"
    )
    note = key_note(judge.api_key_env)
    if env is not None and key_env is None:
        note += (
            f" That is the {judge.provider} default: name another variable with --key-env, or"
            " pass --no-key for a server that needs no key."
        )
    out.print(note, highlight=False)


@judge_app.command("list")
@domain_errors
def list_cmd(
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Every version.")] = False,
) -> None:
    """List judges (latest version of each unless --all-versions)."""
    from judges.config import list_judges

    table = Table(
        "id", "judge", "version", "provider", "model", "base URL", "kind", "swap", "config"
    )
    engine = _engine()
    for j in list_judges(engine, actor_id=local_actor(engine), all_versions=all_versions):
        table.add_row(
            str(j.id), plain(j.name), str(j.version), plain(j.provider), plain(j.model),
            plain(j.base_url), plain(j.template_kind), plain(j.swap_policy),
            j.content_hash[:12],
        )  # fmt: skip
    out.print(table)


def run_options(concurrency: int, rpm: float | None, max_attempts: int, timeout: float):
    from judges.runs import RunOptions

    if concurrency < 1:
        raise InvalidInputError("--concurrency must be at least 1.")
    return RunOptions(
        concurrency=concurrency, rpm=rpm, max_attempts=max_attempts, timeout_s=timeout
    )


def run_with_bar(run_id: int, options, quiet: bool, label: str = "judging") -> Any:
    from judges.runs import run_status
    from judges.worker import run_blocking

    engine = _engine()
    total = run_status(engine, run_id).n_tasks
    if quiet:
        return run_blocking(engine, run_id, options)
    bar = Progress(
        TextColumn(f"Run {run_id}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
        console=err,
    )
    with bar:
        task = bar.add_task(label, total=total or None, extra="")

        def update(p) -> None:
            extra = f"{p.n_failed} failed, {p.cost_text}" if p.n_failed else p.cost_text
            bar.update(task, completed=p.n_done + p.n_failed, extra=extra)

        return run_blocking(engine, run_id, options, progress=update)


Concurrency = Annotated[int, typer.Option(help="Requests in flight per worker.")]
Rpm = Annotated[
    float | None, typer.Option(help="Requests per minute per worker (default: no limit).")
]
Attempts = Annotated[int, typer.Option(help="Attempts per request (429, 5xx, timeouts).")]
Timeout = Annotated[float, typer.Option(help="Seconds before a request times out.")]
Quiet = Annotated[bool, typer.Option("--quiet", help="No progress bar.")]


@judge_app.command("run")
@domain_errors
def run_cmd(
    campaign: Annotated[str | None, typer.Option("--campaign", "-c", help="Campaign name.")] = None,
    judge: Annotated[
        str | None, typer.Option("--judge", "-j", help="Judge name (latest) or name@version.")
    ] = None,
    concurrency: Concurrency = 8,
    rpm: Rpm = None,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the run.")] = 1,
    resume: Annotated[
        int | None, typer.Option(help="Resume run RUN_ID (after a crash, cancel or failure).")
    ] = None,
    rerun: Annotated[
        bool, typer.Option("--rerun", help="Judge already-judged comparisons again.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N comparisons.")] = None,
    max_attempts: Attempts = 6,
    timeout: Timeout = 60.0,
    quiet: Quiet = False,
) -> None:
    """Run a judge on a campaign, or resume a run; safe to interrupt and resume."""
    from judges.config import get_judge
    from judges.runs import create_run, resume_run

    options = run_options(concurrency, rpm, max_attempts, timeout)
    engine = _engine()
    actor = local_actor(engine)
    if resume is not None:
        run_id = resume_run(engine, resume, actor_id=actor).id
    else:
        if not campaign or not judge:
            raise InvalidInputError("Give --campaign and --judge, or --resume RUN_ID.")
        cid = campaign_id_of(engine, campaign)
        j = get_judge(engine, judge)
        run_id = create_run(engine, j.id, cid, actor_id=actor, rerun=rerun, limit=limit).id
    err.print(f"Run {run_id}: resume with 'judgeboard judge run --resume {run_id}'.")
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "cli.judge", "work", str(run_id), "--quiet",
             "--concurrency", str(concurrency), "--max-attempts", str(max_attempts),
             "--timeout", str(timeout)] + (["--rpm", str(rpm)] if rpm else [])
        )
        for _ in range(max(0, workers - 1))
    ]  # fmt: skip
    result = run_with_bar(run_id, options, quiet)
    for child in children:
        child.wait()
    _finish(run_id, result)


def _finish(run_id: int, result: Any) -> None:
    from judges.runs import run_status

    final = run_status(_engine(), run_id)
    out.print(final.summary() if final.status != result.status else result.summary())
    if final.status == "failed":
        raise typer.Exit(1)


@judge_app.command("work")
@domain_errors
def work_cmd(
    run_id: Annotated[int, typer.Argument(help="The run to help with.")],
    concurrency: Concurrency = 8,
    rpm: Rpm = None,
    max_attempts: Attempts = 6,
    timeout: Timeout = 60.0,
    quiet: Quiet = False,
) -> None:
    """Join an existing run as one more worker (any machine sharing the database); judge
    runs and generation runs alike."""
    options = run_options(concurrency, rpm, max_attempts, timeout)
    _finish(run_id, run_with_bar(run_id, options, quiet))


@judge_app.command("cancel")
@domain_errors
def cancel_cmd(run_id: Annotated[int, typer.Argument()]) -> None:
    """Ask a run's workers to stop after their current batch; resume it later."""
    from judges.runs import request_cancel

    engine = _engine()
    run = request_cancel(engine, run_id, actor_id=local_actor(engine))
    out.print(f"Run {run_id}: {'cancel requested' if run.status == 'running' else run.status}.")


@judge_app.command("runs")
@domain_errors
def runs_cmd(
    campaign: Annotated[str | None, typer.Option("--campaign", "-c")] = None,
) -> None:
    """List judge runs with progress, tokens and cost."""
    from judges.runs import list_runs

    table = Table("run", "status", "done", "failed", "tasks", "tokens in", "tokens out", "cost")
    engine = _engine()
    cid = campaign_id_of(engine, campaign) if campaign else None
    runs = list_runs(engine, cid, actor_id=local_actor(engine))
    for r in runs:
        status = f"{r.status} (interrupted: resume it)" if r.interrupted else r.status
        table.add_row(
            str(r.run_id), plain(status), str(r.n_done), str(r.n_failed), str(r.n_tasks),
            f"{r.tokens_in:,}", f"{r.tokens_out:,}", plain(r.cost_text),
        )  # fmt: skip
    out.print(table)
    for note in dict.fromkeys(r.note for r in runs if r.note):
        err.print(note, highlight=False)


@judge_app.command("preview")
@domain_errors
def preview_cmd(
    campaign: Annotated[str, typer.Option("--campaign", "-c")],
    judge: Annotated[str, typer.Option("--judge", "-j")],
    order: Annotated[str, typer.Option(help="Shown order: ab or ba.")] = "ab",
) -> None:
    """Print the messages a judge would send for the campaign's first comparison, exactly."""
    from judges.config import get_judge, spec_of
    from judges.preview import preview_prompt

    engine = _engine()
    spec = spec_of(get_judge(engine, judge))
    p = preview_prompt(engine, spec, campaign_id_of(engine, campaign), None, order)
    for request in p.requests:
        about = f", criterion {request.criterion}" if request.criterion else ""
        out.print(
            f"POST {request.url}  (comparison {p.comparison_id}, shown {p.shown_order}{about})",
            highlight=False,
        )
        for role, text in request.messages:
            out.print(Text(f"[{role}]", style="bold"))
            out.print(text, highlight=False)


@judge_app.command("dry-run")
@domain_errors
def dry_run_cmd(
    campaign: Annotated[str, typer.Option("--campaign", "-c")],
    judge: Annotated[str, typer.Option("--judge", "-j")],
    n: Annotated[int, typer.Option(help="Comparisons to try.")] = 3,
) -> None:
    """Judge a few comparisons and show raw replies and parsed verdicts; stores no verdicts."""
    from judges.config import get_judge, spec_of
    from judges.preview import dry_run_blocking

    engine = _engine()
    spec, cid = spec_of(get_judge(engine, judge)), campaign_id_of(engine, campaign)
    for row in dry_run_blocking(engine, spec, cid, n=n):
        head = f"comparison {row.comparison_id}" + (f" [{row.criterion}]" if row.criterion else "")
        verdict = row.error or f"verdict {row.shown_verdict} ({row.parsed_how})"
        out.print(
            Text.assemble((head, "bold"), f": {verdict}" + (" (cached)" if row.from_cache else ""))
        )
        if row.raw_reply is not None:
            out.print(row.raw_reply, markup=False, highlight=False)


if __name__ == "__main__":
    judge_app()
