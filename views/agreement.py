"""Agreement: do the raters agree, and which raters need a word?"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from db.access import admin_only
from metrics.rater_quality import QualityThresholds, apply_thresholds
from metrics.readings import (
    ALPHA_RELIABLE,
    ALPHA_TENTATIVE,
    alpha_reading,
    kappa_below_chance,
    kappa_reading,
    kappa_text,
    pairs_below_chance_warning,
    position_bias_warning,
)
from results.leaderboards import data_version
from results.reports import campaign_agreement
from views.widgets.charts import heatmap
from views.widgets.common import engine, require_actor, run_or_error
from views.widgets.tables import MISSING, show_table

RATER_SHARES = (
    "loo_agreement", "gold_accuracy", "attention_failure_rate", "consistency", "p_prefer_left"
)  # fmt: skip
RATER_LABELS = {
    "n": "Votes",
    "loo_agreement": "Agreement with the others",
    "loo_n": "Agreement n",
    "gold_accuracy": "Gold accuracy",
    "gold_n": "Gold n",
    "attention_n": "Attention checks",
    "consistency": "Re-show consistency",
    "consistency_n": "Re-show n",
    "p_prefer_left": "P(prefer left)",
    "left_n": "Left n",
    "left_unknown_n": "Left unknown n",
    "median_time_ms": "Median time (ms)",
    "time_n": "Timed votes",
}


def percent_slider(column: Any, label: str, default: float | None, low: int = 0) -> float | None:
    """A share chosen as a whole percentage; returned as a fraction, as the metrics take it."""
    if default is None:
        return None
    picked = column.slider(label, low, 100, round(default * 100), format="%d%%")
    return picked / 100


actor = require_actor(admin=True)
st.title("Agreement")

campaigns = {c.name: c.id for c in list_campaigns(engine())}
if not campaigns:
    st.info("No campaigns yet.")
    st.stop()
name = st.selectbox("Campaign", list(campaigns))


@st.cache_data(ttl=60, show_spinner="Computing agreement with 1,000 bootstrap rounds…")
def _report(campaign_id: int, version: tuple[int, int, int], _actor_id: int) -> dict:
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
        return f"— ({reason})" if reason else MISSING
    return format(value, spec)


def interval(low: float | None, high: float | None, spec: str = ".3f") -> str:
    return MISSING if low is None or high is None else f"{low:{spec}} to {high:{spec}}"


def rounds(usable: int, total: int) -> str:
    return f"{usable} of {total}" if total else MISSING


def measure_name(key: str) -> str:
    """ "preference/nominal" -> "Preference: A / tie / B (nominal)"; a criterion keeps its name."""
    what, _, level = key.rpartition("/")
    if what == "preference":
        return LEVEL_NAMES.get(level, f"Preference ({level})")
    return f"{what} ({level})"


def kappa_row(plain_kappa: dict[str, Any], weighted: dict[str, Any]) -> dict[str, Any]:
    """One pair of raters: Cohen's kappa and the weighted kappa, each with CI and reading."""
    p, w = plain_kappa, weighted
    return {
        "Rater 1": p["rater_1"],
        "Rater 2": p["rater_2"],
        "Kappa": measured(p["kappa"], p["reason"], ".2f"),
        "95% CI": interval(p["ci_low"], p["ci_high"], ".2f"),
        "Reading": kappa_reading(p["kappa"], p["ci_low"], p["ci_high"]),
        "Weighted kappa (five-point)": measured(w["kappa"], w["reason"], ".2f"),
        "Weighted 95% CI": interval(w["ci_low"], w["ci_high"], ".2f"),
        "Weighted reading": kappa_reading(w["kappa"], w["ci_low"], w["ci_high"]),
        "Shared comparisons": p["n"],
        "Usable bootstrap rounds": rounds(p["n_boot_usable"], p["n_boot"]),
    }


LEVEL_NAMES = {
    "nominal": "Preference: A / tie / B (nominal)",
    "ordinal": "Preference: five-point scale (ordinal)",
}
SHARE = ".1%"


st.subheader("Krippendorff's alpha")
st.caption(
    f"{report['n_raters']} raters, {report['n_units']} comparisons with votes; 95% bootstrap"
    " intervals over comparisons. Nominal treats A / tie / B as categories; ordinal uses the"
    " full preference scale. Preference figures count every comparison in both orientations,"
    " so they do not depend on which output is stored as A. Read on Krippendorff's scale:"
    f" {ALPHA_RELIABLE:.3f} or more is reliable, {ALPHA_TENTATIVE:.3f} to {ALPHA_RELIABLE:.3f}"
    f" allows tentative conclusions, below {ALPHA_TENTATIVE:.3f} calls for clearer"
    " instructions."
)
show_table(
    pd.DataFrame(
        [
            {
                "Measure": measure_name(key),
                "Alpha": measured(r["alpha"], r["reason"]),
                "95% CI": interval(r["ci_low"], r["ci_high"]),
                "Reading": alpha_reading(r["alpha"], r["ci_low"], r["ci_high"]),
                "Comparisons": r["n_units"],
                "Usable bootstrap rounds": rounds(r["n_boot_usable"], report["n_boot"]),
            }
            for key, r in report["krippendorff_alpha"].items()
        ]
    )
)

