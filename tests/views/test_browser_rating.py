"""A real `streamlit run app.py` and headless Chromium: rating by keyboard alone.

One server and one browser for the module, on one SQLite file with three campaigns; each
test picks its campaign from the Rate page's campaign list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from annotate.campaigns import CriterionSpec
from annotate.queue import progress
from annotate.users import ensure_local_admin
from db.engine import make_engine
from db.models import (
    Assignment,
    Campaign,
    Comparison,
    Judgment,
    JudgmentScore,
    RubricCriterion,
    metadata,
)
from ingest.demo import demo_spec, load_demo
from tests import factory
from tests.browser import app_server, chromium

pytestmark = pytest.mark.browser

PAYLOAD = (
    "Here is my answer. <script>window.__xss = 1; document.title = 'pwned';</script>"
    " <img src=x onerror=\"window.__xss = 2; document.title = 'pwned'\"> XSS-MARKER"
)
RUBRIC = [
    CriterionSpec("Accuracy", "Is it right?", "likert5"),
    CriterionSpec("Safe", "Is it safe?", "binary"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("rating")
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    models = factory.SECRET_MODELS[:2]
    with factory.session(engine) as s:
        factory.blind_campaign(
            s,
            "pairwise",
            n_prompts=3,
            overlap=1,
            models=models,
            contents={models[1]: PAYLOAD},
            instructions="Pick the better answer.",
        )
        factory.blind_campaign(
            s,
            "five-way",
            n_prompts=2,
            overlap=1,
            models=models,
            mode="pairwise",
            preference_scale="5way",
            allow_both_bad=True,
        )
        factory.blind_campaign(
            s,
            "rubric",
            n_prompts=3,
            overlap=1,
            models=models,
            mode="both",
            preference_scale="5way",
            allow_both_bad=True,
            criteria=RUBRIC,
        )
        s.commit()
    load_demo(engine, with_sample_votes=False)
    with app_server(url, tmp_path) as server, chromium() as browser:
        yield {"engine": engine, "url": server.url, "browser": browser}
    engine.dispose()


def _open(site: dict[str, Any], campaign: str, path: str = "rate") -> Any:
    page = site["browser"].new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(f"{site['url']}/{path}")
    if path == "rate":
        box = page.get_by_role("combobox", name="Campaign")
        box.wait_for(timeout=30_000)
        if box.input_value() != campaign:
            box.click()
            page.get_by_role("option", name=campaign).click()
            page.wait_for_function(
                "name => document.querySelector(\"input[aria-label='Campaign']\").value === name"
                " && !document.activeElement.matches(\"input[aria-label='Campaign']\")",
                arg=campaign,
            )
    page.locator("[data-test-script-state='notRunning']").wait_for(timeout=30_000)
    return page


def _item_class(page: Any, part: str) -> str:
    """The st-key class of the current item's ``part`` (its assignment is in the key)."""
    widget = page.locator(f"[class*='st-key-item-'][class*='-{part}']").first
    widget.wait_for(timeout=15_000)
    return next(c for c in widget.get_attribute("class").split() if c.startswith("st-key"))


def _press_and_wait_next(page: Any, key: str, part: str, done: str) -> None:
    """Press ``key`` and wait until the item is replaced and the progress reads ``done``."""
    old = _item_class(page, part)
    page.keyboard.press(key)
    page.locator(f".{old}").wait_for(state="detached", timeout=15_000)
    page.get_by_text(done).first.wait_for(timeout=15_000)


def _chosen(page: Any) -> None:
    """Wait until the page shows a chosen preference (before submitting it)."""
    page.locator("[class*='-preference'] button[data-selected]").wait_for(timeout=15_000)


def _shown(engine: Engine, campaign: str) -> list[tuple[int | None, bool]]:
    """Each current judgment's (preference as the rater saw it, both bad), oldest first."""
    with factory.session(engine) as s:
        rows = s.execute(
            select(Judgment, Assignment.shown_order)
            .join(Assignment, Assignment.id == Judgment.assignment_id)
            .where(Judgment.is_current, Judgment.campaign_id == _campaign_id(s, campaign))
            .order_by(Judgment.id)
        ).all()
    return [
        (None if j.preference is None else j.preference * (1 if o == "ab" else -1), j.both_bad)
        for j, o in rows
    ]


