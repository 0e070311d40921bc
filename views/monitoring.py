"""Monitoring: a stream's production time series and its drift alarms, with the detector's
stated false-alarm rate and the smallest shift it catches at the current volume."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from monitor.drift import drift_report
from monitor.series import time_series
from monitor.streams import list_streams
from views.widgets.common import engine, plain, require_actor, run_or_error
from views.widgets.tables import show_table

actor = require_actor(admin=True)
st.title("Monitoring")
st.caption(
    "Production traffic received over OpenTelemetry, per model and service.version, by UTC"
    " hour or day. `judgeboard monitor status` and `judgeboard monitor drift` print the same."
)

streams = run_or_error(list_streams, engine()) or []
if not streams:
    st.info(
        "No streams yet: create an ingest token with `judgeboard ingest token create --stream"
        " NAME` and point an OTLP exporter at `judgeboard serve-otlp`."
    )
    st.stop()

left, right = st.columns(2)
stream = left.selectbox("Stream", [s.name for s in streams])
by = right.radio("Per", ["day", "hour"], horizontal=True)
rows = run_or_error(time_series, engine(), actor_id=actor.id, stream=stream, by=by) or []
if not rows:
    st.info("This stream has no interactions yet.")
    st.stop()

frame = pd.DataFrame(
    {
        "start": [r.start for r in rows],
        "model": [f"{r.model or '—'} {r.version or ''}".strip() for r in rows],
        "requests": [r.volume for r in rows],
        "errors": [r.errors for r in rows],
        "cost per request": [r.cost_per_request for r in rows],
        "prompt tokens": [r.prompt_tokens for r in rows],
        "output tokens": [r.output_tokens for r in rows],
        "latency p50 (ms)": [r.latency_p50 for r in rows],
        "latency p95 (ms)": [r.latency_p95 for r in rows],
        "input mix": [
            ", ".join(f"{k} {v:.0%}" for k, v in sorted(r.input_mix.items(), key=lambda kv: -kv[1]))
            for r in rows
        ],
    }
)


def line(column: str, title: str) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("start:T", title=None),
            y=alt.Y(f"{column}:Q", title=title),
            color=alt.Color("model:N", title="model and version"),
            tooltip=["start:T", "model:N", alt.Tooltip(f"{column}:Q", format=",.4~g")],
        )
        .properties(height=220)
    )


charts = st.columns(3)
charts[0].altair_chart(line("requests", f"requests per {by}"), width="stretch")
charts[1].altair_chart(line("latency p95 (ms)", "latency p95 (ms)"), width="stretch")
charts[2].altair_chart(line("cost per request", "cost per request (USD)"), width="stretch")
show_table(
    frame.assign(start=frame["start"].dt.strftime("%Y-%m-%d %H:%M")).round(
        {
            "cost per request": 5,
            "prompt tokens": 0,
            "output tokens": 0,
            "latency p50 (ms)": 0,
            "latency p95 (ms)": 0,
        }
    )
)

st.subheader("Drift")
mode = st.radio("Reference", ["first days", "a version"], horizontal=True)
versions = sorted({r.version for r in rows if r.version})
if mode == "a version" and versions:
    report = run_or_error(
        drift_report,
        engine(),
        stream,
        actor_id=actor.id,
        by=by,
        reference_version=st.selectbox("Reference version", versions),
    )
else:
    if mode == "a version":
        st.info("No interaction carries a service.version: the first days are the reference.")
    days = st.number_input("Reference days", min_value=1, value=7, step=1)
    report = run_or_error(
        drift_report, engine(), stream, actor_id=actor.id, by=by, reference_days=int(days)
    )
if report is not None:
    st.write(
        plain(
            f"Reference: {report.reference}. Watched: {report.windows} {by}s from"
            f" {report.watched_from:%Y-%m-%d %H:%M} ({', '.join(report.series)})."
        )
    )
    st.info(plain(report.design.statement().capitalize() + "."), icon=":material/shield:")
    if not report.alarms:
        st.success("No drift: every watched series is in line with its reference.")
    else:
        stamp = "%Y-%m-%d %H:%M"
        show_table(
            pd.DataFrame(
                {
                    "series": [a.series for a in report.alarms],
                    "raised": [f"{a.raised_at:{stamp}}" for a in report.alarms],
                    "change started": [f"{a.start:{stamp}}" for a in report.alarms],
                    "start between": [
                        f"{a.start_low:{stamp}} – {a.start_high:{stamp}}" for a in report.alarms
                    ],
                    "size (95% interval)": [a.size_text() for a in report.alarms],
                    "evidence": [a.evidence(by) for a in report.alarms],
                }
            )
        )
    if report.detectable:
        st.write(f"Smallest shift caught with {report.design.power:.0%} probability:")
        for d in report.detectable:
            st.write(plain(f"- {d.series}: {d.text(by)}"))
