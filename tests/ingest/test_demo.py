from __future__ import annotations

from collections import Counter

from sqlalchemy import func
from sqlmodel import select

from db.models import Campaign, Candidate, Comparison, Judgment, Output, Prompt
from ingest.demo import database_is_empty, demo_spec, load_demo
from results.leaderboards import LeaderboardQuery, compute_leaderboard
from tests import factory


def test_demo_loads_a_full_campaign_once(engine) -> None:
    assert database_is_empty(engine)
    first = load_demo(engine)
    assert first.created and first.outputs >= 160
    assert not load_demo(engine).created
    assert not database_is_empty(engine)
    with factory.session(engine) as s:
        prompts = s.exec(select(Prompt)).all()
        assert len(prompts) >= 40
        assert {"writing", "coding", "reasoning", "safety"} <= {p.category for p in prompts}
        assert sum(len(p.messages) > 1 for p in prompts) >= 1
        assert len(s.exec(select(Candidate)).all()) == 4
        # all pairs of 4 candidates per prompt
        assert s.exec(select(func.count()).select_from(Comparison)).one() == 6 * len(prompts)
        assert s.exec(select(func.count()).select_from(Campaign)).one() == 1


def test_demo_outputs_include_code_a_long_answer_and_inert_html(engine) -> None:
    load_demo(engine)
    with factory.session(engine) as s:
        contents = s.exec(select(Output.content)).all()
    assert any("```" in c for c in contents)
    assert max(len(c.split()) for c in contents) >= 1500
    assert any("<script>" in c for c in contents)


def test_demo_gold_items_carry_expected_answers(engine) -> None:
    load_demo(engine)
    with factory.session(engine) as s:
        gold = s.exec(select(Comparison).where(Comparison.check_kind == "gold")).all()
    assert len(gold) == len(demo_spec()["gold"])
    assert all(g.expected_preference in (-1, 1) for g in gold)


def test_demo_sample_votes_rank_the_strong_assistant_first(engine) -> None:
    load_demo(engine)
    with factory.session(engine) as s:
        kinds = Counter(s.exec(select(Judgment.rater_kind)).all())
        campaign_id = s.exec(select(Campaign.id)).one()
    assert kinds["human"] > 0 and kinds["llm"] > 0
    board = compute_leaderboard(
        engine, LeaderboardQuery(campaign_id, rounds=100), actor_id=factory.admin_id(engine)
    )
    assert board.table.model.iloc[0] == "atlas-large"
    assert board.table.model.iloc[-1] == "echo-mini"
