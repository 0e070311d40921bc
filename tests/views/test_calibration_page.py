"""The calibration page: every figure it shows was measured; missing ones say n/a, never 0."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ingest.demo import load_demo
from tests import factory
from tests.views.charts import chart_specs, layer, layer_marks

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
    assert re.search(r"bootstrap interval -?\d\.\d\d to -?\d\.\d\d", kappa.help), kappa.help


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


def _length_loving_judge(engine, n_prompts: int = 16) -> None:
    """m1 writes long answers, m2 short ones; the humans split evenly, the judge always picks
    m1 in both shown orders."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, "wordy", n_prompts=n_prompts, models=("m1", "m2"))
        for (_, model), output in data["outputs"].items():
            if model == "m1":
                output.content = "a long and careful answer " * 20
        raters = factory.raters(s, 3)
        judge = factory.judge(s, "wordy-judge")
        for i, comp in enumerate(data["comparisons"]):
            long_is_a = comp.output_a_id == data["outputs"][(comp.prompt_id, "m1")].id
            toward_long = -1 if long_is_a else 1
            for rater in raters:
                factory.human_judgment(
                    s, comp, rater, toward_long if i % 2 else -toward_long, shown_order="ab"
                )
            factory.judge_judgment(s, comp, judge, toward_long, "ab")
            factory.judge_judgment(s, comp, judge, toward_long, "ba")
        s.commit()


def test_an_extreme_length_bias_is_highlighted_with_what_it_implies(app_db) -> None:
    _length_loving_judge(app_db)
    at = _calibration_page()
    assert _metrics(at)["P(prefer longer)"] == "100.0%"
    warnings = [w.value for w in at.warning]
    assert any(
        "This judge: the longer answer wins in 100% of" in w and "Length, not quality" in w
        for w in warnings
    ), warnings
    assert not any("shown first" in w or "shown second" in w for w in warnings)


def test_kappa_and_alpha_show_interval_and_reading_and_the_alpha_card_is_in_words(app_db) -> None:
    _length_loving_judge(app_db)
    at = _calibration_page()
    labels = [m.label for m in at.metric]
    assert "Alpha with the judge as a rater" in labels
    assert not any("→" in label for label in labels)
    alpha = next(m for m in at.metric if m.label == "Alpha with the judge as a rater")
    assert "among the humans alone" in alpha.help
    captions = " ".join(c.value for c in at.caption)
    assert "Cohen's kappa 0.00 (95% CI" in captions and "slight agreement" in captions
    assert "Alpha among the humans alone" in captions
    ci = r"\(95% CI -?[\d.]+ to -?[\d.]+\)"
    alone, judged = rf"Alpha among the humans alone [\d.]+ {ci}", rf"with the judge [\d.]+ {ci}"
    assert re.search(rf"{alone} — [^;]+; {judged}", captions)
    assert "Intervals: 95% bootstrap over comparisons" in alpha.help


def test_calibration_tables_use_words_for_preferences_and_headers(app_db) -> None:
    _length_loving_judge(app_db)
    at = _calibration_page()
    for frame in at.dataframe:
        assert not [c for c in frame.value.columns if "_" in c], list(frame.value.columns)
        assert "None" not in " ".join(str(v) for v in frame.value.to_numpy().ravel())
    disagreements = at.dataframe[-1].value
    words = {"A better", "Tie", "B better"}
    assert set(disagreements["Judge's verdict"]) <= words
    assert set(disagreements["Human majority"]) <= words
    assert disagreements["Majority share"].str.fullmatch(r"\d+%").all()
    by_category = at.dataframe[0].value
    assert by_category["Agreement"].str.fullmatch(r"\d+\.\d%").all()
    assert {"Kappa 95% CI", "Reading"} <= set(by_category.columns)
    assert by_category["Kappa 95% CI"].str.fullmatch(r"-?\d\.\d\d to -?\d\.\d\d|—").all()


def test_confusion_heatmap_names_verdicts_in_words_and_prints_counts(app_db) -> None:
    _length_loving_judge(app_db)
    heat = chart_specs(_calibration_page())[0]
    assert layer_marks(heat) == ["rect", "text"]
    cells = layer(heat, "rect")["encoding"]
    assert cells["y"]["sort"] == ["A better", "Tie", "B better"]
    assert heat["height"]["step"] >= 24
    text = layer(heat, "text")["encoding"]
    assert text["text"]["field"] == "count"
    assert text["color"]["condition"]["value"] == "white" and text["color"]["value"] == "black"
