"""Upload outputs or votes; by default nothing is written unless the whole file is valid."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from annotate.campaigns import get_campaign, list_campaigns
from annotate.pairing import STRATEGIES, STRATEGY_NAMES, generate_comparisons
from db.errors import ImportFileError, JudgeboardError
from ingest.outputs import import_outputs, load_questions
from ingest.votes import import_votes
from views.widgets.common import engine, plain, require_actor, run_or_error

FORMATS = Path(__file__).resolve().parents[1] / "docs" / "FORMATS.md"
T = TypeVar("T")


def error_markdown(exc: JudgeboardError) -> str:
    """An import error as the CLI prints it, one line each, its problems as a list.

    A file with several problems names the first one in its opening line and again in the
    list; here the opening line names the file instead, so no problem is shown twice.
    """
    lines = str(exc).splitlines()
    head = [line for line in lines if not line.startswith("  ")]
    items = [line.strip() for line in lines if line.startswith("  ")]
    if items and isinstance(exc, ImportFileError) and len(head) > 1:
        head = [f"{exc.path}: {head[1]}", *head[2:]]
    text = "  \n".join(plain(line) for line in head)
    if items:
        text += "\n\n" + "\n".join(f"- {plain(item)}" for item in items)
    return text


def run_import(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``run_or_error`` for importers: the error shown as a list, one problem per line."""
    try:
        return fn(*args, **kwargs)
    except JudgeboardError as exc:
        st.error(error_markdown(exc))
        return None


actor = require_actor(admin=True)
st.title("Import")
st.markdown(
    "Bring **outputs** (JSONL, CSV or Parquet long form with `prompt_id`, `prompt`, `model`,"
    " `output`; AlpacaEval JSON lists; MT-Bench or Arena-Hard model answers with their"
    " questions file) or **votes** (Chatbot Arena / MT-Bench judgment JSONL, Arena-Hard"
    " judgment files). A file with any bad row is rejected whole, with the line and field"
    " named, unless you choose to skip invalid rows; importing the same file twice changes"
    " nothing. Every format, field by field, is in `docs/FORMATS.md` (below)."
)
if FORMATS.is_file():
    with st.expander("File formats, field by field (docs/FORMATS.md)"):
        st.markdown(FORMATS.read_text(encoding="utf-8"))

existing = [c.name for c in list_campaigns(engine())]

kind = st.radio("What is in the file?", ["outputs", "votes"], horizontal=True)
choice = st.selectbox("Campaign", [*existing, "+ New campaign"])
campaign = st.text_input("New campaign name") if choice == "+ New campaign" else choice
pair = None
questions_upload = None
ah_baseline = ah_judge = ""
if kind == "outputs":
    pair = st.selectbox(
        "Then pair outputs into comparisons",
        ["(not now)", *STRATEGIES],
        index=1,
        format_func=lambda code: STRATEGY_NAMES.get(code, code),
    )
    baseline = st.text_input("Baseline model", disabled=pair != "baseline")
    k = st.number_input("k random pairs per prompt", 1, 50, 2, disabled=pair != "random_k")
    questions_upload = st.file_uploader(
        "Questions file for MT-Bench / Arena-Hard answers (optional)", type=["jsonl"]
    )
else:
    ah_baseline = st.text_input("Baseline model (Arena-Hard judgment files)")
    ah_judge = st.text_input("Judge name (Arena-Hard; default: each row's judge)")
skip_invalid = st.checkbox(
    "Skip invalid rows",
    help="Import the valid rows in one transaction and offer the rejected rows (line,"
    " reason, row) as a download, instead of rejecting the whole file.",
)
upload = st.file_uploader(
    "File", type=["jsonl", "ndjson", "json", "csv", "parquet"], accept_multiple_files=False
)

if st.button("Import", type="primary", disabled=not (upload and campaign)):
    bar = st.progress(0.0, text="Reading…")
    size = max(upload.size, 1)

    def progress(rows: int) -> None:
        bar.progress(min(upload.tell() / size, 1.0), text=f"{rows:,} rows read")

    rejected = io.BytesIO()
    options = {"skip_invalid": skip_invalid, "rejects": rejected if skip_invalid else None}
    result = None
    if kind == "outputs":
        questions = None
        if questions_upload is not None:
            questions = run_import(load_questions, questions_upload, questions_upload.name)
        if questions is not None or questions_upload is None:
            result = run_import(
                import_outputs,
                engine(),
                upload,
                campaign,
                actor_id=actor.id,
                filename=upload.name,
                progress=progress,
                questions=questions,
                **options,
            )
    else:
        result = run_import(
            import_votes,
            engine(),
            upload,
            campaign,
            actor_id=actor.id,
            filename=upload.name,
            progress=progress,
            baseline=ah_baseline or None,
            judge=ah_judge or None,
            **options,
        )
    bar.empty()
    if result is not None:
        st.success(plain(result.summary()))
        if result.rows_rejected:
            st.download_button(
                f"Download the {result.rows_rejected:,} rejected rows",
                data=rejected.getvalue(),
                file_name=f"{upload.name}.rejects.jsonl",
                mime="application/jsonl",
            )
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
                st.success(plain(paired.summary()))
