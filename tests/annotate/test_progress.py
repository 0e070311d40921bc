"""Progress on the Rate page: only answers count as done; skips and flags are told apart."""

from __future__ import annotations

from annotate.items import Answer, Progress
from annotate.queue import next_item, progress
from annotate.submission import flag, skip, submit, undo_last
from tests import factory


def _campaign(engine, n_prompts: int = 5) -> tuple[int, int, int]:
    with factory.session(engine) as s:
        data = factory.blind_campaign(s, n_prompts=n_prompts, overlap=1)
        r1, r2 = factory.raters(s, 2)
        s.commit()
        return data["campaign"].id, r1.id, r2.id


def _next(engine, rater_id: int, campaign_id: int) -> int:
    item = next_item(engine, rater_id, campaign_id)
    assert item is not None
    return item.assignment_id


def test_skips_and_flags_do_not_count_as_done(engine) -> None:
    cid, rater, _ = _campaign(engine)
    submit(engine, rater, _next(engine, rater, cid), Answer(preference=1))
    skip(engine, rater, _next(engine, rater, cid))
    flag(engine, rater, _next(engine, rater, cid), "cut off")
    submit(engine, rater, _next(engine, rater, cid), Answer(preference=0))

    assert progress(engine, rater, cid) == Progress(done=2, target=5, skipped=1, flagged=1)


def test_an_undone_answer_no_longer_counts(engine) -> None:
    cid, rater, _ = _campaign(engine)
    submit(engine, rater, _next(engine, rater, cid), Answer(preference=-1))
    undo_last(engine, rater, cid)

    assert progress(engine, rater, cid).done == 0


def test_progress_is_per_rater(engine) -> None:
    cid, rater, other = _campaign(engine)
    submit(engine, other, _next(engine, other, cid), Answer(preference=1))
    skip(engine, other, _next(engine, other, cid))

    assert progress(engine, rater, cid) == Progress(done=0, target=5)


def test_progress_text_names_skips_and_flags_only_when_there_are_some() -> None:
    assert Progress(3, 10).text() == "3 of 10 done"
    assert Progress(3, 10, skipped=2, flagged=1).text() == "3 of 10 done · 2 skipped · 1 flagged"
    assert Progress(0, 4, flagged=1).text() == "0 of 4 done · 1 flagged"
    assert Progress(0, 0).fraction == 1.0
