"""Access rules: revisions obey the campaign rules submissions do, pages re-check access on
every run, and an admin demoted mid-session sees a message, not a traceback."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.history import revise
from annotate.items import Answer
from annotate.queue import next_item
from annotate.submission import submit
from db.errors import PermissionDeniedError
from db.models import Campaign, Judgment, User
from tests import factory
from views.widgets.common import Actor

# --- point 4: revisions obey the same rules as submissions ----------------------------------


def _archive(campaign: Campaign, rater_id: int, other_id: int) -> None:
    campaign.archived = True


def _remove_rater(campaign: Campaign, rater_id: int, other_id: int) -> None:
    campaign.allowed_raters = [other_id]


@pytest.mark.parametrize("close", [_archive, _remove_rater], ids=["archived", "rater_removed"])
def test_a_closed_campaign_refuses_revisions_like_submissions(
    engine, close: Callable[[Campaign, int, int], None]
) -> None:
    with factory.session(engine) as s:
        cid = factory.blind_campaign(s, n_prompts=2)["campaign"].id
        rater, other = factory.raters(s, 2)
        s.commit()
    rng = random.Random(3)
    first = next_item(engine, rater.id, cid, rng=rng)
    submit(engine, rater.id, first.assignment_id, Answer(-1))
    second = next_item(engine, rater.id, cid, rng=rng)
    with factory.session(engine) as s:
        judgment_id = s.execute(select(Judgment.id)).scalar_one()
        close(s.get(Campaign, cid), rater.id, other.id)
        s.commit()
    with pytest.raises(PermissionDeniedError, match="closed to you"):
        submit(engine, rater.id, second.assignment_id, Answer(1))
    with pytest.raises(PermissionDeniedError, match="closed to you"):
        revise(engine, rater.id, judgment_id, Answer(1))
    with factory.session(engine) as s:
        rows = s.execute(select(Judgment.preference, Judgment.is_current)).all()
    assert rows == [(-1, True)]


# --- point 5: cached pages re-check access --------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _page_as(name: str, actor: Actor) -> AppTest:
    """A page run directly with ``actor`` in session state, as app.py leaves it."""
    at = AppTest.from_file(str(ROOT / "views" / name), default_timeout=60)
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _admin(engine) -> Actor:
    return Actor(factory.admin_id(engine), "admin@example.com", "admin", "Admin")


def _demote(engine, user_id: int) -> None:
    with factory.session(engine) as s:
        s.get(User, user_id).role = "rater"
        s.commit()


def _thin_campaign(engine) -> dict[str, Any]:
    """Two comparisons, one human vote on the first."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, name="thin", n_prompts=2, models=("m1", "m2"))
        factory.human_judgment(s, data["comparisons"][0], factory.user(s, "solo@x.org"), -1)
        s.commit()
    return data


def _subheaders(at: AppTest) -> list[str]:
    return [h.value for h in at.subheader]


@pytest.mark.parametrize(
    ("page", "shown"),
    [("agreement.py", "Krippendorff's alpha"), ("calibration.py", "No judge verdicts")],
)
def test_a_demoted_admin_gets_no_cached_report(app_db, page: str, shown: str) -> None:
    _thin_campaign(app_db)
    admin = _admin(app_db)
    at = _page_as(page, admin)
    assert shown in " ".join(_subheaders(at) + [i.value for i in at.info])
    _demote(app_db, admin.id)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert shown not in " ".join(_subheaders(at) + [i.value for i in at.info])
    assert at.error


def test_the_agreement_page_shows_new_votes_at_once(app_db) -> None:
    data = _thin_campaign(app_db)
    at = _page_as("agreement.py", _admin(app_db))
    assert any(c.value.startswith("1 raters, 1 comparisons") for c in at.caption)
    with factory.session(app_db) as s:
        factory.human_judgment(s, data["comparisons"][1], factory.user(s, "duo@x.org"), 1)
        s.commit()
    at.run()
    assert any(c.value.startswith("2 raters, 2 comparisons") for c in at.caption)


def test_the_calibration_page_shows_new_judge_verdicts_at_once(app_db) -> None:
    data = _thin_campaign(app_db)
    at = _page_as("calibration.py", _admin(app_db))
    assert any("No judge verdicts" in i.value for i in at.info)
    with factory.session(app_db) as s:
        judge = factory.judge(s)
        factory.judge_judgment(s, data["comparisons"][0], judge, -1, "ab")
        factory.judge_judgment(s, data["comparisons"][0], judge, -1, "ba")
        s.commit()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("No judge verdicts" in i.value for i in at.info)


# --- point 6: a demoted admin's open page shows a message, not a traceback ------------------

ADMIN_PAGES = sorted(
    p.name
    for p in (ROOT / "views").glob("*.py")
    if p.name not in {"__init__.py", "rate.py", "history.py", "not_invited.py"}
)


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_a_demoted_admins_open_page_shows_the_refusal_as_a_message(app_db, page: str) -> None:
    _thin_campaign(app_db)
    admin = _admin(app_db)
    at = _page_as(page, admin)
    _demote(app_db, admin.id)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == ["This page is for admins."]


def test_a_deactivated_users_open_page_asks_them_to_sign_in_again(app_db) -> None:
    with factory.session(app_db) as s:
        rater = factory.user(s, "ana@acme.io")
        s.commit()
    at = _page_as("history.py", Actor(rater.id, rater.handle, "rater", rater.handle))
    with factory.session(app_db) as s:
        s.get(User, rater.id).active = False
        s.commit()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.info and not at.dataframe
    assert len(at.error) == 1 and "not active" in at.error[0].value
