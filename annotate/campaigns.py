"""Campaign queries: create, find, list with progress counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from annotate.serving import check_seed, new_serve_seed
from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import (
    MODES,
    PREFERENCE_SCALES,
    SCALES,
    Campaign,
    Comparison,
    Judgment,
    Prompt,
    RubricCriterion,
    utcnow,
)

MODE_NAMES = {
    "pairwise": "Pairwise (which response is better)",
    "rubric": "Single-output rubric",
    "both": "Both (preference and rubric)",
}


class CampaignExistsError(InvalidInputError):
    """The name is taken (raised by ``_create_campaign``, the name being unique)."""


@dataclass(frozen=True)
class CriterionSpec:
    name: str
    description: str = ""
    scale: str = "likert5"
    categories: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CampaignSummary:
    id: int
    name: str
    mode: str
    overlap: int
    n_prompts: int
    n_comparisons: int
    n_human_judgments: int
    n_judge_judgments: int


def get_campaign(engine: Engine, name: str) -> Campaign:
    """The campaign called ``name`` (detached: its columns stay readable)."""
    with Session(engine, expire_on_commit=False) as session:
        return _get_campaign(session, name)


def _get_campaign(session: Session, name: str) -> Campaign:
    campaign = session.exec(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        known = ", ".join(session.exec(select(Campaign.name).order_by(Campaign.name)).all())
        hint = f" Known campaigns: {known}." if known else " No campaigns exist yet."
        raise NotFoundError(
            f"No campaign named '{name}': create it by importing outputs"
            f" (judgeboard import outputs FILE --campaign '{name}').{hint}"
        )
    return campaign


def _validate(mode: str, preference_scale: str, overlap: int, rates: dict[str, float]) -> None:
    if mode not in MODES:
        raise InvalidInputError(f"Mode '{mode}' is not one of {', '.join(MODES)}.")
    if preference_scale not in PREFERENCE_SCALES:
        raise InvalidInputError(
            f"Preference scale '{preference_scale}' is not one of {', '.join(PREFERENCE_SCALES)}."
        )
    if overlap < 1:
        raise InvalidInputError(f"Overlap must be at least 1 rating per comparison, got {overlap}.")
    for name, rate in rates.items():
        if not 0.0 <= rate <= 0.5:
            raise InvalidInputError(f"{name} must be between 0 and 0.5, got {rate}.")


def validate_criteria(criteria: list[CriterionSpec]) -> None:
    seen: set[str] = set()
    for c in criteria:
        if not c.name.strip():
            raise InvalidInputError("Every rubric criterion needs a name.")
        if c.name in seen:
            raise InvalidInputError(f"Rubric criterion '{c.name}' is listed twice.")
        seen.add(c.name)
        if c.scale not in SCALES:
            raise InvalidInputError(
                f"Rubric criterion '{c.name}': scale '{c.scale}' is not one of {', '.join(SCALES)}."
            )
        if c.scale == "categories" and not c.categories:
            raise InvalidInputError(
                f"Rubric criterion '{c.name}': a 'categories' scale needs its category names."
            )


def create_campaign(engine: Engine, name: str, *, actor_id: int, **settings: Any) -> Campaign:
    """Create a campaign with its rubric and commit it (admins only); returns it detached.

    ``settings`` are ``_create_campaign``'s keywords (instructions, mode, preference_scale,
    overlap, criteria, gold/attention/reshow rates, lease_seconds, allow_both_bad, serve_seed,
    allow_remote_images).

    Idempotent on the name: when the campaign exists (another admin, a retried request or a
    second tab created it, even at the same moment) it is returned as it is, provided every
    setting given here matches it; otherwise InvalidInputError names the settings that
    differ. Settings not given are not compared.
    """
    for attempt in range(2):
        try:
            with write_session(engine) as session:
                require_admin(session, actor_id)
                existing = session.exec(
                    select(Campaign).where(Campaign.name == name.strip())
                ).first()
                if existing is not None:
                    _check_same_settings(session, existing, settings)
                    return existing
                campaign = _create_campaign(session, name, **settings)
                session.commit()
                return campaign
        except (IntegrityError, CampaignExistsError):
            # PostgreSQL: another admin inserted the name after our read (the unique name
            # refused our insert, or the check before it saw theirs). Read it and compare.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _check_same_settings(session: Session, campaign: Campaign, settings: dict[str, Any]) -> None:
    """Refuse, naming them, the given settings that differ from an existing campaign's."""
    differ = []
    for key, wanted in settings.items():
        if key == "criteria":
            stored = [
                (c.name, c.description, c.scale, tuple(c.categories) if c.categories else None)
                for c in _criteria_for(session, campaign.id)
            ]
            given = [
                (c.name, c.description, c.scale, tuple(c.categories) if c.categories else None)
                for c in wanted or []
            ]
            if stored != given:
                differ.append("criteria")
        elif key == "serve_seed" and wanted is None:
            continue
        elif getattr(campaign, key) != wanted:
            differ.append(f"{key} ({getattr(campaign, key)!r} there, {wanted!r} here)")
    if differ:
        raise InvalidInputError(
            f"A campaign named '{campaign.name}' already exists with other settings:"
            f" {', '.join(differ)}. Edit it on the campaign setup page, or pick another name."
        )


