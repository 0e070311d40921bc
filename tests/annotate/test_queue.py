from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from annotate.items import Answer
from annotate.queue import next_item, progress, rateable_campaigns
from annotate.submission import skip, submit
from db.errors import PermissionDeniedError
from db.models import Assignment, Campaign, Comparison, Output, utcnow
from tests import factory


def _setup(engine, n_raters: int = 3, **kwargs):
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, **kwargs)
        users = factory.raters(s, n_raters)
        s.commit()
        return data["campaign"].id, [u.id for u in users], [c.id for c in data["comparisons"]]


def _assignment(engine, assignment_id: int) -> Assignment:
    with factory.session(engine) as s:
        return s.get(Assignment, assignment_id)


def test_a_refresh_returns_the_same_lease(engine) -> None:
    cid, (r1, *_), _ = _setup(engine)
    first = next_item(engine, r1, cid)
    again = next_item(engine, r1, cid)
    assert first is not None and again is not None
    assert again.assignment_id == first.assignment_id
    with factory.session(engine) as s:
        assert len(s.execute(select(Assignment)).all()) == 1


def test_fewest_done_plus_leased_comes_first(engine) -> None:
    cid, (r1, r2, r3), comps = _setup(engine, n_prompts=3, overlap=3)
    with factory.session(engine) as s:
        # Two comparisons already have a rating; the third has none and must come first.
        for comp_id in comps[:2]:
            s.get(Comparison, comp_id).n_done = 1
        s.commit()

    def comparison_for(rater: int) -> int:
        return _assignment(engine, next_item(engine, rater, cid).assignment_id).comparison_id

    assert comparison_for(r1) == comps[2]
    # All three now stand at one (done + leased); ties go to the fewest completed.
    assert comparison_for(r2) == comps[2]
    # comps[2] has two leases now, so it comes after the ones with a single rating, which
    # are served in the campaign's serving order.
    with factory.session(engine) as s:
        first = min(comps[:2], key=lambda c: (s.get(Comparison, c).serve_rank, c))
    assert comparison_for(r3) == first


def test_overlap_counts_leases_and_nobody_gets_a_comparison_twice(engine) -> None:
    cid, raters, comps = _setup(engine, n_raters=3, n_prompts=1, overlap=2)
    assert len(comps) == 1
    a1 = next_item(engine, raters[0], cid)
    a2 = next_item(engine, raters[1], cid)
    assert a1 is not None and a2 is not None
    assert next_item(engine, raters[2], cid) is None  # two leases fill overlap 2
    submit(engine, raters[0], a1.assignment_id, Answer(preference=-1))
    assert next_item(engine, raters[0], cid) is None  # judged it already
    skip(engine, raters[1], a2.assignment_id)
    assert next_item(engine, raters[1], cid) is None  # skipped it
    a3 = next_item(engine, raters[2], cid)  # the skip put it back in the pool
    assert a3 is not None
    submit(engine, raters[2], a3.assignment_id, Answer(preference=1))
    with factory.session(engine) as s:
        assert s.get(Comparison, comps[0]).n_done == 2


def test_an_expired_lease_goes_back_to_the_pool(engine) -> None:
    cid, (r1, r2, _), comps = _setup(engine, n_prompts=1, overlap=1)
    held = next_item(engine, r1, cid)
    assert next_item(engine, r2, cid) is None
    later = utcnow() + timedelta(seconds=601)
    other = next_item(engine, r2, cid, now=later)
    assert other is not None and other.assignment_id != held.assignment_id
    # r1's own expired lease is not handed out again to r1 while r2 holds the item.
    assert next_item(engine, r1, cid, now=later) is None


