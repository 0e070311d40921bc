"""Reading a judge's verdicts back: swap resolution, position consistency, browsing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.errors import InvalidInputError
from db.joins import CandA, CandB, comparison_joins
from db.models import Judge, Judgment, Prompt
from judges.config import INCONSISTENT_AS
from metrics.vocabulary import judge_key, sign


@dataclass(frozen=True)
class ResolvedVerdict:
    """A judge's verdict on one comparison after position swapping.

    ``consistent`` is None when fewer than two scored orders exist (nothing to compare).
    """

    comparison_id: int
    preference: int | None
    pref_ab: int | None
    pref_ba: int | None
    consistent: bool | None


def resolve_pair(
    pref_ab: int | None, pref_ba: int | None, inconsistent_as: str = "tie"
) -> tuple[int | None, bool | None]:
    """Combine the canonical preferences from the two shown orders.

    Both orders must name the same winner (or both say tie) to be consistent; then the
    result is that winner with the weaker of the two strengths (the conservative reading).
    An inconsistent pair resolves to 0 (tie) or None (unscored) per ``inconsistent_as``.
    With one order unscored or missing, the other stands alone (consistency unknown).
    """
    if inconsistent_as not in INCONSISTENT_AS:
        raise InvalidInputError(
            f"inconsistent_as '{inconsistent_as}' is not one of {', '.join(INCONSISTENT_AS)}."
        )
    if pref_ab is None or pref_ba is None:
        return (pref_ab if pref_ab is not None else pref_ba), None
    if sign(pref_ab) != sign(pref_ba):
        return (0 if inconsistent_as == "tie" else None), False
    if pref_ab == 0:
        return 0, True
    return sign(pref_ab) * min(abs(pref_ab), abs(pref_ba)), True


def resolve_judge_verdicts(
    engine: Engine, judge_id: int, campaign_id: int, inconsistent_as: str | None = None
) -> list[ResolvedVerdict]:
    """One resolved verdict per comparison the judge has judged (current judgments only).

    ``inconsistent_as`` defaults to the judge's own setting.
    """
    with Session(engine) as session:
        return _resolve_judge_verdicts(session, judge_id, campaign_id, inconsistent_as)


def _resolve_judge_verdicts(
    session: Session, judge_id: int, campaign_id: int, inconsistent_as: str | None
) -> list[ResolvedVerdict]:
    judge = session.get(Judge, judge_id)
    if judge is None:
        raise InvalidInputError(f"No judge with id {judge_id}.")
    policy = inconsistent_as or judge.inconsistent_as
    rows = session.exec(
        select(Judgment.comparison_id, Judgment.shown_order, Judgment.preference)
        .where(
            Judgment.campaign_id == campaign_id,
            Judgment.rater_key == judge_key(judge_id),
            Judgment.is_current,
        )
        .order_by(Judgment.comparison_id)
    ).all()
    by_comparison: dict[int, dict[str, int | None]] = {}
    for cid, order, pref in rows:
        by_comparison.setdefault(cid, {})[order] = pref
    out = []
    for cid, prefs in by_comparison.items():
        ab, ba = prefs.get("ab"), prefs.get("ba")
        preference, consistent = resolve_pair(ab, ba, policy)
        out.append(ResolvedVerdict(cid, preference, ab, ba, consistent))
    return out


@dataclass(frozen=True)
class ConsistencySummary:
    """Position consistency of a judge on a campaign, for calibration reports."""

    n_comparisons: int
    n_consistent: int
    n_inconsistent: int
    n_unscored_judgments: int

    @property
    def consistency(self) -> float | None:
        judged = self.n_consistent + self.n_inconsistent
        return self.n_consistent / judged if judged else None


def position_consistency(engine: Engine, judge_id: int, campaign_id: int) -> ConsistencySummary:
    """How often the judge names the same winner in both shown orders."""
    with Session(engine) as session:
        verdicts = _resolve_judge_verdicts(session, judge_id, campaign_id, None)
        unscored = session.exec(
            select(func.count()).where(
                Judgment.campaign_id == campaign_id,
                Judgment.rater_key == judge_key(judge_id),
                Judgment.is_current,
                Judgment.preference.is_(None),
            )
        ).one()
    return ConsistencySummary(
        n_comparisons=len(verdicts),
        n_consistent=sum(1 for v in verdicts if v.consistent is True),
        n_inconsistent=sum(1 for v in verdicts if v.consistent is False),
        n_unscored_judgments=int(unscored),
    )


def browse_verdicts(
    engine: Engine,
    campaign_id: int,
    judge_id: int | None = None,
    *,
    actor_id: int,
    only_unscored: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Judge verdicts with the models compared, for the page's table (newest first).

    Admins only: it names the candidates.
    """
    query = (
        comparison_joins(
            select(
                Judgment.id,
                Judgment.comparison_id,
                Prompt.external_id,
                CandA.name,
                CandB.name,
                Judge.name,
                Judge.version,
                Judgment.shown_order,
                Judgment.preference,
                Judgment.both_bad,
                Judgment.rationale,
                Judgment.raw_reply,
                Judgment.source,
                Judgment.tokens_in,
                Judgment.tokens_out,
                Judgment.judge_run_id,
            )
        )
        .join(Judge, Judge.id == Judgment.judge_id)
        .where(Judgment.campaign_id == campaign_id, Judgment.rater_kind == "llm")
        .where(Judgment.is_current)
    )
    if judge_id is not None:
        query = query.where(Judgment.judge_id == judge_id)
    if only_unscored:
        query = query.where(Judgment.preference.is_(None))
    with Session(engine) as session:
        require_admin(session, actor_id)
        rows = session.exec(query.order_by(Judgment.id.desc()).offset(offset).limit(limit)).all()
    keys = (
        "judgment_id", "comparison_id", "prompt", "model_a", "model_b", "judge", "version",
        "shown_order", "preference", "both_bad", "rationale", "raw_reply", "source",
        "tokens_in", "tokens_out", "run_id",
    )  # fmt: skip
    return [dict(zip(keys, r, strict=True)) for r in rows]
