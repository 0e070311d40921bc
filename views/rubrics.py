"""Rubric scores: per criterion and model, the mean with its interval and how scores spread."""

from __future__ import annotations

import streamlit as st

from annotate.campaigns import list_campaigns
from metrics.vocabulary import scale_name
from results.leaderboards import campaign_categories
from results.rubrics import campaign_rubrics
from views.widgets.charts import score_distribution
from views.widgets.common import engine, require_actor, run_or_error
from views.widgets.tables import show_table

actor = require_actor(admin=True)
st.title("Rubric scores")

campaigns = {c.name: c.id for c in list_campaigns(engine())}
if not campaigns:
    st.info("No campaigns yet.")
    st.stop()

top = st.columns([3, 2, 1])
name = top[0].selectbox("Campaign", list(campaigns))
category = top[1].selectbox(
    "Category",
    [None, *campaign_categories(engine(), campaigns[name], actor_id=actor.id)],
    format_func=lambda v: "all" if v is None else v,
)
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
    st.text(f"{criterion.name} ({scale_name(criterion.scale)})")
    table = report.criterion_table(criterion.name)
    show_table(table)
    dist = report.distribution[report.distribution["criterion"] == criterion.name]
    if dist.empty:
        continue
    labels = list(dict.fromkeys(dist.sort_values("value")["label"]))
    models = list(table["model"])
    scorers = list(dict.fromkeys(dist["scored_by"]))
    for column, by in zip(st.columns(len(scorers)), scorers, strict=True):
        column.altair_chart(
            score_distribution(
                dist[dist["scored_by"] == by],
                models=models,
                labels=labels,
                title="humans" if by == "human" else by,
            ),
            width="stretch",
        )
