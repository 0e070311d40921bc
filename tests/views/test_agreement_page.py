"""The Agreement page shows a missing figure as missing, with its reason, never as zero."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests import factory

ROOT = Path(__file__).resolve().parents[2]


def test_a_campaign_without_overlap_shows_dashes_and_reasons_not_zeros(app_db) -> None:
    with factory.session(app_db) as s:
        data = factory.campaign_with_outputs(s, name="thin", n_prompts=1, models=("m1", "m2"))
        factory.human_judgment(s, data["comparisons"][0], factory.user(s, "solo@x.org"), -1)
        s.commit()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/agreement.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fleiss' kappa"] == "— (no comparison with two ratings)"
    assert metrics["Human-human agreement, with ties (S1)"].startswith("— (")
    assert not any(v in ("0.0%", "0.000") for v in metrics.values())
    alphas = at.dataframe[0].value
    assert set(alphas["alpha"]) == {"— (no comparison with two ratings)"}
    assert set(alphas["95% CI"]) == {"—"}
    assert any("No comparison has two human votes" in i.value for i in at.info)
