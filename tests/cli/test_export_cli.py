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
