"""`judgeboard serve-otlp` and `judgeboard ingest`: production traffic in over OpenTelemetry."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.support import domain_errors, local_actor, out, plain
from cli.support import engine as _engine

ingest_app = typer.Typer(
    help="Production traffic: ingest tokens per stream, and trace files (see docs/FORMATS.md).",
    no_args_is_help=True,
)
token_app = typer.Typer(
    help="Ingest tokens: what an OTLP exporter sends as 'Authorization: Bearer TOKEN'.",
    no_args_is_help=True,
)
ingest_app.add_typer(token_app, name="token")

MaxBodyOpt = Annotated[
    int,
    typer.Option("--max-body-bytes", help="Largest request body accepted (413 above it)."),
]
MaxAttributeOpt = Annotated[
    int,
    typer.Option(
        "--max-attribute-bytes",
        help="Largest attribute value accepted; a request holding a larger one gets 400.",
    ),
]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@domain_errors
def serve_otlp(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (OTLP/HTTP's is 4318).")] = 4318,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Listen on an address other machines can reach (put TLS in front of it).",
        ),
    ] = False,
    max_body_bytes: MaxBodyOpt = 8 * 1024 * 1024,
    max_attribute_bytes: MaxAttributeOpt = 1024 * 1024,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Receiver processes: more than 1 decodes batches on several cores.",
        ),
    ] = 1,
) -> None:
    """Receive OTLP/HTTP (POST /v1/traces, /v1/logs); store GenAI spans as interactions."""
    from db.errors import InvalidInputError

    if not is_loopback(host) and not allow_remote:
        raise InvalidInputError(
            f"serve-otlp listens on this machine only (127.0.0.1) unless told otherwise:"
            f" to listen on {host}, add --allow-remote (and put TLS in front of it)."
        )
    if max_body_bytes < 1 or max_attribute_bytes < 1 or workers < 1:
        raise InvalidInputError(
            "--max-body-bytes, --max-attribute-bytes and --workers must be positive."
        )

    import uvicorn

    from monitor.receiver import MAX_ATTRIBUTE_ENV, MAX_BODY_ENV

    os.environ[MAX_BODY_ENV] = str(max_body_bytes)
    os.environ[MAX_ATTRIBUTE_ENV] = str(max_attribute_bytes)
    out.print(f"Receiving OTLP traces on http://{host}:{port}/v1/traces", highlight=False)
    uvicorn.run(
        "monitor.receiver:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@token_app.command("create")
@domain_errors
def token_create(
    stream: Annotated[str, typer.Option("--stream", "-s", help="Stream the token writes to.")],
) -> None:
    """Make an ingest token for a stream (made if missing); it is printed once, never again."""
    from monitor.streams import create_token

    engine = _engine()
    made = create_token(engine, stream, actor_id=local_actor(engine))
    out.print(
        f"Ingest token {made.id} for stream '{made.stream}'. Copy it now: only its hash is"
        " kept, so it cannot be shown again.",
        highlight=False,
    )
    typer.echo(made.token)


@token_app.command("list")
@domain_errors
def token_list(
    stream: Annotated[str | None, typer.Option("--stream", "-s", help="Only this stream.")] = None,
) -> None:
    """Every ingest token: id, stream, first characters, who made it, whether it is revoked."""
    from monitor.streams import list_tokens

    engine = _engine()
    table = Table("id", "stream", "token starts", "created by", "created", "revoked")
    for t in list_tokens(engine, actor_id=local_actor(engine), stream=stream):
        table.add_row(
            str(t.id),
            plain(t.stream),
            plain(t.prefix + "…"),
            plain(t.created_by),
            t.created_at.strftime("%Y-%m-%d %H:%M"),
            t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "",
        )
    out.print(table)


@token_app.command("revoke")
@domain_errors
def token_revoke(token_id: Annotated[int, typer.Argument(help="Token id (see `list`).")]) -> None:
    """Stop a token from working, at once; its clients get 401 from then on."""
    from monitor.streams import revoke_token

    engine = _engine()
    info = revoke_token(engine, token_id, actor_id=local_actor(engine))
    out.print(
        f"Ingest token {info.id} ({info.prefix}…) of stream '{info.stream}' is revoked.",
        highlight=False,
    )


@ingest_app.command("streams")
@domain_errors
def streams_list() -> None:
    """Every stream with its interactions and working tokens."""
    from monitor.streams import list_streams

    table = Table("stream", "interactions", "working tokens", "created")
    for s in list_streams(_engine()):
        table.add_row(
            plain(s.name),
            f"{s.interactions:,}",
            str(s.active_tokens),
            s.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@ingest_app.command("traces")
@domain_errors
def traces(
    file: Annotated[Path, typer.Argument(help="JSONL: OTLP/JSON requests or interaction records.")],
    stream: Annotated[str, typer.Option("--stream", "-s", help="Stream to store them in.")],
    max_attribute_bytes: MaxAttributeOpt = 1024 * 1024,
) -> None:
    """Store interactions from a JSONL file; a bad line stops the import and stores nothing."""
    from monitor.files import import_traces
    from monitor.otlp import Limits

    engine = _engine()
    result = import_traces(
        engine,
        file,
        stream,
        actor_id=local_actor(engine),
        limits=Limits(max_attribute_bytes=max_attribute_bytes),
    )
    out.print(result.summary(), highlight=False)


monitor_app = typer.Typer(
    help="Production monitoring: time series per stream, model and version, and drift alarms.",
    no_args_is_help=True,
)

StreamOpt = Annotated[str | None, typer.Option("--stream", "-s", help="Only this stream.")]
ByOpt = Annotated[str, typer.Option("--by", help="Bucket: hour or day (UTC).")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table or json.")]


def parse_since(value: str | None):
    from datetime import UTC, datetime

    from db.errors import InvalidInputError

    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"--since '{value}' is not an ISO date or time: use e.g. 2026-11-01 or"
            " 2026-11-01T12:00+00:00."
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _share_text(mix: dict[str, float]) -> str:
    top = sorted(mix.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{k} {v:.0%}" for k, v in top)


@monitor_app.command("status")
@domain_errors
def status(
    stream: StreamOpt = None,
    by: ByOpt = "day",
    since: Annotated[
        str | None, typer.Option("--since", help="Only interactions from this ISO time on.")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Per stream, model, version and hour or day: volume, errors, cost, tokens, latency, mix."""
    import json

    from cli.support import REPORT_FORMATS, require_format, show_number
    from monitor.series import require_bucket, time_series

    require_format(fmt, REPORT_FORMATS)
    require_bucket(by)
    engine = _engine()
    rows = time_series(
        engine, actor_id=local_actor(engine), stream=stream, by=by, since=parse_since(since)
    )
    if fmt == "json":
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    table = Table(
        "stream",
        "model",
        "version",
        "start (UTC)",
        "requests",
        "errors",
        "cost / request (USD)",
        "prompt tokens",
        "output tokens",
        "latency p50 (ms)",
        "latency p95 (ms)",
        "input mix",
        title=f"Interactions per {by}",
    )
    for r in rows:
        table.add_row(
            plain(r.stream),
            plain(r.model or "—"),
            plain(r.version or "—"),
            r.start.strftime("%Y-%m-%d %H:%M" if by == "hour" else "%Y-%m-%d"),
            f"{r.volume:,}",
            f"{r.errors:,}",
            show_number(r.cost_per_request, ".5f"),
            show_number(r.prompt_tokens, ".0f"),
            show_number(r.output_tokens, ".0f"),
            show_number(r.latency_p50, ".0f"),
            show_number(r.latency_p95, ".0f"),
            plain(_share_text(r.input_mix) or "—"),
        )
    if not rows:
        out.print(
            "No interactions yet: send traces with `judgeboard serve-otlp` or"
            " `judgeboard ingest traces`."
        )
        return
    out.print(table)


