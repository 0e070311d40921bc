"""Every admin write in the human side and ingest refuses a rater in the domain layer, and
leaves the database exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from annotate import team
from annotate.campaign_setup import CampaignSettings, save_campaign, set_check, set_checks
from annotate.campaigns import create_campaign, get_campaign
from annotate.pairing import generate_comparisons
from db.errors import PermissionDeniedError
from db.models import Comparison, Invite, User
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
    campaign_id = get_campaign(engine, "c").id
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


def test_a_rater_cannot_create_a_campaign(engine, rater_and_campaign) -> None:
    rater, _, _ = rater_and_campaign
    _refused(engine, lambda: create_campaign(engine, "mine", actor_id=rater))
    _refused(engine, lambda: create_campaign(engine, "c", actor_id=rater))


def _member(engine: Engine, user_id: int) -> tuple[str, bool]:
    with factory.session(engine) as s:
        user = s.get(User, user_id)
        return user.role, user.active


@pytest.fixture
def team_of_three(engine: Engine) -> tuple[int, int, int]:
    """An admin's invite on record, a rater who will try admin writes, and a colleague."""
    admin = factory.admin_id(engine)
    team.invite(engine, "@corp.example", "rater", actor_id=admin)
    with factory.session(engine) as s:
        rater, colleague = factory.user(s), factory.user(s, "colleague@example.com")
        s.commit()
        return admin, rater.id, colleague.id


def test_a_rater_cannot_invite(engine, team_of_three) -> None:
    _, rater, _ = team_of_three
    _refused(engine, lambda: team.invite(engine, "friend@example.com", actor_id=rater))
    _refused(engine, lambda: team.invite(engine, "@corp.example", "admin", actor_id=rater))
    with factory.session(engine) as s:
        assert [(i.value, i.role) for i in s.exec(select(Invite)).scalars()] == [
            ("corp.example", "rater")
        ]


def test_a_rater_cannot_revoke_an_invite(engine, team_of_three) -> None:
    admin, rater, _ = team_of_three
    (invite,) = team.list_invites(engine, actor_id=admin)
    _refused(engine, lambda: team.revoke_invite(engine, invite.id, actor_id=rater))


def test_a_rater_cannot_change_a_role(engine, team_of_three) -> None:
    admin, rater, colleague = team_of_three
    _refused(engine, lambda: team.set_role(engine, rater, "admin", actor_id=rater))
    _refused(engine, lambda: team.set_role(engine, colleague, "admin", actor_id=rater))
    _refused(engine, lambda: team.set_role(engine, admin, "rater", actor_id=rater))
    assert _member(engine, rater) == ("rater", True)
    assert _member(engine, colleague) == ("rater", True)
    assert _member(engine, admin) == ("admin", True)


def test_a_rater_cannot_deactivate_anyone(engine, team_of_three) -> None:
    admin, rater, colleague = team_of_three
    _refused(engine, lambda: team.set_active(engine, colleague, False, actor_id=rater))
    _refused(engine, lambda: team.set_active(engine, admin, False, actor_id=rater))
    assert _member(engine, colleague) == ("rater", True)
    assert _member(engine, admin) == ("admin", True)


def test_a_deactivated_admin_cannot_do_admin_writes(engine, team_of_three) -> None:
    admin, _, colleague = team_of_three
    with factory.session(engine) as s:
        former = factory.user(s, "former.admin@example.com", role="admin")
        s.commit()
        former_id = former.id
    team.set_active(engine, former_id, False, actor_id=admin)
    before = factory.table_counts(engine)
    for call in (
        lambda: create_campaign(engine, "mine", actor_id=former_id),
        lambda: team.invite(engine, "friend@example.com", actor_id=former_id),
        lambda: team.set_role(engine, colleague, "admin", actor_id=former_id),
        lambda: team.set_active(engine, colleague, False, actor_id=former_id),
    ):
        with pytest.raises(PermissionDeniedError, match="not active"):
            call()
    assert factory.table_counts(engine) == before
    assert _member(engine, colleague) == ("rater", True)
