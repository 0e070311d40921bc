"""Campaign setup: the judges' instructions sit beside the raters' and default to neutral."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Campaign
from tests import factory

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "campaign_setup.py")
LABEL = "Instructions for LLM judges (plain text)"


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def _judge_field(at: AppTest):
    return next(t for t in at.text_area if t.label == LABEL)


def test_the_judge_field_shows_the_neutral_default_as_placeholder(app_db) -> None:
    field = _judge_field(_page())
    assert field.value == ""
    assert field.placeholder.startswith("Task: compare two answers")
    assert "Clear this field to go back to the default" in field.help


def test_the_page_saves_judge_instructions_apart_from_the_raters(app_db) -> None:
    at = _page()
    at.text_input[0].set_value("judged")
    at.text_area[0].set_value("Press 1 for A. Some items are known-answer checks.")
    _judge_field(at).set_value("Prefer correct answers.")
    at.button[0].click().run()
    assert not at.exception, at.exception
    with factory.session(app_db) as s:
        (c,) = s.execute(select(Campaign)).scalars()
        assert c.judge_instructions == "Prefer correct answers."
        assert c.instructions.startswith("Press 1")
    assert _judge_field(at).value == "Prefer correct answers."


def test_clearing_the_judge_field_goes_back_to_the_default(app_db) -> None:
    at = _page()
    at.text_input[0].set_value("judged")
    _judge_field(at).set_value("Prefer correct answers.")
    at.button[0].click().run()
    _judge_field(at).set_value("")
    at.button[0].click().run()
    assert not at.exception, at.exception
    with factory.session(app_db) as s:
        assert s.execute(select(Campaign.judge_instructions)).scalar_one() is None
