"""In Chromium: the leaderboard's charts give every model row 24 px, and the heatmap prints
each win rate in a colour that stands out from its cell."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from db.engine import make_engine
from db.models import metadata
from ingest.demo import load_demo
from tests.browser import app_server, chromium

pytestmark = pytest.mark.browser

N_MODELS = 4  # the demo's assistants

CELLS = """(chart) => {
  const marks = (cls) => [...chart.querySelectorAll(`g.${cls} > *`)].map((el) => ({
    label: el.getAttribute('aria-label') || '',
    fill: el.getAttribute('fill') || getComputedStyle(el).fill,
    text: el.textContent,
    top: el.getBoundingClientRect().top,
    height: el.getBoundingClientRect().height,
  }));
  const legend = [...chart.querySelectorAll('g.role-legend text')].map((el) => el.textContent);
  return {
    rects: marks('mark-rect'), texts: marks('mark-text'), points: marks('mark-symbol'), legend,
  };
}"""


def _luminance(colour: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", colour)[:3]]
    if colour.startswith("#"):
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    if colour in ("white", "black"):
        channels = [1.0] * 3 if colour == "white" else [0.0] * 3
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _cell(label: str) -> str:
    return ";".join(label.split(";")[:2])


def test_leaderboard_charts_are_readable_in_chromium(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'charts.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    load_demo(engine)
    engine.dispose()
    with app_server(url, tmp_path) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/leaderboard")
        page.get_by_role("heading", name="Head-to-head win rates").wait_for(timeout=60_000)
        charts = page.locator(".vega-embed")
        charts.nth(1).locator("g.mark-text > text").nth(N_MODELS**2 - 1).wait_for(
            state="attached", timeout=60_000
        )
        points = sorted(p["top"] for p in charts.nth(0).evaluate(CELLS)["points"])
        assert len(points) == N_MODELS
        assert all(b - a >= 24 for a, b in zip(points, points[1:], strict=False)), points
        marks = charts.nth(1).evaluate(CELLS)
        cells = [r for r in marks["rects"] if r["label"].startswith("against:")]
        assert cells and all(r["height"] >= 24 for r in cells), [r["height"] for r in cells]
        fills = {_cell(r["label"]): r["fill"] for r in marks["rects"]}
        printed = [t for t in marks["texts"] if t["label"].startswith("against:")]
        assert len(printed) >= N_MODELS * (N_MODELS - 1)
        for text in printed:
            assert re.fullmatch(r"\d+%", text["text"].strip()), text
            cell = fills[_cell(text["label"])]
            assert _contrast(cell, text["fill"]) >= 3.0, (text, cell)
        assert marks["legend"] and all(v.endswith("%") for v in marks["legend"]), marks["legend"]
