"""Users (admin): invite by email or domain, change roles, deactivate."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from annotate import team
from db.models import ROLES
from views.widgets.common import engine, require_actor, run_or_error

actor = require_actor(admin=True)
st.title("Users")

with st.form("invite", clear_on_submit=True):
    st.subheader("Invite")
    left, right = st.columns([3, 1])
    value = left.text_input("Email address or domain", placeholder="ana@example.com or example.com")
    role = right.selectbox("Role", ROLES, index=1)
    submitted = st.form_submit_button("Invite", type="primary")
    if submitted and value and run_or_error(team.invite, engine(), value, role, actor_id=actor.id):
        st.success(f"Invited {value.strip().lower()} as {role}.")

members = run_or_error(team.list_members, engine(), actor_id=actor.id) or []
invites = run_or_error(team.list_invites, engine(), actor_id=actor.id) or []

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
        member = others[handle]
        if col1.form_submit_button("Set role"):
            run_or_error(team.set_role, engine(), member.id, new_role, actor_id=actor.id)
            st.rerun()
        if col2.form_submit_button("Deactivate"):
            run_or_error(team.set_active, engine(), member.id, False, actor_id=actor.id)
            st.rerun()
        if col3.form_submit_button("Re-activate"):
            run_or_error(team.set_active, engine(), member.id, True, actor_id=actor.id)
            st.rerun()

st.subheader("Invites")
if not invites:
    st.caption("No invites yet.")
for inv in invites:
    left, right = st.columns([4, 1])
    left.write(f"{inv.kind}: **{inv.value}** as {inv.role}")
    if right.button("Revoke", key=f"revoke-{inv.id}"):
        run_or_error(team.revoke_invite, engine(), inv.id, actor_id=actor.id)
        st.rerun()
