"""The leaderboard page's Arena-Hard options: a baseline and the strong-verdict weight."""

from __future__ import annotations

from tests import factory
from tests.views.charts import chart_specs, layer, layer_marks
from tests.views.test_pages import _app, demo_db  # noqa: F401  (fixture)


def test_baseline_adds_win_rate_against_it_and_leaves_its_own_interval_empty(
    demo_db,  # noqa: F811
) -> None:
    at = _app()
    at.switch_page("views/leaderboard.py").run()
    baseline = next(s for s in at.selectbox if s.label == "Baseline")
    model = baseline.options[1]
    baseline.set_value(model).run()
    next(n for n in at.number_input if n.label == "Strong verdicts count").set_value(3).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("Model")
    assert table.loc[model, "Rating"] == "1000"
    assert (table.loc[model, ["95% CI low", "95% CI high"]] == "—").all()
    assert table.loc[model, "Win rate vs baseline"] == "50.0%"
    others = table.drop(index=model)
    assert others["Win rate vs baseline"].str.fullmatch(r"\d+\.\d%").all()
    assert any("Arena-Hard-Auto" in i.value for i in at.info)
    assert any("count 3 times" in i.value for i in at.info)


def _leaderboard():
    at = _app()
    at.switch_page("views/leaderboard.py").run()
    assert not at.exception, at.exception
    return at


def test_leaderboard_table_headers_are_words_and_nothing_shows_as_none(
    demo_db,  # noqa: F811
) -> None:
    table = _leaderboard().dataframe[0].value
    assert not [c for c in table.columns if "_" in c or c[:1].islower()]
    assert {"Rank", "Model", "Rating", "95% CI low", "Win rate", "Mean cost"} <= set(table.columns)
    shown = " ".join(str(v) for v in table.to_numpy().ravel())
    assert "None" not in shown and "nan" not in shown.lower()


def test_category_is_a_choice_of_the_categories_the_campaign_has(demo_db) -> None:  # noqa: F811
    at = _leaderboard()
    category = next(s for s in at.selectbox if s.label == "Category")
    assert category.options == ["all", "coding", "reasoning", "safety", "writing"]
    category.set_value("coding").run()
    assert not at.exception, at.exception
    assert not at.text_input


def test_interval_plot_and_heatmap_give_every_model_row_24_px(demo_db) -> None:  # noqa: F811
    at = _leaderboard()
    n_models = len(at.dataframe[0].value)
    interval, heat = chart_specs(at)[:2]
    assert layer_marks(interval) == ["rule", "point"]
    assert interval["height"]["step"] >= 24
    assert layer_marks(heat) == ["rect", "text"]
    assert heat["height"]["step"] >= 24
    assert len(layer(heat, "rect")["encoding"]["y"]["sort"]) == n_models


def test_heatmap_prints_each_win_rate_in_a_colour_that_contrasts(demo_db) -> None:  # noqa: F811
    heat = chart_specs(_leaderboard())[1]
    text = layer(heat, "text")["encoding"]
    assert text["text"] == {"field": "win_rate", "format": ".0%", "type": "quantitative"}
    colour = text["color"]
    assert colour["condition"]["value"] == "white" and colour["value"] == "black"
    assert "abs(datum['win_rate'] - 0.5) > 0.4" in colour["condition"]["test"]
    assert layer(heat, "rect")["encoding"]["color"]["legend"]["format"] == ".0%"


def test_quality_against_cost_chart_marks_the_pareto_front(demo_db) -> None:  # noqa: F811
    at = _leaderboard()
    pareto = chart_specs(at)[2]
    assert layer_marks(pareto) == ["line", "point", "text"]
    point = layer(pareto, "point")["encoding"]
    assert point["x"]["field"] == "cost_usd" and point["y"]["field"] == "rating"
    assert point["color"]["scale"]["domain"] == ["on the Pareto front", "beaten on both"]
    assert any("Pareto front" in c.value for c in at.caption)


def _voted(engine, latency: dict[str, float] | None) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, "timed", n_prompts=4, models=("m1", "m2", "m3"))
        for (_, model), output in data["outputs"].items():
            output.latency_ms = None if latency is None else latency[model]
        raters = factory.raters(s, 2)
        for i, comp in enumerate(data["comparisons"]):
            for rater in raters:
                factory.human_judgment(s, comp, rater, -1 if i % 3 else 1)
        s.commit()


def test_without_costs_the_pareto_chart_plots_latency(app_db) -> None:
    _voted(app_db, {"m1": 900.0, "m2": 300.0, "m3": 100.0})
    at = _leaderboard()
    pareto = chart_specs(at)[2]
    assert layer(pareto, "point")["encoding"]["x"]["field"] == "latency_ms"
    assert any("Rating against mean latency (ms)" in c.value for c in at.caption)


def test_without_cost_or_latency_the_page_says_so_instead_of_a_chart(app_db) -> None:
    _voted(app_db, None)
    at = _leaderboard()
    assert len(chart_specs(at)) == 2
    assert any("records a cost or a latency" in c.value for c in at.caption)
