"""A real `streamlit run app.py` and headless Chromium: the item browser's Open link opens
the item in full, the admin adjudicates with the rater buttons, and untrusted text in the
item never runs as HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import make_engine
from db.models import Adjudication, ReviewAction, metadata
from tests import factory
from tests.browser import app_server, chromium

pytestmark = pytest.mark.browser

PAYLOAD = "Answer <img src=x onerror=\"window.__xss = 1\"> REVIEW-MARKER"


def test_the_open_link_shows_the_item_and_the_admin_adjudicates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'review.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    models = factory.SECRET_MODELS[:2]
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=2, models=models, contents={models[1]: PAYLOAD})
        rater = factory.raters(s, 1)[0]
        comp = data["comparisons"][1]
        factory.human_judgment(s, comp, rater, -1, rationale="<b>bold claim</b>")
        s.commit()
        campaign_id, comparison_id = data["campaign"].id, comp.id

    with app_server(url, tmp_path) as server, chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/review?campaign={campaign_id}&comparison={comparison_id}")
        page.get_by_role("heading", name=f"Comparison #{comparison_id}").wait_for(timeout=30_000)
        page.get_by_text("Question 1?").first.wait_for(timeout=15_000)
        page.get_by_text("REVIEW-MARKER").first.wait_for(timeout=15_000)
        page.get_by_role("button", name="B is better").first.click()
        page.get_by_text(f"Adjudicated comparison #{comparison_id}").wait_for(timeout=15_000)
        page.wait_for_timeout(300)
        assert page.evaluate("window.__xss") is None
        assert not errors, errors

    with factory.session(engine) as s:
        adj = s.execute(select(Adjudication)).scalars().one()
        action = s.execute(select(ReviewAction)).scalars().one()
    assert (adj.comparison_id, adj.preference) == (comparison_id, 1)
    assert action.action == "adjudicate"
    engine.dispose()
