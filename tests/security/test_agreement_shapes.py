"""Agreement on vote shapes that real files have, on SQLite and PostgreSQL (issue 13, point 21).

A rater who voted on one pair in both orders (model_a/model_b swapped) is one comparison shown
twice: the later vote is a re-show, and one unit's repeat never stops a whole campaign's report.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import delete, select
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from annotate.campaigns import get_campaign
from cli.main import app
from db.engine import dispose_engines, get_engine
from db.models import Judgment
from ingest.votes import import_votes
from results.gate import gate
from results.leaderboards import LeaderboardQuery
from results.reports import campaign_agreement
from tests import factory

ROOT = Path(__file__).resolve().parents[2]


def _votes_with_one_pair_in_both_orders() -> list[dict]:
    """Two raters on two questions; author_0 also voted on question 0 with the sides swapped."""
    rows = factory.vote_rows(2, judge="author_0") + factory.vote_rows(2, judge="author_1")
    swapped = {
        **rows[0],
        "model_a": "m2",
        "model_b": "m1",
        "output_a": rows[0]["output_b"],
        "output_b": rows[0]["output_a"],
        "winner": "model_b",
    }
    return [*rows, swapped]


def test_a_vote_on_the_same_pair_in_the_other_order_imports_as_a_reshow(
    engine, tmp_path: Path
) -> None:
    admin = factory.admin_id(engine)
    path = factory.write_jsonl(tmp_path / "v.jsonl", _votes_with_one_pair_in_both_orders())
    result = import_votes(engine, path, "both-orders", actor_id=admin)
    assert result.judgments_added == 5
    with factory.session(engine) as s:
        rows = s.exec(select(Judgment).order_by(Judgment.id)).all()
    assert [(r.shown_order, r.is_reshow, r.preference) for r in rows][-1] == ("ba", True, -1)
    assert sum(r.is_reshow for r in rows) == 1
    assert all(r.is_current for r in rows)
    page = campaign_agreement(
        engine, get_campaign(engine, "both-orders").id, n_boot=20, actor_id=admin
    )
    assert (page.report.n_units, page.report.n_raters, page.report.n_ratings) == (2, 2, 4)


def test_agreement_keeps_a_raters_first_showing_when_a_unit_has_two_of_their_votes(
    engine,
) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=2, models=("m1", "m2"))
        first, second = (factory.user(s, f"r{i}@example.com") for i in (1, 2))
        for comp in data["comparisons"]:
            factory.human_judgment(s, comp, first, 1, shown_order="ab")
            factory.human_judgment(s, comp, second, 1, shown_order="ab")
        # Stored before re-shows were recognised: the same comparison, other order, not marked.
        factory.human_judgment(s, data["comparisons"][0], first, -1, shown_order="ba")
        s.commit()
        campaign_id = data["campaign"].id
    page = campaign_agreement(engine, campaign_id, n_boot=20, actor_id=factory.admin_id(engine))
    report = page.report
    assert (report.n_units, report.n_raters, report.n_ratings) == (2, 2, 4)
    assert report.percent_agreement == 1.0
    assert any("1 repeated vote" in note for note in report.notes)


def test_the_ppi_gate_never_prints_nan_percent_when_the_interval_cannot_be_computed(
    engine,
) -> None:
    """One human-labelled comparison gives PPI an estimate but no interval."""
    with factory.session(engine) as s:
        data = factory.voted_campaign(
            s, {("a", "b"): [-1, -1, 1]}, judge_votes={("a", "b"): [-1, -1, 1]}
        )
        unlabelled = [c.id for c in data["comparisons"][1:]]
        s.exec(
            delete(Judgment).where(
                Judgment.rater_kind == "human", Judgment.comparison_id.in_(unlabelled)
            )
        )
        s.commit()
        campaign_id = data["campaign"].id
    q = LeaderboardQuery(campaign_id, source="ppi", judge=data["judge"].name)
    result = gate(engine, q, "a", "b", 0.5, actor_id=factory.admin_id(engine))
    assert not result.passed
    assert "nan" not in result.message.lower()
    assert "FAIL: a beats b 66.7% of the time" in result.message
    assert "no 95% CI" in result.message and "rate more" in result.message


def _one_human_per_comparison(engine) -> None:
    """A judge with verdicts, but one human vote per comparison: no majority, no ceiling."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, "thin", n_prompts=3, models=("m1", "m2"))
        rater = factory.user(s, "solo@example.com")
        judge = factory.judge(s, "thin-judge")
        for comp in data["comparisons"]:
            factory.human_judgment(s, comp, rater, -1)
            factory.judge_judgment(s, comp, judge, 1, "ab")
            factory.judge_judgment(s, comp, judge, 1, "ba")
        s.commit()


def test_the_calibration_page_never_shows_nan_percent(app_db) -> None:
    _one_human_per_comparison(app_db)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/calibration.py").run()
    assert not at.exception, at.exception
    shown = [m.value for m in at.metric] + [c.value for c in at.caption]
    shown += [m.value for m in at.markdown] + [i.value for i in at.info]
    shown += [str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()]
    assert shown and "nan" not in " ".join(shown).lower()
    assert "n/a" in " ".join(shown)


def test_the_calibration_command_never_prints_nan(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    try:
        _one_human_per_comparison(get_engine(url))
        result = CliRunner().invoke(app, ["calibration", "-c", "thin"])
    finally:
        dispose_engines()
    assert result.exit_code == 0, result.output
    assert "thin-judge" in result.stdout and "nan" not in result.output.lower()
    assert "—" in result.stdout  # the figures that cannot be computed show as missing
