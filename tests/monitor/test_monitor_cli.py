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


def test_drift_json_reports_the_alarm_and_the_stated_rate(cli_db) -> None:
    from tests.monitor.test_drift_report import traffic

    store(cli_db, traffic())
    result = runner.invoke(app, ["monitor", "drift", "-s", "chatbot", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [a["series"] for a in data["alarms"]] == ["latency"]
    low, high = data["alarms"][0]["change_start_interval"]
    assert low[:10] <= "2026-11-16" < high[:10]
    assert data["false_alarm_rate"] == 0.05


def test_drift_table_states_rate_alarm_and_detectable_shift(cli_db, wide_console) -> None:
    from tests.monitor.test_drift_report import traffic

    store(cli_db, traffic())
    result = runner.invoke(app, ["monitor", "drift", "-s", "chatbot"])
    assert result.exit_code == 0, result.output
    assert "False-alarm rate: at most 5% chance" in result.stdout
    assert "latency" in result.stdout and "relative change" in result.stdout
    assert "within 7 days at 150 per day" in result.stdout


def test_drift_on_an_unknown_stream_names_the_fix(cli_db) -> None:
    result = runner.invoke(app, ["monitor", "drift", "-s", "nope"])
    assert result.exit_code == 1
    assert "ingest token create" in result.output
