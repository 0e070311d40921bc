"""The Evaluations page through AppTest: runs listed with verdicts, the spec validated with
the CLI's parser, user text shown as written."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from db.models import EvalRun
from experiments.datasets import add_dataset
from tests import factory
from tests.experiments.test_spec import MINIMAL

ROOT = Path(__file__).resolve().parents[2]


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.switch_page("views/evaluations.py").run()
    assert not at.exception, at.exception
    return at


def _recorded(engine, tmp_path) -> None:
    admin = factory.admin_id(engine)
    path = factory.write_jsonl(tmp_path / "qa.jsonl", factory.dataset_rows(2))
    version = add_dataset(engine, path, "qa", actor_id=admin).version
    criterion = {
        "criterion": "wins *bold*", "candidate": "new@v2", "statistic": "win_rate", "op": ">=",
        "threshold": 0.5, "level": 0.95, "value": 0.75, "low": 0.55, "high": 0.9, "n": 8,
        "n_prompts": 4, "verdict": "PASS",
    }  # fmt: skip
    with factory.session(engine) as s:
        s.add(
            EvalRun(
                name="m", spec_text=MINIMAL, spec_hash="0" * 64,
                dataset_version_id=version.version_id, split="test", status="done",
                verdict="PASS", results={"criteria": [criterion]}, created_by=admin,
            )
        )  # fmt: skip
        s.commit()


def test_the_page_lists_runs_shows_criteria_and_loads_the_spec(app_db, tmp_path) -> None:
    _recorded(app_db, tmp_path)
    at = _page()
    runs, criteria = (frame.value for frame in at.dataframe)
    assert list(runs["Verdict"]) == ["PASS"] and list(runs["Dataset"]) == ["qa@1"]
    row = criteria.iloc[0]
    shown = (row["Criterion"], row["Figure"], row["Interval"], row["Threshold"])
    assert shown == ("wins *bold*", "75.0%", "55.0% to 90.0%", ">= 50.0%")
    assert at.text_area[0].value == MINIMAL


def test_validate_names_the_key_and_accepts_a_good_spec(app_db) -> None:
    at = _page()
    assert any("No evaluation runs yet" in i.value for i in at.info)
    at.text_area[0].input(MINIMAL.replace("threshold = 0.5", 'threshold = "x"')).run()
    at.button[0].click().run()
    assert "criteria\\[0\\].threshold: must be a number" in at.error[0].value
    at.text_area[0].input(MINIMAL).run()
    at.button[0].click().run()
    assert not at.error
    assert at.success[0].value.startswith("Valid: 1 criteria on qa@1, 1 candidates")
