"""Every page renders through AppTest on the demo campaign, for the roles that may see it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.demo import load_demo

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PAGES = [
    "campaigns.py",
    "import_data.py",
    "users.py",
    "leaderboard.py",
    "agreement.py",
    "calibration.py",
    "rubrics.py",
    "review.py",
    "evaluations.py",
    "experiments.py",
    "monitoring.py",
]


@pytest.fixture
def demo_db(app_db):
    load_demo(app_db)
    return app_db


def _app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_render_on_the_demo(demo_db, page) -> None:
    at = _app()
    at.switch_page(f"views/{page}").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_local_mode_says_so_in_the_sidebar(demo_db) -> None:
    at = _app()
    assert any("Local mode" in i.value for i in at.sidebar.info)


def test_leaderboard_page_ranks_the_demo_assistants(demo_db) -> None:
    at = _app()
    at.switch_page("views/leaderboard.py").run()
    table = at.dataframe[0].value
    assert list(table["Model"])[0] == "atlas-large"


def test_leaderboard_page_switches_to_ppi(demo_db) -> None:
    at = _app()
    at.switch_page("views/leaderboard.py").run()
    at.selectbox[1].set_value("ppi").run()
    assert not at.exception, at.exception
    assert any("PPI" in i.value for i in at.info)


def test_campaigns_page_shows_flagged_items_with_their_reasons(demo_db) -> None:
    from annotate.campaigns import list_campaigns
    from tests import factory

    campaign_id = list_campaigns(demo_db)[0].id
    with factory.session(demo_db) as s:
        rater_id = factory.raters(s, 1)[0].id
        s.commit()
    factory.flag_items(demo_db, rater_id, campaign_id, ["the code answer is truncated"])
    at = _app()
    at.switch_page("views/campaigns.py").run()
    assert not at.exception, at.exception
    flags = at.dataframe[1].value
    assert list(flags["Reason"]) == ["the code answer is truncated"]


def test_campaigns_page_names_strategies_and_offers_the_campaigns_models_as_baseline(
    demo_db,
) -> None:
    from annotate.campaigns import MODE_NAMES
    from annotate.pairing import STRATEGY_NAMES

    at = _app()
    at.switch_page("views/campaigns.py").run()
    assert list(at.radio[0].options) == list(STRATEGY_NAMES.values())
    baseline = next(s for s in at.selectbox if s.label.startswith("Baseline model"))
    assert "atlas-large" in baseline.options and baseline.value is None
    modes = set(at.dataframe[0].value["mode"])
    assert modes <= set(MODE_NAMES.values())


def test_campaign_setup_shows_rubric_scales_by_name(demo_db) -> None:
    from metrics.vocabulary import SCALE_NAMES

    at = _app()
    at.switch_page("views/campaign_setup.py").run()
    assert not at.exception, at.exception
    criteria = next(
        m.value for m in at.markdown if m.value.startswith("**Rubric criteria**")
    )
    assert all(name in criteria for name in SCALE_NAMES.values())
    assert "likert5" not in criteria
