"""Judge prompt templates: plain text with named ``{placeholders}``, validated on save.

Templates use Python ``str.format`` syntax, so literal braces (a JSON example in the prompt)
are written ``{{`` and ``}}``. ``{answer_a}`` and ``{answer_b}`` are the answers in the order
*shown* to the judge: for shown order "ba" the first shown answer is the canonical B output.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from db.errors import InvalidInputError

TEMPLATE_KINDS = ("pairwise", "pairwise_reference", "rubric")

# Placeholders each kind may use, and those it must use (a pairwise prompt without the two
# answers cannot be judged).
ALLOWED: dict[str, tuple[str, ...]] = {
    "pairwise": ("question", "answer_a", "answer_b", "scale", "instructions"),
    "pairwise_reference": (
        "question",
        "answer_a",
        "answer_b",
        "reference",
        "scale",
        "instructions",
    ),
    "rubric": (
        "question",
        "answer",
        "criterion",
        "criterion_description",
        "scale",
        "reference",
        "instructions",
    ),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "pairwise": ("question", "answer_a", "answer_b"),
    "pairwise_reference": ("question", "answer_a", "answer_b", "reference"),
    "rubric": ("question", "answer", "criterion"),
}

PAIRWISE_SCALE_TEXT = {
    "3way": '"A" if the first answer is better, "B" if the second is better, or "tie"',
    "5way": (
        '"A>>B" (first answer much better), "A>B" (first slightly better), "A=B" (tie),'
        ' "B>A" (second slightly better) or "B>>A" (second much better)'
    ),
}

_PAIRWISE = """\
You are an impartial judge comparing two AI assistants' answers to the same user request.
{instructions}
Decide which answer serves the user better. Weigh correctness first, then helpfulness,
relevance, depth and clarity. Do not let the order of the answers, their length or the
assistants' names sway you; a longer answer is not a better one by default.

[User request]
{question}

