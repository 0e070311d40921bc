"""The gold editor (issue 14, point 7): a check item is shown as an item, prompt and both
outputs, and its expected answer is picked with the buttons raters use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from db.models import Comparison
from tests import factory
from views.widgets.answer import PREFERENCES
from views.widgets.common import Actor

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def campaign(app_db) -> dict[str, Any]:
    with factory.session(app_db) as s:
        data = factory.blind_campaign(s, n_prompts=2, preference_scale="5way")
        s.commit()
        ids = {"campaign": data["campaign"].id, "comparisons": [c.id for c in data["comparisons"]]}
    admin = factory.admin_id(app_db)
    return {**ids, "admin": Actor(admin, "admin@example.com", "admin", "Admin")}


def _editor(actor: Actor, campaign_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "campaign_setup.py"), default_timeout=60)
    at.session_state["actor"] = actor
    at.session_state["setup_campaign"] = campaign_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_editor_shows_the_prompt_and_both_outputs(app_db, campaign) -> None:
    at = _editor(campaign["admin"], campaign["campaign"])
    at.selectbox(key=f"check-item-{campaign['campaign']}").set_value(
        campaign["comparisons"][1]
    ).run()
    shown = " ".join(m.value for m in at.markdown)
    assert "Question 1?" in shown
    assert "Answer number 1, variant 0." in shown and "Answer number 1, variant 1." in shown
    settings_form = f"campaign-{campaign['campaign']}"
    typed = [w for w in [*at.text_input, *at.text_area] if w.form_id != settings_form]
    assert typed == [], "the expected answer is never typed"


def test_the_expected_answer_is_picked_with_the_rater_buttons(app_db, campaign) -> None:
    cid = campaign["comparisons"][0]
    at = _editor(campaign["admin"], campaign["campaign"])
    labels = [b.label for b in at.button if b.key and b.key.startswith(f"check-{cid}-pref-")]
    assert labels == [label for _, label, _ in PREFERENCES["5way"]]
    at.radio(key=f"check-kind-{cid}").set_value("attention").run()
    at.button(key=f"check-{cid}-pref-2").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with factory.session(app_db) as s:
        comp = s.get(Comparison, cid)
    assert (comp.check_kind, comp.expected_preference) == ("attention", 2)
    assert any("expected answer: B much better" in m.value for m in at.success)
    assert at.button(key=f"check-{cid}-pref-2").proto.type == "primary"
    at.button(key=f"check-{cid}-normal").click().run()
    with factory.session(app_db) as s:
        comp = s.get(Comparison, cid)
    assert (comp.check_kind, comp.expected_preference) == (None, None)


def test_a_three_way_campaign_offers_the_three_rater_buttons(app_db) -> None:
    with factory.session(app_db) as s:
        data = factory.blind_campaign(s, "three", n_prompts=1)
        s.commit()
        campaign_id, cid = data["campaign"].id, data["comparisons"][0].id
    admin = Actor(factory.admin_id(app_db), "admin@example.com", "admin", "Admin")
    at = _editor(admin, campaign_id)
    labels = [b.label for b in at.button if b.key and b.key.startswith(f"check-{cid}-pref-")]
    assert labels == ["A is better", "Tie", "B is better"]
    at.button(key=f"check-{cid}-pref--1").click().run()
    with factory.session(app_db) as s:
        comp = s.get(Comparison, cid)
    assert (comp.check_kind, comp.expected_preference) == ("gold", -1)
