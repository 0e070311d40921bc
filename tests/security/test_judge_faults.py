"""Judge runs under hostile replies and faults, on SQLite and PostgreSQL (issue 13, point 18)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from db.models import JudgeTask, Judgment, ResponseCache, utcnow
from judges.runs import RunOptions, create_run, resume_run
from judges.worker import run_blocking
from judges.writer import RunWriter
from tests import factory

FAST = RunOptions(concurrency=4, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=2.0)
NUL_REPLY = json.dumps({"reason": "bad\u0000byte", "verdict": "B"})


def _nul_in_one_reply_campaign(engine, server) -> tuple[int, int]:
    """Four comparisons judged in one order each; the judge's reply for prompt 1 holds a NUL."""
    server.configure(rules=[{"contains": "Question 1?", "reply": NUL_REPLY}])
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=4, models=("m1", "m22"))
        judge = factory.judge_config(s, "nul-judge", base_url=server.openai_base, swap_policy="ab")
        s.commit()
        return data["campaign"].id, judge.id


def test_a_nul_in_one_judge_reply_does_not_lose_its_batch(engine, server) -> None:
    campaign_id, judge_id = _nul_in_one_reply_campaign(engine, server)
    admin = factory.admin_id(engine)
    run = create_run(engine, judge_id, campaign_id, actor_id=admin)
    result = run_blocking(engine, run.id, FAST)
    assert (result.status, result.n_done, result.n_failed) == ("done", 4, 0)
    with factory.session(engine) as s:
        rows = s.exec(select(Judgment).where(Judgment.judge_id == judge_id)).all()
        claimed = s.exec(
            select(func.count()).where(JudgeTask.run_id == run.id, JudgeTask.status == "claimed")
        ).one()
        cached = s.exec(select(func.count()).select_from(ResponseCache)).one()
    assert claimed == 0
    assert len(rows) == 4 and {r.preference for r in rows} == {1}
    assert not any("\x00" in (r.raw_reply or "") + (r.rationale or "") for r in rows)
    assert "badbyte" in {r.rationale for r in rows}
    assert cached == 4
    # Every reply, the one with the NUL too, is in the cache: judging again costs nothing.
    calls = server.requests()
    again = create_run(engine, judge_id, campaign_id, actor_id=admin, rerun=True)
    assert run_blocking(engine, again.id, FAST).n_done == 4
    assert server.requests() == calls


def _small_run(engine, server, n_prompts: int = 6) -> tuple[int, int]:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=n_prompts, models=("m1", "m22"))
        judge = factory.judge_config(
            s, "crash-judge", base_url=server.openai_base, swap_policy="ab"
        )
        s.commit()
        campaign_id, judge_id = data["campaign"].id, judge.id
    run = create_run(engine, judge_id, campaign_id, actor_id=factory.admin_id(engine))
    return run.id, n_prompts


def test_a_worker_that_crashes_hands_back_its_claims_and_resume_pays_only_for_the_rest(
    engine, server, monkeypatch
) -> None:
    run_id, n_tasks = _small_run(engine, server, n_prompts=12)
    server.configure(latency_ms=200)
    flush = RunWriter._flush
    calls = {"n": 0}

    def crash_on_the_second_batch(self, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk I/O error")
        return flush(self, batch)

    monkeypatch.setattr(RunWriter, "_flush", crash_on_the_second_batch)
    one_at_a_time = RunOptions(concurrency=1, batch_size=1, flush_every=1, timeout_s=5.0)
    with pytest.raises(OSError, match="disk I/O error"):
        run_blocking(engine, run_id, one_at_a_time)
    after_crash = factory.task_counts(engine, run_id)
    stored = after_crash.get("done", 0)
    assert after_crash.get("claimed", 0) == 0 and stored >= 1
    # The worker stops asking once its results cannot be stored: the replies in the failed
    # batch and in flight were paid for and lost, not the rest of the run (how many depends
    # on how fast the database answered; the old worker asked for all of them).
    paid_before_resume = server.requests()
    assert paid_before_resume <= n_tasks // 2

    monkeypatch.setattr(RunWriter, "_flush", flush)
    server.configure(latency_ms=0)
    resume_run(engine, run_id, actor_id=factory.admin_id(engine))
    result = run_blocking(engine, run_id, FAST)
    assert (result.status, result.n_done, result.n_failed) == ("done", n_tasks, 0)
    # Stored replies are never asked for again.
    assert server.requests() - paid_before_resume == n_tasks - stored
    by_body = server.stats()["by_body"]
    assert len(by_body) == n_tasks and max(by_body.values()) <= 2


def test_claims_of_a_dead_worker_process_are_released_when_the_next_worker_starts(
    engine, server
) -> None:
    run_id, n_tasks = _small_run(engine, server)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead_worker = f"{socket.gethostname()}:{gone.pid}:deadbeef"
    with factory.session(engine) as s:
        s.execute(
            update(JudgeTask)
            .where(JudgeTask.run_id == run_id)
            .values(status="claimed", claimed_by=dead_worker, claimed_at=utcnow())
        )
        s.commit()
    # The claims are fresh, so only the dead-process check (not staleness) can free them.
    result = run_blocking(engine, run_id, FAST)
    assert (result.status, result.n_done, result.n_failed) == ("done", n_tasks, 0)
    assert factory.task_counts(engine, run_id) == {"done": n_tasks}
    assert server.requests() == n_tasks
