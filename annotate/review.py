"""Review and adjudication (admins): act on what raters and judges report.

Every action here is an admin's, refused for anyone else before anything is read or written,
and each one writes its ``ReviewAction`` row (who, what, when) in the same transaction as
the change itself, reversals included:

- resolve a rater's flag as reviewed, fixed or retired (retiring the comparison with it),
  or reopen it;
- adjudicate a comparison: the admin's own verdict, stored apart from rater votes (an
  ``Adjudication``, never a ``Judgment``), and usable as the comparison's gold answer;
- retire a comparison (it leaves every result and is no longer served) or bring it back;
- exclude a rater's votes from a campaign's results (the votes are kept) or include them
  again.
"""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy import delete, exists, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from annotate.items import MAX_RATER_TEXT, without_nul
from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import (
    Adjudication,
    Assignment,
    Campaign,
    Comparison,
    Judge,
    Judgment,
    RaterExclusion,
    ReviewAction,
    User,
    utcnow,
)
from metrics.vocabulary import judge_label

FLAG_RESOLUTIONS = ("reviewed", "fixed", "retired")
ACTIONS = (
    "resolve_flag",
    "reopen_flag",
    "adjudicate",
    "remove_adjudication",
    "adjudication_as_gold",
    "retire",
    "unretire",
    "exclude_rater",
    "include_rater",
)
LOG_COLUMNS = ["when", "admin", "action", "comparison_id", "rater", "detail"]
_RATER_KEY = re.compile(r"^(u|j):([0-9]+)$")


def _log(
    s: Session,
    campaign_id: int,
    actor_id: int,
    action: str,
    *,
    comparison_id: int | None = None,
    rater_key: str | None = None,
    detail: str | None = None,
) -> None:
    s.add(
        ReviewAction(
            campaign_id=campaign_id,
            actor_id=actor_id,
            action=action,
            comparison_id=comparison_id,
            rater_key=rater_key,
            detail=detail,
        )
    )


def _note(text: str | None) -> str | None:
    text = without_nul(text)
    if text is not None and len(text) > MAX_RATER_TEXT:
        raise InvalidInputError(
            f"A note may have at most {MAX_RATER_TEXT:,} characters, this one has"
            f" {len(text):,}: shorten it."
        )
    if text is None or not text.strip():
        return None
    return text.strip()


def _comparison(s: Session, comparison_id: int) -> Comparison:
    comp = s.get(Comparison, comparison_id)
    if comp is None:
        raise NotFoundError(f"No comparison with id {comparison_id}: reload the page.")
    return comp


def _retire(s: Session, comp: Comparison, actor_id: int, detail: str | None) -> bool:
    """Retire ``comp`` unless it already is; hands back its open leases that carry no vote."""
    if comp.retired_at is not None:
        return False
    comp.retired_at = utcnow()
    s.add(comp)
    s.execute(
        delete(Assignment).where(
            Assignment.comparison_id == comp.id,
            Assignment.status == "leased",
            ~exists().where(Judgment.assignment_id == Assignment.id),
        )
    )
    _log(s, comp.campaign_id, actor_id, "retire", comparison_id=comp.id, detail=detail)
    return True


# --- flags ---------------------------------------------------------------------------------


def resolve_flag(
    engine: Engine, assignment_id: int, resolution: str, *, actor_id: int, note: str | None = None
) -> None:
    """Close a rater's flag as "reviewed", "fixed" or "retired"; "retired" also retires the
    flagged comparison (it leaves every result). Resolving again changes the resolution."""
    if resolution not in FLAG_RESOLUTIONS:
        raise InvalidInputError(
            f"A flag is resolved as one of {', '.join(FLAG_RESOLUTIONS)}, not '{resolution}'."
        )
    note = _note(note)
    with write_session(engine) as s:
        require_admin(s, actor_id)
        assignment = s.get(Assignment, assignment_id)
        if assignment is None or assignment.status != "flagged":
            raise NotFoundError(f"No flag with id {assignment_id}: reload the page.")
        assignment.flag_status = resolution
        assignment.flag_resolved_by = actor_id
        assignment.flag_resolved_at = utcnow()
        s.add(assignment)
        _log(
            s,
            assignment.campaign_id,
            actor_id,
            "resolve_flag",
            comparison_id=assignment.comparison_id,
            rater_key=f"u:{assignment.rater_id}",
            detail=resolution if note is None else f"{resolution}: {note}",
        )
        if resolution == "retired":
            comp = _comparison(s, assignment.comparison_id)
            _retire(s, comp, actor_id, f"flag {assignment_id}")
        s.commit()


