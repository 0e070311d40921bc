"""Campaign setup for the rating queue: settings, rubric edits that keep scores, check items."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from annotate.campaign_setup import (
    CampaignSettings,
    CriterionEdit,
    check_rows,
    load_campaign_form,
    rater_choices,
    save_campaign,
    set_check,
)
from annotate.items import Answer
from annotate.queue import next_item, rateable_campaigns
from annotate.submission import submit
from db.errors import InvalidInputError, PermissionDeniedError
from db.models import Assignment, Campaign, Comparison, JudgmentScore, RubricCriterion
from tests import factory
from tests.views.test_rate_page import _page

RUBRIC = (
    CriterionEdit("Accuracy", "Is it right?", "likert5"),
    CriterionEdit("Tone", "", "categories", ("formal", "casual")),
)


def _settings(**kwargs) -> CampaignSettings:
    base = CampaignSettings(
        name="setup",
        instructions="Read **both** answers.",
        mode="both",
        preference_scale="5way",
        overlap=2,
        gold_rate=0.1,
        attention_rate=0.05,
        reshow_rate=0.1,
        lease_seconds=300,
        rater_quota=50,
        blind=True,
        criteria=RUBRIC,
    )
    return replace(base, **kwargs)


def test_create_then_load_round_trips_every_setting(engine: Engine) -> None:
    with factory.session(engine) as s:
        rater = factory.user(s)
        s.commit()
    admin = factory.admin_id(engine)
    cid = save_campaign(engine, _settings(allowed_raters=(rater.id,)), actor_id=admin)
    form = load_campaign_form(engine, cid, actor_id=admin)
    assert (rater.id, rater.handle) in rater_choices(engine, actor_id=admin)
    got = form.settings
    assert replace(got, criteria=()) == replace(_settings(allowed_raters=(rater.id,)), criteria=())
    assert [(c.name, c.scale, c.categories) for c in got.criteria] == [
        ("Accuracy", "likert5", None),
        ("Tone", "categories", ("formal", "casual")),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": " "}, "needs a name"),
        ({"mode": "triage"}, "Mode 'triage'"),
        ({"overlap": 0}, "at least 1"),
        ({"gold_rate": 0.6}, "between 0 and 0.5"),
        ({"gold_rate": 0.5, "attention_rate": 0.2, "reshow_rate": 0.1}, "more than 0.75"),
        ({"lease_seconds": 5}, "too short"),
        ({"criteria": ()}, "add at least one criterion"),
        ({"criteria": (CriterionEdit("Tone", "", "categories"),)}, "category names"),
    ],
)
def test_bad_settings_are_refused_with_the_fix(engine: Engine, change, message) -> None:
    with pytest.raises(InvalidInputError, match=message):
        save_campaign(engine, _settings(**change), actor_id=factory.admin_id(engine))


def _scored_campaign(engine: Engine) -> tuple[int, dict[str, int]]:
    """A campaign with the rubric above and one judgment that scores both criteria."""
    settings = _settings(gold_rate=0, attention_rate=0, reshow_rate=0)
    cid = save_campaign(engine, settings, actor_id=factory.admin_id(engine))
    with factory.session(engine) as s:
        c = s.get(Campaign, cid)
        data = factory.blind_campaign(s, name="tmp", n_prompts=1)
        for comp in data["comparisons"]:
            comp.campaign_id = c.id
        for p in data["prompts"]:
            p.campaign_id = c.id
        rater = factory.user(s)
        s.commit()
        crit = {r.name: r.id for r in s.execute(select(RubricCriterion)).scalars()}
    item = next_item(engine, rater.id, cid)
    scores = {side: {crit["Accuracy"]: 4, crit["Tone"]: 1} for side in "AB"}
    submit(engine, rater.id, item.assignment_id, Answer(-2, scores=scores))
    return cid, crit


def test_editing_never_rewrites_judgments(engine: Engine) -> None:
    cid, crit = _scored_campaign(engine)
    admin = factory.admin_id(engine)
    form = load_campaign_form(engine, cid, actor_id=admin)
    assert form.n_human_judgments == 1
    accuracy, tone = form.settings.criteria
    assert accuracy.n_scores == 2
    with pytest.raises(InvalidInputError, match="has 2 scores and cannot be deleted"):
        save_campaign(engine, replace(form.settings, criteria=(tone,)), cid, actor_id=admin)
    with pytest.raises(InvalidInputError, match="scale and categories cannot change"):
        changed = replace(accuracy, scale="likert10")
        save_campaign(engine, replace(form.settings, criteria=(changed, tone)), cid, actor_id=admin)
    with pytest.raises(InvalidInputError, match="keep that scale"):
        save_campaign(engine, replace(form.settings, preference_scale="3way"), cid, actor_id=admin)
    # Renames, re-descriptions, re-ordering, new criteria and other settings are fine.
    renamed = replace(accuracy, name="Correctness", description="Facts right?")
    new = CriterionEdit("Brevity", "", "binary")
    changed = replace(form.settings, overlap=5, criteria=(tone, renamed, new))
    save_campaign(engine, changed, cid, actor_id=admin)
    with factory.session(engine) as s:
        names = [
            r.name
            for r in s.execute(select(RubricCriterion).order_by(RubricCriterion.position)).scalars()
        ]
        assert names == ["Tone", "Correctness", "Brevity"]
        assert len(s.execute(select(JudgmentScore)).all()) == 4
        assert s.get(RubricCriterion, crit["Accuracy"]).name == "Correctness"


def test_allowed_raters_limit_who_sees_the_campaign(engine: Engine) -> None:
    with factory.session(engine) as s:
        r1, r2 = factory.raters(s, 2)
        s.commit()
    admin = factory.admin_id(engine)
    cid = save_campaign(engine, _settings(allowed_raters=(r1.id,)), actor_id=admin)
    with factory.session(engine) as s:
        assert [c.id for c in rateable_campaigns(engine, r1.id)] == [cid]
        assert rateable_campaigns(engine, r2.id) == []
    form = load_campaign_form(engine, cid, actor_id=admin)
    save_campaign(engine, replace(form.settings, allowed_raters=None), cid, actor_id=admin)
    with factory.session(engine) as s:
        assert [c.id for c in rateable_campaigns(engine, r2.id)] == [cid]


def test_marked_gold_items_reach_raters_as_gold(engine: Engine) -> None:
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=4, overlap=1, gold_rate=0.5)
        rater = factory.user(s)
        s.commit()
        cid, comps = data["campaign"].id, [c.id for c in data["comparisons"]]
    admin = factory.admin_id(engine)
    with pytest.raises(InvalidInputError, match="needs its expected answer"):
        set_check(engine, comps[0], "gold", actor_id=admin)
    set_check(engine, comps[0], "gold", -1, actor_id=admin)
    rows = check_rows(engine, cid, actor_id=admin)
    assert (rows[0].comparison_id, rows[0].check_kind, rows[0].expected_preference) == (
        comps[0],
        "gold",
        -1,
    )
    assert {rows[0].model_a, rows[0].model_b} <= set(factory.SECRET_MODELS)
    rng = random.Random(0)
    kinds = []
    while (item := next_item(engine, rater.id, cid, rng=rng)) is not None:
        with factory.session(engine) as s:
            kinds.append(s.get(Assignment, item.assignment_id).kind)
        submit(engine, rater.id, item.assignment_id, Answer(-1))
    assert sorted(kinds) == ["gold", "normal", "normal", "normal"]
    set_check(engine, comps[0], None, actor_id=admin)
    with factory.session(engine) as s:
        assert s.get(Comparison, comps[0]).expected_preference is None


def test_only_admins_set_up_campaigns(engine: Engine) -> None:
    with factory.session(engine) as s:
        rater = factory.user(s)
        s.commit()
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        rater_choices(engine, actor_id=rater.id)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        check_rows(engine, 1, actor_id=rater.id)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        load_campaign_form(engine, 1, actor_id=rater.id)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        save_campaign(engine, _settings(), actor_id=rater.id)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        set_check(engine, 1, None, actor_id=rater.id)
    with factory.session(engine) as s:
        assert s.execute(select(Campaign)).first() is None


def test_setup_page_creates_a_campaign(app_db: Engine) -> None:
    at = _page("campaign_setup.py")
    at.text_input[0].set_value("From the page")
    at.text_area[0].set_value("Be **careful**.")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    assert [m.value for m in at.success] == ["Saved campaign 'From the page'."]
    with factory.session(app_db) as s:
        (c,) = s.execute(select(Campaign)).scalars()
        assert (c.name, c.instructions, c.mode, c.allowed_raters) == (
            "From the page",
            "Be **careful**.",
            "pairwise",
            None,
        )
