"""The CLI's reports say what review left out (issue 14, point 6)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from annotate import review
from cli.main import app
from db.engine import dispose_engines, get_engine
from db.models import Comparison
from tests import factory

runner = CliRunner()
NAME = "reviewed"


@pytest.fixture
def reviewed(tmp_path, monkeypatch) -> None:
    """A campaign with one comparison retired and one rater excluded."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = get_engine(url)
    with factory.session(engine) as s:
        data = factory.voted_campaign(s, {("m1", "m2"): [-1, 1, 0, -1]}, name=NAME)
        s.commit()
        campaign_id = data["campaign"].id
        rater = data["raters"][1].id
    admin = factory.admin_id(engine)
    with engine.connect() as conn:
        last = conn.execute(
            select(Comparison.id).where(Comparison.campaign_id == campaign_id)
        ).scalars().all()[-1]
    review.retire_comparison(engine, last, actor_id=admin)
    review.exclude_rater(engine, campaign_id, f"u:{rater}", actor_id=admin)
    yield
    dispose_engines()


def test_the_leaderboard_says_what_review_left_out(reviewed) -> None:
    result = runner.invoke(app, ["leaderboard", "-c", NAME, "--rounds", "20"])
    assert result.exit_code == 0, result.output
    assert "1 retired comparison and 1 excluded rater are left out" in " ".join(
        result.output.split()
    )


def test_the_export_keeps_and_marks_what_review_left_out(reviewed, tmp_path) -> None:
    result = runner.invoke(app, ["export", "-c", NAME, "--format", "csv", "-o", "out.csv"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Wrote 4 judgments" in said
    assert "1 retired comparison and 1 excluded rater are left out of every result" in said
    assert "comparison_retired and rater_excluded" in said
