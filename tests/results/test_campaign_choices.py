"""What the results pages offer to choose from: the categories and costs that exist."""

from __future__ import annotations

import math

import pytest

from db.errors import PermissionDeniedError
from results.leaderboards import campaign_categories, campaign_costs
from tests import factory


def _campaign(engine) -> int:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, "costed", n_prompts=3, models=("m1", "m2"))
        data["prompts"][2].category = None
        for (_, model), output in data["outputs"].items():
            if model == "m1":
                output.cost_usd, output.latency_ms = 0.002, 400
        factory.campaign_with_outputs(s, "other", n_prompts=1, models=("m1",))
        s.commit()
        return data["campaign"].id


def test_categories_are_the_distinct_ones_of_the_campaign_sorted(engine) -> None:
    campaign_id = _campaign(engine)
    assert campaign_categories(engine, campaign_id, actor_id=factory.admin_id(engine)) == [
        "coding",
        "writing",
    ]


def test_costs_are_the_mean_per_model_and_missing_where_none_was_recorded(engine) -> None:
    campaign_id = _campaign(engine)
    costs = campaign_costs(engine, campaign_id, actor_id=factory.admin_id(engine))
    costs = costs.set_index("model")
    assert costs.loc["m1", "cost_usd"] == pytest.approx(0.002)
    assert costs.loc["m1", "latency_ms"] == pytest.approx(400)
    assert math.isnan(costs.loc["m2", "cost_usd"])
    assert costs.loc["m1", "n_outputs"] == 3


def test_choices_are_for_admins_only(engine) -> None:
    campaign_id = _campaign(engine)
    with factory.session(engine) as s:
        rater_id = factory.user(s, "ana@x.org").id
        s.commit()
    for read in (campaign_categories, campaign_costs):
        with pytest.raises(PermissionDeniedError):
            read(engine, campaign_id, actor_id=rater_id)
