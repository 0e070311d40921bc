"""The admins' comparison detail (calibration disagreements, leaderboard drill-down) shows
untrusted text the way the Rate page does: images as their address, names as written."""

from __future__ import annotations

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from db.models import Candidate, Output
from tests import factory


def _detail(actor_id: int, comparison_id: int) -> None:
    from views.widgets.common import show_comparison

    show_comparison(actor_id, comparison_id)


def test_the_comparison_detail_fetches_no_image_and_shows_names_as_written(app_db) -> None:
    admin = factory.admin_id(app_db)
    with factory.session(app_db) as s:
        data = factory.campaign_with_outputs(s, models=("m1", "m2"), n_prompts=1)
        comp = data["comparisons"][0]
        s.get(Candidate, data["candidates"][0].id).name = "**bold** [x](http://evil.example)"
        s.get(Output, comp.output_a_id).content = "look ![cat](https://tracker.example/cat.png)"
        s.commit()
        names = set(s.exec(select(Candidate.name)))
    at = AppTest.from_function(_detail, args=(admin, comp.id)).run()
    assert not at.exception, at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "](https://tracker.example/cat.png)" not in shown
    assert "[image: https://tracker.example/cat.png]" in shown
    assert "\\*\\*bold\\*\\* \\[x\\](http://evil.example)" in shown, (shown, names)


def test_the_votes_on_a_comparison_show_preferences_in_words(app_db) -> None:
    admin = factory.admin_id(app_db)
    with factory.session(app_db) as s:
        data = factory.campaign_with_outputs(s, models=("m1", "m2"), n_prompts=1)
        comp = data["comparisons"][0]
        factory.human_judgment(s, comp, factory.user(s, "ana@x.org"), -2, shown_order="ba")
        s.commit()
    at = AppTest.from_function(_detail, args=(admin, comp.id)).run()
    assert not at.exception, at.exception
    votes = at.dataframe[0].value
    assert votes.loc[0, "Preference"] == "A much better"
    assert votes.loc[0, "Shown order"] == "B first"
    assert not [c for c in votes.columns if "_" in c]
