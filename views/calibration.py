"""Calibration: can an LLM judge stand in for the human raters?"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from db.access import admin_only
from judges.config import INCONSISTENT_AS, INCONSISTENT_AS_HELP, INCONSISTENT_AS_LABEL
from metrics.calibration import CalibrationReport, JudgeCalibration
from metrics.readings import (
    alpha_reading,
    alpha_text,
    kappa_reading,
    kappa_text,
    length_bias_warning,
    negative_kappa_warning,
    position_bias_warning,
    swap_consistency_warning,
)
from metrics.vocabulary import WINNER_WORDS, WINNERS, preference_word
from results.leaderboards import data_version
from results.reports import campaign_calibration
from views.widgets.charts import heatmap
from views.widgets.common import engine, require_actor, run_or_error, show_comparison
from views.widgets.tables import Format, show_table

actor = require_actor(admin=True)
st.title("Calibration")

campaigns = {c.name: c.id for c in list_campaigns(engine())}
if not campaigns:
    st.info("No campaigns yet.")
    st.stop()
left, right = st.columns([3, 1])
name = left.selectbox("Campaign", list(campaigns))
inconsistent_as = right.selectbox(INCONSISTENT_AS_LABEL, INCONSISTENT_AS, help=INCONSISTENT_AS_HELP)


@st.cache_data(ttl=60, show_spinner="Comparing judges with the human majority…")
def _report(
    campaign_id: int, inconsistent: str, version: tuple[int, int, int], _actor_id: int
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
    return MISSING if missing(low) or missing(high) else f"{low:.2f} to {high:.2f}"


DISAGREEMENT_FORMATS: dict[str, Format] = {
    "judge_verdict": preference_word,
    "human_majority": preference_word,
    "majority_share": ".0%",
}
DISAGREEMENT_LABELS = {
    "comparison_id": "Comparison",
    "prompt_id": "Prompt",
    "model_a": "Model A",
    "model_b": "Model B",
    "judge_verdict": "Judge's verdict",
    "human_majority": "Human majority",
    "majority_share": "Majority share",
    "n_human_votes": "Human votes",
    "votes_a": "Votes for A",
    "votes_tie": "Votes for a tie",
    "votes_b": "Votes for B",
    "judge_consistent": "Judge consistent when swapped",
}


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

for warning in (
    position_bias_warning(report.p_prefer_first_humans, report.first_n_humans, who="Humans"),
    length_bias_warning(report.p_prefer_longer_humans, report.longer_n_humans, who="Humans"),
):
    if warning:
        st.warning(warning, icon=":material/warning:")


def judge_warnings(judge: JudgeCalibration) -> list[str]:
    """The sentences for this judge's extreme bias figures (none when nothing is extreme)."""
    who = "This judge"
    found = (
        negative_kappa_warning(
            judge.cohen_kappa, judge.cohen_kappa_low, judge.cohen_kappa_high, who
        ),
        length_bias_warning(judge.p_prefer_longer, judge.longer_n, who),
        position_bias_warning(judge.p_prefer_first, judge.first_n, who),
        swap_consistency_warning(judge.position_consistency, judge.position_n, who),
    )
    return [w for w in found if w]


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
            num(judge.cohen_kappa, ".2f"),
            help=f"95% bootstrap interval {interval(judge.cohen_kappa_low, judge.cohen_kappa_high)}"
            f" over comparisons; {judge.kappa_boot_usable} of {report.n_boot} rounds usable.",
        )
        m2.metric(
            "Alpha with the judge as a rater",
            num(judge.alpha_with_judge, ".2f"),
            delta=None
            if missing(judge.alpha_humans) or missing(judge.alpha_with_judge)
            else f"{judge.alpha_with_judge - judge.alpha_humans:+.2f} vs humans alone",
            help="Krippendorff's alpha (nominal) on this judge's comparisons: among the humans"
            f" alone {num(judge.alpha_humans, '.2f')}"
            f" ({interval(judge.alpha_humans_low, judge.alpha_humans_high)};"
            f" {alpha_reading(judge.alpha_humans)}); with the judge counted as one more rater"
            f" {num(judge.alpha_with_judge, '.2f')}"
            f" ({interval(judge.alpha_with_judge_low, judge.alpha_with_judge_high)};"
            f" {alpha_reading(judge.alpha_with_judge)}). Intervals: 95% bootstrap over"
            " comparisons.",
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
        st.caption(
            "Cohen's kappa "
            + kappa_text(judge.cohen_kappa, judge.cohen_kappa_low, judge.cohen_kappa_high)
            + ". Alpha among the humans alone "
            + alpha_text(judge.alpha_humans, judge.alpha_humans_low, judge.alpha_humans_high)
            + "; with the judge "
            + alpha_text(
                judge.alpha_with_judge, judge.alpha_with_judge_low, judge.alpha_with_judge_high
            )
            + "."
        )
        for warning in judge_warnings(judge):
            st.warning(warning, icon=":material/warning:")
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
        "Comparisons by the judge's verdict and the human majority, with outputs as stored"
        " (A, B): these counts move when a comparison's outputs are stored the other way round;"
        " the figures above do not."
    )
    words = [WINNER_WORDS[w] for w in WINNERS]
    confusion = pd.DataFrame(
        [
            {"judge": WINNER_WORDS[jv], "humans": WINNER_WORDS[hv], "count": n}
            for jv, row in chosen.to_dict()["confusion"].items()
            for hv, n in row.items()
        ]
    )
    st.altair_chart(
        heatmap(
            confusion,
            x="humans",
            y="judge",
            value="count",
            domain=(0.0, float(max(1, confusion["count"].max()))),
            fmt="d",
            x_title="human majority",
            y_title="judge",
            order=words,
            scheme="blues",
            diverging=False,
        ),
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
    if by_cat.empty:
        st.caption("No categories.")
    else:
        show_table(
            pd.DataFrame(
                {
                    "Category": by_cat["category"],
                    "Comparisons": by_cat["n"],
                    "Agreement": by_cat["agreement"].map(pct),
                    "Without ties": by_cat["agreement_without_ties"].map(pct),
                    "Kappa": by_cat["cohen_kappa"].map(lambda v: num(v, ".2f")),
                    "Kappa 95% CI": [
                        interval(lo, hi)
                        for lo, hi in zip(
                            by_cat["cohen_kappa_low"], by_cat["cohen_kappa_high"], strict=True
                        )
                    ],
                    "Reading": [
                        kappa_reading(k, lo, hi)
                        for k, lo, hi in zip(
                            by_cat["cohen_kappa"],
                            by_cat["cohen_kappa_low"],
                            by_cat["cohen_kappa_high"],
                            strict=True,
                        )
                    ],
                    "S1": by_cat["s1"].map(pct),
                    "S2": by_cat["s2"].map(pct),
                    "Human ceiling": by_cat["human_ceiling"].map(pct),
                }
            )
        )

st.subheader("Disagreements to review")
st.caption("Ranked by how confident the humans were; pick one to read it in full.")
disagreements = chosen.disagreements
if disagreements.empty:
    st.success("This judge agrees with the human majority on every comparison.")
    st.stop()
picked = show_table(
    disagreements,
    DISAGREEMENT_FORMATS,
    DISAGREEMENT_LABELS,
    on_select="rerun",
    selection_mode="single-row",
)
rows = picked.selection.rows if picked else []
if rows:
    show_comparison(actor.id, int(disagreements.iloc[rows[0]]["comparison_id"]))
