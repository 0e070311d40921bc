from __future__ import annotations

import pytest
from sqlmodel import select

from annotate.pairing import generate_comparisons
from db.errors import InvalidInputError
from db.models import Comparison
from tests import factory


def _setup(engine, **kwargs):
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s, n_prompts=3, models=("m1", "m2", "m3", "m4"), pairs=False, **kwargs
        )
        s.commit()
        return data


def _comparisons(engine, campaign_id):
    with factory.session(engine) as s:
        return s.exec(select(Comparison).where(Comparison.campaign_id == campaign_id)).all()


def test_all_pairs_makes_every_pair_per_prompt_in_canonical_order(engine) -> None:
    data = _setup(engine)
    result = generate_comparisons(
        engine, data["campaign"].id, "all_pairs", actor_id=factory.admin_id(engine)
    )
    comps = _comparisons(engine, data["campaign"].id)
    assert result.comparisons_added == len(comps) == 3 * 6
    assert all(c.output_a_id < c.output_b_id for c in comps)


def test_pairing_twice_adds_nothing(engine) -> None:
    data = _setup(engine)
    generate_comparisons(
        engine, data["campaign"].id, "all_pairs", actor_id=factory.admin_id(engine)
    )
    again = generate_comparisons(
        engine, data["campaign"].id, "all_pairs", actor_id=factory.admin_id(engine)
    )
    assert again.comparisons_added == 0
    assert again.comparisons_total == 18


def test_baseline_pairs_each_candidate_with_the_baseline(engine) -> None:
    data = _setup(engine)
    generate_comparisons(
        engine, data["campaign"].id, "baseline", baseline="m2", actor_id=factory.admin_id(engine)
    )
    comps = _comparisons(engine, data["campaign"].id)
    baseline_ids = {o.id for (_, name), o in data["outputs"].items() if name == "m2"}
    assert len(comps) == 3 * 3
    assert all({c.output_a_id, c.output_b_id} & baseline_ids for c in comps)


def test_unknown_baseline_names_the_models_to_choose_from(engine) -> None:
    data = _setup(engine)
    with pytest.raises(InvalidInputError, match="m1, m2, m3, m4"):
        generate_comparisons(
            engine,
            data["campaign"].id,
            "baseline",
            baseline="nope",
            actor_id=factory.admin_id(engine),
        )


def _picked(engine, data) -> list[tuple[str, str, str]]:
    label = {o.id: (p_id, name) for (p_id, name), o in data["outputs"].items()}
    externals = {p.id: p.external_id for p in data["prompts"]}
    picked = []
    for c in _comparisons(engine, data["campaign"].id):
        (p_id, a), (_, b) = label[c.output_a_id], label[c.output_b_id]
        picked.append((externals[p_id], a, b))
    return sorted(picked)


def test_random_k_is_seeded_and_makes_k_pairs_per_prompt(engine) -> None:
    first, second = _setup(engine, name="c1"), _setup(engine, name="c2")
    generate_comparisons(
        engine, first["campaign"].id, "random_k", k=2, seed=7, actor_id=factory.admin_id(engine)
    )
    generate_comparisons(
        engine, second["campaign"].id, "random_k", k=2, seed=7, actor_id=factory.admin_id(engine)
    )
    assert len(_picked(engine, first)) == 3 * 2
    assert _picked(engine, first) == _picked(engine, second)


def test_random_k_needs_k(engine) -> None:
    data = _setup(engine)
    with pytest.raises(InvalidInputError, match="k >= 1"):
        generate_comparisons(
            engine, data["campaign"].id, "random_k", actor_id=factory.admin_id(engine)
        )


def test_rubric_campaigns_get_one_single_output_item_per_output(engine) -> None:
    data = _setup(engine, mode="rubric")
    generate_comparisons(engine, data["campaign"].id, actor_id=factory.admin_id(engine))
    comps = _comparisons(engine, data["campaign"].id)
    assert len(comps) == 12
    assert all(c.output_a_id == c.output_b_id for c in comps)


def test_unknown_strategy_is_refused(engine) -> None:
    data = _setup(engine)
    with pytest.raises(InvalidInputError, match="all_pairs, baseline, random_k"):
        generate_comparisons(
            engine, data["campaign"].id, "swiss", actor_id=factory.admin_id(engine)
        )
