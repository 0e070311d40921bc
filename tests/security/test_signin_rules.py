"""Sign-in rules: which identity-provider claims sign in, and as whom.

The claim checks are pure functions over the claims dict (``annotate.users``); the app
applies them to ``st.user`` on every run, so AppTest with ``at.user`` set checks the wiring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from annotate.users import login_from_claims

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
