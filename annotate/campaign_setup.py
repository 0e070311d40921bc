"""Create and edit campaigns: settings, rubric, raters, and gold / attention-check items.

Editing never rewrites a judgment. Once a campaign has human judgments its preference scale
is fixed (stored -2/+2 votes would fall off a 3-way scale), and a rubric criterion that has
scores keeps its scale and cannot be deleted (its scores would go with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from annotate.campaigns import CriterionSpec, _create_campaign, validate_criteria
from db.access import admin_only, require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.joins import CandA, CandB, candidate_joins
from db.models import (
    MODES,
    PREFERENCE_SCALES,
    Campaign,
    Comparison,
    Judgment,
    JudgmentScore,
    Prompt,
    RubricCriterion,
    User,
    utcnow,
)

CHECK_KINDS = ("gold", "attention")
MAX_RATE = 0.5


@dataclass(frozen=True)
class CriterionEdit:
    """A rubric criterion as the setup form holds it; ``id`` None means a new one."""

    name: str
    description: str = ""
    scale: str = "likert5"
    categories: tuple[str, ...] | None = None
    id: int | None = None
    n_scores: int = 0


@dataclass(frozen=True)
class CampaignSettings:
    name: str
    instructions: str = ""
    mode: str = "pairwise"
    preference_scale: str = "3way"
    allow_both_bad: bool = True
    overlap: int = 3
    gold_rate: float = 0.0
    attention_rate: float = 0.0
    reshow_rate: float = 0.0
    lease_seconds: int = 600
    rater_quota: int | None = None
    blind: bool = True
    allow_remote_images: bool = False
    """Raters' browsers load remote images (off: shown as their address in text)."""
    allowed_raters: tuple[int, ...] | None = None
    """None: every active user may rate."""
    criteria: tuple[CriterionEdit, ...] = field(default_factory=tuple)
    judge_instructions: str | None = None
    """What LLM judges are told; None (or blank): a neutral statement of the task."""


@dataclass(frozen=True)
class CampaignForm:
    id: int | None
    settings: CampaignSettings
    n_human_judgments: int


@dataclass(frozen=True)
class CheckRow:
    """A comparison as the admin sees it when choosing gold / attention items."""

    comparison_id: int
    prompt: str
    model_a: str
    model_b: str
    check_kind: str | None
    expected_preference: int | None


def validate_settings(settings: CampaignSettings) -> None:
    if not settings.name.strip():
        raise InvalidInputError("A campaign needs a name.")
    if settings.mode not in MODES:
        raise InvalidInputError(f"Mode '{settings.mode}' is not one of {', '.join(MODES)}.")
    if settings.preference_scale not in PREFERENCE_SCALES:
        raise InvalidInputError(
            f"Preference scale '{settings.preference_scale}' is not one of"
            f" {', '.join(PREFERENCE_SCALES)}."
        )
    if settings.overlap < 1:
        raise InvalidInputError(
            f"Ratings per comparison must be at least 1, got {settings.overlap}."
        )
    rates = {
        "Gold rate": settings.gold_rate,
        "Attention-check rate": settings.attention_rate,
        "Re-show rate": settings.reshow_rate,
    }
    for label, rate in rates.items():
        if not 0.0 <= rate <= MAX_RATE:
            raise InvalidInputError(f"{label} must be between 0 and {MAX_RATE}, got {rate}.")
    if sum(rates.values()) > 0.75:
        raise InvalidInputError(
            "Gold, attention-check and re-show rates add up to more than 0.75: lower one, or"
            " raters would see mostly checks."
        )
    if settings.lease_seconds < 30:
        raise InvalidInputError(
            f"A lease of {settings.lease_seconds} s is too short to read two answers: use 30"
            " seconds or more."
        )
    if settings.rater_quota is not None and settings.rater_quota < 1:
        raise InvalidInputError("Items per rater must be at least 1 (or empty for no limit).")
    if settings.mode in ("rubric", "both") and not settings.criteria:
        raise InvalidInputError(
            f"Mode '{settings.mode}' scores outputs on a rubric: add at least one criterion."
        )
    validate_criteria(
        [CriterionSpec(c.name, c.description, c.scale, c.categories) for c in settings.criteria]
    )


def _score_counts(session: Session, campaign_id: int) -> dict[int, int]:
    return dict(
        session.execute(
            select(JudgmentScore.criterion_id, func.count())
            .join(RubricCriterion, RubricCriterion.id == JudgmentScore.criterion_id)
            .where(RubricCriterion.campaign_id == campaign_id)
            .group_by(JudgmentScore.criterion_id)
        ).all()
    )


def _human_judgments(session: Session, campaign_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Judgment)
        .where(Judgment.campaign_id == campaign_id, Judgment.rater_kind == "human")
    ).scalar_one()


