from __future__ import annotations

import pytest

from annotate import team
from annotate.users import ensure_local_admin, user_for_login
from db.errors import InvalidInputError, PermissionDeniedError
from tests import factory


@pytest.fixture
def people(engine):
    with factory.session(engine) as s:
        admin = factory.user(s, "boss@acme.io", role="admin")
        rater = factory.user(s, "ana@acme.io")
        s.commit()
        return admin.id, rater.id


def test_an_invited_email_signs_in_with_the_invited_role(engine, people) -> None:
    admin_id, _ = people
    team.invite(engine, "New.Person@Example.com", "rater", actor_id=admin_id)
    user = user_for_login(engine, "new.person@example.com", "New Person")
    assert (user.handle, user.role) == ("new.person@example.com", "rater")


def test_a_domain_invite_lets_in_every_address_of_that_domain(engine, people) -> None:
    admin_id, _ = people
    team.invite(engine, "@corp.example", actor_id=admin_id)
    assert user_for_login(engine, "zoe@corp.example") is not None
    assert user_for_login(engine, "zoe@other.example") is None


def test_admins_from_the_environment_need_no_invite(engine, monkeypatch) -> None:
    monkeypatch.setenv("JUDGEBOARD_ADMINS", "root@acme.io, cto@acme.io")
    assert user_for_login(engine, "CTO@acme.io").role == "admin"


def test_a_rater_cannot_invite_or_list_members(engine, people) -> None:
    _, rater_id = people
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        team.invite(engine, "x@y.io", actor_id=rater_id)
    with pytest.raises(PermissionDeniedError):
        team.list_members(engine, actor_id=rater_id)
    with pytest.raises(PermissionDeniedError):
        team.list_invites(engine, actor_id=rater_id)


def test_a_deactivated_user_keeps_their_judgments_but_cannot_sign_in(engine, people) -> None:
    admin_id, rater_id = people
    with factory.session(engine) as s:
        comp = factory.campaign_with_outputs(s, n_prompts=1, models=("a", "b"))["comparisons"][0]
        rater = s.get(team.User, rater_id)
        factory.human_judgment(s, comp, rater, 1)
        s.commit()
    team.set_active(engine, rater_id, False, actor_id=admin_id)
    assert user_for_login(engine, "ana@acme.io") is None
    member = next(m for m in team.list_members(engine, actor_id=admin_id) if m.id == rater_id)
    assert (member.active, member.judgments) == (False, 1)


def test_role_changes_apply_and_admins_cannot_demote_themselves(engine, people) -> None:
    admin_id, rater_id = people
    assert team.set_role(engine, rater_id, "admin", actor_id=admin_id).role == "admin"
    with pytest.raises(InvalidInputError, match="another admin"):
        team.set_role(engine, admin_id, "rater", actor_id=admin_id)


def test_invites_must_be_an_email_or_a_domain(engine, people) -> None:
    admin_id, _ = people
    with pytest.raises(InvalidInputError, match="neither"):
        team.invite(engine, "not an address", actor_id=admin_id)


def test_an_invite_can_be_listed_and_revoked(engine, people) -> None:
    admin_id, _ = people
    created = team.invite(engine, "@corp.example", "admin", actor_id=admin_id)
    assert [(i.kind, i.value, i.role) for i in team.list_invites(engine, actor_id=admin_id)] == [
        ("domain", "corp.example", "admin")
    ]
    team.revoke_invite(engine, created.id, actor_id=admin_id)
    assert team.list_invites(engine, actor_id=admin_id) == []
    assert user_for_login(engine, "zoe@corp.example") is None


def test_local_mode_has_exactly_one_local_admin(engine) -> None:
    first, second = ensure_local_admin(engine), ensure_local_admin(engine)
    assert first.id == second.id and first.role == "admin"


def test_a_deactivated_raters_judgments_are_exported_and_marked(engine, people, tmp_path) -> None:
    import pandas as pd

    from results.export import export_judgments

    admin_id, rater_id = people
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=1, models=("a", "b"))
        factory.human_judgment(s, data["comparisons"][0], s.get(team.User, rater_id), -1)
        s.commit()
    team.set_active(engine, rater_id, False, actor_id=admin_id)
    dest = tmp_path / "all.csv"
    export_judgments(engine, data["campaign"].id, "csv", dest, actor_id=admin_id)
    (row,) = pd.read_csv(dest).to_dict("records")
    assert (row["rater"], row["rater_active"]) == ("ana@acme.io", False)
