"""The Review page (issue 14, points 5 and 6) through AppTest: the item browser with its
search and filters, one item in full, and every action, for admins only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Adjudication, Assignment, Comparison, RaterExclusion, ReviewAction
from tests import factory
from views.widgets.common import Actor

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def reviewed(app_db) -> dict[str, Any]:
    """Comparison 0: two raters disagree; 1: one human vote, the judge says otherwise;
    2: flagged by rater 0."""
    with factory.session(app_db) as s:
        data = factory.blind_campaign(s, n_prompts=3)
        r0, r1 = factory.raters(s, 2)
        judge = factory.judge(s)
        comps = data["comparisons"]
        factory.human_judgment(s, comps[0], r0, -1, rationale="A is **right**")
        factory.human_judgment(s, comps[0], r1, 1)
        factory.human_judgment(s, comps[1], r0, -1)
        factory.judge_judgment(s, comps[1], judge, 1)
        s.commit()
        ids = {
            "campaign": data["campaign"].id,
            "comparisons": [c.id for c in comps],
            "raters": [r0.id, r1.id],
        }
    [flagged] = factory.flag_items(app_db, ids["raters"][0], ids["campaign"], ["B is cut off"])
    assert flagged == ids["comparisons"][2]
    admin = factory.admin_id(app_db)
    return {**ids, "admin": Actor(admin, "admin@example.com", "admin", "Admin")}


def _page(actor: Actor) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "review.py"), default_timeout=60)
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _items(at: AppTest) -> list[int]:
    return list(at.dataframe[0].value["Comparison"])


def _table(at: AppTest, column: str) -> Any:
    """The one table on the page that has ``column``."""
    [frame] = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def _open(at: AppTest, comparison_id: int) -> AppTest:
    at.selectbox(key="review_open").set_value(comparison_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_admin_sees_every_item_under_readable_headers(app_db, reviewed) -> None:
    at = _page(reviewed["admin"])
    table = at.dataframe[0].value
    assert list(table["Comparison"]) == reviewed["comparisons"]
    assert {"Model A", "Humans disagree", "Judge vs humans", "Open flags", "Open"} <= set(
        table.columns
    )
    assert list(table["Humans disagree"]) == [True, False, False]
    assert list(table["Judge vs humans"]) == [False, True, False]
    first = reviewed["comparisons"][0]
    assert table["Open"][0] == f"review?campaign={reviewed['campaign']}&comparison={first}"


def test_the_open_link_opens_the_item(app_db, reviewed) -> None:
    cid = reviewed["comparisons"][1]
    at = AppTest.from_file(str(ROOT / "views" / "review.py"), default_timeout=60)
    at.session_state["actor"] = reviewed["admin"]
    at.query_params["campaign"] = str(reviewed["campaign"])
    at.query_params["comparison"] = str(cid)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.subheader[0].value == f"Comparison #{cid}"


@pytest.mark.parametrize(
    ("checkbox", "expected"),
    [("review_disagreement", 0), ("review_judge_vs", 1), ("review_flagged", 2)],
)
def test_each_filter_narrows_the_table(app_db, reviewed, checkbox, expected) -> None:
    at = _page(reviewed["admin"])
    at.checkbox(key=checkbox).check().run()
    assert _items(at) == [reviewed["comparisons"][expected]]


def test_search_finds_prompt_text(app_db, reviewed) -> None:
    at = _page(reviewed["admin"])
    at.text_input(key="review_search").input("question 2").run()
    assert _items(at) == [reviewed["comparisons"][2]]
    at.text_input(key="review_search").input("no such text").run()
    assert _items(at) == []


def test_an_opened_item_shows_prompt_outputs_and_votes(app_db, reviewed) -> None:
    at = _open(_page(reviewed["admin"]), reviewed["comparisons"][0])
    shown = " ".join(m.value for m in at.markdown)
    assert "Question 0?" in shown and "Answer number 0, variant 0." in shown
    votes = _table(at, "Verdict")
    assert list(votes["Rater"]) == ["rater0@example.com", "rater1@example.com"]
    assert list(votes["Verdict"]) == ["A better", "B better"]
    assert list(votes["Rationale"]) == ["A is **right**", ""]
    assert votes["When"].str.endswith("UTC").all()


def test_the_admin_adjudicates_with_the_rater_buttons(app_db, reviewed) -> None:
    cid = reviewed["comparisons"][0]
    at = _open(_page(reviewed["admin"]), cid)
    at.text_area(key=f"adjudicate-{cid}-rationale").input("B follows the brief").run()
    at.button(key=f"adjudicate-{cid}-pref-1").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with factory.session(app_db) as s:
        adj = s.exec(select(Adjudication)).scalars().one()
        action = s.exec(select(ReviewAction)).scalars().one()
    assert (adj.comparison_id, adj.preference, adj.note) == (cid, 1, "B follows the brief")
    assert (action.action, action.actor_id) == ("adjudicate", reviewed["admin"].id)
    assert any("Adjudicated comparison" in m.value for m in at.success)
    at.button(key=f"gold-{cid}").click().run()
    with factory.session(app_db) as s:
        comp = s.get(Comparison, cid)
    assert (comp.check_kind, comp.expected_preference) == ("gold", 1)


def test_resolving_a_flag_as_retired_leaves_the_item_out(app_db, reviewed) -> None:
    cid = reviewed["comparisons"][2]
    at = _open(_page(reviewed["admin"]), cid)
    flags = _table(at, "Reason")
    assert list(flags["Reason"]) == ["B is cut off"] and list(flags["Status"]) == ["open"]
    at.radio(key=f"flag-resolution-{cid}").set_value("retired").run()
    at.button(key=f"resolve-{cid}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with factory.session(app_db) as s:
        flag = s.exec(select(Assignment).where(Assignment.status == "flagged")).scalars().one()
        retired = s.get(Comparison, cid).retired_at
    assert flag.flag_status == "retired" and retired is not None
    assert any("1 retired comparison is left out" in i.value for i in at.info)
    assert cid not in _items(at)


def test_the_admin_excludes_and_includes_a_rater(app_db, reviewed) -> None:
    key = f"u:{reviewed['raters'][1]}"
    at = _page(reviewed["admin"])
    at.selectbox(key="review_rater").set_value(key).run()
    at.text_input(key="review_reason").input("clicks at random").run()
    at.button(key="review_exclude").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with factory.session(app_db) as s:
        row = s.exec(select(RaterExclusion)).scalars().one()
    assert (row.rater_key, row.reason) == (key, "clicks at random")
    assert any("1 excluded rater is left out" in i.value for i in at.info)
    assert list(at.dataframe[0].value["Humans disagree"]) == [False, False, False]
    at.button(key="review_include").click().run()
    assert factory.table_counts(app_db)["rater_exclusions"] == 0


def test_the_review_log_shows_who_did_what(app_db, reviewed) -> None:
    at = _page(reviewed["admin"])
    at.button(key="review_exclude").click().run()
    log = _table(at, "Action")
    assert list(log["Action"]) == ["exclude_rater"]
    assert list(log["Admin"]) == ["admin@example.com"]


def test_a_rater_cannot_open_the_review_page(app_db, reviewed) -> None:
    rater = reviewed["raters"][0]
    at = _page(Actor(rater, "rater0@example.com", "rater", "rater0"))
    assert [e.value for e in at.error] == ["This page is for admins."]
    assert not at.dataframe and not at.button


def test_the_review_page_is_in_the_admins_navigation(app_db, reviewed) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Review"


def test_the_review_page_renders_the_demo_and_opens_its_items(app_db) -> None:
    from ingest.demo import load_demo

    load_demo(app_db)
    admin = Actor(factory.admin_id(app_db), "admin@example.com", "admin", "Admin")
    at = _page(admin)
    items = _items(at)
    assert items and not at.error
    for cid in items[:3]:
        _open(at, cid)
        assert not at.error, [e.value for e in at.error]
        assert at.subheader[0].value == f"Comparison #{cid}"
