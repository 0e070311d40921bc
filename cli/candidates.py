"""``judgeboard candidate ...`` and ``judgeboard generate``: candidates that generate.

A candidate config is saved like a judge (immutable, versioned, content-hashed); generate
runs it on a dataset version's prompts on the same runner as judge runs. Resume an
interrupted run with ``judgeboard generate --resume RUN_ID``; add workers to a run from
any machine sharing the database with ``judgeboard judge work RUN_ID``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.judge import Attempts, Concurrency, Quiet, Rpm, Timeout, run_options, run_with_bar
from cli.support import (
    BaseUrlOpt,
    KeyEnvOpt,
    ModelOpt,
    NoKeyOpt,
    ProviderOpt,
    domain_errors,
    err,
    key_env_for,
    local_actor,
    out,
    plain,
    text_or_file,
)
from cli.support import engine as _engine
from db.errors import InvalidInputError

candidate_app = typer.Typer(
    help="Candidates that generate: configs saved as immutable versions.", no_args_is_help=True
)


@candidate_app.command("add")
@domain_errors
def add(
    name: Annotated[str, typer.Argument(help="Candidate name; a changed config is version N+1.")],
    model: ModelOpt,
    provider: ProviderOpt = "openai",
    base_url: BaseUrlOpt = None,
    key_env: KeyEnvOpt = None,
    no_key: NoKeyOpt = False,
    system: Annotated[
        str | None, typer.Option(help="System prompt: the text, or @FILE to read it from.")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            help="Template for the last user turn, or @FILE: {prompt}, {messages}, {category},"
            " {id}. Default: the prompt as it is."
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="name=value, repeatable (temperature, max_tokens, top_p, seed...)."),
    ] = None,
) -> None:
    """Save a candidate config; the same content again gives the existing version back."""
    from cli.judge import parse_params
    from experiments.candidates import save_candidate
    from judges.candidates import CandidateSpec, candidate_label
    from judges.config import key_note

    env = key_env_for(provider, key_env, no_key)
    spec = CandidateSpec(
        provider=provider,
        model=model,
        base_url=base_url,
        api_key_env=env,
        system=text_or_file(system, "--system"),
        template=text_or_file(template, "--template"),
        params=parse_params(param or []),
    )
    engine = _engine()
    config, created = save_candidate(engine, name, spec, actor_id=local_actor(engine))
    label = candidate_label(config.name, config.version)
    state = "saved" if created else "unchanged: the same config is already saved"
    out.print(f"Candidate '{label}' {state} (config {config.content_hash[:12]}).")
    note = key_note(config.api_key_env, who="This candidate")
    out.print(note, highlight=False)


@candidate_app.command("list")
@domain_errors
def list_cmd(
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Every version.")] = False,
) -> None:
    """List candidate configs (the latest version of each unless --all-versions)."""
    from experiments.candidates import list_candidates

    table = Table("candidate", "version", "provider", "model", "base URL", "template", "config")
    engine = _engine()
    for c in list_candidates(engine, actor_id=local_actor(engine), all_versions=all_versions):
        table.add_row(
            plain(c.name), f"v{c.version}", plain(c.provider), plain(c.model), plain(c.base_url),
            "yes" if c.template else "no", c.content_hash[:12],
        )  # fmt: skip
    out.print(table)


@candidate_app.command("runs")
@domain_errors
def runs_cmd(
    campaign: Annotated[str | None, typer.Option("--campaign", "-c")] = None,
) -> None:
    """List generation runs with progress, tokens and cost (resume one with
    'judgeboard generate --resume RUN_ID')."""
    from cli.support import campaign_id_of
    from judges.runs import list_runs

    table = Table("run", "status", "done", "failed", "tasks", "tokens in", "tokens out", "cost")
    engine = _engine()
    cid = campaign_id_of(engine, campaign) if campaign else None
    runs = list_runs(engine, cid, actor_id=local_actor(engine), kind="generate")
    for r in runs:
        status = f"{r.status} (interrupted: resume it)" if r.interrupted else r.status
        table.add_row(
            str(r.run_id), plain(status), str(r.n_done), str(r.n_failed), str(r.n_tasks),
            f"{r.tokens_in:,}", f"{r.tokens_out:,}", plain(r.cost_text),
        )  # fmt: skip
    out.print(table)


@domain_errors
def generate_cmd(
    dataset: Annotated[
        str | None, typer.Option("--dataset", "-d", help="Dataset NAME or NAME@VERSION.")
    ] = None,
    candidate: Annotated[
        str | None, typer.Option("--candidate", help="Candidate NAME (latest) or NAME@vN.")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Only this split (e.g. dev).")] = None,
    sample: Annotated[
        int | None, typer.Option(help="A sample of N prompts, stratified by category.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    campaign: Annotated[
        str | None,
        typer.Option(help="Campaign for the outputs (default: 'NAME@VERSION[ SPLIT]')."),
    ] = None,
    resume: Annotated[
        int | None, typer.Option(help="Resume generation run RUN_ID (after a kill or failure).")
    ] = None,
    concurrency: Concurrency = 8,
    rpm: Rpm = None,
    max_attempts: Attempts = 6,
    timeout: Timeout = 60.0,
    quiet: Quiet = False,
) -> None:
    """Generate a candidate's outputs for a dataset version's prompts; safe to interrupt
    and resume, and a reply already paid for is never paid again (response cache)."""
    from experiments.generation import create_generation_run, generation_summary
    from judges.runs import get_run, resume_run

    options = run_options(concurrency, rpm, max_attempts, timeout)
    engine = _engine()
    actor = local_actor(engine)
    if resume is not None:
        if get_run(engine, resume).kind != "generate":
            raise InvalidInputError(
                f"Run {resume} is a judge run: resume it with 'judgeboard judge run --resume"
                f" {resume}'."
            )
        run_id = resume_run(engine, resume, actor_id=actor).id
    else:
        if not dataset or not candidate:
            raise InvalidInputError("Give --dataset and --candidate, or --resume RUN_ID.")
        if sample is None and seed != 0:
            raise InvalidInputError("--seed draws a sample: give --sample N with it.")
        plan = create_generation_run(
            engine, dataset, candidate, actor_id=actor, split=split, sample=sample, seed=seed,
            campaign=campaign,
        )  # fmt: skip
        err.print(plan.summary(), highlight=False)
        run_id = plan.run_id
    err.print(
        f"Run {run_id}: resume with 'judgeboard generate --resume {run_id}'; add workers with"
        f" 'judgeboard judge work {run_id}'.",
        highlight=False,
    )
    run_with_bar(run_id, options, quiet, label="generating")
    final = generation_summary(engine, run_id)
    out.print(final.summary(), highlight=False)
    if final.status == "failed":
        raise typer.Exit(1)
