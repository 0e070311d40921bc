"""Which runs may be resumed, and what a run's cost says when the price is unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.models import JudgeRun, JudgeTask, utcnow
from judges.runs import STALE_AFTER_S, list_runs
from tests import factory

LONG_AGO = timedelta(seconds=STALE_AFTER_S + 60)


def _run(engine, status: str, *, age: timedelta = timedelta(0), claimed_ago=None, **fields):
    """One run of a judge with an unpriced model, created ``age`` ago."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=1, models=("m1", "m2"))
        judge = factory.judge(s, "j", model="model-nobody-prices")
        then = utcnow() - age
        run = JudgeRun(
            judge_id=judge.id,
            campaign_id=data["campaign"].id,
            status=status,
            created_at=then,
            started_at=then,
            n_tasks=1,
            **fields,
        )
        s.add(run)
        s.flush()
        if claimed_ago is not None:
            s.add(
                JudgeTask(
                    run_id=run.id,
                    comparison_id=data["comparisons"][0].id,
                    shown_order="ab",
                    status="claimed",
                    claimed_by="host:1:x",
                    claimed_at=utcnow() - claimed_ago,
                )
            )
        s.commit()
    (progress,) = list_runs(engine, actor_id=factory.admin_id(engine))
    return progress


@pytest.mark.parametrize(
    ("status", "n_failed", "resumable"),
    [
        ("cancelled", 0, True),
        ("failed", 0, True),
        ("done", 2, True),
        ("done", 0, False),
        ("pending", 0, False),
        ("running", 0, False),
    ],
)
def test_only_a_run_that_is_not_being_worked_on_is_resumable(
    engine, status, n_failed, resumable
) -> None:
    assert _run(engine, status, n_failed=n_failed).resumable is resumable


def test_a_running_run_with_a_fresh_claim_is_not_interrupted(engine) -> None:
    run = _run(engine, "running", age=LONG_AGO, claimed_ago=timedelta(seconds=5))
    assert (run.interrupted, run.resumable) == (False, False)


def test_a_running_run_nobody_touched_for_long_was_interrupted(engine) -> None:
    run = _run(engine, "running", age=LONG_AGO, claimed_ago=LONG_AGO)
    assert (run.interrupted, run.resumable) == (True, True)


def test_a_zero_cost_for_want_of_a_price_says_so_and_names_the_setting(engine, monkeypatch) -> None:
    monkeypatch.delenv("JUDGEBOARD_PRICES_FILE", raising=False)
    run = _run(engine, "done")
    assert run.cost_text == "$0.0000 (price unknown)"
    assert "No price for model 'model-nobody-prices'" in run.note
    assert "JUDGEBOARD_PRICES_FILE" in run.note
    assert "(price unknown)" in run.summary()


def test_a_priced_model_has_no_note(engine, monkeypatch, tmp_path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"model-nobody-prices": [1.0, 2.0]}')
    monkeypatch.setenv("JUDGEBOARD_PRICES_FILE", str(prices))
    run = _run(engine, "done")
    assert (run.note, run.cost_text) == (None, "$0.0000")
