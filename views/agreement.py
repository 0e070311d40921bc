"""Agreement: do the raters agree, and which raters need a word?"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from metrics.rater_quality import QualityThresholds, apply_thresholds
from results.reports import campaign_agreement
from views.widgets.common import engine, require_actor, run_or_error

actor = require_actor(admin=True)
st.title("Agreement")

campaigns = {c.name: c.id for c in list_campaigns(engine())}
if not campaigns:
    st.info("No campaigns yet.")
    st.stop()
name = st.selectbox("Campaign", list(campaigns))


@st.cache_data(ttl=60, show_spinner="Computing agreement with 1,000 bootstrap rounds…")
def load(campaign_id: int) -> dict | None:
    page = run_or_error(campaign_agreement, engine(), campaign_id, actor_id=actor.id)
    return None if page is None else {"report": page.to_dict(), "raters": page.raters}


data = load(campaigns[name])
if data is None:
    st.stop()
report = data["report"]
for note in report["notes"]:
    st.info(note)

st.subheader("Krippendorff's alpha")
st.caption(
    f"{report['n_raters']} raters, {report['n_units']} comparisons with votes; 95% bootstrap"
    " intervals over comparisons. Nominal treats A / tie / B as categories; ordinal uses the"
    " full preference scale. Above 0.8 is reliable, below 0.67 calls for clearer instructions."
)
alphas = pd.DataFrame(
    [{"measure": key, **values} for key, values in report["krippendorff_alpha"].items()]
)
st.dataframe(
    alphas,
    hide_index=True,
    width="stretch",
    column_config={
        c: st.column_config.NumberColumn(format="%.3f") for c in ("alpha", "ci_low", "ci_high")
    },
)
cols = st.columns(2)
cols[0].metric("Percent agreement", f"{report['percent_agreement'] or 0:.1%}")
cols[1].metric("Fleiss' kappa", f"{report['fleiss_kappa'] or 0:.3f}")

pairs = pd.DataFrame(report["pairwise_cohen_kappa"])
if not pairs.empty:
    st.subheader("Cohen's kappa between raters")
    both = pd.concat(
        [pairs, pairs.rename(columns={"rater_1": "rater_2", "rater_2": "rater_1"})]
    ).dropna(subset=["kappa"])
    st.altair_chart(
        alt.Chart(both)
        .mark_rect()
        .encode(
            x=alt.X("rater_1:N", title=None),
            y=alt.Y("rater_2:N", title=None),
            color=alt.Color("kappa:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue")),
            tooltip=["rater_1", "rater_2", alt.Tooltip("kappa:Q", format=".2f"), "n"],
        ),
        use_container_width=True,
    )

st.subheader("Raters")
with st.expander("Flag thresholds"):
    t = QualityThresholds()
    c1, c2, c3 = st.columns(3)
    thresholds = QualityThresholds(
        min_loo_agreement=c1.slider("Min agreement with others", 0.0, 1.0, t.min_loo_agreement),
        min_gold_accuracy=c2.slider("Min gold accuracy", 0.0, 1.0, t.min_gold_accuracy),
        max_attention_failures=c3.number_input(
            "Max attention-check failures", 0, 100, t.max_attention_failures
        ),
        min_consistency=c1.slider("Min re-show consistency", 0.0, 1.0, t.min_consistency),
        max_left_bias=c2.slider("Max P(prefer left)", 0.5, 1.0, t.max_left_bias),
        min_median_time_ms=c3.number_input(
            "Min median time (ms)", 0, 600_000, t.min_median_time_ms, step=500
        ),
    )
raters = data["raters"]
if raters.empty:
    st.caption("No human votes yet.")
else:
    flagged = apply_thresholds(raters, thresholds)
    flagged = flagged.assign(flags=flagged["flags"].map("; ".join))
    st.dataframe(flagged, hide_index=True, width="stretch")
