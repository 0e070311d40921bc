"""Visiting every page of the navigation leaves no deprecation warning in the server log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from tests.browser import ROOT, app_server, chromium

pytestmark = pytest.mark.browser

NAV_LINKS = '[data-testid="stSidebarNav"] a[data-testid="stSidebarNavLink"]'
# The run has finished on the page at `path`, and its heading is showing.
SETTLED = """(path) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    if (path !== null && window.location.pathname !== path) return false;
    const h = document.querySelector('[data-testid="stMain"] :is(h1, h2, h3)');
    return Boolean(h && h.offsetParent !== null && h.innerText.trim());
}"""
# Streamlit's own deprecation notices, Python's DeprecationWarning / FutureWarning lines.
MARKERS = ("deprecat", "futurewarning", "will be removed")


def _demo_database(url: str) -> None:
    """Migrated and loaded as `make run` does it (judgeboard db upgrade, demo --if-empty)."""
    for args in (["db", "upgrade"], ["demo", "--if-empty"]):
        subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env={**os.environ, "JUDGEBOARD_DATABASE_URL": url},
            check=True,
            capture_output=True,
        )


def test_every_page_runs_without_a_deprecation_warning(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    _demo_database(url)
    with app_server(url, tmp_path) as server, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server.url}/")
        page.wait_for_function(SETTLED, arg=None, timeout=60_000)
        links = page.locator(NAV_LINKS)
        paths = [
            urlparse(urljoin(server.url + "/", links.nth(i).get_attribute("href") or "/")).path
            for i in range(links.count())
        ]
        assert len(paths) >= 11, paths  # the local admin sees every page
        visited = []
        for i, path in enumerate([*paths[1:], paths[0]], start=1):
            links.nth(i % len(paths)).click()
            page.wait_for_function(SETTLED, arg=path, timeout=60_000)
            assert not page.get_by_test_id("stException").count(), path
            visited.append(path)
        log = server.output()
    assert sorted(visited) == sorted(paths)
    warned = [line for line in log.splitlines() if any(m in line.lower() for m in MARKERS)]
    assert not warned, "\n".join(warned)
