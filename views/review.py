"""Review (admins): browse every item of a campaign, act on flags and disagreements,
exclude raters, retire items, and read the log of who did what."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from annotate import review
from annotate.campaign_setup import load_campaign_form
from annotate.campaigns import list_campaigns
from annotate.items import Answer, RateItem, RatingSetup
from db.errors import JudgeboardError
from metrics.vocabulary import missing_to_none, preference_word
from results.items import (
    ItemDetail,
    ItemQuery,
    browse_items,
    campaign_raters,
    item_detail,
    item_filters,
)
from results.votes import left_out
from views.widgets.answer import answer_form
from views.widgets.common import engine, plain, require_actor, run_or_error

SHOWN = {"ab": "A first", "ba": "B first"}
RESOLUTIONS = {
    "reviewed": "Reviewed (nothing to change)",
    "fixed": "Fixed (the item was corrected)",
    "retired": "Retire the comparison (it leaves every result)",
}
HEADERS = {
    "comparison_id": "Comparison",
    "prompt_id": "Prompt",
    "category": "Category",
    "split": "Split",
    "model_a": "Model A",
    "model_b": "Model B",
    "check_kind": "Check",
    "human_votes": "Human votes",
    "judge_votes": "Judge verdicts",
    "human_majority": "Humans say",
    "judge_majority": "Judges say",
    "disagreement": "Humans disagree",
    "judge_vs_humans": "Judge vs humans",
    "open_flags": "Open flags",
    "flags": "Flags",
    "adjudication": "Adjudicated",
    "retired": "Retired",
    "open": "Open",
}
ALL = "All"
FLASH = "review_flash"
FLASH_ERROR = "review_flash_error"
OPEN = "review_open"

actor = require_actor(admin=True)
st.title("Review")

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(plain(flash))

campaigns = {c.id: c.name for c in list_campaigns(engine())}
if not campaigns:
    st.info("No campaigns yet.")
    st.stop()
wanted = st.query_params.get("campaign")
first_run = "review_campaign" not in st.session_state
if first_run and wanted and wanted.isdigit() and int(wanted) in campaigns:
    st.session_state["review_campaign"] = int(wanted)
    opened = st.query_params.get("comparison")
    if opened and opened.isdigit():
        st.session_state[OPEN] = int(opened)
campaign_id = st.selectbox(
    "Campaign", list(campaigns), format_func=campaigns.get, key="review_campaign"
)
note = left_out(engine(), campaign_id).note()
if note:
    st.info(note.replace(" (see the Review page)", ""))


def _call(fn: Any, *args: Any, done: str, **kwargs: Any) -> None:
    """Run an admin action from a button; its outcome shows on the next run."""
    try:
        fn(engine(), *args, actor_id=actor.id, **kwargs)
    except JudgeboardError as exc:
        st.session_state[FLASH_ERROR] = str(exc)
    else:
        st.session_state[FLASH] = done


def _state(key: str) -> Any:
    value = st.session_state.get(key)
    return value.strip() or None if isinstance(value, str) else value


def _resolve(cid: int) -> None:
    flag_id, resolution = _state(f"flag-pick-{cid}"), _state(f"flag-resolution-{cid}")
    _call(
        review.resolve_flag,
        flag_id,
        resolution,
        note=_state(f"flag-note-{cid}"),
        done=f"Flag #{flag_id} resolved: {resolution}.",
    )


def _reopen(cid: int) -> None:
    flag_id = _state(f"flag-pick-{cid}")
    _call(review.reopen_flag, flag_id, done=f"Flag #{flag_id} is open again.")


def _exclude(campaign: int, name: str) -> None:
    key = _state("review_rater")
    _call(
        review.exclude_rater,
        campaign,
        key,
        reason=_state("review_reason"),
        done=f"{name}'s votes are left out of every result (kept, reversible).",
    )


def _verdict(preference: Any, both_bad: bool = False) -> str:
    word = "" if missing_to_none(preference) is None else preference_word(preference)
    if both_bad:
        return f"{word}, both bad" if word else "Both bad"
    return word


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


error = st.session_state.pop(FLASH_ERROR, None)
if error:
    st.error(plain(error))

items_tab, raters_tab, log_tab = st.tabs(["Items", "Raters", "Review log"])

with items_tab:
    options = item_filters(engine(), campaign_id, actor_id=actor.id)
    search = st.text_input(
        "Search prompt text, prompt id, model or category", key="review_search", max_chars=200
    )
    left, middle, right = st.columns(3)
    split = left.selectbox("Split", [ALL, *options["split"]], key="review_split")
    category = middle.selectbox("Category", [ALL, *options["category"]], key="review_category")
    retired_choice = right.selectbox(
        "Retired", ["Not retired", "Retired only", ALL], key="review_retired"
    )
    checks = st.columns(5)
    flagged = checks[0].checkbox("Flagged", key="review_flagged")
    open_flags = checks[1].checkbox("Open flags", key="review_open_flags")
    disagreement = checks[2].checkbox("Humans disagree", key="review_disagreement")
    judge_vs = checks[3].checkbox("Judge vs humans disagree", key="review_judge_vs")
    gold = checks[4].checkbox("Gold", key="review_gold")
    query = ItemQuery(
        campaign_id,
        search=search,
        split=None if split == ALL else split,
        category=None if category == ALL else category,
        flagged=flagged,
        open_flags=open_flags,
        disagreement=disagreement,
        judge_vs_humans=judge_vs,
        gold=gold,
        retired={"Not retired": False, "Retired only": True}.get(retired_choice),
    )
    items = run_or_error(browse_items, engine(), query, actor_id=actor.id)
    if items is None:
        st.stop()
    st.caption(
        f"{len(items)} comparison(s)"
        + (f", the first {query.limit} shown" if len(items) >= query.limit else "")
        + ". A and B are the stored order. Select a row, or follow its Open link."
    )
    shown = items.assign(
        human_majority=items["human_majority"].map(_verdict),
        judge_majority=items["judge_majority"].map(_verdict),
        adjudication=items["adjudication"].map(_verdict),
        check_kind=items["check_kind"].fillna(""),
        open=[f"review?campaign={campaign_id}&comparison={cid}" for cid in items["comparison_id"]],
    ).drop(columns=["expected_preference"])
    picked = st.dataframe(
        shown[list(HEADERS)].rename(columns=HEADERS),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=f"review_table_{campaign_id}",
        column_config={"Open": st.column_config.LinkColumn("Open", display_text="open")},
    )
    rows = picked.selection.rows if picked else []
    if rows and rows != st.session_state.get("review_rows"):
        st.session_state[OPEN] = int(items.iloc[rows[0]]["comparison_id"])
    st.session_state["review_rows"] = rows
    ids = list(items["comparison_id"])
    if st.session_state.get(OPEN) is not None and st.session_state[OPEN] not in ids:
        ids.append(st.session_state[OPEN])
    opened = st.selectbox(
        "Open comparison",
        [None, *ids],
        format_func=lambda cid: "—" if cid is None else f"#{cid}",
        key=OPEN,
    )


def _adjudicate(comparison_id: int, prefix: str, preference: int | None, both_bad: bool) -> None:
    note = st.session_state.get(f"{prefix}-rationale") or None
    _call(
        review.adjudicate,
        comparison_id,
        preference,
        both_bad,
        note,
        done=f"Adjudicated comparison #{comparison_id}: {_verdict(preference, both_bad)}.",
    )


def show_item(detail: ItemDetail, scale: str) -> None:
    cid = detail.comparison_id
    facts = [f"prompt {detail.prompt_id}"]
    facts += [f"category {detail.category}"] if detail.category else []
    facts += [f"split {detail.split}"] if detail.split else []
    st.subheader(f"Comparison #{cid}")
    st.caption(plain(", ".join(facts)))
    if detail.retired_at is not None:
        st.warning(f"Retired {_when(detail.retired_at)}: it is left out of every result.")
    if detail.check_kind:
        st.caption(
            f"{detail.check_kind.capitalize()} item, expected answer:"
            f" {_verdict(detail.expected_preference)}."
        )
    st.markdown(
        f"Response A is **{plain(detail.model_a)}**, Response B is"
        f" **{plain(detail.model_b)}** (stored order)."
    )
    adj = detail.adjudication
    previous = Answer(adj.preference, adj.both_bad, rationale=adj.note) if adj else None
    setup = RatingSetup(cid, "", "", "pairwise", scale, True, ())
    now = datetime.now(UTC)
    item = RateItem(
        cid,
        detail.messages,
        detail.output_a,
        detail.output_b,
        detail.turns_a,
        detail.turns_b,
        False,
        now,
        now,
    )
    if adj:
        st.info(
            plain(
                f"Adjudicated by {adj.admin} ({_when(adj.updated_at)}):"
                f" {_verdict(adj.preference, adj.both_bad)}"
                + (f". Note: {adj.note}" if adj.note else "")
            )
        )
    st.caption("Your verdict: pick it with the rater buttons below; the rationale is its note.")
    prefix = f"adjudicate-{cid}"
    answer_form(
        setup,
        item,
        prefix,
        lambda preference, both_bad: _adjudicate(cid, prefix, preference, both_bad),
        previous,
    )
    a, b, c = st.columns(3)
    if adj:
        a.button(
            "Use adjudication as gold",
            key=f"gold-{cid}",
            on_click=_call,
            args=(review.use_adjudication_as_gold, cid),
            kwargs={"done": f"Comparison #{cid} is now a gold item."},
        )
        b.button(
            "Remove adjudication",
            key=f"unadjudicate-{cid}",
            on_click=_call,
            args=(review.remove_adjudication, cid),
            kwargs={"done": f"Removed the adjudication of comparison #{cid}."},
        )
    if detail.retired_at is None:
        c.button(
            "Retire comparison",
            key=f"retire-{cid}",
            on_click=_call,
            args=(review.retire_comparison, cid),
            kwargs={"done": f"Retired comparison #{cid}: it leaves every result."},
        )
    else:
        c.button(
            "Bring back (unretire)",
            key=f"unretire-{cid}",
            on_click=_call,
            args=(review.unretire_comparison, cid),
            kwargs={"done": f"Comparison #{cid} counts again."},
        )

    st.markdown("**Votes**")
    if detail.votes:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Rater": v.rater,
                        "Kind": v.kind,
                        "When": _when(v.created_at),
                        "Shown": SHOWN.get(v.shown_order, "unknown"),
                        "Verdict": _verdict(v.preference, v.both_bad),
                        "Re-show": v.is_reshow,
                        "Excluded": v.excluded,
                        "Rationale": v.rationale or "",
                    }
                    for v in detail.votes
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("No votes on this comparison yet.")

    st.markdown("**Flags**")
    if not detail.flags:
        st.caption("Nobody flagged this comparison.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Flag": f.assignment_id,
                    "Rater": f.rater,
                    "Reason": f.reason or "",
                    "Flagged": _when(f.flagged_at),
                    "Status": f.status or "open",
                    "Resolved by": f.resolved_by or "",
                    "Resolved": _when(f.resolved_at),
                }
                for f in detail.flags
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    flags = {f.assignment_id: f for f in detail.flags}
    flag_id = st.selectbox(
        "Flag",
        list(flags),
        format_func=lambda fid: f"#{fid} by {flags[fid].rater} ({flags[fid].status or 'open'})",
        key=f"flag-pick-{cid}",
    )
    st.radio(
        "Resolution", list(RESOLUTIONS), format_func=RESOLUTIONS.get, key=f"flag-resolution-{cid}"
    )
    st.text_input("Note (optional)", key=f"flag-note-{cid}", max_chars=2000)
    left, right = st.columns(2)
    left.button(
        "Resolve flag", key=f"resolve-{cid}", type="primary", on_click=_resolve, args=(cid,)
    )
    if flags[flag_id].status is not None:
        right.button("Reopen flag", key=f"reopen-{cid}", on_click=_reopen, args=(cid,))


with items_tab:
    if opened is not None:
        detail = run_or_error(item_detail, engine(), int(opened), actor_id=actor.id)
        if detail is not None and detail.campaign_id == campaign_id:
            form = load_campaign_form(engine(), campaign_id, actor_id=actor.id)
            show_item(detail, form.settings.preference_scale)

with raters_tab:
    raters = run_or_error(campaign_raters, engine(), campaign_id, actor_id=actor.id)
    if raters is not None and not raters.empty:
        st.dataframe(
            raters.drop(columns=["rater_key"]).rename(
                columns={"rater": "Rater", "kind": "Kind", "votes": "Votes", "excluded": "Excluded"}
            ),
            hide_index=True,
            width="stretch",
        )
        names = dict(zip(raters["rater_key"], raters["rater"], strict=True))
        excluded = set(raters.loc[raters["excluded"], "rater_key"])
        key = st.selectbox(
            "Rater",
            list(names),
            format_func=lambda k: f"{names[k]} (excluded)" if k in excluded else names[k],
            key="review_rater",
        )
        if key in excluded:
            st.button(
                "Include again",
                key="review_include",
                on_click=_call,
                args=(review.include_rater, campaign_id, key),
                kwargs={"done": f"{names[key]}'s votes count again."},
            )
        else:
            st.text_input("Reason (optional)", key="review_reason", max_chars=2000)
            st.button(
                "Exclude from results",
                key="review_exclude",
                on_click=_exclude,
                args=(campaign_id, names[key]),
            )
    elif raters is not None:
        st.caption("No votes in this campaign yet.")

with log_tab:
    log = run_or_error(review.review_log, engine(), campaign_id, actor_id=actor.id)
    if log is not None and log.empty:
        st.caption("No review actions in this campaign yet.")
    elif log is not None:
        st.dataframe(
            log.assign(when=log["when"].map(_when)).rename(columns=str.capitalize),
            hide_index=True,
            width="stretch",
        )
