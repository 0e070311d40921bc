"""`judgeboard leaderboard` options of issue 12: strong weight, win rate against the
baseline, and notes that never interpret a model name as markup."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app
from tests import factory
from tests.cli.test_cli import cli_db  # noqa: F401  (fixture)

runner = CliRunner()


def _campaign(engine, votes: dict, name: str) -> str:
    with factory.session(engine) as s:
        factory.voted_campaign(s, votes, name=name)
        s.commit()
    return name


def test_strong_weight_and_baseline_give_arena_hard_columns(cli_db) -> None:  # noqa: F811
    votes = {("cand", "base"): [-2] * 6 + [-1] * 4 + [1] * 6 + [0] * 4}
    name = _campaign(cli_db, votes, "Arena")
    args = ["leaderboard", "-c", name, "--format", "json", "--rounds", "100"]
    plain = json.loads(runner.invoke(app, [*args, "--baseline", "base"]).stdout)
    strong = runner.invoke(app, [*args, "--baseline", "base", "--strong-weight", "3"])
    assert strong.exit_code == 0, strong.output
    rows = {r["model"]: r for r in json.loads(strong.stdout)}
    # strong verdicts for cand counted 3 times: (18 + 4 + 2) of 32 votes, ties half
    assert rows["cand"]["win_rate"] == (18 + 4 + 0.5 * 4) / 32
    assert rows["cand"]["win_rate_vs_baseline"] > {r["model"]: r for r in plain}["cand"][
        "win_rate_vs_baseline"
    ]
    assert rows["base"]["win_rate_vs_baseline"] == 0.5
    assert rows["base"]["ci_low"] is None and rows["base"]["ci_high"] is None
    assert "count 3 times" in strong.stderr


def test_strong_weight_below_one_is_refused(cli_db) -> None:  # noqa: F811
    name = _campaign(cli_db, {("a", "b"): [-1, 1]}, "Tiny")
    result = runner.invoke(app, ["leaderboard", "-c", name, "--strong-weight", "0"])
    assert result.exit_code != 0


def test_notes_print_model_names_literally(cli_db) -> None:  # noqa: F811
    name = _campaign(cli_db, {("[bold]winner[/bold]", "loser"): [-1] * 5}, "Markup")
    result = runner.invoke(app, ["leaderboard", "-c", name, "--rounds", "50"])
    assert result.exit_code == 0, result.output
    assert "[bold]winner[/bold], loser won or lost every vote" in result.stderr
    assert "bootstrap rounds were usable" in result.stderr


def test_gate_takes_the_strong_weight_too(cli_db) -> None:  # noqa: F811
    name = _campaign(cli_db, {("cand", "base"): [-2] * 8 + [1] * 4}, "Gate")
    args = ["gate", "-c", name, "--candidate", "cand", "--baseline", "base"]
    plain = runner.invoke(app, args)
    strong = runner.invoke(app, [*args, "--strong-weight", "3"])
    assert "n=12" in plain.stdout
    assert strong.exit_code == 0 and "n=28" in strong.stdout and "85.7%" in strong.stdout
