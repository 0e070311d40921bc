"""One comparison in full, for an admin reviewing a disagreement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.errors import NotFoundError
from db.models import Candidate, Comparison, Judge, Judgment, Output, Prompt, User
from metrics.vocabulary import judge_label


@dataclass(frozen=True)
class ComparisonDetail:
    comparison_id: int
    messages: list[dict[str, str]]
    reference: str | None
    model_a: str
    model_b: str
    output_a: str
    output_b: str
    votes: list[dict]


def comparison_detail(engine: Engine, comparison_id: int, *, actor_id: int) -> ComparisonDetail:
    """The prompt, both outputs with their models, and every current vote (admins only)."""
    with Session(engine) as session:
        require_admin(session, actor_id)
        return _detail(session, comparison_id)


def _detail(session: Session, comparison_id: int) -> ComparisonDetail:
    comp = session.get(Comparison, comparison_id)
    if comp is None:
        raise NotFoundError(f"No comparison with id {comparison_id}: refresh the page.")
    prompt = session.get(Prompt, comp.prompt_id)
    outputs = {}
    for side, output_id in (("a", comp.output_a_id), ("b", comp.output_b_id)):
        output = session.get(Output, output_id)
        outputs[side] = (session.get(Candidate, output.candidate_id).name, output.content)
    rows = session.exec(
        select(Judgment, User.handle, Judge.name, Judge.version)
        .outerjoin(User, User.id == Judgment.user_id)
        .outerjoin(Judge, Judge.id == Judgment.judge_id)
        .where(Judgment.comparison_id == comparison_id, Judgment.is_current)
        .order_by(Judgment.id)
    ).all()
    votes = [
        {
            "rater": handle or judge_label(judge, version),
            "kind": j.rater_kind,
            "shown_order": j.shown_order,
            "preference": j.preference,
            "both_bad": j.both_bad,
            "rationale": j.rationale,
        }
        for j, handle, judge, version in rows
    ]
    return ComparisonDetail(
        comparison_id,
        prompt.messages,
        prompt.reference,
        outputs["a"][0],
        outputs["b"][0],
        outputs["a"][1],
        outputs["b"][1],
        votes,
    )
