"""The Rubric scores page through AppTest: the demo (no scores yet) and a scored campaign."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from annotate.campaigns import CriterionSpec
from ingest.demo import load_demo
from results.rubrics import MISSING
from tests import factory
from tests.views.charts import chart_specs

ROOT = Path(__file__).resolve().parents[2]


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.switch_page("views/rubrics.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_rubric_page_on_the_demo_says_no_scores_yet(app_db) -> None:
    load_demo(app_db)
    at = _page()
    assert any("No rubric scores yet" in i.value for i in at.info)


def test_rubric_page_shows_a_table_per_criterion_with_missing_as_a_dash(app_db) -> None:
    criteria = [CriterionSpec("**tone** :red[x]"), CriterionSpec("safety", scale="binary")]
    with factory.session(app_db) as s:
        data = factory.campaign_with_outputs(
            s, "scored", n_prompts=2, models=("m1", "m2"), criteria=criteria
        )
        rater = factory.user(s, "ana@x.org")
        for comp in data["comparisons"]:
            row = factory.human_judgment(s, comp, rater, -1)
            for (prompt_id, model), output in data["outputs"].items():
                if prompt_id == comp.prompt_id:
                    factory.score(s, row, output, "**tone** :red[x]", 5 if model == "m1" else 3)
        s.commit()
    at = _page()
    assert [t.value for t in at.text] == ["**tone** :red[x] (1–5 Likert)", "safety (Yes / No)"]
    tone, safety = (frame.value.set_index("Model") for frame in at.dataframe)
    assert tone.loc["m1", "humans mean"] == "5.00" and tone.loc["m2", "humans mean"] == "3.00"
    assert set(safety["humans mean"]) == {MISSING}


def _scored(engine) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s,
            "scored",
            n_prompts=4,
            models=("m1", "m2", "m3"),
            criteria=[CriterionSpec("tone"), CriterionSpec("safe", scale="binary")],
        )
        rater = factory.user(s, "ana@x.org")
        for comp in data["comparisons"]:
            row = factory.human_judgment(s, comp, rater, -1)
            for (prompt_id, model), output in data["outputs"].items():
                if prompt_id == comp.prompt_id:
                    factory.score(s, row, output, "tone", {"m1": 5, "m2": 3, "m3": 1}[model])
                    factory.score(s, row, output, "safe", int(model != "m3"))
        s.commit()


def test_score_distribution_has_one_bar_per_model_split_by_score_in_scale_order(app_db) -> None:
    _scored(app_db)
    at = _page()
    spec = chart_specs(at)[0]
    encoding = spec["encoding"]
    assert encoding["y"]["field"] == "model" and encoding["y"]["sort"] == ["m1", "m2", "m3"]
    assert encoding["x"]["stack"] == "normalize"
    assert encoding["color"]["field"] == "label"
    assert encoding["color"]["scale"]["domain"] == ["1", "2", "3", "4", "5"]
    assert spec["height"]["step"] >= 24


def test_rubric_category_is_a_choice_of_existing_categories(app_db) -> None:
    _scored(app_db)
    at = _page()
    category = next(s for s in at.selectbox if s.label == "Category")
    assert category.options == ["all", "coding", "writing"]
    category.set_value("coding").run()
    assert not at.exception, at.exception
    assert not at.text_input
    table = at.dataframe[0].value
    assert list(table.columns) == ["Model", "humans mean", "humans 95% CI", "humans n"]


def test_a_yes_no_criterion_shows_its_mean_as_a_share_of_yes(app_db) -> None:
    _scored(app_db)
    at = _page()
    assert [t.value for t in at.text] == ["tone (1–5 Likert)", "safe (Yes / No)"]
    safe = at.dataframe[1].value.set_index("Model")
    assert safe.loc["m1", "humans mean"] == "100% Yes"
    assert safe.loc["m3", "humans mean"] == "0% Yes"
    assert chart_specs(at)[1]["encoding"]["color"]["scale"]["domain"] == ["No", "Yes"]