def load_campaign_form(engine: Engine, campaign_id: int, *, actor_id: int) -> CampaignForm:
    """A campaign's settings and rubric with score counts, for the setup form (admins only)."""
    with Session(engine) as session:
        require_admin(session, actor_id)
        return _load_campaign_form(session, campaign_id)


def _load_campaign_form(session: Session, campaign_id: int) -> CampaignForm:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"No campaign with id {campaign_id}: pick one from the list.")
    counts = _score_counts(session, campaign_id)
    criteria = session.execute(
        select(RubricCriterion)
        .where(RubricCriterion.campaign_id == campaign_id)
        .order_by(RubricCriterion.position, RubricCriterion.id)
    ).scalars()
    settings = CampaignSettings(
        name=campaign.name,
        instructions=campaign.instructions,
        mode=campaign.mode,
        preference_scale=campaign.preference_scale,
        allow_both_bad=campaign.allow_both_bad,
        overlap=campaign.overlap,
        gold_rate=campaign.gold_rate,
        attention_rate=campaign.attention_rate,
        reshow_rate=campaign.reshow_rate,
        lease_seconds=campaign.lease_seconds,
        rater_quota=campaign.rater_quota,
        blind=campaign.blind,
        allow_remote_images=campaign.allow_remote_images,
        allowed_raters=(
            None if campaign.allowed_raters is None else tuple(campaign.allowed_raters)
        ),
        criteria=tuple(
            CriterionEdit(
                c.name,
                c.description,
                c.scale,
                tuple(c.categories) if c.categories else None,
                c.id,
                counts.get(c.id, 0),
            )
            for c in criteria
        ),
        judge_instructions=campaign.judge_instructions,
    )
    return CampaignForm(campaign.id, settings, _human_judgments(session, campaign_id))


def _apply(campaign: Campaign, settings: CampaignSettings) -> None:
    campaign.name = settings.name.strip()
    campaign.instructions = settings.instructions
    judge_text = settings.judge_instructions
    campaign.judge_instructions = judge_text if judge_text and judge_text.strip() else None
    campaign.mode = settings.mode
    campaign.preference_scale = settings.preference_scale
    campaign.allow_both_bad = settings.allow_both_bad
    campaign.overlap = settings.overlap
    campaign.gold_rate = settings.gold_rate
    campaign.attention_rate = settings.attention_rate
    campaign.reshow_rate = settings.reshow_rate
    campaign.lease_seconds = settings.lease_seconds
    campaign.rater_quota = settings.rater_quota
    campaign.blind = settings.blind
    campaign.allow_remote_images = settings.allow_remote_images
    campaign.allowed_raters = (
        None if settings.allowed_raters is None else sorted(set(settings.allowed_raters))
    )
    campaign.updated_at = utcnow()


def save_campaign(
    engine: Engine,
    settings: CampaignSettings,
    campaign_id: int | None = None,
    *,
    actor_id: int,
) -> int:
    """Create (``campaign_id`` None) or update a campaign and its rubric; returns its id.

    Admins only.
    """
    admin_only(engine, actor_id)
    validate_settings(settings)
    # BEGIN IMMEDIATE on SQLite: a read-then-write transaction would otherwise fail with
    # "database is locked" whenever a rater commits in between (issue 13, point 20).
    with write_session(engine) as s:
        clash = s.execute(
            select(Campaign.id).where(Campaign.name == settings.name.strip())
        ).scalar_one_or_none()
        if clash is not None and clash != campaign_id:
            raise InvalidInputError(
                f"A campaign named '{settings.name.strip()}' already exists: pick another name."
            )
        if campaign_id is None:
            campaign = _create_campaign(
                s,
                settings.name,
                criteria=[
                    CriterionSpec(c.name, c.description, c.scale, c.categories)
                    for c in settings.criteria
                ],
                mode=settings.mode,
                preference_scale=settings.preference_scale,
                overlap=settings.overlap,
            )
            _apply(campaign, settings)
            s.commit()
            return campaign.id
        campaign = s.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFoundError(f"No campaign with id {campaign_id}: pick one from the list.")
        if (
            settings.preference_scale != campaign.preference_scale
            and _human_judgments(s, campaign_id) > 0
        ):
            raise InvalidInputError(
                f"'{campaign.name}' already has human judgments on the"
                f" {campaign.preference_scale} scale: keep that scale, or create a new campaign"
                " for the other one."
            )
        _save_criteria(s, campaign_id, settings.criteria)
        _apply(campaign, settings)
        s.commit()
        return campaign.id


