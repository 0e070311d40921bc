from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from db.engine import dispose_engines, get_engine
from tests import factory
from tests.test_leaderboards import HUMAN

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    """A migrated SQLite database that the CLI finds through JUDGEBOARD_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield get_engine(url)
    dispose_engines()


@pytest.fixture
def voted(cli_db) -> str:
    with factory.session(cli_db) as s:
        factory.voted_campaign(s, HUMAN, name="Release 7")
        s.commit()
    return "Release 7"


def test_db_upgrade_is_idempotent(cli_db) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0


def test_leaderboard_json_is_a_stable_list_of_rows(voted) -> None:
    result = runner.invoke(app, ["leaderboard", "-c", voted, "--format", "json", "--rounds", "100"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["model"] for r in rows] == ["strong", "mid", "weak"]
    for key in ("model", "rating", "ci_low", "ci_high", "rank_low", "rank_high", "win_rate", "n"):
        assert key in rows[0]


def test_leaderboard_markdown_and_parquet(voted, tmp_path) -> None:
    md = runner.invoke(app, ["leaderboard", "-c", voted, "--rounds", "50"])
    assert md.exit_code == 0 and md.stdout.startswith("| model | rating |")
    dest = tmp_path / "board.parquet"
    pq = runner.invoke(
        app, ["leaderboard", "-c", voted, "--format", "parquet", "-o", str(dest), "--rounds", "50"]
    )
    assert pq.exit_code == 0, pq.output
    assert list(pd.read_parquet(dest).model) == ["strong", "mid", "weak"]


def test_gate_exit_codes_follow_the_lower_bound(voted) -> None:
    passed = runner.invoke(
        app, ["gate", "-c", voted, "--candidate", "strong", "--baseline", "weak"]
    )
    assert passed.exit_code == 0 and passed.stdout.startswith("PASS")
    failed = runner.invoke(app, ["gate", "-c", voted, "--candidate", "mid", "--baseline", "weak"])
    assert failed.exit_code == 1 and failed.stdout.startswith("FAIL")


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_opens_in_pandas(voted, tmp_path, fmt) -> None:
    dest = tmp_path / f"all.{fmt}"
    result = runner.invoke(app, ["export", "-c", voted, "--format", fmt, "-o", str(dest)])
    assert result.exit_code == 0, result.output
    reader = {"parquet": pd.read_parquet, "csv": pd.read_csv}.get(
        fmt, lambda p: pd.read_json(p, lines=True)
    )
    assert len(reader(dest)) == 30


def test_unknown_campaign_exits_1_and_says_how_to_create_it(cli_db) -> None:
    result = runner.invoke(app, ["leaderboard", "-c", "nope"])
    assert result.exit_code == 1
    assert "No campaign named 'nope'" in result.output
    assert "judgeboard import outputs" in result.output
