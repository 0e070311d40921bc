"""Many raters at once: nothing lost, nothing duplicated, no comparison above its overlap."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from annotate.items import Answer
from annotate.queue import next_item
from annotate.submission import submit
from db.models import Assignment, Comparison, Judgment
from tests import factory

RATERS = 16
PER_RATER = 200
OVERLAP = 3


@pytest.mark.slow
def test_parallel_raters_never_exceed_overlap_or_lose_a_vote(engine) -> None:
    # 400 prompts x 3 pairs = 1,200 comparisons x overlap 3 = 3,600 slots >= 16 x 200.
    campaign_id = factory.bulk_pairwise_campaign(engine, "crowd", 400, ("m1", "m2", "m3"))
    with factory.session(engine) as s:
        rater_ids = [u.id for u in factory.raters(s, RATERS)]
        s.commit()
    results: dict[int, list[int]] = {r: [] for r in rater_ids}
    errors: list[BaseException] = []
    start = threading.Barrier(RATERS)

    def work(rater_id: int) -> None:
        rng = random.Random(rater_id)
        try:
            start.wait()
            for _ in range(PER_RATER):
                item = next_item(engine, rater_id, campaign_id, rng=rng)
                assert item is not None, "queue ran dry while slots were left"
                answer = Answer(preference=rng.choice((-1, 0, 1)))
                results[rater_id].append(submit(engine, rater_id, item.assignment_id, answer))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in rater_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]

    submitted = [jid for ids in results.values() for jid in ids]
    assert len(submitted) == RATERS * PER_RATER
    with factory.session(engine) as s:
        stored = s.execute(select(Judgment.id, Judgment.comparison_id, Judgment.rater_key)).all()
        comparisons = dict(s.execute(select(Comparison.id, Comparison.n_done)).all())
        open_leases = s.execute(
            select(func.count()).select_from(Assignment).where(Assignment.status == "leased")
        ).scalar_one()
    # 0 lost: every id a rater got back is stored, and nothing else is.
    assert sorted(submitted) == sorted(jid for jid, _, _ in stored)
    # 0 duplicated: one judgment per rater and comparison.
    pairs = Counter((cid, key) for _, cid, key in stored)
    assert max(pairs.values()) == 1
    # Overlap holds, and n_done matches the judgments it counts.
    per_comparison = Counter(cid for _, cid, _ in stored)
    assert max(per_comparison.values()) <= OVERLAP
    assert all(comparisons[cid] == n for cid, n in per_comparison.items())
    assert sum(comparisons.values()) == RATERS * PER_RATER
    assert open_leases == 0
