"""Leaderboard: which model wins, by how much, and how sure we are."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from metrics.pareto import pareto_front
from results.export import frame_to_csv
from results.leaderboards import (
    SOURCES,
    LeaderboardQuery,
    campaign_categories,
    campaign_costs,
    campaign_models,
    compute_leaderboard,
    judges_in_campaign,
    markdown_table,
)
from views.widgets.charts import heatmap, interval_plot, pareto_chart
from views.widgets.common import engine, plain, require_actor, run_or_error
from views.widgets.tables import Format, show_table


def money(usd: float) -> str:
    """Dollars with two significant digits past the leading zeros: $0.0047, $0.0000031."""
    if usd <= 0:
        return f"${usd:.2f}"
    return f"${usd:.{max(2, 1 - math.floor(math.log10(usd)))}f}"


WHOLE = ".0f"
SHARE = ".1%"
TABLE_FORMATS: dict[str, Format] = {
    "rating": WHOLE,
    "ci_low": WHOLE,
    "ci_high": WHOLE,
    "win_rate": SHARE,
    "win_rate_ci_low": SHARE,
    "win_rate_ci_high": SHARE,
    "win_rate_vs_baseline": SHARE,
    "win_rate_vs_baseline_ci_low": SHARE,
    "win_rate_vs_baseline_ci_high": SHARE,
    "cost_usd": money,
    "latency_ms": ",.0f",
    "human_rating": WHOLE,
    "human_ci_low": WHOLE,
    "human_ci_high": WHOLE,
    "judge_rating": WHOLE,
    "width_ratio": ".0%",
}
TABLE_LABELS = {
    "rank": "Rank",
    "model": "Model",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "n": "Votes",
    "win_rate_ci_low": "Win rate low",
    "win_rate_ci_high": "Win rate high",
    "win_rate_vs_baseline": "Win rate vs baseline",
    "win_rate_vs_baseline_ci_low": "Vs baseline low",
    "win_rate_vs_baseline_ci_high": "Vs baseline high",
    "cost_usd": "Mean cost",
    "latency_ms": "Mean latency (ms)",
    "n_outputs": "Outputs",
    "human_rating": "Human only",
    "human_ci_low": "Human CI low",
    "human_ci_high": "Human CI high",
    "judge_rating": "Judge only",
    "n_labelled": "Human-labelled",
    "width_ratio": "CI width vs human",
}


def table_formats(columns: list[str]) -> dict[str, Format]:
    """Formats of the table's columns, the rubric means (``rubric_*``) included."""
    rubric = {c: ".2f" for c in columns if c.startswith("rubric_")}
    return rubric | TABLE_FORMATS


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
category = top[3].selectbox(
    "Category",
    [None, *campaign_categories(engine(), campaign_id, actor_id=actor.id)],
    format_func=lambda v: "all" if v is None else v,
)
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
    help="Count a strong verdict (A much better or B much better) this many times;"
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
    " — means missing, not zero."
)
shown = table.assign(
    rank=[
        f"{lo}" if lo == hi else f"{lo}–{hi}"
        for lo, hi in zip(table.rank_low, table.rank_high, strict=True)
    ]
)
columns = ["rank", *[c for c in table.columns if c not in ("rank_low", "rank_high")]]
show_table(shown[columns], table_formats(columns), TABLE_LABELS)
if "group" in table.columns:
    st.caption(
        "Models in different groups were never linked by comparisons: ranks are within a group."
    )
if "win_rate_vs_baseline" in table.columns:
    st.caption(
        "Win rate vs baseline: the expected win rate against the baseline from the ratings,"
        " 1 / (1 + 10^((baseline − rating) / 400))."
    )
if "width_ratio" in table.columns:
    st.caption(
        "CI width vs human: the PPI interval's width as a share of the human-only interval;"
        " below 100% is narrower."
    )

left, right = st.columns(2)
with left:
    st.subheader("Ratings with 95% intervals")
    st.altair_chart(
        interval_plot(
            table,
            y="model",
            value="rating",
            low="ci_low",
            high="ci_high",
            order=list(table.model),
            title="rating",
        ),
        width="stretch",
    )
with right:
    st.subheader("Head-to-head win rates")
    if not result.win_rates.empty:
        matrix = (
            result.win_rates.rename_axis("model")
            .reset_index()
            .melt("model", var_name="against", value_name="win_rate")
        )
        order = [m for m in table.model if m in set(matrix["model"])]
        st.caption("How often the row model beats the column model.")
        st.altair_chart(
            heatmap(
                matrix,
                x="against",
                y="model",
                value="win_rate",
                domain=(0.0, 1.0),
                fmt=".0%",
                x_title="against",
                y_title="model",
                order=order,
            ),
            width="stretch",
        )

st.subheader("Quality against cost")
costs = campaign_costs(engine(), campaign_id, actor_id=actor.id)
spend = table[["model", "rating"]].merge(
    costs[["model", "cost_usd", "latency_ms"]], on="model", how="left"
)
axis = next((c for c in ("cost_usd", "latency_ms") if spend[c].notna().any()), None)
if axis is None:
    st.caption("No output of this campaign records a cost or a latency.")
else:
    spend = spend.assign(front=pareto_front(spend["rating"], spend[axis]))
    known = spend[spend[axis].notna()]
    what = "mean cost per output (USD)" if axis == "cost_usd" else "mean latency (ms)"
    unit = "cost" if axis == "cost_usd" else "latency"
    left_out = len(spend) - len(known)
    st.caption(
        f"Rating against {what}. Models on the Pareto front are not beaten on both: no other"
        f" model is at least as good for at most the same {unit}."
        + (
            f" Left out, with no recorded {unit}: {left_out} of {len(spend)} models."
            if left_out
            else ""
        )
    )
    st.altair_chart(
        pareto_chart(
            known,
            x=axis,
            x_title=what,
            x_format="$.4f" if axis == "cost_usd" else ",.0f",
        ),
        width="stretch",
    )

st.subheader("Download")
stem = f"{name}-{source}".replace(" ", "_")
cols = st.columns(4)
cols[0].download_button("CSV", frame_to_csv(table), f"{stem}.csv", "text/csv")
cols[1].download_button(
    "JSON", json.dumps(result.records(), indent=2), f"{stem}.json", "application/json"
)
cols[2].download_button("Markdown", markdown_table(table), f"{stem}.md", "text/markdown")
buffer = io.BytesIO()
pd.DataFrame(table).to_parquet(buffer, index=False)
cols[3].download_button("Parquet", buffer.getvalue(), f"{stem}.parquet")