def reopen_flag(engine: Engine, assignment_id: int, *, actor_id: int) -> None:
    """Mark a resolved flag open again (a comparison it retired stays retired: unretire it
    on its own)."""
    with write_session(engine) as s:
        require_admin(s, actor_id)
        assignment = s.get(Assignment, assignment_id)
        if assignment is None or assignment.status != "flagged":
            raise NotFoundError(f"No flag with id {assignment_id}: reload the page.")
        if assignment.flag_status is None:
            raise InvalidInputError("This flag is open already: nothing to reopen.")
        was = assignment.flag_status
        assignment.flag_status = None
        assignment.flag_resolved_by = None
        assignment.flag_resolved_at = None
        s.add(assignment)
        _log(
            s,
            assignment.campaign_id,
            actor_id,
            "reopen_flag",
            comparison_id=assignment.comparison_id,
            rater_key=f"u:{assignment.rater_id}",
            detail=f"was {was}",
        )
        s.commit()


# --- adjudication --------------------------------------------------------------------------


def adjudicate(
    engine: Engine,
    comparison_id: int,
    preference: int | None,
    both_bad: bool = False,
    note: str | None = None,
    *,
    actor_id: int,
) -> None:
    """Store (or replace) an admin's verdict on a comparison, in canonical terms (negative:
    output A better). It is no rater's vote: results never count it."""
    if preference is None and not both_bad:
        raise InvalidInputError(
            "An adjudication needs a verdict: a preference from -2 (A much better) to 2"
            " (B much better), or both bad."
        )
    if preference is not None and (isinstance(preference, bool) or preference not in range(-2, 3)):
        raise InvalidInputError(
            f"Preference {preference!r} is not a whole number from -2 (A much better) to 2"
            " (B much better)."
        )
    note = _note(note)
    with write_session(engine) as s:
        require_admin(s, actor_id)
        comp = _comparison(s, comparison_id)
        row = s.execute(
            select(Adjudication).where(Adjudication.comparison_id == comparison_id)
        ).scalar_one_or_none()
        now = utcnow()
        if row is None:
            row = Adjudication(
                campaign_id=comp.campaign_id, comparison_id=comparison_id, admin_id=actor_id
            )
            row.created_at = now
        row.admin_id = actor_id
        row.preference = preference
        row.both_bad = both_bad
        row.note = note
        row.updated_at = now
        s.add(row)
        verdict = "both bad" if preference is None else f"preference {preference:+d}"
        if both_bad and preference is not None:
            verdict += ", both bad"
        _log(
            s,
            comp.campaign_id,
            actor_id,
            "adjudicate",
            comparison_id=comparison_id,
            detail=verdict if note is None else f"{verdict}: {note}",
        )
        s.commit()


