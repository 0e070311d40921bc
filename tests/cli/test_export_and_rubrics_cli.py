from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from db.engine import dispose_engines, get_engine
from results.export import EXPORT_FORMATS
from tests import factory

runner = CliRunner()


@pytest.fixture
def demo_named(tmp_path, monkeypatch) -> str:
    """A campaign whose name has a colon and a slash, in a migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    name = "Demo: assistant quality / v2"
    with factory.session(get_engine(url)) as s:
        factory.voted_campaign(s, {("m1", "m2"): [-1, 1, 0]}, name=name)
        s.commit()
    yield name
    dispose_engines()


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_export_without_output_writes_a_safe_file_name(demo_named, tmp_path, fmt) -> None:
    result = runner.invoke(app, ["export", "-c", demo_named, "--format", fmt])
    assert result.exit_code == 0, result.output
    dest = tmp_path / f"Demo-assistant-quality-v2-judgments.{fmt}"
    assert dest.is_file()
    assert dest.name in result.output.replace("\n", "")
    reader = {"parquet": pd.read_parquet, "csv": pd.read_csv}.get(
        fmt, lambda p: pd.read_json(p, lines=True)
    )
    assert len(reader(dest)) == 3


def test_export_help_points_to_the_column_docs() -> None:
    result = runner.invoke(app, ["export", "--help"])
    assert result.exit_code == 0
    assert "EXPORT.md" in result.output


@pytest.fixture
def scored(tmp_path, monkeypatch) -> str:
    """A campaign whose humans scored one criterion (named like Rich markup) and not another."""
    from annotate.campaigns import CriterionSpec

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    criteria = [CriterionSpec("[bold]tone[/bold]"), CriterionSpec("safety", scale="binary")]
    with factory.session(get_engine(url)) as s:
        data = factory.campaign_with_outputs(
            s, "scored", n_prompts=2, models=("m1", "m2"), criteria=criteria
        )
        rater = factory.user(s, "ana@x.org")
        for comp in data["comparisons"]:
            row = factory.human_judgment(s, comp, rater, -1)
            for (prompt_id, model), output in data["outputs"].items():
                if prompt_id == comp.prompt_id:
                    factory.score(s, row, output, "[bold]tone[/bold]", 4 if model == "m1" else 2)
        s.commit()
    yield "scored"
    dispose_engines()


def test_rubrics_table_shows_text_literally_and_missing_as_a_dash(scored, wide_console) -> None:
    result = runner.invoke(app, ["rubrics", "-c", scored])
    assert result.exit_code == 0, result.output
    assert "[bold]tone[/bold]" in result.output
    assert "4.00" in result.output and "2.00" in result.output
    assert "—" in result.output and "0.00" not in result.output


def test_rubrics_json_has_the_summary_and_distribution(scored) -> None:
    import json

    result = runner.invoke(app, ["rubrics", "-c", scored, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    means = {
        (r["criterion"], r["model"]): r["mean"]
        for r in data["summary"]
        if r["scored_by"] == "human"
    }
    assert means == {
        ("[bold]tone[/bold]", "m1"): 4.0,
        ("[bold]tone[/bold]", "m2"): 2.0,
        ("safety", "m1"): None,
        ("safety", "m2"): None,
    }
    counts = {
        (r["model"], r["value"]): r["count"]
        for r in data["distribution"]
        if r["criterion"] == "[bold]tone[/bold]"
    }
    assert counts[("m1", 4.0)] == 2 and counts[("m1", 1.0)] == 0