[The Start of Assistant A's Answer]
{answer_a}
[The End of Assistant A's Answer]

[The Start of Assistant B's Answer]
{answer_b}
[The End of Assistant B's Answer]

Explain your reasoning in a few sentences, then give your verdict as JSON on the last line:
{{"reason": "<short explanation>", "verdict": <one of {scale}>}}
"""

_PAIRWISE_REFERENCE = """\
You are an impartial judge comparing two AI assistants' answers to the same user request.
A reference answer written by an expert is provided: use it to check correctness.
{instructions}
First compare both answers with the reference and point out mistakes. An answer that
contradicts the reference on a matter of fact is worse, however well written. Do not let the
order of the answers or their length sway you.

[User request]
{question}

[The Start of Reference Answer]
{reference}
[The End of Reference Answer]

[The Start of Assistant A's Answer]
{answer_a}
[The End of Assistant A's Answer]

[The Start of Assistant B's Answer]
{answer_b}
[The End of Assistant B's Answer]

Explain your reasoning in a few sentences, then give your verdict as JSON on the last line:
{{"reason": "<short explanation>", "verdict": <one of {scale}>}}
"""

_RUBRIC = """\
You are an impartial judge grading one AI assistant's answer on a single criterion.
{instructions}
Criterion: {criterion}
{criterion_description}

Judge only this criterion. Be strict and consistent: keep the top of the scale for answers
you could not improve on this criterion.

[User request]
{question}

[The Start of Assistant's Answer]
{answer}
[The End of Assistant's Answer]

Explain your grade in a sentence or two, then give it as JSON on the last line:
{{"reason": "<short explanation>", "score": <{scale}>}}
"""

BUILTIN_TEMPLATES: dict[str, str] = {
    "pairwise": _PAIRWISE,
    "pairwise_reference": _PAIRWISE_REFERENCE,
    "rubric": _RUBRIC,
}


def builtin_template(kind: str) -> str:
    """The project's own template for ``kind``."""
    _check_kind(kind)
    return BUILTIN_TEMPLATES[kind]


def _check_kind(kind: str) -> None:
    if kind not in TEMPLATE_KINDS:
        raise InvalidInputError(
            f"Template kind '{kind}' is not one of {', '.join(TEMPLATE_KINDS)}."
        )


def placeholders(template: str) -> list[str]:
    """Names of the ``{placeholders}`` in ``template``, in order of first use."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidInputError(
            f"Template is not valid: {exc}. Write literal braces as '{{{{' and '}}}}'."
        ) from None
    names: list[str] = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field == "" or not field.isidentifier():
            raise InvalidInputError(
                f"Template placeholder '{{{field}}}' is not a plain name: use e.g. {{question}};"
                " write literal braces as '{{' and '}}'."
            )
        if spec or conversion:
            raise InvalidInputError(
                f"Template placeholder '{{{field}}}' has a format spec or conversion: remove it"
                " (placeholders are replaced with plain text)."
            )
        if field not in names:
            names.append(field)
    return names


def validate_template(kind: str, template: str) -> None:
    """Raise InvalidInputError naming any unknown or missing placeholder."""
    _check_kind(kind)
    if not template.strip():
        raise InvalidInputError("The template is empty: write one or start from the built-in.")
    used = placeholders(template)
    allowed = ALLOWED[kind]
    listing = ", ".join(f"{{{a}}}" for a in allowed)
    for name in used:
        if name not in allowed:
            raise InvalidInputError(
                f"Unknown placeholder '{{{name}}}' in the {kind} template. Allowed: {listing}."
                " Write literal braces as '{{' and '}}'."
            )
    missing = [r for r in REQUIRED[kind] if r not in used]
    if missing:
        raise InvalidInputError(
            f"The {kind} template must use "
            + ", ".join(f"{{{m}}}" for m in missing)
            + f". Allowed placeholders: {listing}."
        )


@dataclass(frozen=True)
class PromptValues:
    """Everything a template may refer to, for one request."""

    question: str
    answer_a: str = ""
    answer_b: str = ""
    answer: str = ""
    reference: str = ""
    criterion: str = ""
    criterion_description: str = ""
    scale: str = ""
    instructions: str = ""


def render(template: str, values: PromptValues) -> str:
    """Fill ``template`` (already validated) with ``values``."""
    return template.format_map(values.__dict__)


def render_question(messages: list[dict[str, str]]) -> str:
    """A prompt's messages as text: the user turn alone, or a labelled transcript."""
    if len(messages) == 1:
        return str(messages[0].get("content", ""))
    lines = []
    for m in messages:
        role = str(m.get("role", "user")).capitalize()
        lines.append(f"{role}: {m.get('content', '')}")
    return "\n\n".join(lines)


def rubric_scale_text(scale: str, categories: Sequence[str] | None = None) -> str:
    """How a rubric criterion's scale reads inside a prompt."""
    if scale == "binary":
        return "0 (fails the criterion) or 1 (meets it)"
    if scale == "likert10":
        return "an integer from 1 (worst) to 10 (best)"
    if scale == "categories":
        names = ", ".join(f'"{c}"' for c in categories or [])
        return f"one of {names}"
    return "an integer from 1 (worst) to 5 (best)"


class CriterionLike(Protocol):
    name: str
    description: str
    scale: str
    categories: Sequence[str] | None


def default_judge_instructions(
    mode: str,
    criteria: Sequence[CriterionLike] = (),
    *,
    kind: str = "pairwise",
    answer_format: str | None = None,
) -> str:
    """What a judge is told when its campaign sets no judge instructions.

    A neutral statement of the task built from the campaign (``mode``: pairwise, rubric or
    both; the rubric criteria with their descriptions and scales) and the judge's own answer
    format (``answer_format``, e.g. ``PAIRWISE_SCALE_TEXT["3way"]``; None: the one asked for
    at the end of the prompt). Nothing written for human raters (keyboard hints, the
    known-answer checks, the raters' preference scale) ever goes into it.
    """
    rubric = list(criteria) if mode in ("rubric", "both") else []
    if kind == "rubric":
        lines = ["Task: grade a single answer on one criterion at a time."]
        if rubric:
            lines.append("The criteria of this evaluation:")
            lines += [
                f"- {_criterion_line(c)} (scale: {rubric_scale_text(c.scale, c.categories)})"
                for c in rubric
            ]
    else:
        lines = ["Task: compare two answers to the same request and decide which one is better."]
        if rubric:
            lines.append("Weigh them on these criteria:")
            lines += [f"- {_criterion_line(c)}" for c in rubric]
    lines.append(
        f"Verdict: {answer_format}, in the format asked for at the end."
        if answer_format
        else "Give the verdict in the format asked for at the end of this prompt."
    )
    return "\n".join(lines)


def _criterion_line(criterion: CriterionLike) -> str:
    description = " ".join((criterion.description or "").split())
    return f"{criterion.name}: {description}" if description else criterion.name