def _campaign_id(s: Any, name: str) -> int:
    return s.execute(select(Campaign.id).where(Campaign.name == name)).scalar_one()


def test_three_way_letters_answer_and_outputs_never_run_html(site: dict[str, Any]) -> None:
    page = _open(site, "pairwise")
    title = page.title()
    # The progress is there as soon as the item is: it is drawn first, in the same run.
    page.get_by_text("Response A").first.wait_for(timeout=15_000)
    assert page.get_by_text("0 of 3 done").is_visible()

    # The payload is on the page as text, and it did not run.
    page.get_by_text("XSS-MARKER").first.wait_for()
    body = page.inner_text("body")
    assert "<script>" in body and "onerror" in body
    page.wait_for_timeout(300)  # give an onerror handler time to fire if it could
    assert page.evaluate("window.__xss") is None
    assert page.title() == title != "pwned"
    assert all(name not in page.content() for name in factory.SECRET_MODELS)

    _press_and_wait_next(page, "a", "pref-", "1 of 3 done")
    _press_and_wait_next(page, "b", "pref-", "2 of 3 done")
    # Ctrl+Enter keeps the rationale and leaves the box; the answer key then submits it.
    page.get_by_label("Rationale (optional)").click()
    page.keyboard.type("a tie")
    page.keyboard.press("Control+Enter")
    _press_and_wait_next(page, "t", "pref-", "All done")
    assert page.evaluate("window.__xss") is None
    assert not page.errors, page.errors
    assert _shown(site["engine"], "pairwise") == [(-1, False), (1, False), (0, False)]
    with factory.session(site["engine"]) as s:
        rationales = s.execute(select(Judgment.rationale).order_by(Judgment.id)).scalars()
        assert list(rationales) == [None, None, "a tie"]
    with factory.session(site["engine"]) as s:
        times = [j.time_on_task_ms for j in s.execute(select(Judgment)).scalars()]
    assert all(t is not None and t > 0 for t in times)


def test_five_way_tie_is_the_same_letter_and_keys_are_on_the_buttons(
    site: dict[str, Any],
) -> None:
    page = _open(site, "five-way")
    _item_class(page, "pref-")
    buttons = page.locator("[class*='st-key-item-'][class*='-pref-'] button")
    labels = [" ".join(t.split()) for t in buttons.all_inner_texts()]
    assert labels == [
        "A much better Shift + A",
        "A better A",
        "Tie T",
        "B better B",
        "B much better Shift + B",
    ]
    _press_and_wait_next(page, "t", "pref-", "1 of 2 done")
    _press_and_wait_next(page, "Shift+B", "pref-", "All done")
    assert _shown(site["engine"], "five-way") == [(0, False), (2, False)]


def _scores(engine: Engine, campaign: str = "rubric") -> list[dict[str, dict[str, float]]]:
    """Per current judgment of the rubric campaign: side as shown -> criterion -> score."""
    with factory.session(engine) as s:
        names = dict(s.execute(select(RubricCriterion.id, RubricCriterion.name)).all())
        rows = s.execute(
            select(Judgment, Assignment.shown_order, Comparison)
            .join(Assignment, Assignment.id == Judgment.assignment_id)
            .join(Comparison, Comparison.id == Judgment.comparison_id)
            .where(Judgment.is_current, Judgment.campaign_id == _campaign_id(s, campaign))
            .order_by(Judgment.id)
        ).all()
        out = []
        for j, order, comparison in rows:
            left = comparison.output_a_id if order == "ab" else comparison.output_b_id
            scores: dict[str, dict[str, float]] = {"A": {}, "B": {}}
            for score in s.execute(
                select(JudgmentScore).where(JudgmentScore.judgment_id == j.id)
            ).scalars():
                side = "A" if score.output_id == left else "B"
                scores[side][names[score.criterion_id]] = score.value
            out.append(scores)
    return out


