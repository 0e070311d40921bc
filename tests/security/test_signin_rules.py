"""Sign-in rules: which identity-provider claims sign in, and as whom.

The claim checks are pure functions over the claims dict (``annotate.users``); the app
applies them to ``st.user`` on every run, so AppTest with ``at.user`` set checks the wiring.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from streamlit import config
from streamlit.testing.v1 import AppTest

from annotate import team
from annotate.users import local_mode_refusal, login_from_claims, normalise_email, user_for_login
from db.errors import InvalidInputError
from db.models import User
from tests import factory
from views.widgets.common import Actor

ROOT = Path(__file__).resolve().parents[2]
AUTH = {
    "auth": {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "a-test-cookie-secret-that-is-long-enough-0123456789",
        "client_id": "judgeboard-test",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
}
ABSENT = object()


def _app(**claims: Any) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets = {k: dict(v) for k, v in AUTH.items()}
    at.user = {"is_logged_in": True, **claims}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- point 1: email_verified must be exactly true -------------------------------------------


@pytest.mark.parametrize("verified", ["false", "true", 0, 1, None, "", ABSENT])
def test_email_verified_other_than_boolean_true_is_refused_with_a_reason(verified) -> None:
    claims: dict[str, Any] = {"email": "root@acme.io"}
    if verified is not ABSENT:
        claims["email_verified"] = verified
    login = login_from_claims(claims)
    assert login.email is None
    assert "email_verified" in login.refusal


def test_email_verified_true_yields_the_address() -> None:
    login = login_from_claims({"email": "root@acme.io", "email_verified": True, "name": "R"})
    assert (login.email, login.name, login.refusal) == ("root@acme.io", "R", None)


@pytest.mark.parametrize("verified", ["false", 0, None, ABSENT])
def test_an_unproven_admin_address_sees_not_invited_with_the_reason(
    app_db, monkeypatch, verified
) -> None:
    monkeypatch.setenv("JUDGEBOARD_ADMINS", "root@acme.io")
    claims: dict[str, Any] = {"email": "root@acme.io"}
    if verified is not ABSENT:
        claims["email_verified"] = verified
    at = _app(**claims)
    assert [t.value for t in at.title] == ["Not invited"]
    assert any("email_verified" in e.value for e in at.warning)


def test_a_verified_admin_address_signs_in_as_admin(app_db, monkeypatch) -> None:
    monkeypatch.setenv("JUDGEBOARD_ADMINS", "root@acme.io")
    at = _app(email="root@acme.io", email_verified=True)
    assert [t.value for t in at.title] == ["Campaigns"]


# --- point 2: email identity compared safely ------------------------------------------------

KELVIN_KATE = "\u212aate@acme.io"  # KELVIN SIGN, which str.lower() folds to "k"


def test_a_kelvin_sign_address_does_not_sign_in_as_kate(engine) -> None:
    admin = factory.admin_id(engine)
    team.invite(engine, "kate@acme.io", actor_id=admin)
    assert user_for_login(engine, KELVIN_KATE) is None
    assert user_for_login(engine, "Kate@ACME.io").handle == "kate@acme.io"


def test_a_kelvin_sign_admin_address_is_not_an_admin(engine, monkeypatch) -> None:
    monkeypatch.setenv("JUDGEBOARD_ADMINS", "kate@acme.io")
    assert user_for_login(engine, KELVIN_KATE) is None


def test_an_address_with_two_at_signs_does_not_pass_a_domain_invite(engine) -> None:
    team.invite(engine, "@corp.example", actor_id=factory.admin_id(engine))
    assert user_for_login(engine, "eve@evil.com@corp.example") is None
    assert user_for_login(engine, "zoe@corp.example").role == "rater"


def test_a_domain_invite_matches_the_domain_only_not_a_suffix(engine) -> None:
    team.invite(engine, "@corp.example", actor_id=factory.admin_id(engine))
    assert user_for_login(engine, "eve@evilcorp.example") is None
    assert user_for_login(engine, "eve@sub.corp.example") is None


@pytest.mark.parametrize(
    "address",
    [
        KELVIN_KATE,
        "eve@evil.com@corp.example",
        "ana",
        "@acme.io",
        "ana@",
        "ana@acme",
        "ana@-acme.io",
        "ana@acme..io",
        "a na@acme.io",
        ".ana@acme.io",
        "ana..b@acme.io",
        '"ana"@acme.io',
        "ana@acme.io\n@x.io",
        "ana@acme.io\u200b",
        "ana\u0130@acme.io",
        "ana@ac\u1e9eme.io",
    ],
)
def test_malformed_or_non_ascii_addresses_are_refused(address) -> None:
    with pytest.raises(InvalidInputError):
        normalise_email(address)


@pytest.mark.parametrize(
    ("address", "normal"),
    [
        ("Ana@Acme.IO", "ana@acme.io"),
        (" ana.b+tag@sub.acme.io ", "ana.b+tag@sub.acme.io"),
        ("zoe@xn--bcher-kva.example", "zoe@xn--bcher-kva.example"),
    ],
)
def test_addresses_are_normalised_by_the_documented_rule(address, normal) -> None:
    assert normalise_email(address) == normal


def test_a_malformed_verified_address_is_refused_with_a_reason() -> None:
    login = login_from_claims({"email": "eve@evil.com@corp.example", "email_verified": True})
    assert login.email is None and "address" in login.refusal


# --- point 3: local mode only on loopback ---------------------------------------------------


@pytest.fixture
def server_address() -> Iterator[Callable[[str | None], None]]:
    """Set Streamlit's ``server.address`` for an AppTest run in this process; restored after."""
    before = config.get_option("server.address")
    yield lambda address: config.set_option("server.address", address)
    config.set_option("server.address", before)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_local_mode_is_served_on_loopback_addresses(address) -> None:
    assert local_mode_refusal(address) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "", None, "192.168.1.5", "example.com"])
def test_local_mode_is_refused_on_any_other_address_naming_the_fix(address) -> None:
    refusal = local_mode_refusal(address)
    assert refusal is not None and "[auth]" in refusal and "secrets.toml" in refusal


def test_the_app_on_all_interfaces_without_auth_gives_nobody_the_local_admin(
    app_db, server_address
) -> None:
    server_address("0.0.0.0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("[auth]" in e.value for e in at.error)
    assert [t.value for t in at.title] == ["judgeboard"]
    assert not at.sidebar.caption and not at.selectbox
    page = AppTest.from_file(str(ROOT / "views" / "campaigns.py"), default_timeout=60)
    page.session_state["actor"] = Actor(factory.admin_id(app_db), "a", "admin", "A")
    page.run()
    assert [e.value for e in page.error] == ["Sign in first."]
    with factory.session(app_db) as s:
        assert s.exec(select(User.handle)).all() == ["admin@example.com"]  # no local admin


def test_the_app_on_loopback_without_auth_serves_the_local_admin(app_db, server_address) -> None:
    server_address("127.0.0.1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert [t.value for t in at.title] == ["Campaigns"]
