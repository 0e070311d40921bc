"""The joins from a judgment (or a comparison) to its prompt and both candidates, spelled once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import aliased

from db.models import Candidate, Comparison, Judgment, Output, Prompt

OutA, OutB = aliased(Output), aliased(Output)
CandA, CandB = aliased(Candidate), aliased(Candidate)


def comparison_joins(query: Select, comparison_id: Any = Judgment.comparison_id) -> Select:
    """Join the comparison, its prompt and both outputs' candidates (``CandA``/``CandB``)."""
    return (
        query.join(Comparison, Comparison.id == comparison_id)
        .join(Prompt, Prompt.id == Comparison.prompt_id)
        .join(OutA, OutA.id == Comparison.output_a_id)
        .join(OutB, OutB.id == Comparison.output_b_id)
        .join(CandA, CandA.id == OutA.candidate_id)
        .join(CandB, CandB.id == OutB.candidate_id)
    )
