"""Calibration: can an LLM judge stand in for the human raters?"""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from db.access import admin_only
from metrics.calibration import CalibrationReport
from results.leaderboards import data_version
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
def _report(
    campaign_id: int, inconsistent: str, version: tuple[int, int], _actor_id: int
) -> CalibrationReport:
    """The report for one campaign at one data version, shared by every admin.

    Only ``load`` calls it, after the access check; an error raises, so it is never cached.
    """
    return campaign_calibration(
        engine(), campaign_id, inconsistent_as=inconsistent, actor_id=_actor_id
    )


def load(campaign_id: int, inconsistent: str) -> CalibrationReport:
    admin_only(engine(), actor.id)  # on every run: a cache hit must not skip the check
    return _report(campaign_id, inconsistent, data_version(engine(), campaign_id), actor.id)


report = run_or_error(load, campaigns[name], inconsistent_as)
if report is None:
    st.stop()
if not report.judges:
    st.info("No judge verdicts in this campaign yet: run a judge on the Judges page.")
    st.stop()

MISSING = "n/a"


def plain(text: str) -> str:
    """User text (judge names) shown literally inside Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)


def missing(v: float | None) -> bool:
    return v is None or v != v


def pct(v: float | None) -> str:
    return MISSING if missing(v) else f"{v:.1%}"


def num(v: float | None, spec: str = ".3f") -> str:
    return MISSING if missing(v) else format(v, spec)


def interval(low: float | None, high: float | None) -> str:
    return "" if missing(low) or missing(high) else f"[{low:.3f}, {high:.3f}]"


st.caption(
    f"Human ceiling (a typical human against the majority of the others):"
    f" **{pct(report.human_ceiling)}** over {report.human_ceiling_n} votes."
    f" Human–human agreement per vote pair (MT-Bench): {pct(report.human_s1)} with ties"
    f" ({report.human_s1_n} pairs), {pct(report.human_s2)} without ({report.human_s2_n})."
    f" Humans prefer the first-shown answer {pct(report.p_prefer_first_humans)} and the longer"
    f" answer {pct(report.p_prefer_longer_humans)} of the time."
    " Kappa and alpha count every comparison in both orientations, so they do not depend on"
    " which output was stored as A."
)
for note in report.notes:
    st.info(plain(note))

cards = st.columns(min(len(report.judges), 3))
for i, judge in enumerate(report.judges):
    with cards[i % len(cards)].container(border=True):
        st.markdown(f"**{plain(judge.judge)}**  \n{judge.n} comparisons with a human majority")
        m1, m2 = st.columns(2)
        m1.metric(
            "Agreement",
            pct(judge.agreement),
            delta=None
            if missing(judge.human_ceiling) or missing(judge.agreement)
            else f"{(judge.agreement - judge.human_ceiling) * 100:+.1f} pts vs ceiling",
        )
        m2.metric("Without ties", pct(judge.agreement_without_ties))
        m1.metric(
            "Cohen's kappa",
            num(judge.cohen_kappa),
            help=f"95% bootstrap interval {interval(judge.cohen_kappa_low, judge.cohen_kappa_high)}"
            f" over comparisons; {judge.kappa_boot_usable} of {report.n_boot} rounds usable.",
        )
        m2.metric(
            "Alpha: humans → +judge",
            f"{num(judge.alpha_humans, '.2f')} → {num(judge.alpha_with_judge, '.2f')}",
        )
        m1.metric(
            "Per vote, with ties (S1)",
            pct(judge.s1),
            help=f"Humans with each other: {pct(judge.human_s1)} ({judge.human_s1_n} pairs).",
        )
        m2.metric(
            "Per vote, no ties (S2)",
            pct(judge.s2),
            help=f"Humans with each other: {pct(judge.human_s2)} ({judge.human_s2_n} pairs).",
        )
        m1.metric("Swap consistency", pct(judge.position_consistency))
        m2.metric("P(prefer first)", pct(judge.p_prefer_first))
        m1.metric("P(prefer longer)", pct(judge.p_prefer_longer))
        m2.metric("Inconsistent swaps", str(judge.n_inconsistent))
        reason = judge.position_missing_reason()
        if reason:
            st.caption(f"Position figures n/a: {reason}.")
        elif judge.unknown_order_n:
            st.caption(
                f"{judge.unknown_order_n} verdicts of unknown shown order are left out of the"
                " position figures."
            )

judge_names = [j.judge for j in report.judges]
chosen = report.judge(st.selectbox("Judge", judge_names))
c1, c2 = st.columns(2)
with c1:
    st.subheader("Confusion: judge vs human majority")
    st.caption(
        "Counts by output as stored (A, B): they move when a comparison's outputs are stored"
        " the other way round; the figures above do not."
    )
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
        width="stretch",
    )
with c2:
    st.subheader("By category")
    by_cat = pd.DataFrame(
        [
            {"category": cat, **{k: v for k, v in fig.items() if not isinstance(v, dict | list)}}
            for cat, fig in chosen.to_dict()["by_category"].items()
        ]
    )
    shown = pd.DataFrame(
        {
            "category": by_cat["category"],
            "n": by_cat["n"],
            "agreement": by_cat["agreement"].map(pct),
            "without ties": by_cat["agreement_without_ties"].map(pct),
            "kappa": by_cat["cohen_kappa"].map(num),
            "S1": by_cat["s1"].map(pct),
            "S2": by_cat["s2"].map(pct),
            "human ceiling": by_cat["human_ceiling"].map(pct),
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")

st.subheader("Disagreements to review")
st.caption("Ranked by how confident the humans were; pick one to read it in full.")
disagreements = chosen.disagreements
if disagreements.empty:
    st.success("This judge agrees with the human majority on every comparison.")
    st.stop()
pick_comparison(actor.id, disagreements)
