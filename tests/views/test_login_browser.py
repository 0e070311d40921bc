"""Team mode end to end: Chromium signs in through a real OIDC provider on 127.0.0.1.

One oidc-provider-mock and one ``streamlit run app.py`` (with an ``[auth]`` secrets file)
serve the whole module; every test gets a fresh browser context, so a fresh sign-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from annotate import team
from db.engine import make_engine
from db.models import metadata
from tests import factory
from tests.browser import AppServer, app_server, chromium
from tests.oidc import OidcProvider, oidc_provider, write_auth_secrets

pytestmark = pytest.mark.browser

ADMIN = "boss@acme.io"  # from JUDGEBOARD_ADMINS, not in the database beforehand
RATER = "ana@acme.io"  # invited by email
DOMAIN_RATER = "zoe@corp.example"  # invited by domain
STRANGER = "eve@elsewhere.io"
TIMEOUT = 30_000
ADMIN_NAV = ["Campaigns", "Import", "Users", "Campaign setup", "LLM judges", "Review"]
RESULTS_NAV = [
    *("Leaderboard", "Agreement", "Calibration", "Rubric scores", "Evaluations", "Experiments"),
    "Monitoring",
]
RATER_NAV = ["Rate", "My history"]
# Admin pages by URL path, the helper module, and query-parameter variants.
ADMIN_PATHS = [
    *("users", "leaderboard", "calibration", "rubrics", "evaluations", "llm_judges", "review"),
    "monitoring",
    "experiments",
    "common",
    "?page=users",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("login")
    url = f"sqlite:///{tmp / 'team.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    inviter = factory.admin_id(engine)
    with factory.session(engine) as s:
        factory.blind_campaign(s, "secret-campaign", n_prompts=2, overlap=1)
        s.commit()
    team.invite(engine, RATER, actor_id=inviter)
    team.invite(engine, "@corp.example", actor_id=inviter)
    engine.dispose()
    with oidc_provider() as provider:
        secrets = write_auth_secrets(tmp / "secrets.toml", provider)
        with (
            app_server(
                url,
                tmp,
                env={"JUDGEBOARD_ADMINS": ADMIN},
                extra_args=["--secrets.files", str(secrets)],
            ) as server,
            chromium() as browser,
        ):
            yield {"server": server, "provider": provider, "browser": browser}


@pytest.fixture
def page(site, request) -> Iterator[Any]:
    """A fresh browser context (no cookies); prints the server log if the test failed."""
    failed_before = request.session.testsfailed
    context = site["browser"].new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield page
    context.close()
    if request.session.testsfailed > failed_before:
        print(site["server"].output()[-6000:])
    assert not dialogs, dialogs


def _sign_in(page: Any, server: AppServer, provider: OidcProvider, sub: str) -> None:
    """Click the app's Sign in, type the subject at the provider, come back to the app."""
    if "@" in sub:  # an address the provider has verified, as real providers say it
        provider.set_claims(sub, {"email": sub, "email_verified": True})
    page.goto(server.url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{provider.url}/oauth2/authorize**")
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{server.url}/**")
    page.locator("h1").first.wait_for()


def _nav(page: Any) -> list[str]:
    page.get_by_test_id("stSidebarNav").wait_for()
    links = page.get_by_test_id("stSidebarNavLink")
    return [t.strip().splitlines()[-1] for t in links.all_inner_texts()]  # after the icon


def _main(page: Any) -> str:
    return page.get_by_test_id("stMain").inner_text()


LAST = {  # the last thing each screen draws: once it is there, the screen is complete
    "judgeboard": "Sign in",
    "Not invited": "Sign out",
    "Rate": "Keys:",
    "My history": "not rated anything yet",
}


def _goto(page: Any, server: AppServer, path: str, heading: str) -> str:
    page.goto(f"{server.url}/{path}")
    page.get_by_role("heading", name=heading, exact=True).wait_for()
    page.get_by_test_id("stMain").get_by_text(LAST[heading]).first.wait_for()
    return _main(page)


def test_the_sign_in_screen_offers_nothing_but_sign_in(site, page) -> None:
    server = site["server"]
    text = _goto(page, server, "", "judgeboard")
    assert "Sign in" in text
    assert page.get_by_test_id("stSidebarNav").count() == 0
    for path in ("users", "rate"):
        text = _goto(page, server, path, "judgeboard")
        assert "Members" not in text and "secret-campaign" not in text


def test_an_admin_signs_in_and_reaches_manage_and_results_pages(site, page) -> None:
    server, provider = site["server"], site["provider"]
    _sign_in(page, server, provider, ADMIN)
    page.get_by_role("heading", name="Campaigns", exact=True).wait_for()
    assert _nav(page) == [*ADMIN_NAV, *RESULTS_NAV, *RATER_NAV]
    assert f"Signed in as {ADMIN} (admin)" in page.get_by_test_id("stSidebar").inner_text()
    page.get_by_test_id("stDataFrame").first.wait_for()  # the campaign table
    page.get_by_text("secret-campaign").first.wait_for(state="attached")

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Users").click()
    page.get_by_role("heading", name="Members").wait_for()
    page.get_by_text(RATER).first.wait_for()  # the invite is listed
    assert "corp.example" in _main(page)
    page.goto(f"{server.url}/leaderboard")
    page.get_by_role("heading", name="Leaderboard", exact=True).wait_for()
    page.get_by_text("Control for output length").wait_for()
    assert "This page is for admins." not in _main(page)


def test_a_rater_signs_in_and_reaches_nothing_beyond_rating(site, page) -> None:
    server, provider = site["server"], site["provider"]
    _sign_in(page, server, provider, RATER)
    page.get_by_role("heading", name="Rate", exact=True).wait_for()
    assert _nav(page) == RATER_NAV
    assert f"Signed in as {RATER} (rater)" in page.get_by_test_id("stSidebar").inner_text()
    page.get_by_text("Response A").first.wait_for()
    assert all(name not in page.content() for name in factory.SECRET_MODELS)

    for path in ADMIN_PATHS:
        text = _goto(page, server, path, "Rate")
        assert _nav(page) == RATER_NAV, path
        for admin_only in ("Members", "Leaderboard", "Krippendorff", "Define a judge", "Import"):
            assert admin_only not in text, (path, admin_only)
        assert all(name not in page.content() for name in factory.SECRET_MODELS), path
    text = _goto(page, server, "history", "My history")
    assert "not rated anything yet" in text


def test_a_domain_invite_lets_a_new_address_in_as_a_rater(site, page) -> None:
    _sign_in(page, site["server"], site["provider"], DOMAIN_RATER)
    page.get_by_role("heading", name="Rate", exact=True).wait_for()
    assert _nav(page) == RATER_NAV


def test_an_uninvited_email_sees_the_not_invited_page_and_nothing_else(site, page) -> None:
    server, provider = site["server"], site["provider"]
    _sign_in(page, server, provider, STRANGER)
    page.get_by_role("heading", name="Not invited").wait_for()
    page.get_by_text(STRANGER).wait_for()  # the heading can render before the text below it
    assert STRANGER in _main(page)
    assert page.get_by_test_id("stSidebarNav").count() == 0
    for path in ("rate", "campaigns", "common"):
        text = _goto(page, server, path, "Not invited")
        assert "secret-campaign" not in text and "Response A" not in text, path
        assert page.get_by_test_id("stSidebarNav").count() == 0, path


def test_an_unverified_email_claim_does_not_make_an_admin(site, page) -> None:
    provider = site["provider"]
    provider.set_claims("mallory", {"email": ADMIN, "email_verified": False})
    _sign_in(page, site["server"], provider, "mallory")
    page.get_by_role("heading", name="Not invited").wait_for()
    assert "Campaigns" not in _main(page)


def test_an_email_verified_claim_other_than_true_shows_not_invited_with_the_reason(
    site, page
) -> None:
    provider = site["provider"]
    provider.set_claims("trudy", {"email": RATER, "email_verified": "true"})
    _sign_in(page, site["server"], provider, "trudy")
    page.get_by_role("heading", name="Not invited").wait_for()
    page.get_by_text("email_verified is not true").wait_for()
    assert "Rate" not in _nav_or_none(page)


def _nav_or_none(page: Any) -> list[str]:
    return _nav(page) if page.get_by_test_id("stSidebarNav").count() else []


def test_sign_out_returns_to_the_sign_in_screen(site, page) -> None:
    server, provider = site["server"], site["provider"]
    _sign_in(page, server, provider, RATER)
    page.get_by_role("heading", name="Rate", exact=True).wait_for()
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    # The provider confirms the end of its session, then sends the browser back.
    page.wait_for_url(f"{provider.url}/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{server.url}/**")
    page.get_by_role("button", name="Sign in").wait_for()
    text = _goto(page, server, "rate", "judgeboard")
    assert "Response A" not in text
    assert page.get_by_test_id("stSidebarNav").count() == 0
