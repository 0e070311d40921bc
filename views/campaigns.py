"""Campaigns: what exists, how far along it is, and pairing outputs into comparisons."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from annotate.campaigns import MODE_NAMES, list_campaigns
from annotate.flags import flagged_items
from annotate.pairing import STRATEGIES, STRATEGY_NAMES, generate_comparisons
from results.leaderboards import campaign_models
from views.widgets.common import engine, pick_comparison, require_actor, run_or_error

actor = require_actor(admin=True)
st.title("Campaigns")

summaries = list_campaigns(engine())

if not summaries:
    st.info(
        "No campaigns yet. Import model outputs on the **Import** page, or run `judgeboard demo`."
    )
    st.stop()

st.dataframe(
    pd.DataFrame(
        [
            {
                "campaign": c.name,
                "mode": MODE_NAMES.get(c.mode, c.mode),
                "ratings per comparison": c.overlap,
                "prompts": c.n_prompts,
                "comparisons": c.n_comparisons,
                "human votes": c.n_human_judgments,
                "judge votes": c.n_judge_judgments,
            }
            for c in summaries
        ]
    ),
    hide_index=True,
    width="stretch",
)

st.subheader("Pair outputs into comparisons")
by_name = {c.name: c.id for c in summaries}
name = st.selectbox("Campaign", list(by_name), key="pairing-campaign")
models = campaign_models(engine(), by_name[name], actor_id=actor.id)
with st.form("pairing"):
    strategy = st.radio("Strategy", STRATEGIES, format_func=STRATEGY_NAMES.get, horizontal=True)
    baseline = st.selectbox(
        "Baseline model (for the baseline strategy)",
        models,
        index=None,
        placeholder="Pick one of the campaign's models" if models else "No outputs yet",
    )
    k = st.number_input("k (for random pairs)", min_value=1, value=2)
    seed = st.number_input("Seed", min_value=0, value=0)
    if st.form_submit_button("Generate comparisons", type="primary"):
        result = run_or_error(
            generate_comparisons,
            engine(),
            by_name[name],
            strategy,
            baseline=baseline or None,
            k=int(k),
            seed=int(seed),
            actor_id=actor.id,
        )
        if result is not None:
            st.success(result.summary())

st.subheader("Flagged items")
st.caption("What raters reported as broken, offensive or unanswerable; pick one to read it.")
flag_campaign = st.selectbox("Campaign", list(by_name), key="flags-campaign")
flags = run_or_error(flagged_items, engine(), by_name[flag_campaign], actor_id=actor.id)
if flags is not None and flags.empty:
    st.success("Nobody has flagged an item in this campaign.")
elif flags is not None:
    pick_comparison(
        actor.id,
        flags,
        column_config={
            "comparison_id": st.column_config.NumberColumn("comparison"),
            "model_a": "model A",
            "model_b": "model B",
            "flagged_at": st.column_config.DatetimeColumn("flagged at", format="YYYY-MM-DD HH:mm"),
        },
    )
