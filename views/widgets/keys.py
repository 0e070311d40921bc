"""The rating keys: one mapping for every campaign, and the script that gives the rubric keys.

Letters answer the preference and mean the same on the 3-way and the 5-way scale (A: A
better, B: B better, T: tie, X: both bad; Shift+A / Shift+B: "much better" on 5-way);
digits score the rubric criterion that has the keyboard focus. The key is shown on every
button. ``keyboard.js`` (static, never built from text) handles the rubric keys in the
browser; Streamlit's own ``shortcut=`` handles the buttons.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from annotate.items import CriterionView, RatingSetup

BOTH_BAD = "both-bad"
"""The preference control's value for "Both bad" (preferences are -2..2)."""

PREFERENCES: dict[str, list[tuple[int, str, str]]] = {
    "3way": [(-1, "A is better", "A"), (0, "Tie", "T"), (1, "B is better", "B")],
    "5way": [
        (-2, "A much better", "Shift+A"),
        (-1, "A better", "A"),
        (0, "Tie", "T"),
        (1, "B better", "B"),
        (2, "B much better", "Shift+B"),
    ],
}
BOTH_BAD_KEY = "X"
SKIP_KEY = "S"
UNDO_KEY = "U"
SUBMIT_KEY = "Ctrl+Enter"

_SCRIPT = Path(__file__).with_name("keyboard.js")


def score_keys(criterion: CriterionView) -> list[str | None]:
    """The digit that picks each of ``criterion.options()``: the score itself on 1-5 and
    1-10 scales (0 for 10), 0 = No and 1 = Yes on yes/no, 1..9 then 0 for categories
    (past the tenth category, none)."""
    if criterion.scale == "binary":
        return ["0", "1"]
    count = len(criterion.options())
    return [str(n % 10) if n <= 10 else None for n in range(1, count + 1)]


def with_key(label: str, key: str | None) -> str:
    """``label`` with its key in brackets, the form ``keyboard.js`` reads back."""
    if key is None or label == key:
        return label
    return f"{label} ({key})"


def key_help(setup: RatingSetup, *, single: bool = False, confirm: bool = False) -> str:
    """One line naming every key of this campaign's rating form, for under the buttons."""
    parts: list[str] = []
    if setup.wants_preference and not single:
        parts += [f"{key} {label}" for _, label, key in PREFERENCES[setup.preference_scale]]
        if setup.allow_both_bad:
            parts.append(f"{BOTH_BAD_KEY} both bad")
    if setup.wants_scores:
        parts.append(
            "digits score the marked rubric criterion (↑ ↓ ← → move the mark; it moves on by"
            " itself after each score)"
        )
    immediate = setup.wants_preference and not setup.wants_scores and not single
    if confirm:
        parts.append("nothing is saved until you press Save revision")
    else:
        if not immediate:
            parts.append(f"{SUBMIT_KEY} submit")
        parts += [f"{SKIP_KEY} skip", f"{UNDO_KEY} undo"]
    parts.append(f"Esc{' or ' + SUBMIT_KEY if immediate else ''} leaves a text box")
    return "Keys: " + "; ".join(parts) + "."


def install_keyboard() -> None:
    """Load the rubric-keys script (once per browser tab; later loads do nothing)."""
    st.html(f"<script>{_SCRIPT.read_text(encoding='utf-8')}</script>", unsafe_allow_javascript=True)
