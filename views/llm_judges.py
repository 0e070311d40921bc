"""LLM judges: define one (with a live prompt preview), dry-run it, run it, browse verdicts."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from annotate.campaigns import list_campaigns
from judges.config import (
    DEFAULT_KEY_ENVS,
    INCONSISTENT_AS,
    INCONSISTENT_AS_HELP,
    INCONSISTENT_AS_LABEL,
    PROVIDERS,
    SWAP_POLICIES,
    JudgeSpec,
    key_note,
    list_judges,
    save_judge,
    spec_of,
)
from judges.preview import dry_run_blocking, preview_prompt
from judges.runs import (
    FINISHED,
    STALE_AFTER_S,
    RunOptions,
    create_run,
    list_runs,
    request_cancel,
    resume_run,
)
from judges.templates import TEMPLATE_KINDS, builtin_template
from judges.verdicts import browse_verdicts, position_consistency
from judges.worker import start_in_background
from metrics.vocabulary import judge_label
from views.widgets.common import engine, plain, require_actor, run_or_error
from views.widgets.tables import readable

actor = require_actor(admin=True)
st.title("LLM judges")


def _secrets() -> dict[str, str]:
    """Top-level string entries of st.secrets (API keys); never stored or shown."""
    try:
        return {k: v for k, v in st.secrets.items() if isinstance(v, str)}
    except Exception:  # no secrets file
        return {}


campaigns = {c.name: c.id for c in list_campaigns(engine())}
judges = list_judges(engine(), actor_id=actor.id, all_versions=True)
if not campaigns:
    st.info("No campaigns yet: import outputs on the **Import** page first.")
    st.stop()

campaign_name = st.selectbox("Campaign", list(campaigns))
campaign_id = campaigns[campaign_name]
define, runs_tab, verdicts_tab = st.tabs(["Define a judge", "Runs", "Verdicts"])

with define:
    labels = {judge_label(j.name, j.version): j.id for j in judges}
    start_from = st.selectbox("Start from", ["(new judge)", *labels])
    base = next((spec_of(j) for j in judges if j.id == labels.get(start_from)), None)
    base_name = start_from.rsplit(" v", 1)[0] if base else ""
    c1, c2, c3 = st.columns(3)
    name = c1.text_input(
        "Name", value=base_name, help="Saving an edited config makes a new version."
    )
    provider = c2.selectbox(
        "Provider", PROVIDERS, index=PROVIDERS.index(base.provider) if base else 0,
        help="openai covers any OpenAI-compatible server: Azure, vLLM, Ollama, llama.cpp, LiteLLM.",
    )  # fmt: skip
    model = c3.text_input("Model", value=base.model if base else "gpt-4o-mini")
    c4, c5 = st.columns(2)
    base_url = c4.text_input(
        "Base URL (empty: the provider's)", value=base.base_url if base else ""
    )
    key_env = c5.text_input(
        "Environment variable with the API key (empty: no key)",
        value=(base.api_key_env or "") if base else DEFAULT_KEY_ENVS[provider],
        help="The key is read from the environment or .streamlit/secrets.toml, never stored.",
    )
    c5.caption(plain(key_note(key_env.strip() or None, _secrets())))
    kind = st.radio(
        "Template", TEMPLATE_KINDS, horizontal=True,
        index=TEMPLATE_KINDS.index(base.template_kind) if base else 0,
    )  # fmt: skip
    template = st.text_area(
        "Prompt template ({placeholders}; literal braces as {{ }})",
        value=base.template if base and base.template_kind == kind else builtin_template(kind),
        height=320,
    )
    params = dict(base.params) if base else {}
    c6, c7, c8, c9 = st.columns(4)
    params["temperature"] = c6.number_input(
        "Temperature", 0.0, 2.0, float(params.get("temperature", 0)), 0.1
    )
    params["max_tokens"] = int(
        c7.number_input("Max tokens", 16, 32000, int(params.get("max_tokens", 1024)))
    )
    params["scale"] = c8.radio(
        "Verdict scale", ["3way", "5way"], horizontal=True,
        index=["3way", "5way"].index(params.get("scale", "3way")),
    )  # fmt: skip
    swap = c9.selectbox(
        "Position swap", SWAP_POLICIES, index=SWAP_POLICIES.index(base.swap_policy) if base else 0,
        help="both: judge each comparison in both orders; ab: as stored; random: one order each.",
    )  # fmt: skip
    inconsistent = st.radio(
        INCONSISTENT_AS_LABEL, INCONSISTENT_AS, horizontal=True, help=INCONSISTENT_AS_HELP,
        index=INCONSISTENT_AS.index(base.inconsistent_as) if base else 0,
    )  # fmt: skip
    spec = JudgeSpec(
        provider=provider, model=model, base_url=base_url or None, api_key_env=key_env or None,
        template_kind=kind, template=template, params=params, swap_policy=swap,
        inconsistent_as=inconsistent,
    )  # fmt: skip

    st.subheader("Preview on a real comparison")
    order = st.radio("Shown order", ["ab", "ba"], horizontal=True)
    st.caption(
        "Exactly what is sent. The judge's instructions are the campaign's judge instructions"
        " (Campaign setup), or a neutral statement of the task when it has none; the"
        " instructions for raters never reach a judge."
    )
    preview = run_or_error(preview_prompt, engine(), spec, campaign_id, None, order)
    if preview is not None:
        for request in preview.requests:
            about = f" · criterion {request.criterion}" if request.criterion else ""
            st.caption(plain(f"POST {request.url} · comparison {preview.comparison_id}{about}"))
            for role, text in request.messages:
                st.caption(plain(f"{role} message"))
                st.code(text, language=None, wrap_lines=True)
            with st.expander("Request body, byte for byte (headers and key left out)"):
                st.code(request.body, language="json", wrap_lines=True)

    b1, b2 = st.columns(2)
    if b1.button("Save judge", type="primary", disabled=not name.strip()):
        saved = run_or_error(save_judge, engine(), name, spec, actor_id=actor.id)
        if saved is not None:
            label = judge_label(saved.name, saved.version)
            st.success(
                plain(
                    f"Saved '{label}' (config {saved.content_hash[:12]})."
                    f" {key_note(saved.api_key_env, _secrets())}"
                )
            )
    if b2.button("Dry run on 3 comparisons"):
        with st.spinner("Asking the judge..."):
            rows = run_or_error(
                dry_run_blocking, engine(), spec, campaign_id, n=3, secrets=_secrets()
            )
        if rows:
            dry = readable(pd.DataFrame([r.__dict__ for r in rows]))
            st.dataframe(dry, hide_index=True, width="stretch")

with runs_tab:
    # Newest versions first; any version can be run.
    latest = {judge_label(j.name, j.version): j.id for j in sorted(judges, key=lambda j: -j.id)}
    if not latest:
        st.info("Save a judge first.")
    else:
        with st.form("start_run"):
            picked_judge = st.selectbox("Judge", list(latest))
            r1, r2, r3 = st.columns(3)
            concurrency = r1.number_input("Concurrency", 1, 256, 8)
            rpm = r2.number_input("Requests per minute (0: no limit)", 0, 100000, 0)
            limit = r3.number_input("Only the first N comparisons (0: all)", 0, 10**7, 0)
            if st.form_submit_button("Start run", type="primary"):
                run = run_or_error(
                    create_run, engine(), latest[picked_judge], campaign_id,
                    actor_id=actor.id, limit=int(limit) or None,
                )  # fmt: skip
                if run is not None:
                    st.session_state["judge_run_options"] = {
                        "concurrency": int(concurrency), "rpm": float(rpm) or None,
                    }  # fmt: skip
                    start_in_background(
                        engine(), run.id, RunOptions(**st.session_state["judge_run_options"]),
                        secrets=_secrets(),
                    )  # fmt: skip
                    st.session_state["judge_run_id"] = run.id

    @st.fragment(run_every=1.0)
    def show_runs() -> None:
        runs = list_runs(engine(), campaign_id, actor_id=actor.id)
        if not runs:
            st.caption("No runs on this campaign yet.")
            return
        for r in runs[:10]:
            cols = st.columns([4, 1, 1])
            cols[0].progress(r.fraction, text=r.summary().splitlines()[0])
            if r.error:
                cols[0].caption(plain(r.error))
            if r.note:
                cols[0].warning(plain(r.note), icon=":material/payments:")
            if r.interrupted:
                cols[0].caption(
                    f"No worker has touched this run for {STALE_AFTER_S / 60:.0f} minutes: it"
                    " was interrupted. Resume continues it."
                )
            if r.status not in FINISHED and cols[1].button("Cancel", key=f"cancel{r.run_id}"):
                run_or_error(request_cancel, engine(), r.run_id, actor_id=actor.id)
            if r.resumable and cols[2].button(
                "Resume", key=f"resume{r.run_id}",
                help="Continue only what is missing; a crashed worker's tasks are picked up.",
            ):  # fmt: skip
                resumed = run_or_error(resume_run, engine(), r.run_id, actor_id=actor.id)
                if resumed is not None:
                    options = st.session_state.get("judge_run_options", {})
                    start_in_background(
                        engine(), r.run_id, RunOptions(**options), secrets=_secrets()
                    )

    show_runs()

with verdicts_tab:
    by_label = {"all judges": None, **{judge_label(j.name, j.version): j.id for j in judges}}
    chosen = by_label[st.selectbox("Judge", list(by_label))]
    only_unscored = st.toggle("Only unscored (unparseable) replies")
    rows = browse_verdicts(
        engine(), campaign_id, chosen, actor_id=actor.id, only_unscored=only_unscored
    )
    consistency = position_consistency(engine(), chosen, campaign_id) if chosen else None
    if consistency is not None and consistency.n_comparisons:
        m1, m2, m3 = st.columns(3)
        rate = consistency.consistency
        m1.metric("Position consistency", "n/a" if rate is None else f"{rate:.0%}")
        m2.metric("Inconsistent pairs", consistency.n_inconsistent)
        m3.metric("Unscored verdicts", consistency.n_unscored_judgments)
    if rows:
        frame = pd.DataFrame(rows)
        frame["raw_reply"] = frame["raw_reply"].map(
            lambda t: t if t is None or len(t) < 400 else t[:400] + "..."
        )
        st.dataframe(readable(frame), hide_index=True, width="stretch")
        st.download_button(
            "Download as JSON", json.dumps(rows, default=str), file_name="judge_verdicts.json"
        )
    else:
        st.caption("No verdicts yet.")
