"""The queue serves equals in a seeded random order that does not depend on import order."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import select, update

from annotate.campaigns import create_campaign
from annotate.pairing import generate_comparisons
from annotate.queue import next_item
from annotate.serving import serve_rank, set_serve_seed
from annotate.submission import skip
from db.errors import InvalidInputError
from db.models import Assignment, Campaign, Candidate, Comparison, Output, Prompt
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from tests import factory

SEED = 20261130


def _identities(engine, campaign_id: int) -> dict[int, tuple[str, str, str]]:
    """Comparison id -> (prompt external id, sorted model names)."""
    with factory.session(engine) as s:
        names = dict(s.exec(select(Output.id, Candidate.name).join(Candidate)).all())
        rows = s.exec(
            select(
                Comparison.id, Prompt.external_id, Comparison.output_a_id, Comparison.output_b_id
            )
            .join(Prompt, Prompt.id == Comparison.prompt_id)
            .where(Comparison.campaign_id == campaign_id)
        ).all()
    return {cid: (ext, *sorted((names[a], names[b]))) for cid, ext, a, b in rows}


def _served(engine, campaign_id: int) -> list[int]:
    """Comparison ids in the order the queue hands them to one fresh rater."""
    with factory.session(engine) as s:
        rater = factory.user(s, f"fresh-{campaign_id}@example.com")
        s.commit()
    rng, order = random.Random(0), []
    while (item := next_item(engine, rater.id, campaign_id, rng=rng)) is not None:
        with factory.session(engine) as s:
            order.append(s.get(Assignment, item.assignment_id).comparison_id)
        skip(engine, rater.id, item.assignment_id)
    return order


def _paired_campaign(
    engine, tmp_path: Path, name: str, rows: list[dict], seed: int | None = SEED
) -> int:
    admin = factory.admin_id(engine)
    campaign_id = create_campaign(engine, name, actor_id=admin, serve_seed=seed).id
    path = factory.write_jsonl(tmp_path / f"{name}.jsonl", rows)
    import_outputs(engine, path, name, actor_id=admin)
    generate_comparisons(engine, campaign_id, actor_id=admin)
    return campaign_id


def test_serve_rank_is_a_keyed_hash_of_the_content_identity() -> None:
    expected = hashlib.blake2b(
        json.dumps(["p1", "alpha", "beta"]).encode(), digest_size=8, key=SEED.to_bytes(8, "big")
    ).digest()
    assert serve_rank(SEED, "p1", "beta", "alpha") == int.from_bytes(expected, "big") >> 2
    assert serve_rank(SEED, "p1", "alpha", "beta") == serve_rank(SEED, "p1", "beta", "alpha")
    assert serve_rank(SEED, "p1", "alpha", "beta") != serve_rank(SEED + 1, "p1", "alpha", "beta")
    assert 0 <= serve_rank(SEED, "p1", "alpha", "beta") < 2**62


def test_a_new_campaign_draws_a_seed_and_keeps_a_given_one(engine) -> None:
    admin = factory.admin_id(engine)
    drawn = create_campaign(engine, "drawn", actor_id=admin)
    given = create_campaign(engine, "given", actor_id=admin, serve_seed=7)
    assert drawn.serve_seed is not None and 0 <= drawn.serve_seed < 2**63
    assert given.serve_seed == 7
    with pytest.raises(InvalidInputError, match="serving seed"):
        create_campaign(engine, "bad", actor_id=admin, serve_seed=-1)


def test_a_fixed_seed_serves_a_reproducible_order_unlike_import_order(engine, tmp_path) -> None:
    rows = factory.output_rows(n_prompts=5, models=("m1", "m2", "m3"))
    first = _paired_campaign(engine, tmp_path, "first", rows)
    again = _paired_campaign(engine, tmp_path, "again", rows)
    ids_first, ids_again = _identities(engine, first), _identities(engine, again)
    order_first = [ids_first[c] for c in _served(engine, first)]
    order_again = [ids_again[c] for c in _served(engine, again)]
    assert len(order_first) == 15
    assert order_first == order_again
    assert order_first != [ids_first[c] for c in sorted(ids_first)]  # not import order
    expected = sorted(ids_first.values(), key=lambda ident: serve_rank(SEED, *ident))
    assert order_first == expected


def test_another_seed_serves_another_order(engine, tmp_path) -> None:
    rows = factory.output_rows(n_prompts=5, models=("m1", "m2", "m3"))
    one, other = (
        _paired_campaign(engine, tmp_path, "one", rows),
        _paired_campaign(engine, tmp_path, "other", rows, 1),
    )
    ids_one, ids_other = _identities(engine, one), _identities(engine, other)
    assert [ids_one[c] for c in _served(engine, one)] != [
        ids_other[c] for c in _served(engine, other)
    ]


def test_two_imports_of_the_same_votes_in_different_orders_serve_in_the_same_order(
    engine, tmp_path
) -> None:
    admin = factory.admin_id(engine)
    votes = factory.vote_rows(n_questions=4, pairs=(("m1", "m2"), ("m2", "m3"), ("m1", "m3")))
    served = []
    for name, rows in (("forward", votes), ("backward", [*reversed(votes)])):
        campaign_id = create_campaign(engine, name, actor_id=admin, serve_seed=SEED, overlap=3).id
        path = factory.write_jsonl(tmp_path / f"{name}.jsonl", rows)
        import_votes(engine, path, name, actor_id=admin)
        ids = _identities(engine, campaign_id)
        served.append([ids[c] for c in _served(engine, campaign_id)])
    assert len(served[0]) == 12
    assert served[0] == served[1]


def test_setting_the_seed_reranks_until_rating_starts(engine, tmp_path) -> None:
    rows = factory.output_rows(n_prompts=3, models=("m1", "m2"))
    campaign_id = _paired_campaign(engine, tmp_path, "reseeded", rows, seed=1)
    admin = factory.admin_id(engine)
    assert set_serve_seed(engine, campaign_id, SEED, actor_id=admin) == 3
    ids = _identities(engine, campaign_id)
    with factory.session(engine) as s:
        ranks = dict(
            s.exec(
                select(Comparison.id, Comparison.serve_rank).where(
                    Comparison.campaign_id == campaign_id
                )
            ).all()
        )
        assert s.get(Campaign, campaign_id).serve_seed == SEED
    assert ranks == {c: serve_rank(SEED, *ident) for c, ident in ids.items()}
    _served(engine, campaign_id)
    with pytest.raises(InvalidInputError, match="already been served"):
        set_serve_seed(engine, campaign_id, 3, actor_id=admin)


def test_a_campaign_made_before_seeds_draws_one_when_comparisons_are_added(
    engine, tmp_path
) -> None:
    rows = factory.output_rows(n_prompts=2, models=("m1", "m2", "m3"))
    campaign_id = _paired_campaign(engine, tmp_path, "old", rows)
    with factory.session(engine) as s:
        s.exec(update(Campaign).where(Campaign.id == campaign_id).values(serve_seed=None))
        s.exec(update(Comparison).values(serve_rank=Comparison.id))
        s.commit()
    path = factory.write_jsonl(
        tmp_path / "old-more.jsonl",
        factory.output_rows(n_prompts=3, models=("m1", "m2", "m3")),
    )
    import_outputs(engine, path, "old", actor_id=factory.admin_id(engine))
    generate_comparisons(engine, campaign_id, actor_id=factory.admin_id(engine))
    with factory.session(engine) as s:
        seed = s.get(Campaign, campaign_id).serve_seed
        ranks = dict(s.exec(select(Comparison.id, Comparison.serve_rank)).all())
    assert seed is not None
    ids = _identities(engine, campaign_id)
    assert len(ids) == 9
    assert ranks == {c: serve_rank(seed, *ident) for c, ident in ids.items()}


def test_the_cli_shows_and_sets_the_serving_seed(app_db, tmp_path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    rows = factory.output_rows(n_prompts=2, models=("m1", "m2"))
    campaign_id = _paired_campaign(app_db, tmp_path, "cli seeded", rows, seed=11)
    shown = runner.invoke(app, ["campaign", "seed", "-c", "cli seeded"])
    assert (shown.exit_code, shown.stdout.strip()) == (0, "11")
    changed = runner.invoke(app, ["campaign", "seed", "-c", "cli seeded", "--set", str(SEED)])
    assert changed.exit_code == 0, changed.output
    assert "2 comparisons re-ranked" in changed.stdout
    assert runner.invoke(app, ["campaign", "seed", "-c", "cli seeded"]).stdout.strip() == str(SEED)
    _served(app_db, campaign_id)
    refused = runner.invoke(app, ["campaign", "seed", "-c", "cli seeded", "--set", "3"])
    assert refused.exit_code == 1
    assert "can no longer change" in refused.output
