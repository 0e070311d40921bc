"""The calibration page: every figure it shows was measured; missing ones say n/a, never 0."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ingest.demo import load_demo
from tests import factory

ROOT = Path(__file__).resolve().parents[2]


def _calibration_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/calibration.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_demo_shows_every_calibration_figure_with_kappa_interval_and_mtbench(app_db):
    load_demo(app_db)
    at = _calibration_page()
    shown = _metrics(at)
    for label in ("Agreement", "Cohen's kappa", "Per vote, with ties (S1)", "Swap consistency"):
        assert label in shown
    assert "nan" not in " ".join(shown.values()).lower()
    kappa = next(m for m in at.metric if m.label == "Cohen's kappa")
    assert "bootstrap interval [" in kappa.help


def test_judge_with_verdicts_combined_over_both_orders_shows_na_with_the_reason(app_db):
    with factory.session(app_db) as s:
        data = factory.campaign_with_outputs(s, "combined", n_prompts=4, models=("m1", "m2"))
        raters = factory.raters(s, 3)
        judge = factory.judge(s, "pre*combined*")
        for comp in data["comparisons"]:
            for rater in raters:
                factory.human_judgment(s, comp, rater, -1)
            factory.judge_judgment(s, comp, judge, 1, shown_order="unknown")
        s.commit()
    at = _calibration_page()
    shown = _metrics(at)
    # The judge always disagrees: a real 0 %, not a missing one.
    assert shown["Agreement"] == "0.0%"
    assert shown["Swap consistency"] == "n/a"
    assert shown["P(prefer first)"] == "n/a"
    captions = " ".join(c.value for c in at.caption)
    assert "4 verdicts came with an unknown shown order" in captions
    # The judge's name is shown as text, not as Markdown emphasis.
    assert any(r"pre\*combined\*@v1" in m.value for m in at.markdown)
