"""The leaderboard page's Arena-Hard options: a baseline and the strong-verdict weight."""

from __future__ import annotations

import pytest

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
    table = at.dataframe[0].value.set_index("model")
    assert table.loc[model, "rating"] == pytest.approx(1000)
    assert table.loc[model, ["ci_low", "ci_high"]].isna().all()
    assert table.loc[model, "win_rate_vs_baseline"] == 0.5
    others = table.drop(index=model)
    assert others["win_rate_vs_baseline"].between(0, 1).all()
    assert any("Arena-Hard-Auto" in i.value for i in at.info)
    assert any("count 3 times" in i.value for i in at.info)