@monitor_app.command("drift")
@domain_errors
def drift(
    stream: Annotated[str, typer.Option("--stream", "-s", help="Stream to watch.")],
    by: ByOpt = "day",
    reference_days: Annotated[
        int,
        typer.Option(
            "--reference-days", help="Reference: the stream's first N days; the rest is watched."
        ),
    ] = 7,
    reference_version: Annotated[
        str | None,
        typer.Option(
            "--reference-version",
            help="Reference: every interaction of this service.version (instead of days).",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Only this model's interactions.")
    ] = None,
    alpha: Annotated[
        float,
        typer.Option(
            "--false-alarm-rate", help="Chance of any false alarm across series and windows."
        ),
    ] = 0.05,
    fmt: FormatOpt = "table",
) -> None:
    """Drift alarms per watched series: change start, size with interval, evidence."""
    import json

    from cli.support import REPORT_FORMATS, require_format
    from monitor.drift import drift_report

    require_format(fmt, REPORT_FORMATS)
    engine = _engine()
    report = drift_report(
        engine,
        stream,
        actor_id=local_actor(engine),
        by=by,
        reference_days=reference_days,
        reference_version=reference_version,
        model=model,
        alpha=alpha,
    )
    if fmt == "json":
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    stamp = "%Y-%m-%d %H:%M" if by == "hour" else "%Y-%m-%d"
    out.print(
        plain(
            f"Stream '{report.stream}': reference {report.reference}; {report.windows} {by}s"
            f" watched from {report.watched_from.strftime(stamp)} ({', '.join(report.series)})."
        )
    )
    out.print(plain(report.design.statement().capitalize() + "."))
    if not report.alarms:
        out.print("No drift: every watched series is in line with its reference.")
    else:
        table = Table(
            "series",
            "raised",
            "change started",
            "start between",
            "size (95% interval)",
            "evidence",
            title="Drift alarms",
        )
        for a in report.alarms:
            table.add_row(
                plain(a.series),
                a.raised_at.strftime(stamp),
                a.start.strftime(stamp),
                f"{a.start_low.strftime(stamp)} – {a.start_high.strftime(stamp)}",
                plain(a.size_text()),
                plain(a.evidence(by)),
            )
        out.print(table)
    if report.detectable:
        out.print(f"Smallest shift caught with {report.design.power:.0%} probability:")
        for d in report.detectable:
            out.print(plain(f"  {d.series}: {d.text(by)}"))
