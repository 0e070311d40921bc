"""`judgeboard monitor status` and `judgeboard monitor drift` (issue 16, points 5 and 6)."""

from __future__ import annotations

import json

from cli.main import app
from tests.cli.test_cli import cli_db, runner
from tests.monitor.test_series import record, store

__all__ = ["cli_db"]


def test_status_json_gives_one_row_per_model_version_and_day(cli_db) -> None:
    store(
        cli_db,
        [
            record(1, 0, latency_ms=100.0, cost_usd=0.02),
            record(2, 30, latency_ms=300.0, cost_usd=0.04),
            record(3, 60 * 24, latency_ms=200.0),
        ],
    )
    result = runner.invoke(app, ["monitor", "status", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["start"][:10], r["volume"]) for r in rows] == [("2026-11-02", 2), ("2026-11-03", 1)]
    assert rows[0]["cost_per_request"] == 0.03
    assert rows[0]["latency_p50_ms"] == 200.0
    assert rows[0]["version"] == "1.0"


def test_status_table_prints_stream_names_literally(cli_db, wide_console) -> None:
    store(cli_db, [record(1, 0, latency_ms=100.0)], stream="[bold]ops[/bold]")
    result = runner.invoke(app, ["monitor", "status", "--by", "hour"])
    assert result.exit_code == 0, result.output
    assert "[bold]ops[/bold]" in result.stdout
    assert "2026-11-02 09:00" in result.stdout


def test_status_with_a_bad_since_names_the_format(cli_db) -> None:
    result = runner.invoke(app, ["monitor", "status", "--since", "yesterday"])
    assert result.exit_code == 1
    assert "2026-11-01" in result.output


def test_status_with_a_bad_bucket_exits_1(cli_db) -> None:
    result = runner.invoke(app, ["monitor", "status", "--by", "week"])
    assert result.exit_code == 1
    assert "hour, day" in result.output
