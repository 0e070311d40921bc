"""A page URL opened first on a fresh server still goes through app.py's navigation."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.engine import make_engine
from db.models import metadata
from ingest.demo import load_demo
from tests.browser import app_server, chromium

pytestmark = pytest.mark.browser


def test_a_deep_link_on_a_fresh_server_gets_the_role_navigation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nav.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    load_demo(engine)
    engine.dispose()
    with app_server(url, tmp_path) as server, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server.url}/leaderboard")
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("Results").wait_for(timeout=30_000)
        page.get_by_role("heading", name="Leaderboard").wait_for(timeout=30_000)
        links = sidebar.get_by_test_id("stSidebarNavLink").all_inner_texts()
        assert not any(name.strip().endswith("common") for name in links), links
        assert any("Leaderboard" in name for name in links), links
