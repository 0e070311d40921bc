"""Leaderboard: which model wins, by how much, and how sure we are."""

from __future__ import annotations

import io
import json

import altair as alt
import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from results.leaderboards import (
    SOURCES,
    LeaderboardQuery,
    campaign_models,
    compute_leaderboard,
    judges_in_campaign,
    markdown_table,
)
from views.widgets.common import engine, plain, require_actor, run_or_error

PPI_HUMAN_COLUMNS = {
    "human_rating": ("human only", "{:.0f}"),
    "human_ci_low": ("human CI low", "{:.0f}"),
    "human_ci_high": ("human CI high", "{:.0f}"),
    "width_ratio": ("CI width vs human", "{:.0%}"),
}

actor = require_actor(admin=True)
st.title("Leaderboard")

campaigns = {c.name: c.id for c in list_campaigns(engine())}
if not campaigns:
    st.info("No campaigns yet: import outputs and votes first.")
    st.stop()

top = st.columns([2, 2, 2, 1, 1])
name = top[0].selectbox("Campaign", list(campaigns))
campaign_id = campaigns[name]
labels = {
    "human": "Human votes",
    "judge": "LLM judge",
    "blend": "Weighted blend",
    "ppi": "Prediction-powered (PPI)",
}
source = top[1].selectbox("Source", SOURCES, format_func=labels.get)
judges = judges_in_campaign(engine(), campaign_id, actor_id=actor.id)
judge = None
if source != "human":
    if not judges:
        st.warning("No judge verdicts in this campaign yet: run a judge on the Judges page.")
        st.stop()
    judge = top[2].selectbox("Judge", [label for _, label, _ in judges])
category = top[3].text_input("Category") or None
split = top[4].selectbox("Split", [None, "dev", "test"], format_func=lambda v: v or "all")
weight = 0.5
if source == "blend":
    weight = st.slider("Judge weight per vote", 0.0, 1.0, 0.5, 0.05)
length_control = st.toggle("Control for output length", help="Verbosity should not buy rank.")
options = st.columns(2)
baseline = options[0].selectbox(
    "Baseline",
    [None, *campaign_models(engine(), campaign_id, actor_id=actor.id)],
    format_func=lambda v: "none (mean rating = 1000)" if v is None else v,
    help="Anchor this model at 1000 and add each model's win rate against it, with its"
    " interval, as Arena-Hard-Auto reports it.",
)
strong_weight = options[1].number_input(
    "Strong verdicts count",
    min_value=1,
    max_value=10,
    value=1,
    step=1,
    help="Count a strong verdict (A>>B on a 5-point scale) this many times;"
    " Arena-Hard-Auto uses 3.",
)

result = run_or_error(
    compute_leaderboard,
    engine(),
    LeaderboardQuery(
        campaign_id,
        source=source,
        judge=judge,
        weight=weight,
        category=category,
        split=split,
        length_control=length_control and source in ("human", "judge"),
        baseline=baseline,
        strong_weight=int(strong_weight),
    ),
    actor_id=actor.id,
)
if result is None:
    st.stop()
for note in result.notes:
    if note.startswith("Warning"):
        st.warning(plain(note))
    else:
        st.info(plain(note))
for warning in result.warnings:
    st.warning(plain(warning), icon=":material/warning:")
if result.table.empty:
    st.stop()

table = result.table
anchor = f"{baseline} = 1000" if baseline else "mean 1000"
st.caption(
    f"{result.n_votes:,} votes; Bradley–Terry ratings on an Elo scale ({anchor}) with"
    " 95% bootstrap intervals; models whose intervals overlap share a rank range."
    " Empty cells are missing, not zero."
)
shown = table.assign(
    rank=[
        f"{lo}" if lo == hi else f"{lo}–{hi}"
        for lo, hi in zip(table.rank_low, table.rank_high, strict=True)
    ]
)
# PPI: a model no human labelled has no human-only figure, shown as missing ("—").
ppi_columns = {}
if source == "ppi":
    for col, (label, fmt) in PPI_HUMAN_COLUMNS.items():
        shown[col] = [fmt.format(v) if pd.notna(v) else "—" for v in shown[col]]
        ppi_columns[col] = st.column_config.TextColumn(label)