def _save_criteria(session: Session, campaign_id: int, wanted: tuple[CriterionEdit, ...]) -> None:
    existing = {
        c.id: c
        for c in session.execute(
            select(RubricCriterion).where(RubricCriterion.campaign_id == campaign_id)
        ).scalars()
    }
    counts = _score_counts(session, campaign_id)
    kept = {c.id for c in wanted if c.id is not None}
    unknown = kept - set(existing)
    if unknown:
        raise InvalidInputError(
            f"Rubric criteria {sorted(unknown)} belong to another campaign: reload the page."
        )
    for cid in set(existing) - kept:
        if counts.get(cid):
            raise InvalidInputError(
                f"Criterion '{existing[cid].name}' has {counts[cid]} scores and cannot be"
                " deleted: keep it (rename or re-describe it if needed), or create a new"
                " campaign without it."
            )
        session.execute(delete(RubricCriterion).where(RubricCriterion.id == cid))
    # Free the names first so renames that swap two names do not trip the unique key.
    for c in wanted:
        if c.id is not None:
            session.execute(
                update(RubricCriterion)
                .where(RubricCriterion.id == c.id)
                .values(name=f"__renaming_{c.id}")
            )
    session.flush()
    for position, c in enumerate(wanted):
        categories = list(c.categories) if c.categories else None
        if c.id is None:
            session.add(
                RubricCriterion(
                    campaign_id=campaign_id,
                    name=c.name.strip(),
                    description=c.description,
                    scale=c.scale,
                    categories=categories,
                    position=position,
                )
            )
            continue
        old = existing[c.id]
        changed_scale = old.scale != c.scale or (old.categories or None) != categories
        if counts.get(c.id) and changed_scale:
            raise InvalidInputError(
                f"Criterion '{c.name}' has {counts[c.id]} scores on its {old.scale} scale:"
                " its scale and categories cannot change. Add a new criterion instead."
            )
        session.execute(
            update(RubricCriterion)
            .where(RubricCriterion.id == c.id)
            .values(
                name=c.name.strip(),
                description=c.description,
                scale=c.scale,
                categories=categories,
                position=position,
            )
        )
    session.flush()


def rater_choices(engine: Engine, *, actor_id: int) -> list[tuple[int, str]]:
    """Active users as (id, label) for the "who may rate" picker (admins only)."""
    with Session(engine) as session:
        require_admin(session, actor_id)
        rows = session.execute(
            select(User.id, User.handle, User.display_name).where(User.active).order_by(User.handle)
        ).all()
    return [(uid, f"{name} ({handle})" if name else handle) for uid, handle, name in rows]


def check_rows(
    engine: Engine, campaign_id: int, *, actor_id: int, limit: int = 2000
) -> list[CheckRow]:
    """Comparisons with candidate names, check items first (admins only)."""
    with Session(engine) as session:
        require_admin(session, actor_id)
        return _check_rows(session, campaign_id, limit)


def _check_rows(session: Session, campaign_id: int, limit: int) -> list[CheckRow]:
    query = select(
        Comparison.id,
        Prompt.external_id,
        CandA.name,
        CandB.name,
        Comparison.check_kind,
        Comparison.expected_preference,
    ).select_from(Comparison)
    rows = session.execute(
        candidate_joins(query)
        .where(Comparison.campaign_id == campaign_id)
        .order_by(Comparison.check_kind.is_(None), Comparison.id)
        .limit(limit)
    ).all()
    return [CheckRow(*r) for r in rows]


def _check_valid(kind: str | None, expected_preference: int | None) -> None:
    if kind is not None and kind not in CHECK_KINDS:
        raise InvalidInputError(f"Check kind '{kind}' is not one of {', '.join(CHECK_KINDS)}.")
    if kind is not None and (expected_preference is None or not -2 <= expected_preference <= 2):
        raise InvalidInputError(
            "A gold or attention item needs its expected answer: a preference from -2 (A much"
            " better) to 2 (B much better)."
        )


def set_check(
    engine: Engine,
    comparison_id: int,
    kind: str | None,
    expected_preference: int | None = None,
    *,
    actor_id: int,
) -> None:
    """Make a comparison a gold / attention item with its expected answer, or a normal one.

    ``expected_preference`` is in canonical terms (negative: output A better). Admins only.
    """
    set_checks(engine, [(comparison_id, kind, expected_preference)], actor_id=actor_id)


def set_checks(
    engine: Engine, changes: list[tuple[int, str | None, int | None]], *, actor_id: int
) -> int:
    """Apply several (comparison id, kind, expected preference) changes at once; all or none.

    Admins only.
    """
    admin_only(engine, actor_id)
    for _, kind, expected in changes:
        _check_valid(kind, expected)
    with Session(engine) as s:
        for comparison_id, kind, expected in changes:
            comparison = s.get(Comparison, comparison_id)
            if comparison is None:
                raise NotFoundError(f"No comparison with id {comparison_id}: reload the page.")
            comparison.check_kind = kind
            comparison.expected_preference = expected if kind else None
            s.add(comparison)
        s.commit()
    return len(changes)
