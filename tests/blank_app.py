"""The reference for bench/pages.py: a two-page Streamlit app that does nothing else."""

import streamlit as st


def one() -> None:
    st.title("Blank one")


def two() -> None:
    st.title("Blank two")


st.navigation([st.Page(one, title="One", default=True), st.Page(two, title="Two")]).run()
