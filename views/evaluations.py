"""Evaluations: recorded `judgeboard eval run`s with their verdicts, and a spec editor that
validates with the same parser as the CLI (docs/EVAL_SPEC.md)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db.errors import InvalidInputError
from experiments.evaluation import format_figure, get_eval_run, list_eval_runs
from experiments.spec import parse_spec
from views.widgets.common import engine, plain, require_actor, run_or_error
from views.widgets.tables import show_table

actor = require_actor(admin=True)
st.title("Evaluations")
st.caption(
    "Each run of `judgeboard eval run SPEC.toml`: every success criterion judged PASS, FAIL"
    " or INCONCLUSIVE on its 95% interval. Runs are started from the command line or CI."
)

runs = run_or_error(list_eval_runs, engine(), actor_id=actor.id) or []
spec_text = ""
if not runs:
    st.info("No evaluation runs yet: write a spec below, then run `judgeboard eval run`.")
else:
    show_table(
        pd.DataFrame(
            {
                "run": [r.id for r in runs],
                "spec": [r.name for r in runs],
                "dataset": [r.dataset for r in runs],
                "split": [r.split for r in runs],
                "sample": [r.sample_size for r in runs],
                "status": [r.status for r in runs],
                "verdict": [r.verdict for r in runs],
                "started": [f"{r.created_at:%Y-%m-%d %H:%M}" for r in runs],
            }
        )
    )
    chosen = st.selectbox(
        "Run", [r.id for r in runs], format_func=lambda i: f"{i}: " + next(
            f"{r.name} ({r.verdict or r.status})" for r in runs if r.id == i
        )
    )  # fmt: skip
    found = run_or_error(get_eval_run, engine(), chosen, actor_id=actor.id)
    if found is not None:
        spec, row = found
        spec_text = row.spec_text
        if row.error:
            st.error(plain(row.error))
        criteria = (row.results or {}).get("criteria", [])
        if criteria:
            show_table(
                pd.DataFrame(
                    {
                        "criterion": [c["criterion"] for c in criteria],
                        "candidate": [c["candidate"] for c in criteria],
                        "verdict": [c["verdict"] for c in criteria],
                        "figure": [format_figure(c["statistic"], c["value"]) for c in criteria],
                        "interval": [
                            f"{format_figure(c['statistic'], c['low'])} to"
                            f" {format_figure(c['statistic'], c['high'])}"
                            for c in criteria
                        ],
                        "threshold": [
                            f"{c['op']} {format_figure(c['statistic'], c['threshold'])}"
                            for c in criteria
                        ],
                        "prompts": [c["n_prompts"] for c in criteria],
                    }
                )
            )

st.subheader("Spec")
text = st.text_area("Evaluation spec (TOML)", value=spec_text, height=400, key="spec_text")
left, right = st.columns(2)
if left.button("Validate"):
    try:
        parsed = parse_spec(text, "the spec")
    except InvalidInputError as exc:
        st.error(plain(str(exc)))
    else:
        st.success(
            plain(
                f"Valid: {len(parsed.criteria)} criteria on {parsed.dataset.ref}, "
                f"{len(parsed.compare)} candidates against {parsed.baseline}."
            )
        )
right.download_button("Download spec", text or "", file_name="eval.toml", mime="application/toml")
