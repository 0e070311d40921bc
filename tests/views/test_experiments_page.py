"""The Experiments page through AppTest: two recorded runs compared, the detectable-size
sentence, the per-category and cost tables, the Pareto charts, the regressions side by side
with user text shown as written; and the refusal for runs on different dataset versions."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from streamlit.testing.v1 import AppTest

from tests.experiments import compare_data as data
from tests.views.charts import chart_specs
from views.widgets.charts import FRONT

ROOT = Path(__file__).resolve().parents[2]
A = ["WW", "WL", "WW", "TT", "LL", "WW", "WT", "LW"]
B = ["WW", "LL", "WW", "LL", "LL", "WL", "WW", "LL"]


def _fronts(at: AppTest) -> list[set[str]]:
    """Per chart, the models drawn as on the Pareto front."""
    out = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        rows = [row for rows in spec.get("datasets", {}).values() for row in rows]
        for ds in chart.proto.datasets:
            rows += pa.ipc.open_stream(ds.data.data).read_all().to_pylist()
        out.append({r["model"] for r in rows if r.get("status") == FRONT})
    return out


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.switch_page("views/experiments.py").run()
    assert not at.exception, at.exception
    return at


def test_two_runs_are_compared_with_the_sentence_tables_charts_and_regressions(
    app_db, tmp_path
) -> None:
    ref = data.dataset(app_db, tmp_path, len(A), text="Question {i}? <b>*keep*</b>")
    data.eval_run(app_db, ref, A, version=1, latency_ms=[100.0] * len(A))
    data.eval_run(app_db, ref, B, candidate="*new*", version=2, latency_ms=[90.0] * len(A))
    at = _page()
    assert not at.error, [e.value for e in at.error]
    assert [m.value for m in at.metric] == ["65.6%", "43.8%", "-21.9 points"]
    assert "With 8 prompts, differences under" in at.info[0].value
    categories, usage, regressions = (f.value for f in at.dataframe)
    assert list(categories["Category"]) == ["math", "writing"]
    assert list(usage["Cost per request"]) == ["$0.00100", "$0.00100", "$0.00000"]
    assert list(regressions["Prompt"]) == ["p1", "p3", "p7"]
    specs = json.dumps(chart_specs(at))
    assert "mean cost per request (USD)" in specs and "p95 latency (ms)" in specs
    cost, latency = _fronts(at)
    assert cost == {"A: good@v1"}  # as cheap as the others and better
    assert latency == {"A: good@v1", "B: *new*@v2"}  # B is faster, A better
    headings = [m.value for m in at.markdown]
    assert "#### A: good@v1" in headings and "#### B: \\*new\\*@v2" in headings
    assert "Question 1? <b>*keep*</b>" in headings  # through show_text: no HTML rendered
    assert (headings[-3], headings[-1]) == ("good@v1 answer 1", "*new*@v2 answer 1")
    at.selectbox[2].set_value(2).run()
    assert any(m.value == "#### B: \\*new\\*@v2" for m in at.markdown)
    assert "*new*@v2 answer 7" in [m.value for m in at.markdown]


def test_runs_on_different_dataset_versions_show_the_refusal(app_db, tmp_path) -> None:
    ref1 = data.dataset(app_db, tmp_path, len(A))
    ref2 = data.dataset(app_db, tmp_path, len(A), text="Other {i}?")
    data.eval_run(app_db, ref1, A)
    data.eval_run(app_db, ref2, B, version=2)
    at = _page()
    assert "on qa@1 and run" in at.error[0].value and "qa@2" in at.error[0].value


def test_one_run_is_not_enough(app_db, tmp_path) -> None:
    data.eval_run(app_db, data.dataset(app_db, tmp_path, 2), ["WW", "LL"])
    at = _page()
    assert "two finished evaluation runs" in at.info[0].value
