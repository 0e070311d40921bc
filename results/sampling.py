"""Were the human labels drawn at random? The check behind prediction-powered inference.

PPI (``metrics.blend``) corrects a judge with human labels and is valid only if the
labelled comparisons are a random sample of the comparisons. The queue makes them one: it
serves the comparisons with the fewest ratings first and, among equals, in the campaign's
seeded random ``serve_rank`` order (``annotate.serving``). So in a campaign rated through
the queue the labelled comparisons are the first ones by rank, give or take the items that
were served but not (yet) answered.

The rule, checked from the data on the campaign's ordinary comparisons (gold and attention
items are picked by hand and PPI leaves them out):

- ``L``: comparisons with a current, scored human vote that is not a re-show;
- ``U``: comparisons the queue handed out (an ordinary assignment of any status) that have
  no such vote: skipped, flagged, expired or still leased;
- the *serving prefix* is the first ``|L| + |U| + WINDOW`` comparisons by
  ``(serve_rank, id)``; ``WINDOW`` is the number of candidates the queue reads at a time,
  within which it may reorder by open leases;
- a labelled comparison beyond the prefix was not served by the queue in its order: it was
  imported, hand-picked, or labelled before comparisons were added or the order changed.

The labels count as a random sample when the campaign has a serving seed and at most
``TOLERANCE`` (5 %) of them lie beyond the prefix. Otherwise PPI still runs, with a warning
in words on the page, in the CLI and in the gate's message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from db.models import Assignment, Campaign, Comparison, Judgment
from results.votes import VoteFilter, scoped

WINDOW = 16
"""The queue's candidate window (``annotate.queue_sql.WINDOW``), as slack in the prefix."""
TOLERANCE = 0.05
"""Share of labelled comparisons allowed beyond the serving prefix."""


@dataclass(frozen=True)
class SampleCheck:
    """What the data says about how the human-labelled comparisons were chosen."""

    seeded: bool
    n_comparisons: int
    n_labelled: int
    n_served_unlabelled: int
    prefix: int
    n_outside: int

    @property
    def is_random(self) -> bool:
        return self.seeded and self.n_outside <= math.floor(TOLERANCE * self.n_labelled)

    def warning(self) -> str | None:
        """The warning to show beside PPI figures, or None when the check passes."""
        if not self.seeded:
            return (
                "This campaign has no serving seed (it was made before seeded serving): the"
                " queue served its comparisons in import order, so the human-labelled ones may"
                " not be a random sample and PPI intervals may be biased; label a random sample"
                " in a new campaign, or set a seed before rating starts (judgeboard campaign"
                " seed --set)."
            )
        if self.is_random:
            return None
        return (
            "The human-labelled comparisons were not drawn at random by the queue"
            f" ({self.n_outside} of {self.n_labelled} lie outside the serving order): PPI"
            " intervals may be biased; label a random sample with the queue."
        )


def labelled_sample_check(engine: Engine, campaign_id: int) -> SampleCheck:
    """Apply the module's rule to a campaign (no access check: callers have made it).

    Three reads: the labelled comparison ids (one pass over the covering vote index), the
    served ones, and the ordinary comparisons in serving order; the rest is counting.
    """
    labelled_ids = (
        scoped(engine, VoteFilter(campaign_id, rater_kind="human", scored_only=True))
        .apply(select(Judgment.comparison_id))
        .distinct()
    )
    served_ids = (
        select(Assignment.comparison_id)
        .where(Assignment.campaign_id == campaign_id, Assignment.kind == "normal")
        .distinct()
    )
    in_order = (
        select(Comparison.id)
        .where(
            Comparison.campaign_id == campaign_id,
            Comparison.check_kind.is_(None),
            Comparison.retired_at.is_(None),
        )
        .order_by(Comparison.serve_rank, Comparison.id)
    )
    with engine.connect() as conn:
        seed = conn.execute(select(Campaign.serve_seed).where(Campaign.id == campaign_id))
        seeded = seed.scalar() is not None
        labelled = set(conn.execute(labelled_ids).scalars())
        served = set(conn.execute(served_ids).scalars())
        order = conn.execute(in_order).scalars().all()
    is_labelled = [cid in labelled for cid in order]
    n_labelled = sum(is_labelled)
    n_unlabelled = sum(1 for cid in order if cid in served and cid not in labelled)
    prefix = min(n_labelled + n_unlabelled + WINDOW, len(order))
    n_outside = sum(is_labelled[prefix:])
    return SampleCheck(seeded, len(order), n_labelled, n_unlabelled, prefix, n_outside)
