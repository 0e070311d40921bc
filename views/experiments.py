"""Experiments: two evaluation runs compared prompt by prompt (experiments.compare), the
same figures as `judgeboard eval compare` with quality against cost and latency and the
regressions side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from experiments.compare import RunComparison, compare_runs
from experiments.evaluation import list_eval_runs
from metrics.pareto import pareto_front
from views.widgets.answer import show_response, show_text
from views.widgets.charts import pareto_chart
from views.widgets.common import engine, plain, require_actor, run_or_error
from views.widgets.tables import show_table

SHARE, SIGNED = ".1%", "+.1%"

actor = require_actor(admin=True)
st.title("Experiments")
st.caption(
    "Two evaluation runs on the same dataset version, prompt by prompt: B − A of each"
    " candidate's win rate against its run's baseline (the judge's two swapped verdicts per"
    " prompt), with a paired bootstrap interval and a sign test over prompts."
)


def _points(x: float) -> str:
    return f"{x * 100:+.1f} points"


def _money(x: float | None) -> str:
    return "—" if x is None else f"${x:.5f}"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} ms"


def _summary(r: RunComparison, detect: float) -> None:
    o = r.overall
    st.caption(
        plain(
            f"{r.dataset}: run {r.a.eval_run_id} ({r.a.candidate}) against run"
            f" {r.b.eval_run_id} ({r.b.candidate}), judge {r.b.judge}, {r.n_shared:,} shared"
            " prompts."
        )
    )
    for note in r.notes:
        st.warning(plain(note))
    left, mid, right = st.columns(3)
    left.metric(f"Win rate A ({r.a.candidate})", f"{r.a.win_rate:.1%}")
    mid.metric(f"Win rate B ({r.b.candidate})", f"{r.b.win_rate:.1%}")
    right.metric("B − A", _points(o.diff), f"p = {o.p_value:.3g} (sign test)", delta_color="off")
    st.markdown(
        plain(
            f"B − A {_points(o.diff)}, {o.level:.0%} interval {_points(o.low)} to"
            f" {_points(o.high)}; {o.n_better:,} prompts better, {o.n_worse:,} worse,"
            f" {o.n_same:,} the same."
        )
    )
    needed = o.prompts_needed(detect)
    more = (
        "every prompt moved the same way, so no more prompts are needed."
        if needed is None
        else f"detecting {detect * 100:g} points needs {needed:,} prompts"
        f" ({max(needed - o.n, 0):,} more)."
    )
    st.info(plain(f"{o.sentence()} At this spread, {more}"))


def _categories(r: RunComparison) -> None:
    st.subheader("Per category")
    rows = [(c.category, c.n, c.result) for c in r.categories]
    show_table(
        pd.DataFrame(
            {
                "category": [c for c, _n, _x in rows],
                "prompts": [n for _c, n, _x in rows],
                "win_rate_a": [x.mean_a if x else None for _c, _n, x in rows],
                "win_rate_b": [x.mean_b if x else None for _c, _n, x in rows],
                "b_minus_a": [x.diff if x else None for _c, _n, x in rows],
                "ci_low": [x.low if x else None for _c, _n, x in rows],
                "ci_high": [x.high if x else None for _c, _n, x in rows],
                "p_value": [x.p_value if x else None for _c, _n, x in rows],
            }
        ),
        formats={
            "win_rate_a": SHARE,
            "win_rate_b": SHARE,
            "b_minus_a": SIGNED,
            "ci_low": SIGNED,
            "ci_high": SIGNED,
            "p_value": ".3g",
        },
        labels={
            "win_rate_a": "Win rate A",
            "win_rate_b": "Win rate B",
            "b_minus_a": "B − A",
            "p_value": "p (sign test)",
        },
    )


def _usage(r: RunComparison) -> None:
    st.subheader("Cost and latency")
    show_table(
        pd.DataFrame(
            {
                "": ["A", "B", "B − A"],
                "candidate": [r.a.candidate, r.b.candidate, "—"],
                "cost_per_request": [
                    _money(r.a.cost_mean_usd),
                    _money(r.b.cost_mean_usd),
                    _money(r.cost_delta_usd),
                ],
                "p50_latency": [
                    _ms(r.a.p50_latency_ms),
                    _ms(r.b.p50_latency_ms),
                    _ms(r.p50_delta_ms),
                ],
                "p95_latency": [
                    _ms(r.a.p95_latency_ms),
                    _ms(r.b.p95_latency_ms),
                    _ms(r.p95_delta_ms),
                ],
            }
        )
    )
    points = [
        (f"A: {r.a.candidate}", r.a.win_rate, r.a.cost_mean_usd, r.a.p95_latency_ms),
        (f"B: {r.b.candidate}", r.b.win_rate, r.b.cost_mean_usd, r.b.p95_latency_ms),
        (f"A's baseline: {r.a.baseline}", 0.5, r.a.baseline_cost_mean_usd,
         r.a.baseline_p95_latency_ms),
    ]  # fmt: skip
    if r.b.baseline != r.a.baseline:
        points.append((f"B's baseline: {r.b.baseline}", 0.5, r.b.baseline_cost_mean_usd,
                       r.b.baseline_p95_latency_ms))  # fmt: skip
    frame = pd.DataFrame(
        {
            "model": [p[0] for p in points],
            "rating": [100 * p[1] for p in points],
            "cost_usd": [p[2] for p in points],
            "latency_ms": [p[3] for p in points],
        },
        dtype=object,
    ).astype({"rating": float, "cost_usd": float, "latency_ms": float})
    st.caption(
        "Quality against cost and latency: the rating here is the win rate against the"
        " baseline in % (a baseline scores 50 against itself). Candidates on the Pareto front"
        " are not beaten on both by another one; run A's and run B's figures are on the"
        " shared prompts."
    )
    charts = (
        ("cost_usd", "mean cost per request (USD)", "$.5f"),
        ("latency_ms", "p95 latency (ms)", ",.0f"),
    )
    cols = st.columns(2)
    for col, (axis, title, fmt) in zip(cols, charts, strict=True):
        known = frame[frame[axis].notna()]
        with col:
            if known.empty:
                st.caption(f"No output records a {title.split(' (')[0]}.")
                continue
            known = known.assign(front=pareto_front(known["rating"], known[axis]))
            st.altair_chart(pareto_chart(known, x=axis, x_title=title, x_format=fmt))


def _regressions(r: RunComparison) -> None:
    st.subheader("Regressions")
    st.caption(
        f"{r.n_regressions:,} prompts where B's candidate lost both swapped verdicts to its"
        " baseline while A's did not, largest drop first"
        + (f" (the first {len(r.regressions)} are listed)." if r.n_regressions > len(
            r.regressions) else ".")
    )  # fmt: skip
    if not r.regressions:
        return
    show_table(
        pd.DataFrame(
            {
                "prompt": [x.prompt for x in r.regressions],
                "category": [x.category for x in r.regressions],
                "score_a": [x.score_a for x in r.regressions],
                "score_b": [x.score_b for x in r.regressions],
            }
        ),
        formats={"score_a": ".2f", "score_b": ".2f"},
        labels={"score_a": "Score A", "score_b": "Score B"},
    )
    index = st.selectbox(
        "Regression", range(len(r.regressions)),
        format_func=lambda i: f"{r.regressions[i].prompt} ({r.regressions[i].category})",
    )  # fmt: skip
    reg = r.regressions[int(index or 0)]
    st.markdown("#### Prompt")
    with st.container(border=True):
        show_text(reg.prompt_text, "experiment-prompt")
    left, right = st.columns(2)
    with left:
        show_response(plain(f"A: {r.a.candidate}"), reg.output_a, None, "experiment-a")
    with right:
        show_response(plain(f"B: {r.b.candidate}"), reg.output_b, None, "experiment-b")


runs = [r for r in (run_or_error(list_eval_runs, engine(), actor_id=actor.id) or [])
        if r.status == "done"]  # fmt: skip
if len(runs) < 2:
    st.info(
        "Comparing needs two finished evaluation runs on the same dataset version: run a spec"
        " twice with `judgeboard eval run` (say, before and after a prompt change)."
    )
    st.stop()


def _label(run_id: int) -> str:
    r = next(x for x in runs if x.id == run_id)
    drawn = f" n={r.sample_size}" if r.sample_size else ""
    return f"{r.id}: {r.name} on {r.dataset} {r.split}{drawn} ({r.verdict or r.status})"


ids = [r.id for r in runs]
left, right = st.columns(2)
run_a = left.selectbox("Run A (before)", ids, index=1, format_func=_label, key="experiment_a")
run_b = right.selectbox("Run B (after)", ids, index=0, format_func=_label, key="experiment_b")
with st.expander("Options"):
    cand_a = st.text_input("Candidate of run A (empty: the one both runs compare)", key="exp_ca")
    cand_b = st.text_input("Candidate of run B (empty: as for run A)", key="exp_cb")
    detect = st.number_input("Difference to detect (points of win rate)", min_value=0.5,
                             max_value=50.0, value=5.0, step=0.5, key="exp_detect")  # fmt: skip
if run_a == run_b:
    st.info("Pick two different runs.")
    st.stop()
result = run_or_error(
    compare_runs, engine(), int(run_a), int(run_b), actor_id=actor.id,
    candidate=cand_a.strip() or None, candidate_b=cand_b.strip() or None,
)  # fmt: skip
if result is not None:
    _summary(result, float(detect) / 100)
    _categories(result)
    _usage(result)
    _regressions(result)
