"""Agreement on vote shapes that real files have, on SQLite and PostgreSQL (issue 13, point 21).

A rater who voted on one pair in both orders (model_a/model_b swapped) is one comparison shown
twice: the later vote is a re-show, and one unit's repeat never stops a whole campaign's report.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from annotate.campaigns import get_campaign
from db.models import Judgment
from ingest.votes import import_votes
from results.reports import campaign_agreement
from tests import factory


def _votes_with_one_pair_in_both_orders() -> list[dict]:
    """Two raters on two questions; author_0 also voted on question 0 with the sides swapped."""
    rows = factory.vote_rows(2, judge="author_0") + factory.vote_rows(2, judge="author_1")
    swapped = {
        **rows[0],
        "model_a": "m2",
        "model_b": "m1",
        "output_a": rows[0]["output_b"],
        "output_b": rows[0]["output_a"],
        "winner": "model_b",
    }
    return [*rows, swapped]


def test_a_vote_on_the_same_pair_in_the_other_order_imports_as_a_reshow(
    engine, tmp_path: Path
) -> None:
    admin = factory.admin_id(engine)
    path = factory.write_jsonl(tmp_path / "v.jsonl", _votes_with_one_pair_in_both_orders())
    result = import_votes(engine, path, "both-orders", actor_id=admin)
    assert result.judgments_added == 5
    with factory.session(engine) as s:
        rows = s.exec(select(Judgment).order_by(Judgment.id)).all()
    assert [(r.shown_order, r.is_reshow, r.preference) for r in rows][-1] == ("ba", True, -1)
    assert sum(r.is_reshow for r in rows) == 1
    assert all(r.is_current for r in rows)
    page = campaign_agreement(
        engine, get_campaign(engine, "both-orders").id, n_boot=20, actor_id=admin
    )
    assert (page.report.n_units, page.report.n_raters, page.report.n_ratings) == (2, 2, 4)


def test_agreement_keeps_a_raters_first_showing_when_a_unit_has_two_of_their_votes(
    engine,
) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=2, models=("m1", "m2"))
        first, second = (factory.user(s, f"r{i}@example.com") for i in (1, 2))
        for comp in data["comparisons"]:
            factory.human_judgment(s, comp, first, 1, shown_order="ab")
            factory.human_judgment(s, comp, second, 1, shown_order="ab")
        # Stored before re-shows were recognised: the same comparison, other order, not marked.
        factory.human_judgment(s, data["comparisons"][0], first, -1, shown_order="ba")
        s.commit()
        campaign_id = data["campaign"].id
    page = campaign_agreement(engine, campaign_id, n_boot=20, actor_id=factory.admin_id(engine))
    report = page.report
    assert (report.n_units, report.n_raters, report.n_ratings) == (2, 2, 4)
    assert report.percent_agreement == 1.0
    assert any("1 repeated vote" in note for note in report.notes)
