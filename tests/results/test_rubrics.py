from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate.campaigns import CriterionSpec
from db.errors import PermissionDeniedError
from results.rubrics import MISSING, campaign_rubrics
from tests import factory

CRITERIA = [
    CriterionSpec("helpfulness"),
    CriterionSpec("safety", scale="binary"),
    CriterionSpec("tone", scale="categories", categories=("cold", "neutral", "warm")),
]


def _value(model: str, prompt: int, rater: int) -> float:
    return float(1 + (len(model) * 3 + prompt * 2 + rater) % 5)


def _scored(engine, models: tuple[str, ...], name: str = "rubric") -> int:
    """Two raters and a judge (both orders) score both outputs of every comparison on
    helpfulness; the judge only says 'safety'. ``models`` sets which output is stored as A."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, name, n_prompts=4, models=models, criteria=CRITERIA)
        raters = factory.raters(s, 2, prefix=name)
        judge = factory.judge(s, f"{name}-judge")
        for comp in data["comparisons"]:
            index = next(i for i, p in enumerate(data["prompts"]) if p.id == comp.prompt_id)
            outputs = [data["outputs"][(comp.prompt_id, m)] for m in sorted(models)]
            for r, rater in enumerate(raters):
                row = factory.human_judgment(s, comp, rater, -1)
                for output, model in zip(outputs, sorted(models), strict=True):
                    factory.score(s, row, output, "helpfulness", _value(model, index, r))
            for order in ("ab", "ba"):
                row = factory.judge_judgment(s, comp, judge, 0, order)
                for output, model in zip(outputs, sorted(models), strict=True):
                    factory.score(s, row, output, "safety", float(model != "long-model"))
        s.commit()
        return data["campaign"].id


def test_means_and_distribution_match_the_scores_given(engine) -> None:
    campaign_id = _scored(engine, ("m1", "long-model"))
    report = campaign_rubrics(engine, campaign_id, actor_id=factory.admin_id(engine))
    summary = report.summary.set_index(["scored_by", "criterion", "model"])
    for model in ("m1", "long-model"):
        given = [_value(model, i, r) for i in range(4) for r in range(2)]
        row = summary.loc[("human", "helpfulness", model)]
        assert row["mean"] == pytest.approx(np.mean(given), abs=1e-12)
        assert (row.n, row.n_outputs) == (8, 4)
        dist = report.distribution.query(
            "scored_by == 'human' and criterion == 'helpfulness' and model == @model"
        )
        assert dict(zip(dist.value, dist["count"], strict=True)) == {
            v: given.count(v) for v in (1.0, 2.0, 3.0, 4.0, 5.0)
        }
    judge = summary.loc[("rubric-judge@v1", "safety", "long-model")]
    assert (judge["mean"], judge.n) == (0.0, 8)
    safety = report.distribution.query("criterion == 'safety' and model == 'm1'")
    assert list(safety.label) == ["No", "Yes"] and list(safety["count"]) == [0, 8]


def test_figures_do_not_depend_on_which_output_is_stored_as_a(engine) -> None:
    first = campaign_rubrics(
        engine, _scored(engine, ("m1", "long-model"), "one"), actor_id=factory.admin_id(engine)
    )
    second = campaign_rubrics(
        engine, _scored(engine, ("long-model", "m1"), "two"), actor_id=factory.admin_id(engine)
    )

    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.replace({"one-judge@v1": "J", "two-judge@v1": "J"}).reset_index(drop=True)

    pd.testing.assert_frame_equal(plain(first.summary), plain(second.summary))
    pd.testing.assert_frame_equal(plain(first.distribution), plain(second.distribution))


def test_unscored_is_shown_as_missing_never_zero(engine) -> None:
    campaign_id = _scored(engine, ("m1", "long-model"))
    report = campaign_rubrics(engine, campaign_id, actor_id=factory.admin_id(engine))
    tone = report.criterion_table("tone")
    assert set(tone["humans mean"]) == {MISSING} and set(tone["humans 95% CI"]) == {MISSING}
    safety = report.criterion_table("safety").set_index("model")
    assert safety.loc["m1", "humans mean"] == MISSING
    assert safety.loc["m1", "rubric-judge@v1 mean"] == "100% Yes"


def test_reshown_items_are_not_counted_twice(engine) -> None:
    campaign_id = _scored(engine, ("m1", "long-model"))
    admin = factory.admin_id(engine)
    before = campaign_rubrics(engine, campaign_id, actor_id=admin).summary
    with factory.session(engine) as s:
        from sqlmodel import select

        from db.models import Comparison, Output, User

        comp = s.exec(select(Comparison).where(Comparison.campaign_id == campaign_id)).first()
        rater = s.exec(select(User).where(User.handle.like("rubric%"))).first()
        again = factory.human_judgment(s, comp, rater, 1, shown_order="ba", is_reshow=True)
        factory.score(s, again, s.get(Output, comp.output_a_id), "helpfulness", 1.0)
        s.commit()
    after = campaign_rubrics(engine, campaign_id, actor_id=admin).summary
    pd.testing.assert_frame_equal(before, after)


def test_a_campaign_without_scores_says_so(engine) -> None:
    with factory.session(engine) as s:
        campaign_id = factory.campaign_with_outputs(s, criteria=CRITERIA)["campaign"].id
        s.commit()
    report = campaign_rubrics(engine, campaign_id, actor_id=factory.admin_id(engine))
    assert report.summary.empty and "No rubric scores yet" in report.notes[0]


def test_only_admins_see_rubric_results(engine) -> None:
    campaign_id = _scored(engine, ("m1", "long-model"))
    with factory.session(engine) as s:
        rater_id = factory.user(s, "nosy@x.org").id
        s.commit()
    with pytest.raises(PermissionDeniedError):
        campaign_rubrics(engine, campaign_id, actor_id=rater_id)