def remove_adjudication(engine: Engine, comparison_id: int, *, actor_id: int) -> None:
    """Delete a comparison's adjudication (its gold status, if any, stays: change it on
    Campaign setup)."""
    with write_session(engine) as s:
        require_admin(s, actor_id)
        comp = _comparison(s, comparison_id)
        row = s.execute(
            select(Adjudication).where(Adjudication.comparison_id == comparison_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError("This comparison has no adjudication to remove.")
        s.delete(row)
        _log(s, comp.campaign_id, actor_id, "remove_adjudication", comparison_id=comparison_id)
        s.commit()


def use_adjudication_as_gold(engine: Engine, comparison_id: int, *, actor_id: int) -> None:
    """Make the comparison a gold item whose expected answer is its adjudication."""
    with write_session(engine) as s:
        require_admin(s, actor_id)
        comp = _comparison(s, comparison_id)
        row = s.execute(
            select(Adjudication).where(Adjudication.comparison_id == comparison_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError("Adjudicate this comparison first: gold needs a known answer.")
        if row.preference is None:
            raise InvalidInputError(
                "A 'both bad' adjudication has no preference to check raters against: pick A,"
                " tie or B to use it as gold."
            )
        comp.check_kind = "gold"
        comp.expected_preference = row.preference
        s.add(comp)
        _log(
            s,
            comp.campaign_id,
            actor_id,
            "adjudication_as_gold",
            comparison_id=comparison_id,
            detail=f"expected preference {row.preference:+d}",
        )
        s.commit()


# --- retiring comparisons ------------------------------------------------------------------


def retire_comparison(
    engine: Engine, comparison_id: int, *, actor_id: int, note: str | None = None
) -> bool:
    """Retire a comparison: it leaves every result and the queue; its votes are kept.

    Returns False when it was retired already (nothing written)."""
    note = _note(note)
    with write_session(engine) as s:
        require_admin(s, actor_id)
        changed = _retire(s, _comparison(s, comparison_id), actor_id, note)
        s.commit()
    return changed


def unretire_comparison(engine: Engine, comparison_id: int, *, actor_id: int) -> bool:
    """Bring a retired comparison back into results and the queue. False if it was not
    retired (nothing written)."""
    with write_session(engine) as s:
        require_admin(s, actor_id)
        comp = _comparison(s, comparison_id)
        if comp.retired_at is None:
            return False
        comp.retired_at = None
        s.add(comp)
        _log(s, comp.campaign_id, actor_id, "unretire", comparison_id=comparison_id)
        s.commit()
    return True


# --- excluding raters ----------------------------------------------------------------------


def _check_rater(s: Session, rater_key: str) -> None:
    match = _RATER_KEY.match(rater_key or "")
    if match is None:
        raise InvalidInputError(
            f"'{rater_key}' is not a rater key: use u:<user id> or j:<judge id>."
        )
    table = User if match.group(1) == "u" else Judge
    if s.get(table, int(match.group(2))) is None:
        raise NotFoundError(f"No rater {rater_key}: pick a rater from the item's votes.")


def exclude_rater(
    engine: Engine,
    campaign_id: int,
    rater_key: str,
    *,
    actor_id: int,
    reason: str | None = None,
) -> bool:
    """Leave a rater's (or judge's) votes in a campaign out of every result; the votes are
    kept. Returns False when the rater was excluded already (nothing written)."""
    reason = _note(reason)
    with write_session(engine) as s:
        require_admin(s, actor_id)
        if s.get(Campaign, campaign_id) is None:
            raise NotFoundError(f"No campaign with id {campaign_id}: pick one from the list.")
        _check_rater(s, rater_key)
        present = s.execute(
            select(RaterExclusion.id).where(
                RaterExclusion.campaign_id == campaign_id, RaterExclusion.rater_key == rater_key
            )
        ).first()
        if present is not None:
            return False
        s.add(
            RaterExclusion(
                campaign_id=campaign_id, rater_key=rater_key, excluded_by=actor_id, reason=reason
            )
        )
        _log(s, campaign_id, actor_id, "exclude_rater", rater_key=rater_key, detail=reason)
        s.commit()
    return True


def include_rater(engine: Engine, campaign_id: int, rater_key: str, *, actor_id: int) -> bool:
    """Count an excluded rater's votes again. False if the rater was not excluded."""
    with write_session(engine) as s:
        require_admin(s, actor_id)
        gone = s.execute(
            delete(RaterExclusion).where(
                RaterExclusion.campaign_id == campaign_id, RaterExclusion.rater_key == rater_key
            )
        ).rowcount
        if not gone:
            return False
        _log(s, campaign_id, actor_id, "include_rater", rater_key=rater_key)
        s.commit()
    return True


def excluded_raters(engine: Engine, campaign_id: int, *, actor_id: int) -> pd.DataFrame:
    """``rater_key, rater, excluded_by, reason, excluded_at`` for the campaign (admins only)."""
    with Session(engine) as s:
        require_admin(s, actor_id)
        rows = s.execute(
            select(
                RaterExclusion.rater_key,
                User.handle,
                RaterExclusion.reason,
                RaterExclusion.created_at,
            )
            .join(User, User.id == RaterExclusion.excluded_by)
            .where(RaterExclusion.campaign_id == campaign_id)
            .order_by(RaterExclusion.created_at, RaterExclusion.id)
        ).all()
        names = _rater_names(s, [key for key, *_ in rows])
    return pd.DataFrame(
        [(key, names.get(key, key), by, reason, at) for key, by, reason, at in rows],
        columns=["rater_key", "rater", "excluded_by", "reason", "excluded_at"],
    )


def _rater_names(s: Session, keys: list[str]) -> dict[str, str]:
    users = [int(k[2:]) for k in keys if k and k.startswith("u:")]
    judges = [int(k[2:]) for k in keys if k and k.startswith("j:")]
    names: dict[str, str] = {}
    if users:
        for uid, handle in s.execute(select(User.id, User.handle).where(User.id.in_(users))):
            names[f"u:{uid}"] = handle
    if judges:
        for jid, name, version in s.execute(
            select(Judge.id, Judge.name, Judge.version).where(Judge.id.in_(judges))
        ):
            names[f"j:{jid}"] = judge_label(name, version)
    return names


# --- the log -------------------------------------------------------------------------------


def review_log(
    engine: Engine, campaign_id: int, *, actor_id: int, limit: int = 500
) -> pd.DataFrame:
    """The campaign's review actions, newest first: when, which admin, what, on which
    comparison or rater, and the detail (admins only)."""
    with Session(engine) as s:
        require_admin(s, actor_id)
        rows = s.execute(
            select(
                ReviewAction.created_at,
                User.handle,
                ReviewAction.action,
                ReviewAction.comparison_id,
                ReviewAction.rater_key,
                ReviewAction.detail,
            )
            .join(User, User.id == ReviewAction.actor_id)
            .where(ReviewAction.campaign_id == campaign_id)
            .order_by(ReviewAction.created_at.desc(), ReviewAction.id.desc())
            .limit(limit)
        ).all()
        names = _rater_names(s, [r[4] for r in rows])
    return pd.DataFrame(
        [
            (at, who, action, cid, names.get(key, key) if key else None, detail)
            for at, who, action, cid, key, detail in rows
        ],
        columns=LOG_COLUMNS,
    )
