"""Remote images are shown as text unless the campaign opts in (issue 13, point 9)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from annotate.campaign_setup import CampaignSettings, load_campaign_form, save_campaign
from annotate.campaigns import create_campaign
from tests import factory
from views.widgets.answer import inert_images

ROOT = Path(__file__).resolve().parents[2]
MODELS = factory.SECRET_MODELS[:2]
IMG = "https://images.example.invalid/cat.png"
DATA = "data:image/png;base64,iVBORw0KGgo="


def test_the_remote_images_setting_round_trips_through_campaign_setup(engine) -> None:
    admin = factory.admin_id(engine)
    cid = save_campaign(engine, CampaignSettings(name="pics"), actor_id=admin)
    form = load_campaign_form(engine, cid, actor_id=admin)
    assert form.settings.allow_remote_images is False
    save_campaign(
        engine, CampaignSettings(name="pics", allow_remote_images=True), cid, actor_id=admin
    )
    assert load_campaign_form(engine, cid, actor_id=admin).settings.allow_remote_images is True
    save_campaign(engine, CampaignSettings(name="pics"), cid, actor_id=admin)
    assert load_campaign_form(engine, cid, actor_id=admin).settings.allow_remote_images is False


def test_a_campaign_created_with_remote_images_keeps_the_setting(engine) -> None:
    admin = factory.admin_id(engine)
    c = create_campaign(engine, "opted in", actor_id=admin, allow_remote_images=True)
    form = load_campaign_form(engine, c.id, actor_id=admin)
    assert form.settings.allow_remote_images is True


def test_opting_in_keeps_remote_markdown_images_and_data_images_stay_inert() -> None:
    text = f"![cat]({IMG}) and ![dot]({DATA}) and <img src='{IMG}'> and ![ref][1]"
    shown = inert_images(text, allow_remote=True)
    assert f"![cat]({IMG})" in shown
    assert f"![image]({IMG})" in shown
    assert "[image: data URL, 34 characters]" in shown
    assert "![dot]" not in shown and "!\\[ref][1]" in shown
    assert "![" not in inert_images(text)


def _rate_page_bodies(app_db, **campaign) -> list[str]:
    with factory.session(app_db) as s:
        data = factory.blind_campaign(
            s,
            n_prompts=1,
            overlap=1,
            contents={MODELS[1]: f"Answer ![chart]({IMG}) and ![dot]({DATA})"},
            instructions=f"Like this: ![example]({IMG})",
            **campaign,
        )
        data["prompts"][0].messages = [{"role": "user", "content": f"Draw ![this]({IMG})"}]
        s.add(data["prompts"][0])
        s.commit()
    at = AppTest.from_file(str(ROOT / "views" / "rate.py"), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return [m.value for m in at.markdown]


def test_the_rate_page_shows_remote_images_as_text_by_default(app_db) -> None:
    bodies = _rate_page_bodies(app_db)
    assert not [b for b in bodies if "![" in b]
    assert sum(f"[image: {IMG}]" in b for b in bodies) == 3


def test_the_rate_page_renders_remote_images_when_the_campaign_opts_in(app_db) -> None:
    bodies = _rate_page_bodies(app_db, allow_remote_images=True)
    assert [b for b in bodies if f"![chart]({IMG})" in b]
    assert [b for b in bodies if f"![example]({IMG})" in b]
    assert [b for b in bodies if f"![this]({IMG})" in b]
    assert not [b for b in bodies if f"[image: {IMG}]" in b]
    assert not [b for b in bodies if DATA in b]
    assert [b for b in bodies if "[image: data URL, 34 characters]" in b]
