"""`judgeboard eval compare RUN_A RUN_B`: the table and JSON forms, the sample-size sentence,
user text printed as it is, and a refusal exiting 1 with the fix."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from db.engine import dispose_engines, get_engine
from tests.experiments import compare_data as data

runner = CliRunner()
A = ["WW", "WL", "WW", "TT", "LL", "WW", "WT", "LW"]
B = ["WW", "LL", "WW", "LL", "LL", "WL", "WW", "LL"]


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield get_engine(url)
    dispose_engines()


def _runs(engine, tmp_path, candidate_b: str = "good") -> tuple[int, int]:
    ref = data.dataset(engine, tmp_path, len(A))
    return (
        data.eval_run(engine, ref, A, version=1),
        data.eval_run(engine, ref, B, candidate=candidate_b, version=2),
    )


def test_the_table_gives_the_difference_the_detectable_size_and_the_regressions(
    cli_db, tmp_path
) -> None:
    run_a, run_b = _runs(cli_db, tmp_path)
    res = runner.invoke(app, ["eval", "compare", str(run_a), str(run_b), "--detect", "0.1"])
    assert res.exit_code == 0, res.output
    assert "good@v1" in res.output and "good@v2" in res.output
    assert "B − A: -21.9 pts" in res.output
    assert "With 8 prompts, differences under" in res.output
    assert "Detecting 10 points needs" in res.output
    assert "3 regressions" in res.output and "p1 [math] A 0.50 -> B 0.00" in res.output


def test_json_holds_the_figures_and_both_outputs_of_each_regression(cli_db, tmp_path) -> None:
    run_a, run_b = _runs(cli_db, tmp_path)
    res = runner.invoke(app, ["eval", "compare", str(run_a), str(run_b), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n_shared"] == 8 and out["overall"]["diff"] == pytest.approx(3.5 / 8 - 5.25 / 8)
    assert out["regressions"][0]["output_b"] == "good@v2 answer 1"
    assert out["detect"]["prompts_needed"] >= 8


def test_differently_named_candidates_are_paired_when_each_run_compares_one(
    cli_db, tmp_path
) -> None:
    run_a, run_b = _runs(cli_db, tmp_path, candidate_b="[bold]new")
    res = runner.invoke(app, ["eval", "compare", str(run_a), str(run_b)])
    assert res.exit_code == 0, res.output
    assert "[bold]new@v2" in res.output


def test_an_unknown_candidate_exits_1_naming_the_candidates(cli_db, tmp_path) -> None:
    run_a, run_b = _runs(cli_db, tmp_path)
    res = runner.invoke(app, ["eval", "compare", str(run_a), str(run_b), "--candidate", "x"])
    assert res.exit_code == 1
    assert "compares no candidate 'x'" in res.output and "good@v1" in res.output
