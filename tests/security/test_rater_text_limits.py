"""Text raters type (rationale, flag reason): bounded in size, and stored the same way on
SQLite and PostgreSQL (NUL characters removed), on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.history import revise
from annotate.items import MAX_RATER_TEXT, Answer
from annotate.queue import next_item
from annotate.submission import flag, submit
from db.errors import InvalidInputError
from db.models import Assignment, Judgment
from tests import factory

ROOT = Path(__file__).resolve().parents[2]


def _leased(engine):
    """A one-prompt pairwise campaign, a rater, and the item leased to them."""
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=2, overlap=1)
        (rater,) = factory.raters(s, 1)
        s.commit()
    return rater.id, data["campaign"].id, next_item(engine, rater.id, data["campaign"].id)


def _rows(engine, model):
    with factory.session(engine) as s:
        return list(s.execute(select(model).order_by(model.id)).scalars())


# --- size limits (issue 13, point 10) -------------------------------------------------------


def test_the_limit_is_ten_thousand_characters() -> None:
    assert MAX_RATER_TEXT == 10_000


def test_a_rationale_at_the_limit_is_kept(engine) -> None:
    rater, _, item = _leased(engine)
    submit(engine, rater, item.assignment_id, Answer(-1, rationale="r" * MAX_RATER_TEXT))
    (j,) = _rows(engine, Judgment)
    assert len(j.rationale) == MAX_RATER_TEXT


def test_an_over_long_rationale_is_refused_naming_the_field(engine) -> None:
    rater, _, item = _leased(engine)
    too_long = Answer(-1, rationale="r" * (MAX_RATER_TEXT + 1))
    with pytest.raises(InvalidInputError, match=r"Rationale.*10,000 characters"):
        submit(engine, rater, item.assignment_id, too_long)
    assert _rows(engine, Judgment) == []
    (a,) = _rows(engine, Assignment)
    assert a.status == "leased"  # still the rater's to answer


def test_a_revision_with_an_over_long_rationale_is_refused(engine) -> None:
    rater, _, item = _leased(engine)
    judgment_id = submit(engine, rater, item.assignment_id, Answer(-1))
    with pytest.raises(InvalidInputError, match=r"Rationale.*10,000 characters"):
        revise(engine, rater, judgment_id, Answer(1, rationale="r" * (MAX_RATER_TEXT + 1)))
    (j,) = _rows(engine, Judgment)
    assert (j.preference, j.is_current) == (-1 if j.shown_order == "ab" else 1, True)


def test_an_over_long_flag_reason_is_refused_naming_the_field(engine) -> None:
    rater, _, item = _leased(engine)
    with pytest.raises(InvalidInputError, match=r"Flag reason.*10,000 characters"):
        flag(engine, rater, item.assignment_id, "x" * (MAX_RATER_TEXT + 1))
    (a,) = _rows(engine, Assignment)
    assert (a.status, a.flag_reason) == ("leased", None)
    flag(engine, rater, item.assignment_id, "x" * MAX_RATER_TEXT)
    (a,) = _rows(engine, Assignment)
    assert (a.status, len(a.flag_reason)) == ("flagged", MAX_RATER_TEXT)


def test_the_rate_page_inputs_stop_at_the_limit(app_db) -> None:
    with factory.session(app_db) as s:
        factory.blind_campaign(s, n_prompts=1)
        s.commit()
    at = AppTest.from_file(str(ROOT / "views" / "rate.py"), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert [t.proto.max_chars for t in at.text_area] == [MAX_RATER_TEXT]
    assert [t.proto.max_chars for t in at.text_input] == [MAX_RATER_TEXT]


# --- NUL characters (issue 13, point 14) ----------------------------------------------------


def test_nul_is_removed_from_a_rationale_before_storing(engine) -> None:
    rater, _, item = _leased(engine)
    submit(engine, rater, item.assignment_id, Answer(-1, rationale="cites\x00 a\x00 source"))
    (j,) = _rows(engine, Judgment)
    assert j.rationale == "cites a source"


def test_nul_is_removed_from_a_revised_rationale(engine) -> None:
    rater, _, item = _leased(engine)
    judgment_id = submit(engine, rater, item.assignment_id, Answer(-1))
    revise(engine, rater, judgment_id, Answer(1, rationale="\x00on second\x00 thought"))
    current = [j for j in _rows(engine, Judgment) if j.is_current]
    assert [j.rationale for j in current] == ["on second thought"]


def test_nul_is_removed_from_a_flag_reason_before_storing(engine) -> None:
    rater, _, item = _leased(engine)
    flag(engine, rater, item.assignment_id, "output\x00 is cut off\x00")
    (a,) = _rows(engine, Assignment)
    assert (a.status, a.flag_reason) == ("flagged", "output is cut off")


def test_a_flag_reason_of_nul_alone_is_no_reason(engine) -> None:
    rater, _, item = _leased(engine)
    with pytest.raises(InvalidInputError, match="Say why"):
        flag(engine, rater, item.assignment_id, "\x00 \x00")