s1, s2 = report["human_human"]["S1"], report["human_human"]["S2"]
fleiss = report["fleiss_kappa"]
cols = st.columns(3)
cols[0].metric(
    "Human-human agreement, with ties (S1)",
    measured(s1["agreement"], s1["reason"], SHARE),
    help=f"MT-Bench setup S1: every pair of votes by two raters on one comparison;"
    f" {s1['n_pairs']} vote pairs. Equal to percent agreement.",
)
cols[1].metric(
    "Human-human agreement, without ties (S2)",
    measured(s2["agreement"], s2["reason"], SHARE),
    help=f"MT-Bench setup S2: only pairs where both votes name a winner; {s2['n_pairs']} pairs.",
)
cols[2].metric(
    "Fleiss' kappa",
    measured(fleiss["kappa"], fleiss["reason"], ".2f"),
    help=f"95% CI {interval(fleiss['ci_low'], fleiss['ci_high'], '.2f')};"
    f" {rounds(fleiss['n_boot_usable'], fleiss['n_boot'])} bootstrap rounds usable. Read on"
    " Landis & Koch's scale: below 0 poor, to 0.20 slight, 0.40 fair, 0.60 moderate,"
    " 0.80 substantial, above almost perfect.",
)
if fleiss["kappa"] is not None:
    st.caption(
        f"Fleiss' kappa {kappa_text(fleiss['kappa'], fleiss['ci_low'], fleiss['ci_high'])}"
        f" ({rounds(fleiss['n_boot_usable'], fleiss['n_boot'])} bootstrap rounds usable)."
    )
if kappa_below_chance(fleiss["kappa"], fleiss["ci_high"]):
    st.warning(
        "Fleiss' kappa and its whole 95% CI are below 0: the raters agree less than chance"
        " would give. Check that everyone read the same instructions and the same A/B order.",
        icon=":material/warning:",
    )
position = report.get("position_bias")
if position is not None:
    st.caption(
        f"Humans chose the output shown on the left in"
        f" {measured(position['p_prefer_left'], position['reason'], SHARE)} of"
        f" {position['n']} decisive votes of known shown order;"
        f" {position['n_unknown_order']} votes of unknown order are left out of it."
    )
    left_bias = position_bias_warning(
        position["p_prefer_left"], position["n"], who="Humans", first="left"
    )
    if left_bias:
        st.warning(left_bias, icon=":material/warning:")
with st.expander("As stored (A/B order as imported)"):
    st.caption(
        "These code each vote in the stored A/B order, as some published figures do; they"
        " change when a comparison's outputs are stored the other way round."
    )
    show_table(
        pd.DataFrame(
            [
                {
                    "Figure": key.replace("preference/", "Preference, "),
                    "Value": measured(value, "not measured", ".2f" if "kappa" in key else ".3f"),
                }
                for key, value in report["as_stored"].items()
            ]
        ),
        width="content",
    )

pairs = pd.DataFrame(report["pairwise_cohen_kappa"])
if not pairs.empty:
    st.subheader("Cohen's kappa between raters")
    st.caption(
        "On the 3-way winner, read on Landis & Koch's scale; the weighted kappa is on the"
        " five-point preference."
    )
    weighted = {(p["rater_1"], p["rater_2"]): p for p in report["pairwise_weighted_kappa"]}
    show_table(
        pd.DataFrame(
            [
                kappa_row(p, weighted[(p["rater_1"], p["rater_2"])])
                for p in report["pairwise_cohen_kappa"]
            ]
        )
    )
    below_chance = pairs_below_chance_warning(
        [(p["kappa"], p["ci_high"]) for p in report["pairwise_cohen_kappa"]]
    )
    if below_chance:
        st.warning(below_chance, icon=":material/warning:")
    both = pd.concat(
        [pairs, pairs.rename(columns={"rater_1": "rater_2", "rater_2": "rater_1"})]
    ).dropna(subset=["kappa"])
    if not both.empty:
        raters_shown = sorted(set(both["rater_1"]) | set(both["rater_2"]))
        st.altair_chart(
            heatmap(
                both,
                x="rater_1",
                y="rater_2",
                value="kappa",
                domain=(-1.0, 1.0),
                fmt=".2f",
                x_title="rater",
                y_title="with rater",
                order=raters_shown,
            ),
            width="stretch",
        )

st.subheader("Raters")
with st.expander("Flag thresholds"):
    t = QualityThresholds()
    c1, c2, c3 = st.columns(3)
    thresholds = QualityThresholds(
        min_loo_agreement=percent_slider(c1, "Min agreement with others", t.min_loo_agreement),
        min_gold_accuracy=percent_slider(c2, "Min gold accuracy", t.min_gold_accuracy),
        max_attention_failures=c3.number_input(
            "Max attention-check failures", 0, 100, t.max_attention_failures
        ),
        min_consistency=percent_slider(c1, "Min re-show consistency", t.min_consistency),
        max_left_bias=percent_slider(c2, "Max P(prefer left)", t.max_left_bias, low=50),
        min_median_time_ms=c3.number_input(
            "Min median time (ms)", 0, 600_000, t.min_median_time_ms, step=500
        ),
    )
raters = data["raters"]
if raters.empty:
    st.caption("No human votes yet.")
else:
    flagged = apply_thresholds(raters, thresholds)
    unknown = int(flagged["left_unknown_n"].sum())
    if unknown:
        st.caption(
            f"P(prefer left) leaves out {unknown} decisive votes whose shown order is unknown"
            " (column Left unknown n); they count everywhere else."
        )
    st.caption("— means not measured: the matching n column says how many items it rests on.")
    show_table(
        flagged,
        dict.fromkeys(RATER_SHARES, SHARE) | {"median_time_ms": ",.0f"},
        RATER_LABELS,
    )
