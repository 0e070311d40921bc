"""Upload outputs or votes; nothing is written unless the whole file is valid."""

from __future__ import annotations

import streamlit as st

from annotate.campaigns import get_campaign, list_campaigns
from annotate.pairing import STRATEGIES, generate_comparisons
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from views.widgets.common import engine, require_actor, run_or_error

actor = require_actor(admin=True)
st.title("Import")
st.markdown(
    "Bring **outputs** (JSONL, CSV or Parquet long form with `prompt_id`, `prompt`, `model`,"
    " `output`; AlpacaEval JSON lists; MT-Bench `model_answer` JSONL) or **votes**"
    " (Chatbot Arena / MT-Bench judgment JSONL). A file with any bad row is rejected whole,"
    " with the line and field named; importing the same file twice changes nothing."
)

existing = [c.name for c in list_campaigns(engine())]

kind = st.radio("What is in the file?", ["outputs", "votes"], horizontal=True)
choice = st.selectbox("Campaign", [*existing, "+ New campaign"])
campaign = st.text_input("New campaign name") if choice == "+ New campaign" else choice
pair = None
if kind == "outputs":
    pair = st.selectbox("Then pair outputs into comparisons", ["(not now)", *STRATEGIES], index=1)
    baseline = st.text_input("Baseline model", disabled=pair != "baseline")
    k = st.number_input("k random pairs per prompt", 1, 50, 2, disabled=pair != "random_k")
upload = st.file_uploader(
    "File", type=["jsonl", "ndjson", "json", "csv", "parquet"], accept_multiple_files=False
)

if st.button("Import", type="primary", disabled=not (upload and campaign)):
    bar = st.progress(0.0, text="Reading…")
    size = max(upload.size, 1)

    def progress(rows: int) -> None:
        bar.progress(min(upload.tell() / size, 1.0), text=f"{rows:,} rows read")

    importer = import_outputs if kind == "outputs" else import_votes
    result = run_or_error(
        importer,
        engine(),
        upload,
        campaign,
        actor_id=actor.id,
        filename=upload.name,
        progress=progress,
    )
    bar.empty()
    if result is not None:
        st.success(result.summary())
        if kind == "outputs" and pair in STRATEGIES:
            campaign_id = get_campaign(engine(), campaign).id
            paired = run_or_error(
                generate_comparisons,
                engine(),
                campaign_id,
                pair,
                baseline=baseline or None,
                k=int(k),
                actor_id=actor.id,
            )
            if paired is not None:
                st.success(paired.summary())
