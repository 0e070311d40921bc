"""Items raters flagged as broken, for the admins who promised to look at them."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from db.access import admin_only
from db.joins import CandA, CandB, comparison_joins
from db.models import Assignment, Prompt, User

FLAG_COLUMNS = [
    "comparison_id",
    "prompt",
    "category",
    "model_a",
    "model_b",
    "rater",
    "reason",
    "flagged_at",
]


def flagged_items(engine: Engine, campaign_id: int, *, actor_id: int) -> pd.DataFrame:
    """Every flag in the campaign, newest first, with the prompt, both models and the reason.

    Admins only: it names the models of blind campaigns and the raters.
    """
    admin_only(engine, actor_id)
    query = (
        comparison_joins(
            select(
                Assignment.comparison_id,
                Prompt.external_id,
                Prompt.category,
                CandA.name,
                CandB.name,
                User.handle,
                Assignment.flag_reason,
                Assignment.finished_at,
            ),
            Assignment.comparison_id,
        )
        .join(User, User.id == Assignment.rater_id)
        .where(Assignment.campaign_id == campaign_id, Assignment.status == "flagged")
        .order_by(Assignment.finished_at.desc(), Assignment.id.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)
