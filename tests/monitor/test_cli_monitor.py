"""`judgeboard serve-otlp` and `judgeboard ingest` (issue 16, points 1 and 3)."""

from __future__ import annotations

import json

from sqlalchemy import text

from cli.main import app
from monitor.streams import stream_for_token
from tests.cli.test_cli import cli_db, runner

__all__ = ["cli_db"]


def _create(stream: str = "chatbot") -> str:
    result = runner.invoke(app, ["ingest", "token", "create", "--stream", stream])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_token_create_prints_a_working_token_once(cli_db) -> None:
    token = _create()
    assert token.startswith("jbi_")
    assert stream_for_token(cli_db, token) is not None
    listing = runner.invoke(app, ["ingest", "token", "list"])
    assert listing.exit_code == 0
    assert "chatbot" in listing.stdout and token not in listing.stdout


def test_token_revoke_stops_the_token(cli_db) -> None:
    token = _create()
    result = runner.invoke(app, ["ingest", "token", "revoke", "1"])
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stdout
    assert stream_for_token(cli_db, token) is None


def test_revoking_an_unknown_token_exits_1_with_the_fix(cli_db) -> None:
    result = runner.invoke(app, ["ingest", "token", "revoke", "42"])
    assert result.exit_code == 1
    assert "ingest token list" in result.output


def test_stream_names_are_printed_literally(cli_db) -> None:
    _create("[bold]ops[/bold]")
    result = runner.invoke(app, ["ingest", "streams"])
    assert "[bold]ops[/bold]" in result.stdout


def test_serve_otlp_refuses_a_public_host_without_allow_remote(cli_db) -> None:
    result = runner.invoke(app, ["serve-otlp", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 1
    assert "--allow-remote" in result.output


def test_ingest_traces_stores_a_good_file(cli_db, tmp_path) -> None:
    row = {
        "started_at": "2026-11-30T12:00:00+00:00",
        "trace_id": "ab" * 16,
        "span_id": "cd" * 8,
        "model": "gpt-4o-mini",
        "output": "ok",
    }
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", "traces", str(path), "--stream", "batch"])
    assert result.exit_code == 0, result.output
    assert "1 new interaction" in result.stdout
    with cli_db.connect() as conn:
        assert conn.execute(text("SELECT model FROM interactions")).scalar_one() == "gpt-4o-mini"


def test_ingest_traces_bad_file_exits_1_naming_line_and_field(cli_db, tmp_path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"started_at": "2026-11-30T12:00:00Z", "trace_id": "x", "span_id": "cd"}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["ingest", "traces", str(path), "--stream", "batch"])
    assert result.exit_code == 1
    assert "line 1" in result.output and "trace_id" in result.output
    with cli_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM interactions")).scalar_one() == 0
