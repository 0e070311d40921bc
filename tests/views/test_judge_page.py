"""The LLM judges page, driven through Streamlit's AppTest against the fake provider."""

from __future__ import annotations

import time
from pathlib import Path

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from db.models import Judge, JudgeRun, Judgment
from tests import factory

ROOT = Path(__file__).resolve().parents[2]


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def test_define_preview_dry_run_save_and_run_a_judge_from_the_page(app_db, server) -> None:
    with factory.session(app_db) as s:
        factory.campaign_with_outputs(s, n_prompts=2, models=("m1", "m22"))
        s.commit()
    at = _run(AppTest.from_file(str(ROOT / "views" / "llm_judges.py"), default_timeout=30))
    at.text_input[0].set_value("page-judge")
    at.text_input[1].set_value("fake-judge")
    at.text_input[2].set_value(server.openai_base)
    at.text_input[3].set_value("")
    _run(at)
    previews = [c.value for c in at.code]
    assert previews and "m1 answer 0" in previews[0] and "m22 answer 0" in previews[0]

    next(b for b in at.button if b.label == "Dry run on 3 comparisons").click()
    _run(at)
    assert at.dataframe and server.requests() == 2
    next(b for b in at.button if b.label == "Save judge").click()
    _run(at)
    assert any("Saved 'page-judge@v1'" in m.value for m in at.success)

    _run(at)
    assert [sb.value for sb in at.selectbox if sb.label == "Judge"][0] == "page-judge@v1"
    next(b for b in at.button if b.label == "Start run").click()
    _run(at)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with factory.session(app_db) as s:  # a new read snapshot each time
            if s.exec(select(JudgeRun.status)).one() == "done":
                break
        time.sleep(0.1)
    with factory.session(app_db) as s:
        assert s.exec(select(JudgeRun.status)).one() == "done"
        judge = s.exec(select(Judge)).one()
        assert len(s.exec(select(Judgment).where(Judgment.judge_id == judge.id)).all()) == 4
    # The two dry-run replies came from the cache: only the "ba" orders were asked.
    assert server.requests() == 4
    _run(at)  # the Verdicts tab lists what the run stored
    assert any(len(df.value) == 4 for df in at.dataframe)
