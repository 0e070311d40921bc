"""Rate: a blind side-by-side queue, keyboard first.

Nothing here names a candidate: "Response A" / "Response B" are the positions the rater
sees. The rating panel is a fragment, so answering reruns only the panel.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from annotate.items import MAX_RATER_TEXT, RateItem, RatingSetup
from annotate.queue import next_item, progress, rateable_campaigns, rating_setup
from annotate.submission import flag, skip, submit, undo_last
from db.errors import JudgeboardError
from views.widgets.answer import answer_form, collected_answer, show_text
from views.widgets.common import engine, require_actor
from views.widgets.keys import SKIP_KEY, UNDO_KEY, install_keyboard

FLASH = "rate_flash"


def _flash(kind: str, message: str) -> None:
    st.session_state[FLASH] = (kind, message)


def _act(fn: Any, *args: Any, done: str | None = None) -> None:
    try:
        fn(engine(), *args)
    except JudgeboardError as exc:
        _flash("error", str(exc))
    else:
        if done:
            _flash("toast", done)


def _answer(
    rater_id: int, setup: RatingSetup, item: RateItem, preference: int | None, both_bad: bool
) -> None:
    prefix = f"item-{item.assignment_id}"
    answer = collected_answer(setup, item, prefix, preference, both_bad)
    _act(submit, rater_id, item.assignment_id, answer)


def _skip(rater_id: int, assignment_id: int) -> None:
    _act(skip, rater_id, assignment_id, done="Skipped.")


def _flag(rater_id: int, assignment_id: int) -> None:
    reason = st.session_state.get(f"item-{assignment_id}-flag", "")
    _act(flag, rater_id, assignment_id, reason, done="Flagged: thanks, an admin will look.")


def _undo(rater_id: int, campaign_id: int) -> None:
    try:
        reopened = undo_last(engine(), rater_id, campaign_id)
    except JudgeboardError as exc:
        _flash("error", str(exc))
    else:
        _flash("toast", "Reopened your last item." if reopened else "Nothing to undo.")


def _show_flash() -> None:
    flash = st.session_state.pop(FLASH, None)
    if flash is None:
        return
    kind, message = flash
    if kind == "toast":
        st.toast(message)
    else:
        st.error(message)


@st.fragment
def rating_panel(rater_id: int, setup: RatingSetup) -> None:
    _show_flash()
    campaign_id = setup.campaign_id
    done = progress(engine(), rater_id, campaign_id)
    st.progress(done.fraction, text=done.text())
    try:
        item = next_item(engine(), rater_id, campaign_id)
    except JudgeboardError as exc:
        st.error(str(exc))
        return
    if item is None:
        st.success(
            "All done: there is nothing left for you to rate in this campaign. Thank you!",
            icon=":material/task_alt:",
        )
        st.button("Undo last", shortcut=UNDO_KEY, on_click=_undo, args=(rater_id, campaign_id))
        return
    prefix = f"item-{item.assignment_id}"
    answer_form(
        setup,
        item,
        prefix,
        lambda preference, both_bad: _answer(rater_id, setup, item, preference, both_bad),
        item.previous,
    )
    skip_col, undo_col, flag_col, _ = st.columns([1, 1, 1, 3])
    skip_col.button(
        "Skip",
        key=f"{prefix}-skip",
        shortcut=SKIP_KEY,
        width="stretch",
        on_click=_skip,
        args=(rater_id, item.assignment_id),
    )
    undo_col.button(
        "Undo last",
        key=f"{prefix}-undo",
        shortcut=UNDO_KEY,
        width="stretch",
        on_click=_undo,
        args=(rater_id, campaign_id),
    )
    with flag_col.popover("Flag", width="stretch"):
        st.text_input(
            "What is wrong with this item?", key=f"{prefix}-flag", max_chars=MAX_RATER_TEXT
        )
        st.button(
            "Flag item",
            key=f"{prefix}-flag-button",
            on_click=_flag,
            args=(rater_id, item.assignment_id),
        )


def main() -> None:
    st.title("Rate")
    actor = require_actor()
    install_keyboard()
    choices = rateable_campaigns(engine(), actor.id)
    if not choices:
        st.info("No campaign is open to you yet. An admin can add you on Campaign setup.")
        st.stop()
    names = {c.id: c.name for c in choices}
    campaign_id = st.selectbox("Campaign", list(names), format_func=names.get, key="rate_campaign")
    setup = rating_setup(engine(), campaign_id)
    with st.expander("Instructions", expanded=False, icon=":material/menu_book:"):
        show_text(
            setup.instructions or "_No instructions for this campaign._",
            f"instructions-{campaign_id}",
            setup.allow_remote_images,
        )
    rating_panel(actor.id, setup)


main()
