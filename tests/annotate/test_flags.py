from __future__ import annotations

import pytest

from annotate.flags import FLAG_COLUMNS, flagged_items
from db.errors import PermissionDeniedError
from tests import factory


@pytest.fixture
def flagged(engine):
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=3)
        rater = factory.raters(s, 1)[0]
        s.commit()
        campaign_id, rater_id = data["campaign"].id, rater.id
    factory.rate_items(engine, rater_id, campaign_id, 1)
    ids = factory.flag_items(
        engine, rater_id, campaign_id, ["output B is cut off", "prompt is offensive"]
    )
    return campaign_id, rater_id, ids


def test_flagged_items_list_each_flag_newest_first_with_models_and_reason(engine, flagged) -> None:
    campaign_id, _, ids = flagged
    flags = flagged_items(engine, campaign_id, actor_id=factory.admin_id(engine))
    assert list(flags.columns) == FLAG_COLUMNS
    assert list(flags.reason) == ["prompt is offensive", "output B is cut off"]
    assert list(flags.comparison_id) == ids[::-1]
    assert flags.rater.str.startswith("rater").all()
    assert (flags.model_a != flags.model_b).all() and flags.flagged_at.notna().all()


def test_flagged_items_are_for_admins_only(engine, flagged) -> None:
    campaign_id, rater_id, _ = flagged
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        flagged_items(engine, campaign_id, actor_id=rater_id)


def test_a_campaign_without_flags_gives_an_empty_table(engine) -> None:
    with factory.session(engine) as s:
        campaign_id = factory.blind_campaign(s, n_prompts=1)["campaign"].id
        s.commit()
    flags = flagged_items(engine, campaign_id, actor_id=factory.admin_id(engine))
    assert flags.empty and list(flags.columns) == FLAG_COLUMNS
