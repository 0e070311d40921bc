"""What the rate and history pages see: frozen values, and how they are built from rows.

Positions only ("Response A" is whatever was shown on the left), never candidates. The
builders are pure; ``annotate.queue_sql`` reads the rows inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_RATER_TEXT = 10_000
"""The most characters a rater may type into a rationale or a flag reason."""


def without_nul(text: str | None) -> str | None:
    """``text`` with every NUL character removed.

    PostgreSQL refuses NUL in text columns where SQLite stores it; removing it before
    storing gives one behaviour on both databases (and nothing a rater could mean is lost).
    """
    return text.replace("\x00", "") if text and "\x00" in text else text


# --- values ------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionView:
    id: int
    name: str
    description: str
    scale: str
    categories: tuple[str, ...] | None = None

    def options(self) -> list[float]:
        """The values a score may take (categories are stored as their index)."""
        if self.scale == "binary":
            return [0.0, 1.0]
        if self.scale == "likert5":
            return [float(v) for v in range(1, 6)]
        if self.scale == "likert10":
            return [float(v) for v in range(1, 11)]
        return [float(i) for i in range(len(self.categories or ()))]

    def label(self, value: float) -> str:
        if self.scale == "binary":
            return "Yes" if value else "No"
        if self.scale == "categories" and self.categories:
            return self.categories[int(value)]
        return str(int(value))


@dataclass(frozen=True)
class RatingSetup:
    """What the rate page needs to know about a campaign (no candidate names)."""

    campaign_id: int
    name: str
    instructions: str
    mode: str
    preference_scale: str
    allow_both_bad: bool
    criteria: tuple[CriterionView, ...]
    allow_remote_images: bool = False
    """Render remote images in prompts, outputs and instructions (off: their address)."""

    @property
    def wants_preference(self) -> bool:
        return self.mode in ("pairwise", "both")

    @property
    def wants_scores(self) -> bool:
        return self.mode in ("rubric", "both") and bool(self.criteria)


@dataclass(frozen=True)
class Answer:
    """A rater's answer in the terms they saw it: "A" is the left/first response.

    ``preference`` is -2..2 (negative: Response A better); ``scores`` maps "A"/"B" to
    {criterion id: value}. NUL characters are removed from ``rationale`` on construction,
    so no answer ever stores one (PostgreSQL would refuse it; see ``without_nul``).
    """

    preference: int | None = None
    both_bad: bool = False
    scores: dict[str, dict[int, float]] = field(default_factory=dict)
    rationale: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rationale", without_nul(self.rationale))


@dataclass(frozen=True)
class RateItem:
    """One leased item as the rater sees it: positions, never candidates."""

    assignment_id: int
    messages: tuple[dict[str, str], ...]
    response_a: str
    response_b: str
    turns_a: tuple[str, ...] | None
    turns_b: tuple[str, ...] | None
    single: bool
    shown_at: datetime
    expires_at: datetime
    previous: Answer | None = None
    """The answer given before an undo, to pre-fill the form."""


@dataclass(frozen=True)
class Progress:
    """``done`` counts answered items only; skipped and flagged ones are counted apart."""

    done: int
    target: int
    skipped: int = 0
    flagged: int = 0

    @property
    def fraction(self) -> float:
        return min(self.done / self.target, 1.0) if self.target else 1.0

    def text(self) -> str:
        """ "3 of 10 done", then the skipped and flagged items when there are any."""
        parts = [f"{self.done} of {self.target} done"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if self.flagged:
            parts.append(f"{self.flagged} flagged")
        return " · ".join(parts)


@dataclass(frozen=True)
class CampaignChoice:
    id: int
    name: str


# --- built from rows -----------------------------------------------------------


def setup_from_rows(campaign: Mapping[str, Any], criteria: Iterable[Any]) -> RatingSetup:
    """A campaign row and its rubric rows (``Q_CRITERIA``) as the rate page shows them."""
    return RatingSetup(
        campaign_id=campaign["id"],
        name=campaign["name"],
        instructions=campaign["instructions"],
        mode=campaign["mode"],
        preference_scale=campaign["preference_scale"],
        allow_both_bad=campaign["allow_both_bad"],
        allow_remote_images=bool(campaign.get("allow_remote_images", False)),
        criteria=tuple(
            CriterionView(
                c.id, c.name, c.description, c.scale, tuple(c.categories) if c.categories else None
            )
            for c in criteria
        ),
    )


def answer_from_rows(judgment: Any, scores: Iterable[Any], shown_order: str) -> Answer:
    """A stored judgment (preference, both_bad, rationale, output_a_id, output_b_id) and its
    (output_id, criterion_id, value) scores, back in the terms the rater saw (A = left)."""
    sign = 1 if shown_order == "ab" else -1
    left = judgment.output_a_id if shown_order == "ab" else judgment.output_b_id
    by_side: dict[str, dict[int, float]] = {}
    for output_id, criterion_id, value in scores:
        by_side.setdefault("A" if output_id == left else "B", {})[criterion_id] = value
    return Answer(
        preference=None if judgment.preference is None else sign * judgment.preference,
        both_bad=judgment.both_bad,
        scores=by_side,
        rationale=judgment.rationale,
    )


def item_from_row(row: Mapping[str, Any], previous: Answer | None) -> RateItem:
    """A ``Q_VIEW`` row as its rater sees it (sides in the order they were shown)."""
    left, right = ("a", "b") if row["shown_order"] == "ab" else ("b", "a")
    return RateItem(
        assignment_id=row["id"],
        messages=tuple(dict(m) for m in row["messages"]),
        response_a=row[f"{left}_content"],
        response_b=row[f"{right}_content"],
        turns_a=tuple(row[f"{left}_turns"]) if row[f"{left}_turns"] else None,
        turns_b=tuple(row[f"{right}_turns"]) if row[f"{right}_turns"] else None,
        single=row["a_id"] == row["b_id"],
        shown_at=row["leased_at"],
        expires_at=row["expires_at"],
        previous=previous,
    )
