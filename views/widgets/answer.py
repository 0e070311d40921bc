"""The answer inputs shared by Rate and My history: the prompt, both responses, the
preference buttons with their keys, and the rubric inputs for each side."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from annotate.items import MAX_RATER_TEXT, Answer, CriterionView, RateItem, RatingSetup
from views.widgets.keys import (
    BOTH_BAD,
    BOTH_BAD_KEY,
    PREFERENCES,
    SUBMIT_KEY,
    key_help,
    score_keys,
    with_key,
)

MAX_MARKDOWN_CHARS = 50_000
MAX_MARKDOWN_LINES = 2_000
"""Past either limit a text is shown as plain text, in parts of at most these sizes: the
browser's markdown renderer takes minutes (or never finishes) on a few hundred thousand
list items, and even plain text of megabytes keeps the page busy for many seconds."""


MAX_QUOTE_DEPTH = 100
MAX_BRACKETS = 2_000
"""Structure the markdown renderer handles badly even in small texts: 49,000 nested quote
markers take 27 s, 12,000 unclosed links 14 s (Chromium, here)."""
_TOO_DEEP = re.compile(rf"^[ \t]*(?:>[ \t]*){{{MAX_QUOTE_DEPTH + 1}}}", re.MULTILINE)


def _lines(text: str) -> int:
    return text.count("\n") + (not text.endswith("\n"))


def renders_as_markdown(text: str) -> bool:
    """Whether ``text`` is small and plain enough to render as markdown without freezing
    the page (size, lines, quote nesting and brackets are bounded)."""
    return (
        len(text) <= MAX_MARKDOWN_CHARS
        and _lines(text) <= MAX_MARKDOWN_LINES
        and text.count("[") <= MAX_BRACKETS
        and _TOO_DEEP.search(text) is None
    )


def plain_parts(text: str) -> list[str]:
    """``text`` cut into parts of at most MAX_MARKDOWN_CHARS characters and
    MAX_MARKDOWN_LINES lines, at line ends where a line fits; joined, they give ``text``."""
    parts: list[str] = []
    current: list[str] = []
    size = 0

    def close() -> None:
        nonlocal current, size
        if current:
            parts.append("".join(current))
        current, size = [], 0

    for line in text.splitlines(keepends=True):
        while len(line) > MAX_MARKDOWN_CHARS:
            close()
            parts.append(line[:MAX_MARKDOWN_CHARS])
            line = line[MAX_MARKDOWN_CHARS:]
        if size + len(line) > MAX_MARKDOWN_CHARS or len(current) == MAX_MARKDOWN_LINES:
            close()
        current.append(line)
        size += len(line)
    close()
    return parts or [""]


_MD_IMAGE = re.compile(
    r"!\[(?:[^\[\]\\]|\\.)*\]"  # ![alt]
    r"\(\s*(<[^>\n]*>|[^\s)]*)"  # (url or (<url>
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?\s*\)"  # optional "title", then )
)
_HTML_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_HTML_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def _is_remote(url: str) -> bool:
    return url.strip().lower().startswith(("http:", "https:", "//"))


def _bare(url: str) -> str:
    return url.strip().removeprefix("<").removesuffix(">").strip()


def _image_text(url: str) -> str:
    url = _bare(url)
    if not url:
        return "[image]"
    if url[:5].lower() == "data:":
        return f"[image: data URL, {len(url):,} characters]"
    return f"[image: {url}]".replace("![", "!\\[")


_PLAIN_URL = re.compile(r"[^\s<>()\\]+")


def _html_image_text(match: re.Match[str], allow_remote: bool = False) -> str:
    """A remote ``<img>`` as its address (as a markdown image when the campaign allows
    remote images and the address is plain); any other tag as it was (st.markdown shows raw
    HTML as text, so it loads nothing and the rater sees what was there)."""
    src = _HTML_SRC.search(match.group(0))
    url = next((g for g in src.groups() if g is not None), "") if src else ""
    if not _is_remote(url):
        return match.group(0)
    if allow_remote and _PLAIN_URL.fullmatch(url.strip()):
        return f"![image]({url.strip()})"
    return _image_text(url)


def _inert_segment(text: str, allow_remote: bool) -> str:
    """Text between markdown images: HTML images rewritten, any other ``![`` escaped."""
    text = text.replace("![", "!\\[")
    return _HTML_IMAGE.sub(lambda m: _html_image_text(m, allow_remote), text)


def inert_images(text: str, allow_remote: bool = False) -> str:
    """``text`` with every image shown as its address in text, so no browser fetches it.

    Raters' browsers must not load remote images from imported text (the request tells the
    image's host who rates, when, and the server's address in the Referer). Markdown images
    ``![alt](url "title")`` and HTML ``<img src="http...">`` become ``[image: url]`` (a
    ``data:`` URL is shown by its length only); any other ``![`` (reference-style images) is
    escaped so it cannot form an image. st.markdown shows raw HTML as text anyway, so the
    HTML rewrite is a second line of defence and leaves tags without a remote ``src`` as
    they were. Code spans and blocks are rewritten too, a cosmetic cost.

    ``allow_remote`` (the campaign's ``allow_remote_images`` opt-in) keeps markdown images
    whose address is http(s) as images, and turns a remote ``<img>`` into one; ``data:``
    and other addresses stay inert either way.
    """
    if "![" not in text and "<img" not in text.lower():
        return text
    out: list[str] = []
    pos = 0
    for m in _MD_IMAGE.finditer(text):
        out.append(_inert_segment(text[pos : m.start()], allow_remote))
        url = m.group(1)
        keep = allow_remote and _is_remote(_bare(url))
        out.append(m.group(0) if keep else _image_text(url))
        pos = m.end()
    out.append(_inert_segment(text[pos:], allow_remote))
    return "".join(out)


def show_text(text: str, key: str, remote_images: bool = False) -> None:
    """Untrusted text (prompt, response, instructions) as markdown, or, past the limits, as
    plain text in a scrollable box, one part at a time, with a note saying why.

    Raw HTML is never rendered (no ``unsafe_allow_html``) and images are shown as their
    address (``inert_images``) unless ``remote_images`` (the campaign's opt-in) is set.
    ``key`` names the part picker.
    """
    if renders_as_markdown(text):
        st.markdown(inert_images(text, remote_images))
        return
    parts = plain_parts(text)
    st.caption(
        f"This text is shown as plain text, in {len(parts):,} part(s): at {len(text):,}"
        f" characters and {_lines(text):,} lines it is too large or too deeply structured"
        f" to render as markdown without freezing the page (limits: {MAX_MARKDOWN_CHARS:,}"
        f" characters, {MAX_MARKDOWN_LINES:,} lines, {MAX_BRACKETS:,} brackets, quotes"
        f" nested {MAX_QUOTE_DEPTH} deep)."
    )
    part = 1
    if len(parts) > 1:
        part = st.number_input(
            f"Part (1 to {len(parts)})",
            min_value=1,
            max_value=len(parts),
            value=1,
            step=1,
            key=f"{key}-part",
        )
    with st.container(height=480):
        st.text(parts[int(part) - 1])


# --- helpers shared with the history page --------------------------------------------------


def show_prompt(
    messages: tuple[dict[str, str], ...], key: str, remote_images: bool = False
) -> None:
    for number, message in enumerate(messages):
        role = message.get("role") or "user"
        with st.chat_message(role if role in ("user", "assistant") else "user"):
            if role not in ("user", "assistant"):
                st.caption(inert_images(role))
            show_text(message.get("content", ""), f"{key}-message-{number}", remote_images)


def show_response(
    label: str,
    text: str,
    turns: tuple[str, ...] | None,
    key: str,
    remote_images: bool = False,
) -> None:
    """One response; st.markdown escapes raw HTML (no unsafe_allow_html), so it shows as text.

    Past the markdown limits it is plain text (``show_text``)."""
    st.markdown(f"#### {label}")
    with st.container(border=True):
        if turns and len(turns) > 1:
            for number, turn in enumerate(turns, 1):
                st.caption(f"Turn {number}")
                show_text(turn, f"{key}-turn-{number}", remote_images)
        else:
            show_text(text, key, remote_images)


def _score_key(prefix: str, side: str, criterion: CriterionView) -> str:
    return f"{prefix}-score-{side}-{criterion.id}"


def _preference_key(prefix: str) -> str:
    return f"{prefix}-preference"


def score_inputs(
    setup: RatingSetup, side: str, prefix: str, previous: Answer | None = None
) -> None:
    """Rubric inputs for one response: a row of buttons per criterion, each option showing
    the digit that picks it when the criterion carries the keyboard mark."""
    given = (previous.scores if previous else {}).get(side, {})
    for criterion in setup.criteria:
        options = criterion.options()
        keys = dict(zip(options, score_keys(criterion), strict=True))
        value = given.get(criterion.id)
        st.segmented_control(
            inert_images(criterion.name),
            options,
            default=value if value in options else None,
            format_func=lambda v, c=criterion, k=keys: with_key(inert_images(c.label(v)), k[v]),
            help=inert_images(criterion.description) or None,
            key=_score_key(prefix, side, criterion),
        )


def collected_answer(
    setup: RatingSetup,
    item: RateItem,
    prefix: str,
    preference: int | None = None,
    both_bad: bool = False,
) -> Answer:
    """The answer on the form: ``preference`` / ``both_bad`` from an answer button, or else
    whatever the preference control holds."""
    if preference is None and not both_bad:
        chosen = st.session_state.get(_preference_key(prefix))
        both_bad = chosen == BOTH_BAD
        preference = None if chosen is None or both_bad else int(chosen)
    scores: dict[str, dict[int, float]] = {}
    if setup.wants_scores:
        for side in ("A",) if item.single else ("A", "B"):
            for criterion in setup.criteria:
                value = st.session_state.get(_score_key(prefix, side, criterion))
                if value is not None:
                    scores.setdefault(side, {})[criterion.id] = value
    rationale = st.session_state.get(f"{prefix}-rationale")
    return Answer(preference, both_bad, scores, rationale)


def _current(previous: Answer | None) -> int | str | None:
    if previous is None:
        return None
    return BOTH_BAD if previous.both_bad else previous.preference


def _answer_buttons(
    setup: RatingSetup, prefix: str, on_answer: Any, previous: Answer | None
) -> None:
    """One button per answer, each submitting at once; the current answer is highlighted."""
    choices = PREFERENCES[setup.preference_scale]
    current = _current(previous)
    cols = st.columns(len(choices) + int(setup.allow_both_bad))
    for col, (value, label, key) in zip(cols, choices, strict=False):
        col.button(
            label,
            key=f"{prefix}-pref-{value}",
            shortcut=key,
            type="primary" if current == value else "secondary",
            width="stretch",
            on_click=on_answer,
            args=(value, False),
        )
    if setup.allow_both_bad:
        cols[-1].button(
            "Both bad",
            key=f"{prefix}-both-bad",
            shortcut=BOTH_BAD_KEY,
            type="primary" if current == BOTH_BAD else "secondary",
            width="stretch",
            on_click=on_answer,
            args=(None, True),
        )


def _preference_control(setup: RatingSetup, prefix: str, previous: Answer | None) -> None:
    """The preference as a choice that is only kept when the form is submitted."""
    choices = PREFERENCES[setup.preference_scale]
    labels: dict[int | str, str] = {value: with_key(label, key) for value, label, key in choices}
    if setup.allow_both_bad:
        labels[BOTH_BAD] = with_key("Both bad", BOTH_BAD_KEY)
    current = _current(previous)
    st.segmented_control(
        "Which response is better?",
        list(labels),
        default=current if current in labels else None,
        format_func=labels.get,
        key=_preference_key(prefix),
    )


def answer_form(
    setup: RatingSetup,
    item: RateItem,
    prefix: str,
    on_answer: Any,
    previous: Answer | None = None,
    *,
    confirm: bool = False,
) -> None:
    """The item side by side, rubric under each response, rationale, answer buttons.

    ``on_answer(preference, both_bad)`` is called from the buttons' callbacks; from the
    submit button it gets ``(None, False)`` and ``collected_answer`` reads the form. A
    pairwise campaign answers with one key (each answer button submits); with a rubric the
    preference is chosen first and the form submitted with Ctrl+Enter. ``confirm`` (My
    history) never submits on a key: only the Save revision button saves. The page loads
    the keys' script (``views.widgets.keys.install_keyboard``).
    """
    remote = setup.allow_remote_images
    show_prompt(item.messages, f"{prefix}-prompt", remote)
    if item.single:
        show_response("Response", item.response_a, item.turns_a, f"{prefix}-response-a", remote)
        if setup.wants_scores:
            score_inputs(setup, "A", prefix, previous)
    else:
        left, right = st.columns(2, gap="medium")
        with left:
            show_response(
                "Response A", item.response_a, item.turns_a, f"{prefix}-response-a", remote
            )
            if setup.wants_scores:
                score_inputs(setup, "A", prefix, previous)
        with right:
            show_response(
                "Response B", item.response_b, item.turns_b, f"{prefix}-response-b", remote
            )
            if setup.wants_scores:
                score_inputs(setup, "B", prefix, previous)
    st.text_area(
        "Rationale (optional)",
        value=(previous.rationale or "") if previous else "",
        key=f"{prefix}-rationale",
        height=68,
        max_chars=MAX_RATER_TEXT,
    )
    pairwise = setup.wants_preference and not item.single
    if pairwise and not setup.wants_scores and not confirm:
        _answer_buttons(setup, prefix, on_answer, previous)
    else:
        if pairwise:
            _preference_control(setup, prefix, previous)
        st.button(
            "Save revision" if confirm else "Submit",
            key=f"{prefix}-submit",
            shortcut=None if confirm else SUBMIT_KEY,
            type="primary",
            on_click=on_answer,
            args=(None, False),
        )
    st.caption(key_help(setup, single=item.single, confirm=confirm))
