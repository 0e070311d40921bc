from __future__ import annotations

from metrics.frames import VOTE_COLUMNS
from metrics.vocabulary import judge_key, user_key
from results.votes import VoteFilter, outcome_counts, rater_names, votes_frame
from tests import factory


def _campaign_with_votes(engine):
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=2, models=("m1", "m2"))
        alice, bob = factory.user(s, "alice@x.org"), factory.user(s, "bob@x.org")
        judge = factory.judge(s)
        first, second = data["comparisons"]
        factory.human_judgment(s, first, alice, -1, shown_order="ba", time_on_task_ms=4000)
        factory.human_judgment(s, first, bob, 0)
        factory.human_judgment(s, second, alice, 2)
        old = factory.human_judgment(s, second, bob, -2)
        old.is_current = False
        factory.human_judgment(s, second, bob, 1, version=2)
        for order, pref in (("ab", -1), ("ba", 1)):
            factory.judge_judgment(s, first, judge, pref, order)
        s.commit()
        return data["campaign"].id, alice.id, judge.id


def test_votes_frame_follows_the_metrics_contract(engine) -> None:
    campaign_id, alice_id, _ = _campaign_with_votes(engine)
    frame = votes_frame(engine, VoteFilter(campaign_id))
    assert tuple(frame.columns) == VOTE_COLUMNS
    assert len(frame) == 6  # 5 human rows, one superseded, + 2 judge rows
    alice_first = frame[(frame.rater == user_key(alice_id)) & (frame.preference == -1)].iloc[0]
    assert (alice_first.model_a, alice_first.model_b) == ("m1", "m2")
    assert alice_first.shown_order == "ba"
    assert alice_first.time_on_task_ms == 4000
    assert alice_first.len_a == len("m1 answer 0")


def test_superseded_revisions_are_left_out(engine) -> None:
    campaign_id, _, _ = _campaign_with_votes(engine)
    frame = votes_frame(engine, VoteFilter(campaign_id, rater_kind="human"))
    assert sorted(frame.preference.tolist()) == [-1.0, 0.0, 1.0, 2.0]


def test_outcome_counts_aggregate_wins_and_ties_per_pair(engine) -> None:
    campaign_id, _, judge_id = _campaign_with_votes(engine)
    humans = outcome_counts(engine, VoteFilter(campaign_id, rater_kind="human"))
    assert humans.to_dict("records") == [
        {"model_a": "m1", "model_b": "m2", "wins_a": 1, "wins_b": 2, "ties": 1}
    ]
    judge = outcome_counts(engine, VoteFilter(campaign_id, judge_id=judge_id))
    assert judge[["wins_a", "wins_b", "ties"]].iloc[0].tolist() == [1, 1, 0]


def test_category_filter_keeps_only_that_category(engine) -> None:
    campaign_id, _, _ = _campaign_with_votes(engine)
    frame = votes_frame(engine, VoteFilter(campaign_id, category="coding"))
    assert set(frame.category) == {"coding"}
    assert len(frame) == 2


def test_rater_names_resolve_users_and_judge_versions(engine) -> None:
    campaign_id, alice_id, judge_id = _campaign_with_votes(engine)
    names = rater_names(engine, campaign_id)
    assert names[user_key(alice_id)] == "alice@x.org"
    assert names[judge_key(judge_id)] == "gpt-judge@v1"
