"""The Agreement page shows a missing figure as missing, with its reason, never as zero."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests import factory
from tests.views.charts import chart_specs, layer, layer_marks

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
    assert set(alphas["Alpha"]) == {"— (no comparison with two ratings)"}
    assert set(alphas["95% CI"]) == {"—"}
    assert set(alphas["Reading"]) == {"not measured"}
    assert any("No comparison has two human votes" in i.value for i in at.info)


def _left_leaning_raters(engine, n_prompts: int = 12) -> None:
    """Three raters who agree on every comparison and always pick the answer on the left."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, "lefty", n_prompts=n_prompts, models=("m1", "m2"))
        raters = factory.raters(s, 3)
        for i, comp in enumerate(data["comparisons"]):
            preference, shown = (-1, "ab") if i % 2 == 0 else (1, "ba")
            for rater in raters:
                factory.human_judgment(s, comp, rater, preference, shown_order=shown)
        s.commit()


def _agreement_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/agreement.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_every_alpha_and_kappa_carries_its_interval_and_a_reading(app_db) -> None:
    _left_leaning_raters(app_db)
    at = _agreement_page()
    alphas = at.dataframe[0].value.set_index("Measure")
    nominal = alphas.loc["Preference: A / tie / B (nominal)"]
    assert nominal["Alpha"] == "1.000"
    assert nominal["Reading"] == "reliable agreement"
    assert nominal["95% CI"] != "—"
    captions = " ".join(c.value for c in at.caption)
    assert "Fleiss' kappa 1.00 (95% CI" in captions and "almost perfect agreement" in captions
    kappas = next(f.value for f in at.dataframe if "Rater 1" in f.value.columns)
    assert set(kappas["Reading"]) == {"almost perfect agreement"}
    assert set(kappas["Weighted reading"]) == {"almost perfect agreement"}
    assert set(kappas["Weighted 95% CI"]) == {"1.00 to 1.00"}
    assert kappas["95% CI"].str.fullmatch(r"-?\d\.\d\d to -?\d\.\d\d").all()


def test_humans_who_always_pick_the_left_answer_get_a_warning_that_says_so(app_db) -> None:
    _left_leaning_raters(app_db)
    at = _agreement_page()
    warnings = [w.value for w in at.warning]
    assert any("Humans: the answer shown on the left wins in 100% of 36" in w for w in warnings)


def test_agreement_page_shows_shares_as_percentages_and_headers_as_words(app_db) -> None:
    _left_leaning_raters(app_db)
    at = _agreement_page()
    raters = at.dataframe[-1].value
    for frame in at.dataframe:
        assert not [c for c in frame.value.columns if "_" in c], list(frame.value.columns)
        assert "None" not in " ".join(str(v) for v in frame.value.to_numpy().ravel())
    for column in ("Agreement with the others", "P(prefer left)"):
        assert raters[column].str.fullmatch(r"\d+\.\d%|—").all(), raters[column]
    assert set(raters["P(prefer left)"]) == {"100.0%"}
    assert all("%" in m.value for m in at.metric if m.label.startswith("Human-human"))
    assert any("P(prefer left) 100% > 70%" in f for f in raters["Flags"])
    sliders = {s.label: s for s in at.slider}
    assert sliders["Max P(prefer left)"].value == 70


def test_rater_kappa_heatmap_prints_values_with_24_px_per_rater(app_db) -> None:
    _left_leaning_raters(app_db)
    heat = chart_specs(_agreement_page())[0]
    assert layer_marks(heat) == ["rect", "text"]
    assert heat["height"]["step"] >= 24
    text = layer(heat, "text")["encoding"]
    assert text["text"]["field"] == "kappa"
    assert text["color"]["condition"]["value"] == "white"


def test_raters_who_agree_less_than_chance_are_called_out(app_db) -> None:
    with factory.session(app_db) as s:
        data = factory.campaign_with_outputs(s, "contrary", n_prompts=12, models=("m1", "m2"))
        ana, ben = factory.raters(s, 2)
        for i, comp in enumerate(data["comparisons"]):
            preference = -1 if i % 2 else 1
            factory.human_judgment(s, comp, ana, preference)
            factory.human_judgment(s, comp, ben, -preference)
        s.commit()
    at = _agreement_page()
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("1 pair of raters agrees less than chance") for w in warnings)
    assert any(w.startswith("Fleiss' kappa and its whole 95% CI are below 0") for w in warnings)
    kappas = next(f.value for f in at.dataframe if "Rater 1" in f.value.columns)
    assert kappas.loc[0, "Reading"].startswith("poor agreement: less than chance")
