"""Regenerate the README's screenshots from the current app: the Rate, Leaderboard and
Calibration pages on the demo campaign.

Run: ``.venv/bin/python tools/screenshots.py`` (``--out DIR`` to write elsewhere than docs/).
It sets up a fresh SQLite database the way ``make run`` does (``judgeboard db upgrade``,
``judgeboard demo --if-empty``; the demo brings sample human votes and a simulated LLM
judge's verdicts, so every page has something to show), serves ``app.py`` in local mode on
127.0.0.1 (you are the local admin, no sign-in step) and drives one headless Chromium
(``/usr/bin/chromium``) over it. Nothing is downloaded; nothing outside ``--out`` is written.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import app_server, chromium  # noqa: E402

SHOTS = {  # URL path -> (file name under --out, the tallest the picture may be in pixels)
    "/rate": ("rate-page.png", 1800),
    "/leaderboard": ("leaderboard-page.png", 1600),
    "/calibration": ("calibration-page.png", 1600),
}
VIEWPORT = {"width": 1400, "height": 1000}  # the height then grows to fit each page
TIMEOUT_MS = 60_000
# The script run has finished on the page at `path` and its heading is showing.
SETTLED = """(path) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    if (window.location.pathname !== path) return false;
    const h = document.querySelector('[data-testid="stMain"] h1');
    return Boolean(h && h.offsetParent !== null);
}"""
# Elements draw after the run: the frontend loads some widgets' code on first use and shows
# a skeleton meanwhile; charts and tables draw into an SVG or a canvas.
DRAWN = """() => {
    if (document.querySelector('[data-testid^="stSkeleton"]')) return false;
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
    const frames = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
    return charts.every(c => c.querySelector('svg, canvas'))
        && frames.every(f => f.querySelector('canvas'));
}"""

CONTENT_HEIGHT = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    return Math.ceil(main.scrollHeight + main.getBoundingClientRect().top);
}"""


def demo_database(url: str) -> None:
    """What ``make run`` does before serving: migrate, then load the demo."""
    for args in (["db", "upgrade"], ["demo", "--if-empty"]):
        subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env={**os.environ, "JUDGEBOARD_DATABASE_URL": url},
            check=True,
            capture_output=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'screenshots.db'}"
        demo_database(url)
        with app_server(url, Path(tmp)) as server, chromium() as browser:
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            page = context.new_page()
            for path, (name, tallest) in SHOTS.items():
                page.set_viewport_size(VIEWPORT)
                page.goto(server.url + path)
                page.wait_for_function(SETTLED, arg=path, timeout=TIMEOUT_MS)
                page.wait_for_function(DRAWN, timeout=TIMEOUT_MS)
                if page.get_by_test_id("stException").count():
                    raise SystemExit(f"{path} shows an exception: fix the page first")
                # Streamlit scrolls its main area, not the document: grow the window instead.
                height = page.evaluate(CONTENT_HEIGHT)
                height = max(VIEWPORT["height"], min(tallest, height))
                page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
                page.wait_for_function(DRAWN, timeout=TIMEOUT_MS)
                # away from the sidebar (its collapse button shows on hover) and any widget
                page.mouse.move(VIEWPORT["width"] - 10, height - 10)
                page.wait_for_timeout(500)  # let charts finish their transitions
                page.screenshot(path=str(out / name))
                print(f"wrote {out / name}")
            context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
