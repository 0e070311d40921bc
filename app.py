"""Streamlit entry: page setup, the acting user, navigation by role."""

from __future__ import annotations

import streamlit as st

from db.errors import PermissionDeniedError
from views.widgets.common import auth_configured, current_user, local_mode_blocked, plain

st.set_page_config(page_title="judgeboard", page_icon=":material/balance:", layout="wide")


def sign_in() -> None:
    st.title("judgeboard")
    st.write("Sign in to rate or manage evaluation campaigns.")
    st.button("Sign in", on_click=st.login, type="primary")


def local_mode_off() -> None:
    st.title("judgeboard")
    # The operator's own settings, not visitors' text: "[auth]" alone renders literally.
    st.error(local_mode_blocked() or "", icon=":material/lock:")


actor = current_user()
if actor is None and local_mode_blocked() is not None:
    st.session_state.pop("actor", None)
    gate = st.Page(local_mode_off, title="Sign-in needed", icon=":material/lock:")
    st.navigation([gate], position="hidden").run()
    st.stop()
if actor is None:
    # Nobody to act as: forget any earlier actor and register a single page. Without an
    # st.navigation call Streamlit would have no page to run.
    st.session_state.pop("actor", None)
    if auth_configured() and not st.user.get("is_logged_in", False):
        gate = st.Page(sign_in, title="Sign in", icon=":material/login:")
    else:
        gate = st.Page("views/not_invited.py", title="Not invited", icon=":material/block:")
    st.navigation([gate], position="hidden").run()
    st.stop()

st.session_state["actor"] = actor

pages: dict[str, list] = {}
if actor.is_admin:
    pages["Manage"] = [
        st.Page("views/campaigns.py", title="Campaigns", icon=":material/folder:", default=True),
        st.Page("views/import_data.py", title="Import", icon=":material/upload:"),
        st.Page("views/users.py", title="Users", icon=":material/group:"),
        st.Page("views/campaign_setup.py", title="Campaign setup", icon=":material/tune:"),
        st.Page("views/llm_judges.py", title="LLM judges", icon=":material/gavel:"),
        st.Page("views/review.py", title="Review", icon=":material/rule:"),
    ]
    pages["Results"] = [
        st.Page("views/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:"),
        st.Page("views/agreement.py", title="Agreement", icon=":material/handshake:"),
        st.Page("views/calibration.py", title="Calibration", icon=":material/balance:"),
        st.Page("views/rubrics.py", title="Rubric scores", icon=":material/checklist:"),
        st.Page("views/evaluations.py", title="Evaluations", icon=":material/science:"),
        st.Page("views/experiments.py", title="Experiments", icon=":material/difference:"),
        st.Page("views/monitoring.py", title="Monitoring", icon=":material/monitoring:"),
    ]
pages["Rate"] = [
    st.Page(
        "views/rate.py",
        title="Rate",
        icon=":material/compare:",
        default=not actor.is_admin,
    ),
    st.Page("views/history.py", title="My history", icon=":material/history:"),
]

with st.sidebar:
    st.caption(f"Signed in as **{actor.display_name}** ({actor.role})")
    if not auth_configured():
        st.info(
            "Local mode: one local admin, served on loopback only. Add an `[auth]` section to"
            " `.streamlit/secrets.toml` to turn on team sign-in.",
            icon=":material/lock:",
        )
    else:
        st.button("Sign out", on_click=st.logout)

try:
    # Admins see a dozen pages and more; collapsed, the rater pages would hide behind
    # "View more".
    st.navigation(pages, expanded=True).run()
except PermissionDeniedError as refused:
    # The role changed between the page's own check and a query it made: say so plainly.
    st.error(plain(str(refused)))
