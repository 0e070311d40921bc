"""Not invited: a signed-in user nobody has invited sees this page and nothing else."""

from __future__ import annotations

import streamlit as st

from views.widgets.common import current_login

st.title("Not invited")
# st.text, not markdown: the email is a claim from the identity provider, shown verbatim.
st.text(f"You are signed in as {st.user.get('email') or 'an unknown user'}.")
login = current_login()
if login.refusal is not None:
    st.warning(login.refusal, icon=":material/gpp_bad:")
else:
    st.write(
        "Nobody has invited you to this judgeboard yet. Ask an admin to invite your email"
        " address."
    )
st.button("Sign out", on_click=st.logout)
