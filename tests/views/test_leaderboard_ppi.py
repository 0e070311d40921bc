"""The leaderboard page's PPI view: missing human figures shown as missing, warnings shown."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.results.test_ppi_missing import campaign_with_newcomer

ROOT = Path(__file__).resolve().parents[2]


def test_ppi_page_shows_a_dash_for_a_model_no_human_labelled(app_db) -> None:
    campaign_with_newcomer(app_db)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/leaderboard.py").run()
    at.selectbox[1].set_value("ppi").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("Model")
    for col in ("Human only", "Human CI low", "Human CI high", "CI width vs human"):
        assert table.loc["newcomer", col] == "—"
        assert table.drop(index="newcomer")[col].str.fullmatch(r"\d+%?").all()
    assert any("1 model has no human label" in i.value for i in at.info)
