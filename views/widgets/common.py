"""What every page needs: the engine, the acting user, and error display."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from annotate.users import (
    Login,
    active_user,
    ensure_local_admin,
    local_mode_refusal,
    login_from_claims,
    user_for_login,
)
from db.engine import get_engine
from db.errors import JudgeboardError
from metrics.errors import StatisticsError
from metrics.vocabulary import preference_word
from results.comparisons import comparison_detail
from views.widgets.answer import show_text
from views.widgets.tables import readable, show_table

SHOWN_ORDER = {"ab": "A first", "ba": "B first", "unknown": "unknown"}

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """The signed-in user, as plain values (never an ORM object in session state)."""

    id: int
    handle: str
    role: str
    display_name: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@st.cache_resource
def engine() -> Engine:
    return get_engine()


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError):
        return False


def local_mode_blocked() -> str | None:
    """Why local mode may not be served here (a non-loopback address), or None. Team mode
    (``[auth]``) is never blocked."""
    if auth_configured():
        return None
    return local_mode_refusal(st.get_option("server.address"))


def current_login() -> Login:
    """What the signed-in identity's claims prove (``annotate.users.login_from_claims``)."""
    return login_from_claims(st.user.to_dict())


def current_user() -> Actor | None:
    """The acting user: the local admin in local mode, the invited user in team mode.

    Returns None when a signed-in user is not invited (or no one is signed in), and in
    local mode on a non-loopback address (``local_mode_blocked``).
    """
    if not auth_configured():
        if local_mode_blocked() is not None:  # never the local admin off loopback
            return None
        user = ensure_local_admin(engine())
    else:
        if not st.user.get("is_logged_in", False):
            return None
        login = current_login()
        if login.email is None:
            return None
        user = user_for_login(engine(), login.email, login.name)
        if user is None:
            return None
    return Actor(user.id, user.handle, user.role, user.display_name or user.handle)


def plain(text: str) -> str:
    """``text`` with markdown's special characters escaped, for st.error/st.success and the
    like: names and messages that carry user text show as written, never interpreted."""
    return re.sub(r"([\\`*_\[\]<>#|~$])", r"\\\1", text)


def run_or_error(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call a domain function; show its error message (as plain text) instead of a traceback."""
    try:
        return fn(*args, **kwargs)
    except (JudgeboardError, StatisticsError) as exc:
        st.error(plain(str(exc)))
        return None


def _refreshed(actor: Actor) -> Actor | None:
    """``actor`` with the role the database gives it now; None once deactivated."""
    user = active_user(engine(), actor.id)
    if user is None:
        return None
    return Actor(user.id, user.handle, user.role, user.display_name or user.handle)


def require_actor(admin: bool = False) -> Actor:
    """The acting user; stops the page for anyone who may not see it.

    With ``[auth]`` the actor is derived from the sign-in on every run. Without it, the
    actor app.py left in session state names the user, whose role and state are read
    again from the database: an actor in session state is never trusted as it stands (an
    admin demoted or deactivated while their page is open sees a message on the next run).
    """
    local = not auth_configured() and local_mode_blocked() is None
    stored = st.session_state.get("actor") if local else None
    actor = current_user() if stored is None else _refreshed(stored)
    if actor is None:
        st.error(
            "Sign in first."
            if stored is None
            else "Your account is not active on this judgeboard: ask an admin to re-activate it."
        )
        st.stop()
    if admin and not actor.is_admin:
        st.error("This page is for admins.")
        st.stop()
    return actor


def show_comparison(actor_id: int, comparison_id: int) -> None:
    """The prompt, both outputs with their models, and every current vote on it."""
    detail = run_or_error(comparison_detail, engine(), comparison_id, actor_id=actor_id)
    if detail is None:
        return
    key = f"comparison-{comparison_id}"
    for i, message in enumerate(detail.messages):
        with st.chat_message(message.get("role", "user")):
            show_text(message.get("content", ""), f"{key}-message-{i}")
    a, b = st.columns(2)
    with a.container(border=True):
        st.markdown(f"**A: {plain(detail.model_a)}**")
        show_text(detail.output_a, f"{key}-a")
    with b.container(border=True):
        st.markdown(f"**B: {plain(detail.model_b)}**")
        show_text(detail.output_b, f"{key}-b")
    if detail.votes:
        show_table(
            pd.DataFrame(detail.votes),
            {"preference": preference_word, "shown_order": lambda v: SHOWN_ORDER.get(v, v)},
            {"kind": "Rater kind", "both_bad": "Both bad"},
        )
    else:
        st.caption("No votes on this comparison yet.")


def pick_comparison(actor_id: int, frame: pd.DataFrame, **dataframe_kwargs: Any) -> None:
    """A table with a ``comparison_id`` column; selecting a row opens that comparison."""
    picked = st.dataframe(
        readable(frame),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        **dataframe_kwargs,
    )
    rows = picked.selection.rows if picked else []
    if rows:
        show_comparison(actor_id, int(frame.iloc[rows[0]]["comparison_id"]))