st.dataframe(
    shown[["rank", *[c for c in table.columns if c not in ("rank_low", "rank_high")]]],
    hide_index=True,
    width="stretch",
    column_config={
        "rating": st.column_config.NumberColumn(format="%.0f"),
        "ci_low": st.column_config.NumberColumn("CI low", format="%.0f"),
        "ci_high": st.column_config.NumberColumn("CI high", format="%.0f"),
        "win_rate": st.column_config.NumberColumn("win rate", format="percent"),
        "win_rate_ci_low": st.column_config.NumberColumn("win rate low", format="percent"),
        "win_rate_ci_high": st.column_config.NumberColumn("win rate high", format="percent"),
        "win_rate_vs_baseline": st.column_config.NumberColumn(
            "win rate vs baseline",
            format="percent",
            help="Expected win rate against the baseline from the ratings:"
            " 1 / (1 + 10^((baseline − rating) / 400)).",
        ),
        "win_rate_vs_baseline_ci_low": st.column_config.NumberColumn(
            "vs baseline low", format="percent"
        ),
        "win_rate_vs_baseline_ci_high": st.column_config.NumberColumn(
            "vs baseline high", format="percent"
        ),
        "group": st.column_config.NumberColumn(
            "group",
            help="Models in different groups were never linked by comparisons:"
            " ranks are within a group.",
        ),
        "cost_usd": st.column_config.NumberColumn("mean cost", format="$%.5f"),
        "latency_ms": st.column_config.NumberColumn("mean latency (ms)", format="%.0f"),
        "n_outputs": st.column_config.NumberColumn("outputs"),
        "human_rating": st.column_config.NumberColumn("human only", format="%.0f"),
        "human_ci_low": st.column_config.NumberColumn("human CI low", format="%.0f"),
        "human_ci_high": st.column_config.NumberColumn("human CI high", format="%.0f"),
        "judge_rating": st.column_config.NumberColumn("judge only", format="%.0f"),
        "n_labelled": st.column_config.NumberColumn("human-labelled"),
        "width_ratio": st.column_config.NumberColumn(
            "CI width vs human",
            format="percent",
            help="PPI interval width as a share of the human-only interval: below 100% is"
            " narrower.",
        ),
        **ppi_columns,
    },
)

left, right = st.columns(2)
with left:
    st.subheader("Ratings with 95% intervals")
    base = alt.Chart(table).encode(y=alt.Y("model:N", sort=list(table.model), title=None))
    st.altair_chart(
        base.mark_rule(strokeWidth=2).encode(
            x=alt.X("ci_low:Q", scale=alt.Scale(zero=False), title="rating"), x2="ci_high:Q"
        )
        + base.mark_point(filled=True, size=80).encode(x="rating:Q"),
        width="stretch",
    )
with right:
    st.subheader("Head-to-head win rates")
    if not result.win_rates.empty:
        matrix = (
            result.win_rates.rename_axis("row")
            .reset_index()
            .melt("row", var_name="column", value_name="win_rate")
        )
        st.altair_chart(
            alt.Chart(matrix)
            .mark_rect()
            .encode(
                x=alt.X("column:N", title="against"),
                y=alt.Y("row:N", title="model"),
                color=alt.Color("win_rate:Q", scale=alt.Scale(domain=[0, 1], scheme="redblue")),
                tooltip=["row", "column", alt.Tooltip("win_rate:Q", format=".0%")],
            ),
            width="stretch",
        )

st.subheader("Download")
stem = f"{name}-{source}".replace(" ", "_")
cols = st.columns(4)
cols[0].download_button("CSV", table.to_csv(index=False), f"{stem}.csv", "text/csv")
cols[1].download_button(
    "JSON", json.dumps(result.records(), indent=2), f"{stem}.json", "application/json"
)
cols[2].download_button("Markdown", markdown_table(table), f"{stem}.md", "text/markdown")
buffer = io.BytesIO()
pd.DataFrame(table).to_parquet(buffer, index=False)
cols[3].download_button("Parquet", buffer.getvalue(), f"{stem}.parquet")
