from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from db.migrate import alembic_config
from db.models import Comparison, Output, metadata
from tests import factory


def _run_alembic(engine, fn, *args) -> None:
    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        fn(cfg, *args)


def test_migrations_produce_exactly_the_model_schema(empty_engine) -> None:
    _run_alembic(empty_engine, command.upgrade, "head")
    _run_alembic(empty_engine, command.check)
    tables = set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)


def test_migrations_downgrade_to_an_empty_database(empty_engine) -> None:
    _run_alembic(empty_engine, command.upgrade, "head")
    _run_alembic(empty_engine, command.downgrade, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}


def test_one_output_per_prompt_and_candidate(engine) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, pairs=False)
        p, cand = data["prompts"][0], data["candidates"][0]
        s.commit()
        s.add(Output(prompt_id=p.id, candidate_id=cand.id, content="again"))
        with pytest.raises(IntegrityError):
            s.flush()


def test_one_comparison_per_output_pair(engine) -> None:
    with factory.session(engine) as s:
        comp = factory.campaign_with_outputs(s)["comparisons"][0]
        s.commit()
        s.add(
            Comparison(
                campaign_id=comp.campaign_id,
                prompt_id=comp.prompt_id,
                output_a_id=comp.output_a_id,
                output_b_id=comp.output_b_id,
            )
        )
        with pytest.raises(IntegrityError):
            s.flush()


def test_comparisons_are_stored_in_canonical_order(engine) -> None:
    with factory.session(engine) as s:
        comp = factory.campaign_with_outputs(s)["comparisons"][0]
        s.commit()
        s.add(
            Comparison(
                campaign_id=comp.campaign_id,
                prompt_id=comp.prompt_id,
                output_a_id=comp.output_b_id,
                output_b_id=comp.output_a_id,
            )
        )
        with pytest.raises(IntegrityError):
            s.flush()


def test_one_judgment_per_rater_comparison_and_order(engine) -> None:
    with factory.session(engine) as s:
        comp = factory.campaign_with_outputs(s)["comparisons"][0]
        rater = factory.user(s)
        factory.human_judgment(s, comp, rater, -1)
        s.commit()
        with pytest.raises(IntegrityError):
            factory.human_judgment(s, comp, rater, 1)


def test_a_judge_may_store_both_shown_orders_once_each(engine) -> None:
    with factory.session(engine) as s:
        comp = factory.campaign_with_outputs(s)["comparisons"][0]
        j = factory.judge(s)
        for order in ("ab", "ba"):
            factory.judge_judgment(s, comp, j, 0, order)
        s.commit()
        with pytest.raises(IntegrityError):
            factory.judge_judgment(s, comp, j, 1, "ab")


def test_foreign_keys_are_enforced(engine) -> None:
    with factory.session(engine) as s:
        s.add(Output(prompt_id=999, candidate_id=999, content="orphan"))
        with pytest.raises(IntegrityError):
            s.flush()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
