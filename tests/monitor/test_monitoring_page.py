"""The Monitoring page (issue 16, points 5 and 6) through AppTest, as the local admin."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.monitor.test_drift_report import traffic
from tests.monitor.test_series import store

ROOT = Path(__file__).resolve().parents[2]


def _monitoring() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/monitoring.py").run()
    assert not at.exception, at.exception
    return at


def test_the_page_shows_the_series_the_stated_rate_and_the_alarm(app_db) -> None:
    store(app_db, traffic())
    at = _monitoring()
    assert not at.error, [e.value for e in at.error]
    series = at.dataframe[0].value
    assert list(series["Requests"])[:2] == [150, 150]
    assert any("at most 5% chance of any false alarm" in i.value for i in at.info)
    alarms = at.dataframe[1].value
    assert list(alarms["Series"]) == ["latency"]
    assert any("latency:" in m.value and "within 7 days" in m.value for m in at.markdown)


def test_without_streams_the_page_says_how_to_start(app_db) -> None:
    at = _monitoring()
    assert "ingest token create" in at.info[0].value
