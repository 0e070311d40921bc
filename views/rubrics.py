"""Rubric scores: per criterion and model, the mean with its interval and how scores spread."""

from __future__ import annotations

import altair as alt
import streamlit as st

from annotate.campaigns import list_campaigns
from results.rubrics import campaign_rubrics
from views.widgets.common import engine, require_actor, run_or_error

actor = require_actor(admin=True)
st.title("Rubric scores")

campaigns = {c.name: c.id for c in list_campaigns(engine())}
if not campaigns:
    st.info("No campaigns yet.")
    st.stop()

top = st.columns([3, 2, 1])
name = top[0].selectbox("Campaign", list(campaigns))
category = top[1].text_input("Category") or None
split = top[2].selectbox("Split", [None, "dev", "test"], format_func=lambda v: v or "all")

report = run_or_error(
    campaign_rubrics,
    engine(),
    campaigns[name],
    category=category,
    split=split,
    actor_id=actor.id,
)
if report is None:
    st.stop()
for note in report.notes:
    st.info(note)
if report.summary.empty:
    st.stop()

st.caption(
    "Mean score per model with a 95% interval that counts each output once however many"
    " raters scored it; humans and each LLM judge apart. — means nobody of that kind scored"
    " the model on that criterion."
)
for criterion in report.criteria:
    st.divider()
    st.text(f"{criterion.name} ({criterion.scale})")
    st.dataframe(report.criterion_table(criterion.name), hide_index=True, width="stretch")
    dist = report.distribution[report.distribution["criterion"] == criterion.name]
    if dist.empty:
        continue
    order = list(dict.fromkeys(dist.sort_values("value")["label"]))
    scorers = list(dict.fromkeys(dist["scored_by"]))
    for column, by in zip(st.columns(len(scorers)), scorers, strict=True):
        part = dist[dist["scored_by"] == by]
        column.altair_chart(
            alt.Chart(part, title="humans" if by == "human" else by)
            .mark_bar()
            .encode(
                x=alt.X("label:N", sort=order, title="score"),
                xOffset="model:N",
                y=alt.Y("count:Q", title="scores"),
                color=alt.Color("model:N"),
                tooltip=["model", "label", "count", alt.Tooltip("share:Q", format=".0%")],
            ),
            width="stretch",
        )
