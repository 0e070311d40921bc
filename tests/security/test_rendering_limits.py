"""Outputs raters see: markdown big enough to freeze a browser is shown as plain text."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from annotate.campaigns import CriterionSpec
from db.engine import make_engine
from db.models import metadata
from tests import factory
from tests.browser import app_server, chromium
from views.widgets.answer import (
    MAX_BRACKETS,
    MAX_MARKDOWN_CHARS,
    MAX_MARKDOWN_LINES,
    MAX_QUOTE_DEPTH,
    inert_images,
    plain_parts,
    renders_as_markdown,
)

ROOT = Path(__file__).resolve().parents[2]
MODELS = factory.SECRET_MODELS[:2]
HUGE_LIST = "- item\n" * (2_000_000 // len("- item\n"))  # 2 MB, about 285,000 list items


def _campaign_with(engine, text: str, **kwargs) -> None:
    with factory.session(engine) as s:
        factory.blind_campaign(s, n_prompts=1, overlap=1, contents={MODELS[1]: text}, **kwargs)
        s.commit()


def _rate_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "rate.py"), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    "text, markdown",
    [
        ("A **short** answer.", True),
        ("x" * MAX_MARKDOWN_CHARS, True),
        ("x" * (MAX_MARKDOWN_CHARS + 1), False),
        ("line\n" * MAX_MARKDOWN_LINES, True),
        ("- item\n" * (MAX_MARKDOWN_LINES + 1), False),
        ("> > quoted twice\n" * 50, True),
        (">" * MAX_QUOTE_DEPTH + " deep", True),
        (">" * 49_000 + " x", False),  # 27 s in Chromium as markdown
        ("[a](" * MAX_BRACKETS, True),
        ("[a](" * 12_000, False),  # 14 s in Chromium as markdown
    ],
)
def test_markdown_is_rendered_only_up_to_the_size_and_structure_limits(text, markdown) -> None:
    assert renders_as_markdown(text) is markdown


@pytest.mark.parametrize(
    "text",
    [HUGE_LIST, "x" * (3 * MAX_MARKDOWN_CHARS + 5), "\n" * 5_000, "a\n" + "b" * 120_000 + "\nc"],
)
def test_plain_parts_are_bounded_and_join_back_to_the_text(text) -> None:
    parts = plain_parts(text)
    assert "".join(parts) == text
    assert all(renders_as_markdown(p) for p in parts)


def test_a_huge_output_is_shown_as_plain_text_in_parts_with_a_note(app_db) -> None:
    _campaign_with(app_db, HUGE_LIST)
    at = _rate_page()
    parts = plain_parts(HUGE_LIST)
    assert len(parts) > 100
    assert all("- item" not in m.value for m in at.markdown)
    assert [t.value for t in at.text] == [parts[0].strip()]
    assert any("shown as plain text" in c.value for c in at.caption)
    (picker,) = at.number_input
    assert picker.max == len(parts)
    picker.set_value(len(parts)).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.text] == [parts[-1].strip()]
    assert [b.label for b in at.button][:3] == ["A is better", "Tie", "B is better"]


def test_a_huge_prompt_and_instructions_are_shown_as_plain_text(app_db) -> None:
    with factory.session(app_db) as s:
        data = factory.blind_campaign(s, n_prompts=1, overlap=1, instructions=HUGE_LIST)
        data["prompts"][0].messages = [{"role": "user", "content": HUGE_LIST}]
        s.add(data["prompts"][0])
        s.commit()
    at = _rate_page()
    assert all("- item" not in m.value for m in at.markdown)
    assert [t.value for t in at.text] == [plain_parts(HUGE_LIST)[0].strip()] * 2
    assert len(at.number_input) == 2


@pytest.mark.browser
def test_the_rate_page_stays_interactive_with_a_2_mb_markdown_output(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'render.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    _campaign_with(engine, HUGE_LIST)
    with app_server(url, tmp_path) as server, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server.url}/rate")
        # Everything below waits at most 10 s: a page that renders the 2 MB list as
        # markdown is still busy long after that.
        page.get_by_text("0 of 1 done").wait_for(timeout=10_000)
        page.get_by_text("shown as plain text").first.wait_for(timeout=10_000)
        plain = page.locator("[data-testid='stText']").filter(has_text="- item").first
        plain.wait_for(timeout=10_000)
        page.get_by_role("button", name="A is better").click(timeout=10_000)
        page.get_by_text("All done").first.wait_for(timeout=10_000)
    engine.dispose()


# --- remote images (issue 13, point 9) ------------------------------------------------------

IMAGE_HOST = "images.attacker.invalid"
IMG = f"http://{IMAGE_HOST}/cat.png"


@pytest.mark.parametrize(
    "text, shown",
    [
        (f"See ![a cat]({IMG}) here.", f"[image: {IMG}]"),
        (f'![cat]( <{IMG}> "title")', f"[image: {IMG}]"),
        (f"![cat][pic]\n\n[pic]: {IMG}", "[pic]: " + IMG),
        (f'<img src="{IMG}" alt="cat">', f"[image: {IMG}]"),
        (f"<IMG SRC={IMG}>", f"[image: {IMG}]"),
        ("![dot](data:image/png;base64,iVBORw0KGgo=)", "[image: data URL, 34 characters]"),
        ("![x](http://a.invalid/1.png)(http://a.invalid/2.png)", "[image: http://a.invalid/1.png]"),
    ],
)
def test_images_become_their_address_as_text(text, shown) -> None:
    inert = inert_images(text)
    assert "![" not in inert and "<img" not in inert.lower()
    assert shown in inert


def test_html_without_a_remote_image_is_left_as_it_was() -> None:
    """st.markdown shows raw HTML as text: the rater sees the tag, which loads nothing."""
    text = "<img src=x onerror=alert(1)> and <b>bold</b>"
    assert inert_images(text) == text


def test_the_rate_page_sends_no_image_markdown(app_db) -> None:
    with factory.session(app_db) as s:
        data = factory.blind_campaign(
            s,
            n_prompts=1,
            overlap=1,
            contents={MODELS[1]: f"Answer ![chart]({IMG})"},
            instructions=f"Like this: ![example]({IMG})",
        )
        data["prompts"][0].messages = [{"role": "user", "content": f'<img src="{IMG}">'}]
        s.add(data["prompts"][0])
        s.commit()
    at = _rate_page()
    bodies = [m.value for m in at.markdown]
    assert not [b for b in bodies if "![" in b or "<img" in b]
    assert sum(f"[image: {IMG}]" in b for b in bodies) == 3


def test_rubric_labels_and_help_show_no_image(app_db) -> None:
    rubric = [CriterionSpec(f"Clear ![i]({IMG})", f"Like ![d]({IMG})", "likert5")]
    with factory.session(app_db) as s:
        factory.blind_campaign(s, n_prompts=1, overlap=1, mode="both", criteria=rubric)
        s.commit()
    at = _rate_page()
    scores = [c for c in at.segmented_control if "-score-" in c.key]
    assert len(scores) == 2
    for control in scores:
        assert (control.label, control.help) == (f"Clear [image: {IMG}]", f"Like [image: {IMG}]")


@pytest.mark.browser
def test_raters_browsers_fetch_no_remote_image(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'images.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    with factory.session(engine) as s:
        factory.blind_campaign(
            s,
            n_prompts=1,
            overlap=1,
            contents={MODELS[0]: f"![chart]({IMG}) IMAGE-MARKER", MODELS[1]: f"<img src='{IMG}'>"},
            instructions=f"![example]({IMG}?from=instructions)",
        )
        s.commit()
    with app_server(url, tmp_path) as server, chromium() as browser:
        page = browser.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{server.url}/rate")
        page.get_by_text("IMAGE-MARKER").first.wait_for(timeout=30_000)
        page.get_by_text("Instructions").first.click()
        page.wait_for_timeout(1_000)  # give an image request time to start if it could
        assert not [u for u in requested if IMAGE_HOST in u]
        assert page.locator("img[src*='attacker']").count() == 0
        page.get_by_text("from=instructions").first.wait_for(timeout=10_000)
    engine.dispose()
