"""Rate: a blind side-by-side queue, keyboard first.

Nothing here names a candidate: "Response A" / "Response B" are the positions the rater
sees. The rating panel is a fragment, so answering reruns only the panel.

The widget helpers below are shared with the My history page (revisions use the same
inputs); the page itself only runs when Streamlit executes this file as a page
(``__name__ == "__main__"``), not when history imports the helpers.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from annotate.queue import (
    Answer,
    CriterionView,
    RateItem,
    RatingSetup,
    next_item,
    progress,
    rateable_campaigns,
    rating_setup,
)
from annotate.submission import flag, skip, submit, undo_last
from db.errors import JudgeboardError
from pages.common import engine, require_actor, session

PREFERENCES = {
    "3way": [(-1, "A is better", "1"), (0, "Tie", "2"), (1, "B is better", "3")],
    "5way": [
        (-2, "A much better", "1"),
        (-1, "A better", "2"),
        (0, "Tie", "3"),
        (1, "B better", "4"),
        (2, "B much better", "5"),
    ],
}
BOTH_BAD_KEY = {"3way": "4", "5way": "6"}
FLASH = "rate_flash"


# --- helpers shared with the history page --------------------------------------------------


def show_prompt(messages: tuple[dict[str, str], ...]) -> None:
    for message in messages:
        role = message.get("role") or "user"
        with st.chat_message(role if role in ("user", "assistant") else "user"):
            if role not in ("user", "assistant"):
                st.caption(role)
            st.markdown(message.get("content", ""))


def show_response(label: str, text: str, turns: tuple[str, ...] | None) -> None:
    """One response; st.markdown escapes raw HTML (no unsafe_allow_html), so it shows as text."""
    st.markdown(f"#### {label}")
    with st.container(border=True):
        if turns and len(turns) > 1:
            for number, turn in enumerate(turns, 1):
                st.caption(f"Turn {number}")
                st.markdown(turn)
        else:
            st.markdown(text)


def _score_key(prefix: str, side: str, criterion: CriterionView) -> str:
    return f"{prefix}-score-{side}-{criterion.id}"


def score_inputs(
    setup: RatingSetup, side: str, prefix: str, previous: Answer | None = None
) -> None:
    """Rubric inputs for one response (radio groups: Tab, then arrow keys)."""
    given = (previous.scores if previous else {}).get(side, {})
    for criterion in setup.criteria:
        options = criterion.options()
        value = given.get(criterion.id)
        st.radio(
            criterion.name,
            options,
            index=options.index(value) if value in options else None,
            format_func=criterion.label,
            horizontal=True,
            help=criterion.description or None,
            key=_score_key(prefix, side, criterion),
        )


def collected_answer(
    setup: RatingSetup,
    item: RateItem,
    prefix: str,
    preference: int | None,
    both_bad: bool = False,
) -> Answer:
    scores: dict[str, dict[int, float]] = {}
    if setup.wants_scores:
        for side in ("A",) if item.single else ("A", "B"):
            for criterion in setup.criteria:
                value = st.session_state.get(_score_key(prefix, side, criterion))
                if value is not None:
                    scores.setdefault(side, {})[criterion.id] = value
    rationale = st.session_state.get(f"{prefix}-rationale")
    return Answer(preference, both_bad, scores, rationale)


def answer_form(
    setup: RatingSetup,
    item: RateItem,
    prefix: str,
    on_answer: Any,
    previous: Answer | None = None,
) -> None:
    """The item side by side, rubric under each response, rationale, answer buttons.

    ``on_answer(preference, both_bad)`` is called from the buttons' callbacks.
    """
    show_prompt(item.messages)
    if item.single:
        show_response("Response", item.response_a, item.turns_a)
        if setup.wants_scores:
            score_inputs(setup, "A", prefix, previous)
    else:
        left, right = st.columns(2, gap="medium")
        with left:
            show_response("Response A", item.response_a, item.turns_a)
            if setup.wants_scores:
                score_inputs(setup, "A", prefix, previous)
        with right:
            show_response("Response B", item.response_b, item.turns_b)
            if setup.wants_scores:
                score_inputs(setup, "B", prefix, previous)
    st.text_area(
        "Rationale (optional)",
        value=(previous.rationale or "") if previous else "",
        key=f"{prefix}-rationale",
        height=68,
    )
    if setup.wants_preference and not item.single:
        choices = PREFERENCES[setup.preference_scale]
        cols = st.columns(len(choices) + int(setup.allow_both_bad))
        for col, (value, label, key) in zip(cols, choices, strict=False):
            chosen = previous is not None and previous.preference == value
            col.button(
                label,
                key=f"{prefix}-pref-{value}",
                shortcut=key,
                type="primary" if chosen else "secondary",
                width="stretch",
                on_click=on_answer,
                args=(value, False),
            )
        if setup.allow_both_bad:
            cols[-1].button(
                "Both bad",
                key=f"{prefix}-both-bad",
                shortcut=BOTH_BAD_KEY[setup.preference_scale],
                width="stretch",
                on_click=on_answer,
                args=(None, True),
            )
    else:
        st.button(
            "Submit scores",
            key=f"{prefix}-submit",
            shortcut="Ctrl+Enter",
            type="primary",
            on_click=on_answer,
            args=(None, False),
        )


# --- the rate page -------------------------------------------------------------------------


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
    try:
        item = next_item(engine(), rater_id, campaign_id)
    except JudgeboardError as exc:
        st.error(str(exc))
        return
    with session() as s:
        done = progress(s, rater_id, campaign_id)
    st.progress(done.fraction, text=f"{done.done} of {done.target} done")
    if item is None:
        st.success(
            "All done: there is nothing left for you to rate in this campaign. Thank you!",
            icon=":material/task_alt:",
        )
        st.button("Undo last", shortcut="U", on_click=_undo, args=(rater_id, campaign_id))
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
        shortcut="S",
        width="stretch",
        on_click=_skip,
        args=(rater_id, item.assignment_id),
    )
    undo_col.button(
        "Undo last",
        key=f"{prefix}-undo",
        shortcut="U",
        width="stretch",
        on_click=_undo,
        args=(rater_id, campaign_id),
    )
    with flag_col.popover("Flag", width="stretch"):
        st.text_input("What is wrong with this item?", key=f"{prefix}-flag")
        st.button(
            "Flag item",
            key=f"{prefix}-flag-button",
            on_click=_flag,
            args=(rater_id, item.assignment_id),
        )
    keys = ", ".join(f"{k} {label}" for _, label, k in PREFERENCES[setup.preference_scale])
    if setup.allow_both_bad:
        keys += f", {BOTH_BAD_KEY[setup.preference_scale]} both bad"
    st.caption(
        f"Keys: {keys}; S skip; U undo." if setup.wants_preference else "Keys: S skip; U undo."
    )


def main() -> None:
    st.title("Rate")
    actor = require_actor()
    with session() as s:
        choices = rateable_campaigns(s, actor.id)
    if not choices:
        st.info("No campaign is open to you yet. An admin can add you on Campaign setup.")
        st.stop()
    names = {c.id: c.name for c in choices}
    campaign_id = st.selectbox("Campaign", list(names), format_func=names.get, key="rate_campaign")
    with session() as s:
        setup = rating_setup(s, campaign_id)
    with st.expander("Instructions", expanded=False, icon=":material/menu_book:"):
        st.markdown(setup.instructions or "_No instructions for this campaign._")
    rating_panel(actor.id, setup)


if __name__ == "__main__":
    main()