def test_left_right_order_is_random_per_assignment_and_stored(engine) -> None:
    cid, raters, _ = _setup(engine, n_raters=12, n_prompts=1, overlap=12)
    rng = random.Random(7)
    orders = set()
    for r in raters:
        item = next_item(engine, r, cid, rng=rng)
        a = _assignment(engine, item.assignment_id)
        orders.add(a.shown_order)
        with factory.session(engine) as s:
            comp = s.get(Comparison, a.comparison_id)
            left_output = comp.output_a_id if a.shown_order == "ab" else comp.output_b_id
            assert item.response_a == s.get(Output, left_output).content
    assert orders == {"ab", "ba"}


def test_gold_and_attention_items_are_mixed_in_and_look_the_same(engine) -> None:
    cid, (r1, *_), comps = _setup(engine, n_prompts=6, overlap=1)
    with factory.session(engine) as s:
        s.get(Campaign, cid).gold_rate = 0.5
        s.get(Comparison, comps[0]).check_kind = "gold"
        s.get(Comparison, comps[0]).expected_preference = -1
        s.get(Comparison, comps[1]).check_kind = "attention"
        s.get(Comparison, comps[1]).expected_preference = 1
        s.commit()
    rng = random.Random(1)
    kinds = []
    while (item := next_item(engine, r1, cid, rng=rng)) is not None:
        kinds.append(_assignment(engine, item.assignment_id).kind)
        assert set(vars(item)) >= {"response_a", "response_b"}
        assert "kind" not in vars(item) and "check_kind" not in vars(item)
        submit(engine, r1, item.assignment_id, Answer(preference=0))
    assert kinds.count("gold") == 1
    assert kinds.count("normal") == 4  # attention rate 0: that item never shows


def test_reshown_items_swap_sides_and_do_not_count_toward_overlap(engine) -> None:
    cid, (r1, *_), comps = _setup(engine, n_prompts=12, overlap=1, reshow_rate=0.3)
    rng = random.Random(3)
    seen: dict[int, list[str]] = {}
    reshows = 0
    while (item := next_item(engine, r1, cid, rng=rng)) is not None:
        a = _assignment(engine, item.assignment_id)
        seen.setdefault(a.comparison_id, []).append(a.shown_order)
        reshows += a.kind == "reshow"
        submit(engine, r1, item.assignment_id, Answer(preference=-1))
    assert reshows >= 1
    assert len(seen) == len(comps)
    for orders in seen.values():
        assert len(orders) in (1, 2)
        if len(orders) == 2:
            assert set(orders) == {"ab", "ba"}
    with factory.session(engine) as s:
        assert {c.n_done for (c,) in s.execute(select(Comparison)).all()} == {1}


def test_rater_quota_ends_the_queue_and_sets_the_progress_target(engine) -> None:
    cid, (r1, *_), _ = _setup(engine, n_prompts=5)
    with factory.session(engine) as s:
        s.get(Campaign, cid).rater_quota = 2
        s.commit()
    for _ in range(2):
        item = next_item(engine, r1, cid)
        submit(engine, r1, item.assignment_id, Answer(preference=1))
    assert next_item(engine, r1, cid) is None
    with factory.session(engine) as s:
        p = progress(engine, r1, cid)
    assert (p.done, p.target, p.fraction) == (2, 2, 1.0)


def test_only_allowed_raters_may_rate(engine) -> None:
    cid, (r1, r2, _), _ = _setup(engine)
    with factory.session(engine) as s:
        s.get(Campaign, cid).allowed_raters = [r1]
        s.commit()
        assert [c.id for c in rateable_campaigns(engine, r1)] == [cid]
        assert rateable_campaigns(engine, r2) == []
    assert next_item(engine, r1, cid) is not None
    with pytest.raises(PermissionDeniedError, match="ask an admin"):
        next_item(engine, r2, cid)


def test_imported_votes_of_a_rater_exclude_those_comparisons(engine) -> None:
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=2)
        rater = factory.user(s)
        factory.human_judgment(s, data["comparisons"][0], rater, -1, source="import")
        s.commit()
        cid, rid, other = data["campaign"].id, rater.id, data["comparisons"][1].id
    item = next_item(engine, rid, cid)
    assert _assignment(engine, item.assignment_id).comparison_id == other
