"""The rating keys through AppTest: one mapping on every scale, shown on the buttons, and no
key that revises an answer on My history."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from annotate.campaigns import CriterionSpec
from annotate.items import Answer, CriterionView
from annotate.queue import next_item
from annotate.submission import submit
from annotate.users import ensure_local_admin
from db.models import Campaign
from ingest.demo import demo_spec
from tests import factory
from views.widgets.keys import PREFERENCES, score_keys, with_key

ROOT = Path(__file__).resolve().parents[2]


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / name), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def _shortcuts(at: AppTest) -> dict[str, str]:
    return {b.label: b.proto.shortcut for b in at.button if b.proto.shortcut}


def _pairwise(app_db: Engine, scale: str) -> None:
    with factory.session(app_db) as s:
        factory.blind_campaign(s, n_prompts=1, preference_scale=scale, allow_both_bad=True)
        s.commit()


def test_three_way_keys_are_letters(app_db: Engine) -> None:
    _pairwise(app_db, "3way")
    assert _shortcuts(_page("rate.py")) == {
        "A is better": "a",
        "Tie": "t",
        "B is better": "b",
        "Both bad": "x",
        "Skip": "s",
        "Undo last": "u",
    }


def test_five_way_keeps_the_letters_and_adds_shift_for_much_better(app_db: Engine) -> None:
    _pairwise(app_db, "5way")
    assert _shortcuts(_page("rate.py")) == {
        "A much better": "shift+a",
        "A better": "a",
        "Tie": "t",
        "B better": "b",
        "B much better": "shift+b",
        "Both bad": "x",
        "Skip": "s",
        "Undo last": "u",
    }


def test_the_key_line_under_the_buttons_names_every_key(app_db: Engine) -> None:
    _pairwise(app_db, "5way")
    captions = [c.value for c in _page("rate.py").caption]
    (keys,) = [c for c in captions if c.startswith("Keys:")]
    for _, label, key in PREFERENCES["5way"]:
        assert f"{key} {label}" in keys
    assert "X both bad" in keys and "S skip" in keys and "U undo" in keys
    assert "Esc or Ctrl+Enter leaves a text box" in keys


def test_undo_brings_back_a_both_bad_answer_as_both_bad(app_db: Engine) -> None:
    with factory.session(app_db) as s:
        factory.blind_campaign(
            s, n_prompts=2, mode="both", criteria=[CriterionSpec("Accuracy", "", "likert5")]
        )
        s.commit()
    at = _page("rate.py")
    at.segmented_control(key=_control_key(at, "-preference")).set_value("both-bad")
    at.segmented_control(key=_control_key(at, "-score-A-")).set_value(4.0)
    [b for b in at.button if b.label == "Submit"][0].click().run()
    [b for b in at.button if b.label == "Undo last"][0].click().run()
    assert not at.exception and not at.error
    assert at.segmented_control(key=_control_key(at, "-preference")).value == "both-bad"
    assert at.segmented_control(key=_control_key(at, "-score-A-")).value == 4.0


def _control_key(at: AppTest, part: str) -> str:
    (key,) = [c.key for c in at.segmented_control if part in c.key]
    return key


def test_every_rubric_option_shows_its_digit() -> None:
    likert10 = CriterionView(1, "Depth", "", "likert10")
    binary = CriterionView(2, "Safe", "", "binary")
    grades = CriterionView(3, "Tone", "", "categories", ("cold", "fine", "warm"))
    assert score_keys(likert10) == [*"123456789", "0"]
    assert score_keys(binary) == ["0", "1"]
    assert score_keys(grades) == ["1", "2", "3"]
    assert with_key("5", "5") == "5" and with_key("10", "0") == "10 (0)"
    assert with_key("Yes", "1") == "Yes (1)"


def test_rubric_options_carry_their_keys_on_the_page(app_db: Engine) -> None:
    rubric = [CriterionSpec("Accuracy", "", "likert5"), CriterionSpec("Safe", "", "binary")]
    with factory.session(app_db) as s:
        factory.blind_campaign(s, n_prompts=1, mode="both", criteria=rubric)
        s.commit()
    at = _page("rate.py")
    options = {
        c.key.split("-score-")[1]: c.options for c in at.segmented_control if "-score-" in c.key
    }
    assert sorted(options.values()) == sorted(
        [["1", "2", "3", "4", "5"]] * 2 + [["No (0)", "Yes (1)"]] * 2
    )
    assert [b.proto.shortcut for b in at.button if b.label == "Submit"] == ["ctrl+enter"]


def _answered(app_db: Engine, answer: Answer) -> None:
    with factory.session(app_db) as s:
        factory.blind_campaign(s, n_prompts=1, allow_both_bad=True)
        s.commit()
    admin = ensure_local_admin(app_db).id
    with factory.session(app_db) as s:
        campaign_id = s.execute(select(Campaign.id)).scalar_one()
    item = next_item(app_db, admin, campaign_id)
    submit(app_db, admin, item.assignment_id, answer)


def test_my_history_highlights_a_both_bad_answer_as_both_bad(app_db: Engine) -> None:
    _answered(app_db, Answer(both_bad=True))
    at = _page("history.py")
    (control,) = [c for c in at.segmented_control if c.key.endswith("-preference")]
    assert control.value == "both-bad"
    assert control.formatted_values == ["Both bad (X)"]


def test_my_history_has_no_key_that_saves_a_revision(app_db: Engine) -> None:
    _answered(app_db, Answer(preference=1))
    at = _page("history.py")
    assert [b.label for b in at.button] == ["Save revision"]
    assert _shortcuts(at) == {}


def test_the_demo_instructions_give_the_same_keys_as_the_buttons() -> None:
    text = demo_spec()["instructions"]
    for _, label, key in PREFERENCES["5way"]:
        assert f"`{key}` = {label}" in text
    assert "`X` = both bad" in text and "`Ctrl+Enter` = submit" in text