def _create_campaign(
    session: Session,
    name: str,
    *,
    instructions: str = "",
    mode: str = "pairwise",
    preference_scale: str = "3way",
    overlap: int = 3,
    criteria: list[CriterionSpec] | None = None,
    gold_rate: float = 0.0,
    attention_rate: float = 0.0,
    reshow_rate: float = 0.0,
    lease_seconds: int = 600,
    allow_both_bad: bool = True,
    serve_seed: int | None = None,
    allow_remote_images: bool = False,
) -> Campaign:
    """Create a campaign in the caller's transaction (flushes, does not commit).

    ``serve_seed`` fixes the random order the queue serves comparisons in (give one to
    reproduce an order); by default a fresh one is drawn. The caller checks that its actor
    is an admin.
    """
    name = name.strip()
    if not name:
        raise InvalidInputError("A campaign needs a name.")
    if session.exec(select(Campaign.id).where(Campaign.name == name)).first() is not None:
        raise CampaignExistsError(f"A campaign named '{name}' already exists: pick another name.")
    _validate(
        mode,
        preference_scale,
        overlap,
        {
            "Gold rate": gold_rate,
            "Attention-check rate": attention_rate,
            "Re-show rate": reshow_rate,
        },
    )
    criteria = criteria or []
    validate_criteria(criteria)
    campaign = Campaign(
        name=name,
        instructions=instructions,
        mode=mode,
        preference_scale=preference_scale,
        overlap=overlap,
        gold_rate=gold_rate,
        attention_rate=attention_rate,
        reshow_rate=reshow_rate,
        lease_seconds=lease_seconds,
        allow_both_bad=allow_both_bad,
        allow_remote_images=allow_remote_images,
        serve_seed=new_serve_seed() if serve_seed is None else check_seed(serve_seed),
    )
    session.add(campaign)
    session.flush()
    for position, c in enumerate(criteria):
        session.add(
            RubricCriterion(
                campaign_id=campaign.id,
                name=c.name,
                description=c.description,
                scale=c.scale,
                categories=list(c.categories) if c.categories else None,
                position=position,
            )
        )
    session.flush()
    return campaign


def _get_or_create_campaign(session: Session, name: str) -> Campaign:
    """In the caller's transaction (importers); the caller checks that its actor is an admin.

    Safe when two imports create the same new campaign at once (issue 13, point 20): the
    insert runs in a savepoint, and when the other import's campaign wins the unique name
    (PostgreSQL waits for its commit, then refuses ours) ours is rolled back to the
    savepoint and theirs is read and returned. On SQLite the importers' BEGIN IMMEDIATE
    already serialises them.
    """
    query = select(Campaign).where(Campaign.name == name.strip())
    existing = session.exec(query).first()
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            return _create_campaign(session, name)
    except (IntegrityError, CampaignExistsError):
        existing = session.exec(query).first()
        if existing is None:
            raise
        return existing


def touch(engine: Engine, campaign_id: int) -> None:
    """Mark a campaign as changed now (a no-op for an unknown id)."""
    with Session(engine) as session:
        _touch(session, campaign_id)
        session.commit()


def _touch(session: Session, campaign_id: int) -> None:
    campaign = session.get(Campaign, campaign_id)
    if campaign is not None:
        campaign.updated_at = utcnow()
        session.add(campaign)


def list_campaigns(engine: Engine) -> list[CampaignSummary]:
    with Session(engine) as session:
        return _list_campaigns(session)


def _list_campaigns(session: Session) -> list[CampaignSummary]:
    prompts = dict(
        session.exec(select(Prompt.campaign_id, func.count()).group_by(Prompt.campaign_id)).all()
    )
    comparisons = dict(
        session.exec(
            select(Comparison.campaign_id, func.count()).group_by(Comparison.campaign_id)
        ).all()
    )
    votes: dict[tuple[int, str], int] = {
        (cid, kind): n
        for cid, kind, n in session.exec(
            select(Judgment.campaign_id, Judgment.rater_kind, func.count())
            .where(Judgment.is_current)
            .group_by(Judgment.campaign_id, Judgment.rater_kind)
        ).all()
    }
    return [
        CampaignSummary(
            id=c.id,
            name=c.name,
            mode=c.mode,
            overlap=c.overlap,
            n_prompts=prompts.get(c.id, 0),
            n_comparisons=comparisons.get(c.id, 0),
            n_human_judgments=votes.get((c.id, "human"), 0),
            n_judge_judgments=votes.get((c.id, "llm"), 0),
        )
        for c in session.exec(select(Campaign).order_by(Campaign.created_at, Campaign.id)).all()
    ]


def criteria_for(engine: Engine, campaign_id: int) -> list[RubricCriterion]:
    """A campaign's rubric criteria in form order (detached)."""
    with Session(engine, expire_on_commit=False) as session:
        return _criteria_for(session, campaign_id)


def _criteria_for(session: Session, campaign_id: int) -> list[RubricCriterion]:
    return list(
        session.exec(
            select(RubricCriterion)
            .where(RubricCriterion.campaign_id == campaign_id)
            .order_by(RubricCriterion.position)
        ).all()
    )
