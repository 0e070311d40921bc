"""Every admin write in the human side and ingest refuses a rater in the domain layer, and
leaves the database exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from annotate.campaign_setup import CampaignSettings, save_campaign, set_check, set_checks
from annotate.campaigns import get_campaign
from annotate.pairing import generate_comparisons
from db.errors import PermissionDeniedError
from db.models import Comparison
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from tests import factory

SETTINGS = CampaignSettings(
    name="setup",
    instructions="",
    mode="pairwise",
    preference_scale="3way",
    overlap=2,
    gold_rate=0.0,
    attention_rate=0.0,
    reshow_rate=0.0,
    lease_seconds=300,
    rater_quota=None,
    blind=True,
    criteria=(),
)


@pytest.fixture
def rater_and_campaign(engine: Engine, tmp_path: Path) -> tuple[int, int, int]:
    """A rater, and a paired campaign (with one comparison) set up by an admin."""
    admin = factory.admin_id(engine)
    path = factory.write_jsonl(tmp_path / "o.jsonl", factory.output_rows(2))
    import_outputs(engine, path, "c", actor_id=admin)
    with factory.session(engine) as s:
        rater = factory.user(s)
        s.commit()
        rater_id = rater.id
    with factory.session(engine) as s:
        campaign_id = get_campaign(s, "c").id
    generate_comparisons(engine, campaign_id, actor_id=admin)
    with factory.session(engine) as s:
        comparison_id = s.execute(select(Comparison.id)).scalars().first()
    return rater_id, campaign_id, comparison_id


def _refused(engine: Engine, call) -> None:
    before = factory.table_counts(engine)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        call()
    assert factory.table_counts(engine) == before


def test_a_rater_cannot_import_outputs(engine, rater_and_campaign, tmp_path: Path) -> None:
    rater, _, _ = rater_and_campaign
    path = factory.write_jsonl(tmp_path / "more.jsonl", factory.output_rows(3, ("m1", "m9")))
    _refused(engine, lambda: import_outputs(engine, path, "c", actor_id=rater))
    _refused(engine, lambda: import_outputs(engine, path, "new", actor_id=rater))


def test_a_rater_cannot_import_votes(engine, rater_and_campaign, tmp_path: Path) -> None:
    rater, _, _ = rater_and_campaign
    path = factory.write_jsonl(tmp_path / "v.jsonl", factory.vote_rows(2))
    _refused(engine, lambda: import_votes(engine, path, "c", actor_id=rater))
    _refused(engine, lambda: import_votes(engine, path, "new", actor_id=rater))


def test_a_rater_cannot_pair_outputs(engine, rater_and_campaign) -> None:
    rater, campaign_id, _ = rater_and_campaign
    _refused(engine, lambda: generate_comparisons(engine, campaign_id, actor_id=rater))


def test_a_rater_cannot_save_a_campaign(engine, rater_and_campaign) -> None:
    rater, campaign_id, _ = rater_and_campaign
    _refused(engine, lambda: save_campaign(engine, SETTINGS, actor_id=rater))
    _refused(engine, lambda: save_campaign(engine, SETTINGS, campaign_id, actor_id=rater))


def test_a_rater_cannot_mark_check_items(engine, rater_and_campaign) -> None:
    rater, _, comparison_id = rater_and_campaign
    _refused(engine, lambda: set_check(engine, comparison_id, "gold", -1, actor_id=rater))
    _refused(engine, lambda: set_checks(engine, [(comparison_id, "gold", -1)], actor_id=rater))
    with factory.session(engine) as s:
        assert s.get(Comparison, comparison_id).check_kind is None
