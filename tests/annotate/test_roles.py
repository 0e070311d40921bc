"""Role gating through AppTest: every page for every role, and app.py's navigation per role.

Team mode is on (an ``[auth]`` secrets section) and ``st.user`` is the signed-in identity,
so ``current_user()`` and the actor that app.py puts in session state agree, as they do
in a real session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from annotate import team as team_admin
from tests import factory
from views.widgets.common import Actor

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p.name for p in (ROOT / "views").glob("*.py") if p.name != "__init__.py")
RATER_PAGES = {"rate.py", "history.py"}
PUBLIC_PAGES = {"not_invited.py"}
ADMIN_PAGES = sorted(set(PAGES) - RATER_PAGES - PUBLIC_PAGES)
REFUSAL = "This page is for admins."
AUTH = {
    "auth": {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "a-test-cookie-secret-that-is-long-enough-0123456789",
        "client_id": "judgeboard-test",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
}
SECRETS_ON_SCREEN = (*factory.SECRET_MODELS[:2], "secret-judge-config", "secret-judge")


@pytest.fixture
def people(app_db) -> dict[str, Any]:
    return factory.team(app_db)


def _signed_in(at: AppTest, email: str | None, **claims: Any) -> AppTest:
    at.secrets = {k: dict(v) for k, v in AUTH.items()}
    signed_in = {"is_logged_in": True, "email": email, "email_verified": True, **claims}
    at.user = signed_in if email else {"is_logged_in": False}
    return at


def _page(name: str, actor: Actor, email: str) -> AppTest:
    at = _signed_in(AppTest.from_file(str(ROOT / "views" / name), default_timeout=60), email)
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _app(email: str | None, **claims: Any) -> AppTest:
    at = _signed_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), email, **claims)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _leaves(node: Any) -> list[Any]:
    """Every element under ``node``; containers (which have children, maybe none) left out."""
    if not hasattr(node, "children"):
        return [node]
    return [leaf for child in node.children.values() for leaf in _leaves(child)]


def _shown(at: AppTest) -> list[str]:
    """The type of every element the page sent."""
    return [leaf.type for leaf in _leaves(at._tree)]


def _text(at: AppTest) -> str:
    return "\n".join(str(getattr(leaf, "proto", "")) for leaf in _leaves(at._tree))


def _actor(people: dict[str, Any], role: str) -> tuple[Actor, str]:
    email = factory.ADMIN_EMAIL if role == "admin" else factory.RATER_EMAIL
    return Actor(people[role], email, role, email), email


def test_every_page_is_classified() -> None:
    assert set(RATER_PAGES) | set(PUBLIC_PAGES) <= set(PAGES)
    assert "users.py" in ADMIN_PAGES and "leaderboard.py" in ADMIN_PAGES


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_render_for_admins(people, page) -> None:
    at = _page(page, *_actor(people, "admin"))
    assert not at.error, [e.value for e in at.error]
    assert at.title, "the page rendered nothing"


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_show_raters_only_the_refusal(people, page) -> None:
    at = _page(page, *_actor(people, "rater"))
    assert [e.value for e in at.error] == [REFUSAL]
    assert set(_shown(at)) <= {"error"}, _shown(at)
    assert not any(secret in _text(at) for secret in SECRETS_ON_SCREEN)


@pytest.mark.parametrize("role", ["admin", "rater"])
def test_the_rate_page_works_for_both_roles_and_stays_blind(people, role) -> None:
    at = _page("rate.py", *_actor(people, role))
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title] == ["Rate"]
    assert "Response A" in _text(at) or "nothing left for you to rate" in _text(at)
    assert not any(secret in _text(at) for secret in SECRETS_ON_SCREEN)


def test_history_shows_a_rater_their_own_answers_only(people) -> None:
    at = _page("history.py", *_actor(people, "rater"))
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert len(table) == 3 and set(table["your verdict"]) == {"A better"}
    assert not {"A", "B"} & set(table.columns), "a blind campaign's models were shown"
    assert not any(secret in _text(at) for secret in SECRETS_ON_SCREEN)


def test_history_works_for_an_admin_with_nothing_rated(people) -> None:
    at = _page("history.py", *_actor(people, "admin"))
    assert not at.error
    assert "not rated anything yet" in at.info[0].value


def test_a_rater_cannot_pick_an_admin_page_by_session_state_tampering(people) -> None:
    """A forged admin actor in session state is overwritten by app.py from the login."""
    at = _signed_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), "ana@acme.io")
    at.session_state["actor"] = Actor(people["rater"], factory.RATER_EMAIL, "admin", "forged")
    at.run()
    assert at.session_state["actor"].role == "rater"
    with pytest.raises(ValueError):
        at.switch_page("views/users.py")


# --- app.py navigation, per role ------------------------------------------------------------


def test_signed_out_users_see_the_sign_in_screen_only(people) -> None:
    at = _app(None)
    assert [t.value for t in at.title] == ["judgeboard"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert set(_shown(at)) <= {"title", "markdown", "button"}, _shown(at)
    assert not at.sidebar.children
    for page in PAGES:
        with pytest.raises(ValueError):
            at.switch_page(f"views/{page}")


def test_an_uninvited_user_sees_the_not_invited_page_only(people) -> None:
    at = _app("eve@elsewhere.io")
    assert [t.value for t in at.title] == ["Not invited"]
    assert "eve@elsewhere.io" in _text(at)
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.sidebar.children
    for page in sorted(set(PAGES) - {"not_invited.py"}):
        with pytest.raises(ValueError):
            at.switch_page(f"views/{page}")
    assert "actor" not in at.session_state


def test_a_rater_navigates_to_rate_and_history_only(people) -> None:
    at = _app(factory.RATER_EMAIL)
    assert [t.value for t in at.title] == ["Rate"]
    assert "(rater)" in at.sidebar.caption[0].value
    for page in ADMIN_PAGES:
        with pytest.raises(ValueError):
            at.switch_page(f"views/{page}")
    at.switch_page("views/history.py").run()
    assert [t.value for t in at.title] == ["My history"]


@pytest.mark.parametrize("page", ["leaderboard", "users", "campaigns", "common", "llm_judges"])
def test_a_rater_asking_for_an_admin_page_by_query_parameter_gets_rate(people, page) -> None:
    at = _signed_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), "ana@acme.io")
    at.query_params["page"] = page
    at.run()
    assert [t.value for t in at.title] == ["Rate"]
    assert not any(secret in _text(at) for secret in SECRETS_ON_SCREEN)


def test_an_admin_from_the_environment_reaches_every_page(app_db, monkeypatch) -> None:
    monkeypatch.setenv("JUDGEBOARD_ADMINS", "root@acme.io")
    at = _app("Root@Acme.io")
    assert [t.value for t in at.title] == ["Campaigns"]
    assert "(admin)" in at.sidebar.caption[0].value
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    for page in [*ADMIN_PAGES, *RATER_PAGES]:
        at.switch_page(f"views/{page}").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])


def test_an_unverified_email_is_not_let_in_even_as_an_admin(app_db, monkeypatch) -> None:
    monkeypatch.setenv("JUDGEBOARD_ADMINS", "root@acme.io")
    at = _app("root@acme.io", email_verified=False)
    assert [t.value for t in at.title] == ["Not invited"]


def test_a_domain_invite_signs_in_as_a_rater(people, app_db) -> None:
    team_admin.invite(app_db, "@corp.example", actor_id=people["admin"])
    at = _app("zoe@corp.example", name="Zoe")
    assert [t.value for t in at.title] == ["Rate"]
    assert "Zoe" in at.sidebar.caption[0].value


def test_a_deactivated_rater_loses_access_on_the_next_rerun(people, app_db) -> None:
    at = _app(factory.RATER_EMAIL)
    assert [s.label for s in at.selectbox] == ["Campaign"]
    team_admin.set_active(app_db, people["rater"], False, actor_id=people["admin"])
    at.run()
    assert not at.selectbox and "blind" not in _text(at)
    assert [t.value for t in _app(factory.RATER_EMAIL).title] == ["Not invited"]


def test_a_deactivated_admin_loses_admin_pages_on_the_next_rerun(people, app_db) -> None:
    """The actor app.py left in session state is not trusted once the login says otherwise.

    (AppTest runs a page file on its own, without
    app.py, so the page's own gate is all that stands between a stale actor and the data.)
    """
    with factory.session(app_db) as s:
        boss2 = factory.user(s, "second.boss@acme.io", role="admin")
        s.commit()
    at = _app("second.boss@acme.io")
    assert at.dataframe and "blind" in _text(at)
    team_admin.set_active(app_db, boss2.id, False, actor_id=people["admin"])
    at.run()
    assert not at.dataframe and "blind" not in [t.value for t in at.title]
    assert not any(secret in _text(at) for secret in SECRETS_ON_SCREEN)


def test_local_mode_is_one_admin_with_a_banner(app_db) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert at.session_state["actor"].handle == "local-admin"
    assert any("Local mode" in i.value for i in at.sidebar.info)
    assert not at.sidebar.button, "no sign-out button without [auth]"
