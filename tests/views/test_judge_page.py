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


def _page() -> AppTest:
    return _run(AppTest.from_file(str(ROOT / "views" / "llm_judges.py"), default_timeout=30))


def _runs(engine, *statuses: str) -> list[int]:
    """Runs of an unpriced judge with the given statuses, each just started."""
    with factory.session(engine) as s:
        campaign = factory.campaign_with_outputs(s, n_prompts=1, models=("m1", "m2"))["campaign"]
        judge = factory.judge(s, "j", model="model-nobody-prices")
        runs = [JudgeRun(judge_id=judge.id, campaign_id=campaign.id, status=st) for st in statuses]
        s.add_all(runs)
        s.commit()
        return [r.id for r in runs]


def test_resume_is_offered_for_a_cancelled_run_but_not_a_running_one(app_db) -> None:
    running, cancelled = _runs(app_db, "running", "cancelled")
    at = _page()
    assert [b.key for b in at.button if b.label == "Resume"] == [f"resume{cancelled}"]
    assert [b.key for b in at.button if b.label == "Cancel"] == [f"cancel{running}"]


def test_a_run_of_an_unpriced_model_says_its_cost_is_unknown_and_how_to_fix_it(
    app_db, monkeypatch
) -> None:
    monkeypatch.delenv("JUDGEBOARD_PRICES_FILE", raising=False)
    _runs(app_db, "done")
    warnings = [w.value for w in _page().warning]
    assert any("model-nobody-prices" in w and "JUDGEBOARD\\_PRICES\\_FILE" in w for w in warnings)


def test_a_new_judge_says_which_variable_its_key_comes_from(app_db, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _runs(app_db)
    at = _page()
    captions = " ".join(c.value for c in at.caption)
    assert "reads its API key from OPENAI\\_API\\_KEY (it is not set" in captions
    at.text_input[3].set_value("")
    captions = " ".join(c.value for c in _run(at).caption)
    assert "sends no API key" in captions


def test_both_pages_ask_the_same_question_about_an_inconsistent_pair(app_db) -> None:
    from judges.config import INCONSISTENT_AS_LABEL

    _runs(app_db)
    (radio,) = [r for r in _page().radio if r.label == INCONSISTENT_AS_LABEL]
    calibration = _run(AppTest.from_file(str(ROOT / "views" / "calibration.py")))
    (box,) = [b for b in calibration.selectbox if b.label == INCONSISTENT_AS_LABEL]
    assert list(radio.options) == list(box.options) == ["tie", "unscored"]
