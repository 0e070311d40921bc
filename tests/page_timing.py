"""Time a page's whole script run through Streamlit's AppTest (used by bench/rating_loop.py).

It lives with the other AppTest users so that only app.py, pages/ and tests/ import Streamlit.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from db.engine import dispose_engines


def median_script_run_ms(page: Path, database_url: str, runs: int = 30) -> float:
    """Median ms of ``page``'s script run against ``database_url``, after three warm-up runs."""
    os.environ["JUDGEBOARD_DATABASE_URL"] = database_url
    st.cache_resource.clear()
    dispose_engines()
    at = AppTest.from_file(str(page), default_timeout=60)
    at.run()
    if at.exception:
        raise RuntimeError(at.exception)
    for _ in range(3):
        at.run()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)
