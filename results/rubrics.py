"""Rubric results for one campaign: per criterion and model, the mean score with an
interval and the distribution of scores, humans and each judge apart (admins only)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from db.access import admin_only
from db.errors import NotFoundError
from db.models import Campaign, Candidate, Output, Prompt, RubricCriterion
from metrics.rubric import HUMAN, rubric_summary, score_distribution
from metrics.vocabulary import missing_to_none
from results.votes import VoteFilter, scoped, scores_frame

MISSING = "—"


@dataclass(frozen=True)
class CriterionScale:
    """A rubric criterion, its scale, and the values a score may take there."""

    name: str
    scale: str
    categories: tuple[str, ...] = ()

    def values(self) -> list[float]:
        """Possible values, as stored (a category is stored as its index)."""
        if self.scale == "binary":
            return [0.0, 1.0]
        if self.scale == "likert5":
            return [float(v) for v in range(1, 6)]
        if self.scale == "likert10":
            return [float(v) for v in range(1, 11)]
        return [float(i) for i in range(len(self.categories))]

    def label(self, value: float) -> str:
        """The value as a rater saw it: Yes/No, a category name, or the number."""
        if self.scale == "binary" and value in (0.0, 1.0):
            return "Yes" if value else "No"
        if self.scale == "categories" and float(value).is_integer():
            index = int(value)
            if 0 <= index < len(self.categories):
                return self.categories[index]
        return f"{value:g}"


@dataclass(frozen=True)
class RubricReport:
    """``summary``: metrics.rubric.SUMMARY_COLUMNS; ``distribution``: DISTRIBUTION_COLUMNS
    plus ``label`` (the value as raters saw it)."""

    criteria: list[CriterionScale]
    summary: pd.DataFrame
    distribution: pd.DataFrame
    level: float
    notes: list[str] = field(default_factory=list)

    @property
    def scorers(self) -> list[str]:
        """Who scored: "human" first (when present), then each judge label."""
        return list(dict.fromkeys(self.summary["scored_by"]))

    def criterion_table(self, criterion: str) -> pd.DataFrame:
        """One row per model; per scorer the mean, its interval and n, as display text.

        A model nobody of that kind scored shows "—", never 0. A Yes/No criterion's mean is
        the share of Yes, shown as a percentage like the page's other shares.
        """
        binary = any(c.name == criterion and c.scale == "binary" for c in self.criteria)
        number, interval = (_share, _share_interval) if binary else (_number, _interval)
        part = self.summary[self.summary["criterion"] == criterion]
        table = pd.DataFrame({"model": sorted(set(part["model"]))})
        pct = round(self.level * 100)
        for by in self.scorers:
            rows = part[part["scored_by"] == by].set_index("model").reindex(table["model"])
            name = "humans" if by == HUMAN else by
            table[f"{name} mean"] = [number(v) for v in rows["mean"]]
            table[f"{name} {pct}% CI"] = [
                interval(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
            ]
            table[f"{name} n"] = [str(int(v)) for v in rows["n"]]
        return table

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "criteria": [
                {"name": c.name, "scale": c.scale, "categories": list(c.categories)}
                for c in self.criteria
            ],
            "summary": _records(self.summary),
            "distribution": _records(self.distribution),
            "notes": list(self.notes),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: missing_to_none(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _number(value: float) -> str:
    return MISSING if value is None or math.isnan(value) else f"{value:.2f}"


def _share(value: float) -> str:
    return MISSING if value is None or math.isnan(value) else f"{value:.0%} Yes"


def _share_interval(low: float, high: float) -> str:
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return MISSING
    return f"{low:.0%} to {high:.0%}"


def _interval(low: float, high: float) -> str:
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return MISSING
    return f"{low:.2f} to {high:.2f}"


def campaign_rubrics(
    engine: Engine,
    campaign_id: int,
    *,
    actor_id: int,
    category: str | None = None,
    split: str | None = None,
    level: float = 0.95,
) -> RubricReport:
    """Rubric scores of the campaign per criterion and model, humans and each judge apart.

    Counts current judgments and leaves re-shown items out (the one vote filter), so a
    rater's second look at an output does not count twice. Admins only.
    """
    admin_only(engine, actor_id)
    with engine.connect() as conn:
        if conn.execute(select(Campaign.id).where(Campaign.id == campaign_id)).first() is None:
            raise NotFoundError(
                f"No campaign with id {campaign_id}: pick one from `judgeboard campaign list`."
            )
        criteria = [
            CriterionScale(name, scale, tuple(categories or ()))
            for name, scale, categories in conn.execute(
                select(RubricCriterion.name, RubricCriterion.scale, RubricCriterion.categories)
                .where(RubricCriterion.campaign_id == campaign_id)
                .order_by(RubricCriterion.position, RubricCriterion.id)
            ).all()
        ]
        models = list(
            conn.execute(
                select(Candidate.name)
                .join(Output, Output.candidate_id == Candidate.id)
                .join(Prompt, Prompt.id == Output.prompt_id)
                .where(Prompt.campaign_id == campaign_id)
                .distinct()
            ).scalars()
        )
    flt = scoped(engine, VoteFilter(campaign_id, category=category, split=split))
    scores = scores_frame(engine, flt)
    names = [c.name for c in criteria]
    summary = rubric_summary(scores, models=models, criteria=names, level=level)
    distribution = score_distribution(scores, values={c.name: c.values() for c in criteria})
    by_name = {c.name: c for c in criteria}
    labels = [
        by_name[c].label(v) if c in by_name else f"{v:g}"
        for c, v in zip(distribution["criterion"], distribution["value"], strict=True)
    ]
    distribution = distribution.assign(label=labels)
    notes = []
    if not criteria:
        notes.append(
            "This campaign has no rubric criteria: add them on the Campaign setup page to have"
            " raters and judges score each output."
        )
    elif scores.empty:
        notes.append(
            "No rubric scores yet: they appear once raters or a rubric judge score outputs."
        )
    if (note := flt.left_out.note()) is not None:
        notes.append(note)
    return RubricReport(criteria, summary, distribution, level, notes)
