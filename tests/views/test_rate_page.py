"""The Rate and My history pages, driven through Streamlit's AppTest on a temp SQLite file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from annotate.campaigns import CriterionSpec
from db.models import Assignment, Judgment, JudgmentScore
from tests import factory

ROOT = Path(__file__).resolve().parents[2]
SECRET = factory.SECRET_MODELS


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / name), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def _text(at: AppTest) -> str:
    """Everything the page sent to the browser, protos included (labels, keys, bodies)."""
    out = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def _button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]


def _click(at: AppTest, label: str) -> AppTest:
    _button(at, label).click().run()
    assert not at.exception, at.exception
    assert all(name not in _text(at) for name in SECRET), "a candidate name leaked"
    return at


def _judgments(engine: Engine) -> list[Judgment]:
    with factory.session(engine) as s:
        return list(s.execute(select(Judgment).order_by(Judgment.id)).scalars())


def _assignments(engine: Engine) -> list[Assignment]:
    with factory.session(engine) as s:
        return list(s.execute(select(Assignment).order_by(Assignment.id)).scalars())


def _current_response_a(at: AppTest) -> str:
    bodies = [m.value for m in at.markdown]
    return bodies[bodies.index("#### Response A") + 1]


def test_a_rater_rates_skips_flags_undoes_and_revises(app_db: Engine) -> None:
    with factory.session(app_db) as s:
        factory.blind_campaign(
            s, n_prompts=5, overlap=1, instructions="Prefer the **correct** answer."
        )
        s.commit()
    at = _page("rate.py")
    assert at.expander[0].label == "Instructions"
    assert "Prefer the **correct** answer." in [m.value for m in at.markdown]
    assert "0 of 5 done" in _text(at)
    assert all(name not in _text(at) for name in SECRET)
    assert "Response A" in _text(at) and "Response B" in _text(at)

    # 1: A is better
    _click(at, "A is better")
    assert len(_judgments(app_db)) == 1
    assert "1 of 5 done" in _text(at)
    # 2: skip
    _click(at, "Skip")
    assert _assignments(app_db)[1].status == "skipped"
    # 3: flag, with a reason
    at.text_input[0].set_value("output is cut off")
    _click(at, "Flag item")
    assert (_assignments(app_db)[2].status, _assignments(app_db)[2].flag_reason) == (
        "flagged",
        "output is cut off",
    )
    # 4: B is better with a rationale, then undo and answer Tie instead
    shown = _current_response_a(at)
    at.text_area[0].set_value("B cites a source")
    _click(at, "B is better")
    _click(at, "Undo last")
    assert _current_response_a(at) == shown  # the same item is back
    assert at.text_area[0].value == "B cites a source"  # with the answer pre-filled
    _click(at, "Tie")
    # 5: both bad
    _click(at, "Both bad")
    assert "All done" in _text(at)
    assert "3 of 5 done · 1 skipped · 1 flagged" in _text(at)

    judgments = _judgments(app_db)
    current = [j for j in judgments if j.is_current]
    assert len(current) == 3 and len(judgments) == 4
    retracted = next(j for j in judgments if not j.is_current)
    redo = next(j for j in current if j.comparison_id == retracted.comparison_id)
    assert (retracted.version, redo.version, redo.preference) == (1, 2, 0)
    assert redo.rationale == "B cites a source"
    assert all(j.time_on_task_ms is not None for j in judgments)
    assert current[-1].both_bad

    # Revise the first answer on My history.
    history = _page("history.py")
    assert all(name not in _text(history) for name in SECRET)
    first = judgments[0]
    history.selectbox(key="history_pick").set_value(first.id).run()
    history.segmented_control(key=f"rev-{first.id}-preference").set_value(1)
    _click(history, "Save revision")
    assert "Saved as a new version" in _text(history)
    after = [j for j in _judgments(app_db) if j.comparison_id == first.comparison_id]
    assert [(j.version, j.is_current) for j in after] == [(1, False), (2, True)]
    assert after[1].preference == -first.preference  # A better -> B better, same shown order


def test_both_mode_takes_preference_and_scores_then_submits(app_db: Engine) -> None:
    with factory.session(app_db) as s:
        factory.blind_campaign(
            s,
            n_prompts=2,
            mode="both",
            preference_scale="5way",
            criteria=[CriterionSpec("Accuracy", "Is it right?", "likert5")],
        )
        s.commit()
    at = _page("rate.py")
    (preference,) = [c for c in at.segmented_control if c.key.endswith("-preference")]
    assert preference.options == [
        "A much better (Shift+A)",
        "A better (A)",
        "Tie (T)",
        "B better (B)",
        "B much better (Shift+B)",
        "Both bad (X)",
    ]
    assert _button(at, "Submit").proto.shortcut == "ctrl+enter"
    preference.set_value(2)
    _click(at, "Submit")  # the rubric is optional next to a preference
    assert not at.error
    (first,) = _judgments(app_db)
    assert abs(first.preference) == 2
    scores = [c for c in at.segmented_control if "-score-" in c.key]
    for control, value in zip(scores, (5.0, 2.0), strict=True):
        control.set_value(value)
    [c for c in at.segmented_control if c.key.endswith("-preference")][0].set_value(1)
    _click(at, "Submit")
    first, second = _judgments(app_db)
    assert abs(second.preference) == 1
    with factory.session(app_db) as s:
        assert sorted(v for (v,) in s.execute(select(JudgmentScore.value))) == [2.0, 5.0]


def test_submit_without_a_preference_names_what_is_missing(app_db: Engine) -> None:
    with factory.session(app_db) as s:
        factory.blind_campaign(
            s, n_prompts=1, mode="both", criteria=[CriterionSpec("Accuracy", "", "likert5")]
        )
        s.commit()
    at = _click(_page("rate.py"), "Submit")
    assert "Choose which response is better" in at.error[0].value
    assert _judgments(app_db) == []


def test_no_campaign_open_to_the_rater(app_db: Engine) -> None:
    at = _page("rate.py")
    assert "No campaign is open to you" in _text(at)
