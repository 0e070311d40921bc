"""Judge runs under hostile replies and faults, on SQLite and PostgreSQL (issue 13, point 18)."""

from __future__ import annotations

import json

from sqlalchemy import func
from sqlmodel import select

from db.models import JudgeTask, Judgment, ResponseCache
from judges.runs import RunOptions, create_run
from judges.worker import run_blocking
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
