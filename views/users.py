"""Users (admin): invite by email or domain, change roles, deactivate."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from annotate import team
from db.models import ROLES
from views.widgets.common import require_actor, run_or_error, session

actor = require_actor(admin=True)
st.title("Users")

with st.form("invite", clear_on_submit=True):
    st.subheader("Invite")
    left, right = st.columns([3, 1])
    value = left.text_input("Email address or domain", placeholder="ana@example.com or example.com")
    role = right.selectbox("Role", ROLES, index=1)
    if st.form_submit_button("Invite", type="primary") and value:
        with session() as s:
            if run_or_error(team.invite, s, actor.id, value, role):
                st.success(f"Invited {value.strip().lower()} as {role}.")

with session() as s:
    members = run_or_error(team.list_members, s, actor.id) or []
    invites = run_or_error(team.list_invites, s, actor.id) or []

st.subheader("Members")
st.dataframe(
    pd.DataFrame(
        [
            {
                "user": m.handle,
                "name": m.display_name,
                "role": m.role,
                "active": m.active,
                "imported": m.imported,
                "judgments": m.judgments,
            }
            for m in members
        ]
    ),
    hide_index=True,
    width="stretch",
)
others = {m.handle: m for m in members if m.id != actor.id}
if others:
    with st.form("change"):
        handle = st.selectbox("User", list(others))
        new_role = st.selectbox("Role", ROLES)
        col1, col2, col3 = st.columns(3)
        with session() as s:
            member = others[handle]
            if col1.form_submit_button("Set role"):
                run_or_error(team.set_role, s, actor.id, member.id, new_role)
                st.rerun()
            if col2.form_submit_button("Deactivate"):
                run_or_error(team.set_active, s, actor.id, member.id, False)
                st.rerun()
            if col3.form_submit_button("Re-activate"):
                run_or_error(team.set_active, s, actor.id, member.id, True)
                st.rerun()

st.subheader("Invites")
if not invites:
    st.caption("No invites yet.")
for inv in invites:
    left, right = st.columns([4, 1])
    left.write(f"{inv.kind}: **{inv.value}** as {inv.role}")
    if right.button("Revoke", key=f"revoke-{inv.id}"):
        with session() as s:
            run_or_error(team.revoke_invite, s, actor.id, inv.id)
        st.rerun()
