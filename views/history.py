"""My history: a rater's own judgments, and revising one (a new version; the old one is kept)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from annotate.history import HistoryRow, my_judgments, revisable, revise
from annotate.items import RateItem, RatingSetup
from db.errors import JudgeboardError
from views.widgets.answer import answer_form, collected_answer
from views.widgets.common import engine, require_actor, run_or_error
from views.widgets.keys import install_keyboard

PICK = "history_pick"

st.title("My history")
actor = require_actor()
install_keyboard()

rows: list[HistoryRow] = my_judgments(engine(), actor.id)
if not rows:
    st.info("You have not rated anything yet: answers you give on the Rate page show up here.")
    st.stop()

flash = st.session_state.pop("history_flash", None)
if flash:
    st.success(flash)

blind = all(r.model_a is None for r in rows)
table = pd.DataFrame(
    [
        {
            "when": r.created_at,
            "campaign": r.campaign,
            "prompt": r.prompt,
            "your verdict": r.verdict,
            "rationale": r.rationale or "",
            "version": r.version,
            **({} if blind else {"A": r.model_a or "", "B": r.model_b or ""}),
        }
        for r in rows
    ]
)
st.dataframe(table, hide_index=True, width="stretch")

st.subheader("Revise an answer")
by_id = {r.judgment_id: r for r in rows}
if st.session_state.get(PICK) not in by_id:
    st.session_state.pop(PICK, None)
picked = st.selectbox(
    "Answer to revise",
    list(by_id),
    format_func=lambda jid: (
        f"{by_id[jid].campaign} · {by_id[jid].prompt[:80]} · {by_id[jid].verdict}"
    ),
    key=PICK,
)

target = run_or_error(revisable, engine(), actor.id, picked)
if target is None:
    st.stop()


def _revise(setup: RatingSetup, item: RateItem, preference: int | None, both_bad: bool) -> None:
    answer = collected_answer(setup, item, f"rev-{picked}", preference, both_bad)
    try:
        new_id = revise(engine(), actor.id, picked, answer)
    except JudgeboardError as exc:
        st.session_state["history_flash_error"] = str(exc)
    else:
        st.session_state[PICK] = new_id
        st.session_state["history_flash"] = "Saved as a new version; the earlier one is kept."


error = st.session_state.pop("history_flash_error", None)
if error:
    st.error(error)
st.caption(
    f"Your current answer: **{by_id[picked].verdict}** (highlighted below). Change it, then"
    " press Save revision; nothing is saved before that."
)
answer_form(
    target.setup,
    target.item,
    f"rev-{picked}",
    lambda preference, both_bad: _revise(target.setup, target.item, preference, both_bad),
    target.answer,
    confirm=True,
)
