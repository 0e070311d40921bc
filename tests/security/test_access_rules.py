"""Access rules: revisions obey the campaign rules submissions do, pages re-check access on
every run, and an admin demoted mid-session sees a message, not a traceback."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from sqlalchemy import select

from annotate.history import revise
from annotate.items import Answer
from annotate.queue import next_item
from annotate.submission import submit
from db.errors import PermissionDeniedError
from db.models import Campaign, Judgment
from tests import factory

# --- point 4: revisions obey the same rules as submissions ----------------------------------


def _archive(campaign: Campaign, rater_id: int, other_id: int) -> None:
    campaign.archived = True


def _remove_rater(campaign: Campaign, rater_id: int, other_id: int) -> None:
    campaign.allowed_raters = [other_id]


@pytest.mark.parametrize("close", [_archive, _remove_rater], ids=["archived", "rater_removed"])
def test_a_closed_campaign_refuses_revisions_like_submissions(
    engine, close: Callable[[Campaign, int, int], None]
) -> None:
    with factory.session(engine) as s:
        cid = factory.blind_campaign(s, n_prompts=2)["campaign"].id
        rater, other = factory.raters(s, 2)
        s.commit()
    rng = random.Random(3)
    first = next_item(engine, rater.id, cid, rng=rng)
    submit(engine, rater.id, first.assignment_id, Answer(-1))
    second = next_item(engine, rater.id, cid, rng=rng)
    with factory.session(engine) as s:
        judgment_id = s.execute(select(Judgment.id)).scalar_one()
        close(s.get(Campaign, cid), rater.id, other.id)
        s.commit()
    with pytest.raises(PermissionDeniedError, match="closed to you"):
        submit(engine, rater.id, second.assignment_id, Answer(1))
    with pytest.raises(PermissionDeniedError, match="closed to you"):
        revise(engine, rater.id, judgment_id, Answer(1))
    with factory.session(engine) as s:
        rows = s.execute(select(Judgment.preference, Judgment.is_current)).all()
    assert rows == [(-1, True)]
