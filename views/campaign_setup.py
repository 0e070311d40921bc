"""Campaign setup (admins): settings, rubric, who may rate, gold and attention-check items."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from annotate.campaign_setup import (
    CampaignSettings,
    CriterionEdit,
    check_rows,
    load_campaign_form,
    rater_choices,
    save_campaign,
    set_check,
)
from annotate.campaigns import MODE_NAMES, list_campaigns
from db.errors import JudgeboardError
from db.models import MODES, SCALES
from judges.templates import default_judge_instructions
from metrics.vocabulary import SCALE_NAMES, missing_to_none, scale_name
from results.items import item_detail
from views.widgets.answer import PREFERENCES, show_prompt, show_response
from views.widgets.common import engine, plain, require_actor, run_or_error

NEW = 0
SCALE_CODES = {name: code for code, name in SCALE_NAMES.items()}
SCALE_LABELS = {"3way": "3-way: A / tie / B", "5way": "5-way: A much better … B much better"}
EXPECTED = {
    "A much better": -2,
    "A better": -1,
    "Tie": 0,
    "B better": 1,
    "B much better": 2,
}

actor = require_actor(admin=True)
st.title("Campaign setup")

flash = st.session_state.pop("setup_flash", None)
if flash:
    st.success(flash)

campaigns = {c.id: c.name for c in list_campaigns(engine())}
raters = rater_choices(engine(), actor_id=actor.id)
if "setup_select" in st.session_state:  # a save just happened: show what was saved
    st.session_state["setup_campaign"] = st.session_state.pop("setup_select")
campaign_id = st.selectbox(
    "Campaign",
    [NEW, *campaigns],
    format_func=lambda cid: "+ New campaign" if cid == NEW else campaigns[cid],
    key="setup_campaign",
)

if campaign_id == NEW:
    form_data = None
    current = CampaignSettings(name="")
else:
    form_data = load_campaign_form(engine(), campaign_id, actor_id=actor.id)
    current = form_data.settings
    if form_data.n_human_judgments:
        st.info(
            f"This campaign has {form_data.n_human_judgments} human judgments. Edits never"
            " rewrite them: the preference scale is fixed, and criteria with scores keep"
            " their scale and cannot be deleted.",
            icon=":material/history:",
        )

rater_label = dict(raters)
with st.form(f"campaign-{campaign_id}"):
    name = st.text_input("Name", current.name)
    instructions = st.text_area(
        "Instructions for raters (markdown)", current.instructions, height=160
    )
    judge_instructions = st.text_area(
        "Instructions for LLM judges (plain text)",
        current.judge_instructions or "",
        height=120,
        placeholder=default_judge_instructions(
            current.mode,
            current.criteria,
            kind="rubric" if current.mode == "rubric" else "pairwise",
        ),
        help="What every judge of this campaign is told. Empty: a neutral statement of the"
        " task (shown in grey, ending with each judge's own answer format). The instructions"
        " for raters never reach a judge. Clear this field to go back to the default.",
    )
    left, right = st.columns(2)
    mode = left.radio("Mode", MODES, index=MODES.index(current.mode), format_func=MODE_NAMES.get)
    scale = right.radio(
        "Preference scale",
        list(SCALE_LABELS),
        index=list(SCALE_LABELS).index(current.preference_scale),
        format_func=SCALE_LABELS.get,
    )
    allow_both_bad = right.checkbox("Offer 'both bad'", current.allow_both_bad)
    blind = right.checkbox("Blind (raters never see model names)", current.blind)
    remote_images = right.checkbox(
        "Show remote images",
        current.allow_remote_images,
        help=(
            "Off (the default): images in prompts, outputs and instructions are shown as"
            " their address in text. On: raters' browsers will fetch the images from their"
            " hosts, which then learn each rater's IP address, when they rate and this"
            " server's address. data: images stay shown as text either way."
        ),
    )
    a, b, c = st.columns(3)
    overlap = a.number_input("Ratings per comparison (overlap)", 1, 50, current.overlap)
    lease = b.number_input("Lease (seconds per item)", 30, 86_400, current.lease_seconds)
    quota = c.number_input("Items per rater (0 = no limit)", 0, 1_000_000, current.rater_quota or 0)
    a, b, c = st.columns(3)
    gold = a.slider("Gold rate", 0.0, 0.5, float(current.gold_rate), 0.01)
    attention = b.slider("Attention-check rate", 0.0, 0.5, float(current.attention_rate), 0.01)
    reshow = c.slider(
        "Re-show rate",
        0.0,
        0.5,
        float(current.reshow_rate),
        0.01,
        help="Share of a rater's items shown again later, sides swapped, to measure how"
        " consistent each rater is with themselves.",
    )
    everyone = st.checkbox("Everyone may rate", current.allowed_raters is None)
    allowed = st.multiselect(
        "Raters allowed (when not everyone)",
        list(rater_label),
        default=[r for r in (current.allowed_raters or ()) if r in rater_label],
        format_func=rater_label.get,
    )
    st.markdown(f"**Rubric criteria** (scale: {', '.join(SCALE_NAMES.values())})")
    criteria_frame = pd.DataFrame(
        [
            {
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "scale": scale_name(c.scale),
                "categories": ", ".join(c.categories or ()),
                "scores": c.n_scores,
            }
            for c in current.criteria
        ],
        columns=["id", "name", "description", "scale", "categories", "scores"],
    )
    edited = st.data_editor(
        criteria_frame,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        disabled=["id", "scores"],
        column_config={
            "id": st.column_config.NumberColumn("id", width="small"),
            "scale": st.column_config.SelectboxColumn(
                "scale", options=[scale_name(code) for code in SCALES]
            ),
            "categories": st.column_config.TextColumn("categories (comma-separated)"),
        },
        key=f"criteria-{campaign_id}",
    )
    submitted = st.form_submit_button(
        "Create campaign" if campaign_id == NEW else "Save changes", type="primary"
    )


def _scale_code(shown: object) -> str:
    text = str(shown or "")
    return SCALE_CODES.get(text, text if text in SCALES else "likert5")


def _criteria(frame: pd.DataFrame) -> list[CriterionEdit]:
    out = []
    for row in frame.to_dict("records"):
        if not str(row.get("name") or "").strip():
            continue
        cid = row.get("id")
        cats = [c.strip() for c in str(row.get("categories") or "").split(",") if c.strip()]
        out.append(
            CriterionEdit(
                name=str(row["name"]).strip(),
                description=str(row.get("description") or ""),
                scale=_scale_code(row.get("scale")),
                categories=tuple(cats) or None,
                id=None if missing_to_none(cid) is None else int(cid),
            )
        )
    return out


if submitted:
    settings = CampaignSettings(
        name=name,
        instructions=instructions,
        mode=mode,
        preference_scale=scale,
        allow_both_bad=allow_both_bad,
        overlap=int(overlap),
        gold_rate=float(gold),
        attention_rate=float(attention),
        reshow_rate=float(reshow),
        lease_seconds=int(lease),
        rater_quota=int(quota) or None,
        blind=blind,
        allow_remote_images=remote_images,
        allowed_raters=None if everyone else tuple(allowed),
        criteria=tuple(_criteria(edited)),
        judge_instructions=judge_instructions or None,
    )
    saved = run_or_error(
        save_campaign,
        engine(),
        settings,
        None if campaign_id == NEW else campaign_id,
        actor_id=actor.id,
    )
    if saved is not None:
        st.session_state["setup_flash"] = f"Saved campaign '{settings.name.strip()}'."
        st.session_state["setup_select"] = saved
        st.rerun()

CHECK_KINDS = {"gold": "Gold (measures accuracy)", "attention": "Attention check"}
VERDICT_LABELS = {value: label for label, value in EXPECTED.items()}


def _set_expected(comparison_id: int, preference: int) -> None:
    kind = st.session_state.get(f"check-kind-{comparison_id}", "gold")
    try:
        set_check(engine(), comparison_id, kind, preference, actor_id=actor.id)
    except JudgeboardError as exc:
        st.session_state["setup_check_error"] = str(exc)
    else:
        st.session_state["setup_flash"] = (
            f"Comparison #{comparison_id} is a {kind} item; expected answer:"
            f" {VERDICT_LABELS[preference]}."
        )


def _make_normal(comparison_id: int) -> None:
    try:
        set_check(engine(), comparison_id, None, actor_id=actor.id)
    except JudgeboardError as exc:
        st.session_state["setup_check_error"] = str(exc)
    else:
        st.session_state["setup_flash"] = f"Comparison #{comparison_id} is a normal item again."


if campaign_id != NEW:
    st.subheader("Gold and attention-check items")
    st.caption(
        "Mark comparisons whose right answer you know. Gold items measure rater accuracy;"
        " attention checks catch raters who click without reading. Raters cannot tell them"
        " apart from other items. A and B here are the stored (canonical) order."
    )
    check_error = st.session_state.pop("setup_check_error", None)
    if check_error:
        st.error(plain(check_error))
    rows = check_rows(engine(), campaign_id, actor_id=actor.id)
    if not rows:
        st.info("No comparisons yet: import outputs and pair them first.")
        st.stop()
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Comparison": r.comparison_id,
                    "Prompt": r.prompt,
                    "Model A": r.model_a,
                    "Model B": r.model_b,
                    "Kind": r.check_kind or "",
                    "Expected": VERDICT_LABELS.get(r.expected_preference, ""),
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    by_id = {r.comparison_id: r for r in rows}
    picked = st.selectbox(
        "Item",
        list(by_id),
        format_func=lambda cid: (
            f"#{cid}: {by_id[cid].prompt}, {by_id[cid].model_a} vs {by_id[cid].model_b}"
            + (f" ({by_id[cid].check_kind})" if by_id[cid].check_kind else "")
        ),
        key=f"check-item-{campaign_id}",
    )
    row = by_id[picked]
    st.radio(
        "Kind",
        list(CHECK_KINDS),
        index=list(CHECK_KINDS).index(row.check_kind) if row.check_kind else 0,
        format_func=CHECK_KINDS.get,
        horizontal=True,
        key=f"check-kind-{picked}",
    )
    detail = run_or_error(item_detail, engine(), picked, actor_id=actor.id)
    if detail is None:
        st.stop()
    remote = current.allow_remote_images
    show_prompt(detail.messages, f"check-{picked}-prompt", remote)
    left, right = st.columns(2, gap="medium")
    with left:
        show_response(
            f"Response A: {plain(detail.model_a)}",
            detail.output_a,
            detail.turns_a,
            f"check-{picked}-a",
            remote,
        )
    with right:
        show_response(
            f"Response B: {plain(detail.model_b)}",
            detail.output_b,
            detail.turns_b,
            f"check-{picked}-b",
            remote,
        )
    st.caption("Expected answer: pick it with the buttons raters use.")
    choices = PREFERENCES[current.preference_scale]
    for col, (value, label, key) in zip(st.columns(len(choices)), choices, strict=True):
        col.button(
            label,
            key=f"check-{picked}-pref-{value}",
            shortcut=key,
            type="primary" if row.check_kind and row.expected_preference == value else "secondary",
            width="stretch",
            on_click=_set_expected,
            args=(picked, value),
        )
    if row.check_kind:
        st.button(
            "Make it a normal item",
            key=f"check-{picked}-normal",
            on_click=_make_normal,
            args=(picked,),
        )
