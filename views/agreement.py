"""Agreement: do the raters agree, and which raters need a word?"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from db.access import admin_only
from metrics.rater_quality import QualityThresholds, apply_thresholds
from results.leaderboards import data_version
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
def _report(campaign_id: int, version: tuple[int, int], _actor_id: int) -> dict:
    """The report for one campaign at one data version, shared by every admin.

    Only ``load`` calls it, after the access check; an error raises, so it is never cached.
    """
    page = campaign_agreement(engine(), campaign_id, actor_id=_actor_id)
    return {"report": page.to_dict(), "raters": page.raters}


def load(campaign_id: int) -> dict:
    admin_only(engine(), actor.id)  # on every run: a cache hit must not skip the check
    return _report(campaign_id, data_version(engine(), campaign_id), actor.id)


data = run_or_error(load, campaigns[name])
if data is None:
    st.stop()
report = data["report"]
for note in report["notes"]:
    st.info(note)


def measured(value: float | None, reason: str | None, spec: str = ".3f") -> str:
    """A figure, or "—" with why it is missing: never 0 for something not measured."""
    if value is None:
        return f"— ({reason})" if reason else "—"
    return format(value, spec)


def interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{low:.3f} to {high:.3f}"


def rounds(usable: int, total: int) -> str:
    return f"{usable} of {total}" if total else "—"


st.subheader("Krippendorff's alpha")
st.caption(
    f"{report['n_raters']} raters, {report['n_units']} comparisons with votes; 95% bootstrap"
    " intervals over comparisons. Nominal treats A / tie / B as categories; ordinal uses the"
    " full preference scale. Preference figures count every comparison in both orientations,"
    " so they do not depend on which output is stored as A. Above 0.8 is reliable, below 0.67"
    " calls for clearer instructions."
)
st.dataframe(
    pd.DataFrame(
        [
            {
                "measure": key,
                "alpha": measured(r["alpha"], r["reason"]),
                "95% CI": interval(r["ci_low"], r["ci_high"]),
                "comparisons": r["n_units"],
                "usable bootstrap rounds": rounds(r["n_boot_usable"], report["n_boot"]),
            }
            for key, r in report["krippendorff_alpha"].items()
        ]
    ),
    hide_index=True,
    width="stretch",
)

s1, s2 = report["human_human"]["S1"], report["human_human"]["S2"]
fleiss = report["fleiss_kappa"]
cols = st.columns(3)
cols[0].metric(
    "Human-human agreement, with ties (S1)",
    measured(s1["agreement"], s1["reason"], ".1%"),
    help=f"MT-Bench setup S1: every pair of votes by two raters on one comparison;"
    f" {s1['n_pairs']} vote pairs. Equal to percent agreement.",
)
cols[1].metric(
    "Human-human agreement, without ties (S2)",
    measured(s2["agreement"], s2["reason"], ".1%"),
    help=f"MT-Bench setup S2: only pairs where both votes name a winner; {s2['n_pairs']} pairs.",
)
cols[2].metric(
    "Fleiss' kappa",
    measured(fleiss["kappa"], fleiss["reason"]),
    help=f"95% CI {interval(fleiss['ci_low'], fleiss['ci_high'])};"
    f" {rounds(fleiss['n_boot_usable'], fleiss['n_boot'])} bootstrap rounds usable.",
)
st.caption(
    f"Fleiss' kappa 95% CI {interval(fleiss['ci_low'], fleiss['ci_high'])}"
    f" ({rounds(fleiss['n_boot_usable'], fleiss['n_boot'])} bootstrap rounds usable)."
)
position = report.get("position_bias")
if position is not None:
    st.caption(
        f"Humans chose the output shown on the left in"
        f" {measured(position['p_prefer_left'], position['reason'], '.1%')} of"
        f" {position['n']} decisive votes of known shown order;"
        f" {position['n_unknown_order']} votes of unknown order are left out of it."
    )
with st.expander("As stored (A/B order as imported)"):
    st.caption(
        "These code each vote in the stored A/B order, as some published figures do; they"
        " change when a comparison's outputs are stored the other way round."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {"figure": key, "value": measured(value, "not measured")}
                for key, value in report["as_stored"].items()
            ]
        ),
        hide_index=True,
    )

pairs = pd.DataFrame(report["pairwise_cohen_kappa"])
if not pairs.empty:
    st.subheader("Cohen's kappa between raters")
    weighted = {
        (p["rater_1"], p["rater_2"]): p for p in report["pairwise_weighted_kappa"]
    }
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "rater 1": p["rater_1"],
                    "rater 2": p["rater_2"],
                    "kappa": measured(p["kappa"], p["reason"]),
                    "95% CI": interval(p["ci_low"], p["ci_high"]),
                    "weighted kappa (5-point)": measured(
                        weighted[(p["rater_1"], p["rater_2"])]["kappa"],
                        weighted[(p["rater_1"], p["rater_2"])]["reason"],
                    ),
                    "shared comparisons": p["n"],
                    "usable bootstrap rounds": rounds(p["n_boot_usable"], p["n_boot"]),
                }
                for p in report["pairwise_cohen_kappa"]
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    both = pd.concat(
        [pairs, pairs.rename(columns={"rater_1": "rater_2", "rater_2": "rater_1"})]
    ).dropna(subset=["kappa"])
    if not both.empty:
        st.altair_chart(
            alt.Chart(both)
            .mark_rect()
            .encode(
                x=alt.X("rater_1:N", title=None),
                y=alt.Y("rater_2:N", title=None),
                color=alt.Color("kappa:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue")),
                tooltip=["rater_1", "rater_2", alt.Tooltip("kappa:Q", format=".2f"), "n"],
            ),
            width="stretch",
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
    unknown = int(flagged["left_unknown_n"].sum())
    if unknown:
        st.caption(
            f"P(prefer left) leaves out {unknown} decisive votes whose shown order is unknown"
            " (column left_unknown_n); they count everywhere else."
        )
    spec = dict.fromkeys(
        ("loo_agreement", "gold_accuracy", "attention_failure_rate", "consistency",
         "p_prefer_left"), ".3f",
    ) | {"median_time_ms": ".0f"}  # fmt: skip
    shown = flagged.assign(
        **{
            c: flagged[c].map(lambda v, f=f: "—" if pd.isna(v) else format(v, f))
            for c, f in spec.items()
        }
    )
    st.caption("— means not measured: the matching *_n column says how many items it rests on.")
    st.dataframe(shown, hide_index=True, width="stretch")
