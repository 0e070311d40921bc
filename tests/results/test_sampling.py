"""PPI checks that the human labels were drawn at random, and says so when they were not."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import update
from sqlmodel import select
from typer.testing import CliRunner

from db.models import Campaign, Comparison
from results.gate import gate
from results.leaderboards import LeaderboardQuery, compute_leaderboard
from results.sampling import TOLERANCE, WINDOW, labelled_sample_check
from tests import factory

N_PROMPTS = 20  # three models: 60 comparisons


def _campaign(engine) -> tuple[int, list[int]]:
    """60 comparisons with a judge verdict on each (both orders); ids in serving order."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s, "sampled", n_prompts=N_PROMPTS, models=("m1", "m2", "m3"), overlap=1
        )
        judge = factory.judge(s, "sampling-judge")
        rng = random.Random(5)
        for comp in data["comparisons"]:
            verdict = rng.choice((-1, 1))
            factory.judge_judgment(s, comp, judge, verdict, "ab")
            factory.judge_judgment(s, comp, judge, verdict, "ba")
        s.commit()
        ordered = sorted(data["comparisons"], key=lambda c: (c.serve_rank, c.id))
        return data["campaign"].id, [c.id for c in ordered]


def _hand_label(engine, comparison_ids: list[int]) -> None:
    with factory.session(engine) as s:
        rater = factory.user(s, "picker@example.com")
        for i, cid in enumerate(comparison_ids):
            factory.human_judgment(s, s.get(Comparison, cid), rater, (-1, 1)[i % 2])
        s.commit()


def _labelled(engine, campaign_id: int) -> set[int]:
    from db.models import Judgment

    with factory.session(engine) as s:
        return set(
            s.exec(
                select(Judgment.comparison_id).where(
                    Judgment.campaign_id == campaign_id, Judgment.rater_kind == "human"
                )
            ).all()
        )


def _ppi(engine, campaign_id: int):
    return compute_leaderboard(
        engine,
        LeaderboardQuery(campaign_id, source="ppi", rounds=100),
        actor_id=factory.admin_id(engine),
    )


def _gate_message(engine, campaign_id: int) -> str:
    q = LeaderboardQuery(campaign_id, source="ppi")
    return gate(engine, q, "m1", "m2", 0.0, actor_id=factory.admin_id(engine)).message


def test_labels_from_the_queue_are_the_first_by_serving_order_and_pass(engine) -> None:
    campaign_id, in_order = _campaign(engine)
    with factory.session(engine) as s:
        raters = [r.id for r in factory.raters(s, 2)]
        s.commit()
    for rater in raters:
        factory.rate_items(engine, rater, campaign_id, 7)
    assert _labelled(engine, campaign_id) == set(in_order[:14])
    check = labelled_sample_check(engine, campaign_id)
    assert (check.seeded, check.n_labelled, check.n_outside) == (True, 14, 0)
    assert check.n_comparisons == 60 and check.prefix == 14 + WINDOW
    assert check.is_random and check.warning() is None
    assert _ppi(engine, campaign_id).warnings == []
    assert "Warning" not in _gate_message(engine, campaign_id)


def test_hand_picked_labels_fail_and_every_output_says_so(engine) -> None:
    campaign_id, in_order = _campaign(engine)
    _hand_label(engine, in_order[-12:])
    check = labelled_sample_check(engine, campaign_id)
    assert (check.n_labelled, check.n_outside) == (12, 12)
    assert not check.is_random
    expected = (
        "The human-labelled comparisons were not drawn at random by the queue (12 of 12 lie"
        " outside the serving order): PPI intervals may be biased; label a random sample with"
        " the queue."
    )
    assert check.warning() == expected
    assert _ppi(engine, campaign_id).warnings == [expected]
    assert _gate_message(engine, campaign_id).endswith(f" Warning: {expected}")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_outside_count_matches_positions_in_the_serving_order(engine, seed) -> None:
    campaign_id, in_order = _campaign(engine)
    picked = random.Random(seed).sample(in_order, 15)
    _hand_label(engine, picked)
    check = labelled_sample_check(engine, campaign_id)
    position = {cid: i + 1 for i, cid in enumerate(in_order)}
    prefix = 15 + WINDOW
    outside = sum(position[c] > prefix for c in picked)
    assert (check.prefix, check.n_outside) == (prefix, outside)
    assert check.is_random == (outside <= int(TOLERANCE * 15))


def test_served_but_unanswered_items_widen_the_prefix(engine) -> None:
    campaign_id, in_order = _campaign(engine)
    with factory.session(engine) as s:
        rater = factory.raters(s, 1)[0].id
        s.commit()
    factory.flag_items(engine, rater, campaign_id, ["broken"] * 5)
    factory.rate_items(engine, rater, campaign_id, 3)
    check = labelled_sample_check(engine, campaign_id)
    assert (check.n_labelled, check.n_served_unlabelled, check.n_outside) == (3, 5, 0)
    assert check.prefix == 3 + 5 + WINDOW


def test_a_campaign_without_a_serving_seed_is_warned_about(engine) -> None:
    campaign_id, in_order = _campaign(engine)
    _hand_label(engine, in_order[:10])
    assert labelled_sample_check(engine, campaign_id).is_random
    with factory.session(engine) as s:
        s.exec(update(Campaign).where(Campaign.id == campaign_id).values(serve_seed=None))
        s.commit()
    check = labelled_sample_check(engine, campaign_id)
    assert not check.is_random
    assert "no serving seed" in check.warning()
    assert "no serving seed" in _gate_message(engine, campaign_id)


def test_the_cli_leaderboard_prints_the_warning(app_db) -> None:
    from cli.main import app

    campaign_id, in_order = _campaign(app_db)
    _hand_label(app_db, in_order[-12:])
    with factory.session(app_db) as s:
        name = s.get(Campaign, campaign_id).name
    result = CliRunner().invoke(
        app, ["leaderboard", "-c", name, "--source", "ppi", "--format", "json", "--rounds", "50"]
    )
    assert result.exit_code == 0, result.output
    assert "Warning: The human-labelled comparisons were not drawn at random" in result.stderr
    assert "12 of 12 lie outside the serving order" in result.stderr