def test_both_mode_items_are_rated_by_keyboard_alone(site: dict[str, Any]) -> None:
    page = _open(site, "rubric")
    page.get_by_text("0 of 3 done").wait_for(timeout=15_000)
    keys = page.keyboard

    # Item 1: keys only. The mark starts on Accuracy of A and moves A, B, next criterion.
    first = _item_class(page, "score-A-")
    page.locator(f"body[data-judgeboard-marked='{first}']").wait_for(state="attached")
    for digit in "4210":
        keys.press(digit)
    keys.press("Shift+A")
    _chosen(page)
    _press_and_wait_next(page, "Control+Enter", "submit", "1 of 3 done")

    # Item 2: a mouse click on a score does not stop the keys; arrows move the mark.
    page.locator("[class*='st-key-item-'][class*='-score-A-'] button").first.click()
    for key in ("5", "1", "ArrowUp", "ArrowDown", "1", "1"):
        keys.press(key)
    keys.press("x")
    _chosen(page)
    _press_and_wait_next(page, "Control+Enter", "submit", "2 of 3 done")

    # Item 3: scores, then a rationale, submitted with Ctrl+Enter from the text box.
    for digit in "3301":
        keys.press(digit)
    keys.press("b")
    _chosen(page)
    page.get_by_label("Rationale (optional)").click()
    keys.type("B is right")
    _press_and_wait_next(page, "Control+Enter", "submit", "3 of 3 done")
    assert not page.errors, page.errors

    assert _shown(site["engine"], "rubric") == [(-2, False), (0, True), (1, False)]
    assert _scores(site["engine"]) == [
        {"A": {"Accuracy": 4.0, "Safe": 1.0}, "B": {"Accuracy": 2.0, "Safe": 0.0}},
        {"A": {"Accuracy": 5.0, "Safe": 1.0}, "B": {"Accuracy": 1.0, "Safe": 1.0}},
        {"A": {"Accuracy": 3.0, "Safe": 0.0}, "B": {"Accuracy": 3.0, "Safe": 1.0}},
    ]
    with factory.session(site["engine"]) as s:
        last = s.execute(select(Judgment).order_by(Judgment.id.desc())).scalars().first()
    assert last.rationale == "B is right"


def test_a_new_user_rates_five_demo_items_with_every_rubric_score_by_keyboard(
    site: dict[str, Any],
) -> None:
    demo = demo_spec()["name"]
    page = _open(site, demo)
    with factory.session(site["engine"]) as s:
        campaign_id = _campaign_id(s, demo)
    admin = ensure_local_admin(site["engine"]).id
    target = progress(site["engine"], admin, campaign_id).target
    page.get_by_text(f"0 of {target} done").wait_for(timeout=15_000)
    # The instructions name the keys the buttons carry.
    page.get_by_text("Instructions").click()
    page.get_by_text("Shift+A").first.wait_for()
    page.get_by_text("Instructions").click()

    answers = ["a", "b", "t", "Shift+A", "Shift+B"]
    for n, letter in enumerate(answers, 1):
        _item_class(page, "score-B-")
        for digit in "435210":
            page.keyboard.press(digit)
        page.keyboard.press(letter)
        _chosen(page)
        _press_and_wait_next(page, "Control+Enter", "submit", f"{n} of {target} done")
    assert not page.errors, page.errors

    expected = {
        "A": {"helpfulness": 4.0, "correctness": 5.0, "safety": 1.0},
        "B": {"helpfulness": 3.0, "correctness": 2.0, "safety": 0.0},
    }
    assert _scores(site["engine"], demo) == [expected] * 5
    assert [p for p, _ in _shown(site["engine"], demo)] == [-1, 1, 0, -2, 2]


def test_keys_on_my_history_never_save_and_esc_gives_the_keys_back(site: dict[str, Any]) -> None:
    page = site["browser"].new_page()
    page.goto(f"{site['url']}/history")
    page.get_by_role("button", name="Save revision").wait_for(timeout=30_000)
    page.locator("[data-test-script-state='notRunning']").wait_for(timeout=30_000)
    with factory.session(site["engine"]) as s:
        before = s.execute(select(Judgment.id)).scalars().all()

    # The rationale box takes letters; Esc leaves it and the letters choose again.
    page.get_by_label("Rationale (optional)").click()
    page.keyboard.type("tab")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !['TEXTAREA', 'INPUT'].includes(document.activeElement.tagName)")
    for key in ("x", "1", "Shift+B", "5", "Control+Enter", "Enter"):
        page.keyboard.press(key)
    page.locator("[class*='-preference'] button[data-selected]", has_text="(Shift+B)").wait_for()
    page.locator("[data-test-script-state='notRunning']").wait_for()
    assert page.get_by_label("Rationale (optional)").input_value().endswith("tab")
    with factory.session(site["engine"]) as s:
        assert s.execute(select(Judgment.id)).scalars().all() == before
