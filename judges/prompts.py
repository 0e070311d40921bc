"""Build the provider requests for one judge task from a comparison's content."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from db.joins import OutA, OutB, output_joins
from db.models import Campaign, Comparison, Prompt, RubricCriterion
from judges.config import JudgeSpec
from judges.providers import ProviderRequest, build_request
from judges.templates import (
    PAIRWISE_SCALE_TEXT,
    PromptValues,
    default_judge_instructions,
    render,
    render_question,
    rubric_scale_text,
)


@dataclass(frozen=True)
class ComparisonContent:
    comparison_id: int
    messages: list[dict[str, str]]
    reference: str | None
    output_a_id: int
    output_b_id: int
    answer_a: str
    answer_b: str

    @property
    def single(self) -> bool:
        return self.output_a_id == self.output_b_id


@dataclass(frozen=True)
class CriterionInfo:
    id: int
    name: str
    description: str
    scale: str
    categories: list[str] | None


@dataclass(frozen=True)
class PlannedRequest:
    """One request of a task; ``criterion`` is set for rubric grading."""

    prompt: str
    request: ProviderRequest
    criterion: CriterionInfo | None = None
    output_id: int | None = None


@dataclass(frozen=True)
class CampaignContext:
    """What a judge prompt takes from its campaign; never the raters' instructions."""

    mode: str = "pairwise"
    judge_instructions: str | None = None
    criteria: list[CriterionInfo] = field(default_factory=list)

    def instructions_for(self, kind: str, answer_format: str) -> str:
        """The campaign's judge instructions, or the neutral default for this judge."""
        if self.judge_instructions and self.judge_instructions.strip():
            return self.judge_instructions
        return default_judge_instructions(
            self.mode, self.criteria, kind=kind, answer_format=answer_format
        )


def load_context(session: Session, campaign_id: int) -> CampaignContext:
    campaign = session.get(Campaign, campaign_id)
    criteria = session.exec(
        select(RubricCriterion)
        .where(RubricCriterion.campaign_id == campaign_id)
        .order_by(RubricCriterion.position, RubricCriterion.id)
    ).all()
    return CampaignContext(
        mode=campaign.mode if campaign else "pairwise",
        judge_instructions=campaign.judge_instructions if campaign else None,
        criteria=[
            CriterionInfo(c.id, c.name, c.description, c.scale, list(c.categories or []))
            for c in criteria
        ],
    )


def load_contents(session: Session, comparison_ids: Iterable[int]) -> dict[int, ComparisonContent]:
    ids = sorted(set(comparison_ids))
    if not ids:
        return {}
    query = select(
        Comparison.id,
        Prompt.messages,
        Prompt.reference,
        Comparison.output_a_id,
        Comparison.output_b_id,
        OutA.content,
        OutB.content,
    ).join(Prompt, Prompt.id == Comparison.prompt_id)
    rows = session.execute(output_joins(query).where(Comparison.id.in_(ids))).all()
    return {r[0]: ComparisonContent(*r) for r in rows}


def random_order(content_hash: str, comparison_id: int) -> str:
    """The shown order for swap policy "random": fixed per judge config and comparison."""
    digest = hashlib.sha256(f"{content_hash}:{comparison_id}".encode()).digest()
    return "ab" if digest[0] % 2 == 0 else "ba"


def plan_requests(
    spec: JudgeSpec,
    ctx: CampaignContext,
    content: ComparisonContent,
    shown_order: str,
    api_key: str | None,
) -> list[PlannedRequest]:
    """The rendered prompts and HTTP requests a task needs (one per criterion for rubric)."""
    question = render_question(content.messages)
    template = spec.template or ""
    if spec.template_kind == "rubric":
        planned = []
        for c in ctx.criteria:
            scale = rubric_scale_text(c.scale, c.categories)
            values = PromptValues(
                question=question,
                answer=content.answer_a,
                reference=content.reference or "",
                criterion=c.name,
                criterion_description=c.description,
                scale=scale,
                instructions=ctx.instructions_for("rubric", scale),
            )
            prompt = render(template, values)
            planned.append(
                PlannedRequest(prompt, build_request(spec, prompt, api_key), c, content.output_a_id)
            )
        return planned
    first, second = (
        (content.answer_a, content.answer_b)
        if shown_order == "ab"
        else (content.answer_b, content.answer_a)
    )
    scale = PAIRWISE_SCALE_TEXT[spec.params.get("scale", "3way")]
    values = PromptValues(
        question=question,
        answer_a=first,
        answer_b=second,
        reference=content.reference or "",
        scale=scale,
        instructions=ctx.instructions_for(spec.template_kind, scale),
    )
    prompt = render(template, values)
    return [PlannedRequest(prompt, build_request(spec, prompt, api_key))]
