"""A real `streamlit run app.py` and headless Chromium: keyboard-only rating, no script runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import make_engine
from db.models import Assignment, Judgment, metadata
from tests import factory
from tests.browser import app_server, chromium

pytestmark = pytest.mark.browser

PAYLOAD = (
    "Here is my answer. <script>window.__xss = 1; document.title = 'pwned';</script>"
    " <img src=x onerror=\"window.__xss = 2; document.title = 'pwned'\"> XSS-MARKER"
)


def test_keyboard_only_rating_and_outputs_never_run_html(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    models = factory.SECRET_MODELS[:2]
    with factory.session(engine) as s:
        factory.blind_campaign(
            s,
            n_prompts=3,
            overlap=1,
            models=models,
            contents={models[1]: PAYLOAD},
            instructions="Pick the better answer.",
        )
        s.commit()

    with app_server(url, tmp_path) as server, chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/rate")
        page.get_by_text("0 of 3 done").wait_for(timeout=30_000)
        title = page.title()

        # The payload is on the page as text, and it did not run.
        page.get_by_text("XSS-MARKER").first.wait_for()
        body = page.inner_text("body")
        assert "<script>" in body and "onerror" in body
        page.wait_for_timeout(300)  # give an onerror handler time to fire if it could
        assert page.evaluate("window.__xss") is None
        assert page.title() == title != "pwned"
        html = page.content()
        assert all(name not in html for name in factory.SECRET_MODELS)

        # Keyboard only: 1 = A better, 3 = B better, 2 = tie. Each item's buttons carry its
        # assignment in their key (CSS class st-key-item-<id>-...); wait for the old ones to
        # go, so the next key press reaches the next item, not a button being replaced.
        for key, done in (("1", "1 of 3 done"), ("3", "2 of 3 done"), ("2", "All done")):
            button = page.locator("[class*='st-key-item-'][class*='-pref-']").first
            old = next(c for c in button.get_attribute("class").split() if c.startswith("st-key"))
            page.locator("body").press(key)
            page.locator(f".{old}").wait_for(state="detached", timeout=15_000)
            page.get_by_text(done).first.wait_for(timeout=15_000)
        assert page.evaluate("window.__xss") is None
        assert not errors, errors

    with factory.session(engine) as s:
        judgments = list(s.execute(select(Judgment).order_by(Judgment.id)).scalars())
        orders = {a.id: a.shown_order for a in s.execute(select(Assignment)).scalars()}
    shown = [j.preference * (1 if orders[j.assignment_id] == "ab" else -1) for j in judgments]
    assert shown == [-1, 1, 0]
    assert all(j.time_on_task_ms is not None and j.time_on_task_ms > 0 for j in judgments)
    engine.dispose()
