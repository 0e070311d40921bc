"""A 2 MB markdown output on the Rate page: how long until a rater can answer (issue 13, 8).

Run: ``.venv/bin/python bench/render_limits.py``. Starts one ``streamlit run app.py`` server
per variant on a throw-away SQLite database: one model's outputs are a 2 MB markdown list
(about 285,000 items, which froze Chromium before the rendering limits) or, the reference,
a one-line answer. Each figure is the median of 5 over fresh browser
pages, from navigation until the rater can act:

- load: the answer buttons are enabled and the output's text is on screen;
- answer: click "A is better", until the answer is stored.

Prints one line per figure and exits 0 even on a miss.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report  # noqa: E402

RUNS = 5
TARGET_SECONDS = 2.0
HUGE = "- item\n" * (2_000_000 // len("- item\n"))
SHORT = "A short answer."
TIMEOUT_MS = 60_000


def seed(url: str, text: str) -> None:
    """One campaign with an item per measurement; one model's output is ``text``."""
    from db.engine import make_engine
    from db.models import metadata
    from tests import factory

    engine = make_engine(url)
    metadata.create_all(engine)
    models = factory.SECRET_MODELS[:2]
    with factory.session(engine) as s:
        factory.blind_campaign(s, n_prompts=RUNS + 1, overlap=1, contents={models[1]: text})
        s.commit()
    engine.dispose()


def stored_judgments(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT count(*) FROM judgments").fetchone()[0]


def time_to_answer(browser, base: str, url: str, marker: str) -> tuple[float, float]:
    """Seconds from navigation until answerable, and from the click until the answer is stored."""
    before = stored_judgments(url)
    page = browser.new_page()
    try:
        start = time.perf_counter()
        page.goto(f"{base}/rate")
        button = page.get_by_role("button", name="A is better")
        button.wait_for(state="visible", timeout=TIMEOUT_MS)
        page.get_by_text(marker).first.wait_for(timeout=TIMEOUT_MS)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        button.click(timeout=TIMEOUT_MS)
        while stored_judgments(url) == before:
            if time.perf_counter() - start > TIMEOUT_MS / 1000:
                raise TimeoutError("the answer was not stored")
            time.sleep(0.01)
        answered = time.perf_counter() - start
    finally:
        page.close()
    return loaded, answered


def measure(workdir: Path, label: str, text: str, marker: str) -> list[tuple[float, float]]:
    from tests.browser import app_server, chromium

    url = f"sqlite:///{workdir / f'{label}.db'}"
    seed(url, text)
    with app_server(url, workdir) as server, chromium() as browser:
        time_to_answer(browser, server.url, url, marker)  # warm-up
        return [time_to_answer(browser, server.url, url, marker) for _ in range(RUNS)]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        short = measure(workdir, "short", SHORT, SHORT)
        huge = measure(workdir, "huge", HUGE, "- item")
    for index, what in ((0, "load until answerable"), (1, "answer until stored")):
        ours = statistics.median(f[index] for f in huge)
        reference = statistics.median(f[index] for f in short)
        report(
            f"rate page with a 2 MB markdown output, {what}", ours, " s", "<=",
            TARGET_SECONDS, ".2f",
        )
        report(
            f"  the same vs a one-line output ({reference:.2f} s)", ours / reference, "x", "<=",
            3, ".1f",
        )


if __name__ == "__main__":
    main()
