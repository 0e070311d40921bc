"""Calibration: can an LLM judge stand in for the human raters?"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from results.reports import campaign_calibration
from views.widgets.common import engine, pick_comparison, require_actor, run_or_error

actor = require_actor(admin=True)
st.title("Calibration")

campaigns = {c.name: c.id for c in list_campaigns(engine())}
if not campaigns:
    st.info("No campaigns yet.")
    st.stop()
left, right = st.columns([3, 1])
name = left.selectbox("Campaign", list(campaigns))
inconsistent_as = right.selectbox(
    "A swapped pair that disagrees is", ["tie", "drop"], help="Position-swap inconsistency"
)


@st.cache_data(ttl=60, show_spinner="Comparing judges with the human majority…")
def load(campaign_id: int, inconsistent: str):
    return run_or_error(
        campaign_calibration,
        engine(),
        campaign_id,
        inconsistent_as=inconsistent,
        actor_id=actor.id,
    )


report = load(campaigns[name], inconsistent_as)
if report is None:
    st.stop()
if not report.judges:
    st.info("No judge verdicts in this campaign yet: run a judge on the Judges page.")
    st.stop()

st.caption(
    f"Human ceiling (a typical human against the majority of the others):"
    f" **{report.human_ceiling:.1%}** over {report.human_ceiling_n} votes."
    f" Humans prefer the first-shown answer {report.p_prefer_first_humans:.1%} and the longer"
    f" answer {report.p_prefer_longer_humans:.1%} of the time."
)


def pct(v: float) -> str:
    return "—" if v != v else f"{v:.1%}"


cards = st.columns(min(len(report.judges), 3))
for i, judge in enumerate(report.judges):
    with cards[i % len(cards)].container(border=True):
        st.markdown(f"**{judge.judge}**  \n{judge.n} comparisons with a human majority")
        m1, m2 = st.columns(2)
        m1.metric(
            "Agreement",
            pct(judge.agreement),
            delta=None
            if judge.human_ceiling != judge.human_ceiling
            else f"{(judge.agreement - judge.human_ceiling) * 100:+.1f} pts vs ceiling",
        )
        m2.metric("Without ties", pct(judge.agreement_without_ties))
        m1.metric("Cohen's kappa", f"{judge.cohen_kappa:.3f}")
        m2.metric(
            "Alpha: humans → +judge", f"{judge.alpha_humans:.2f} → {judge.alpha_with_judge:.2f}"
        )
        m1.metric("Swap consistency", pct(judge.position_consistency))
        m2.metric("P(prefer first)", pct(judge.p_prefer_first))
        m1.metric("P(prefer longer)", pct(judge.p_prefer_longer))
        m2.metric("Inconsistent swaps", str(judge.n_inconsistent))

judge_names = [j.judge for j in report.judges]
chosen = report.judge(st.selectbox("Judge", judge_names))
c1, c2 = st.columns(2)
with c1:
    st.subheader("Confusion: judge vs human majority")
    confusion = pd.DataFrame(
        [
            {"judge": jv, "humans": hv, "count": n}
            for jv, row in chosen.to_dict()["confusion"].items()
            for hv, n in row.items()
        ]
    )
    st.altair_chart(
        alt.Chart(confusion)
        .mark_rect()
        .encode(x="humans:N", y="judge:N", color="count:Q", tooltip=["judge", "humans", "count"])
        + alt.Chart(confusion).mark_text().encode(x="humans:N", y="judge:N", text="count:Q"),
        use_container_width=True,
    )
with c2:
    st.subheader("By category")
    by_cat = pd.DataFrame(
        [
            {"category": cat, **{k: v for k, v in fig.items() if not isinstance(v, dict | list)}}
            for cat, fig in chosen.to_dict()["by_category"].items()
        ]
    )
    keep = ["category", "n", "agreement", "agreement_without_ties", "cohen_kappa"]
    st.dataframe(by_cat[[c for c in keep if c in by_cat]], hide_index=True, width="stretch")

st.subheader("Disagreements to review")
st.caption("Ranked by how confident the humans were; pick one to read it in full.")
disagreements = chosen.disagreements
if disagreements.empty:
    st.success("This judge agrees with the human majority on every comparison.")
    st.stop()
pick_comparison(actor.id, disagreements)
