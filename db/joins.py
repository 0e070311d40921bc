"""The joins from a judgment (or a comparison) to its prompt and both candidates, spelled once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import aliased

from db.models import Candidate, Comparison, Judgment, Output, Prompt

OutA, OutB = aliased(Output), aliased(Output)
CandA, CandB = aliased(Candidate), aliased(Candidate)


def output_joins(query: Select) -> Select:
    """From a query that has ``Comparison``: join both outputs (``OutA``/``OutB``)."""
    return query.join(OutA, OutA.id == Comparison.output_a_id).join(
        OutB, OutB.id == Comparison.output_b_id
    )


def candidate_joins(query: Select, *, with_prompt: bool = True) -> Select:
    """From a query that has ``Comparison``: join its prompt (unless ``with_prompt`` is
    False, for scans that need only the two candidates) and both outputs' candidates."""
    if with_prompt:
        query = query.join(Prompt, Prompt.id == Comparison.prompt_id)
    return (
        output_joins(query)
        .join(CandA, CandA.id == OutA.candidate_id)
        .join(CandB, CandB.id == OutB.candidate_id)
    )


def comparison_joins(query: Select, comparison_id: Any = Judgment.comparison_id) -> Select:
    """Join the comparison, its prompt and both outputs' candidates (``CandA``/``CandB``)."""
    return candidate_joins(query.join(Comparison, Comparison.id == comparison_id))
