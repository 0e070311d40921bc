"""Admin writes on judges are refused in the domain layer for raters and inactive users."""

from __future__ import annotations

import pytest
from sqlmodel import select

from db.errors import PermissionDeniedError
from db.models import Judge, JudgeRun, User
from judges.config import JudgeSpec, edit_judge, save_judge
from judges.runs import create_run, request_cancel, resume_run
from tests import factory


@pytest.fixture
def judged(engine):
    """A campaign with comparisons, a judge, an open run, a rater and an inactive admin."""
    admin = factory.admin_id(engine)
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=1, models=("m1", "m22"))
        judge = factory.judge_config(s, "guarded")
        rater = factory.user(s, "rater@example.com", role="rater")
        gone = factory.user(s, "gone@example.com", role="admin")
        gone.active = False
        s.commit()
        campaign_id, judge_id, rater_id, gone_id = data["campaign"].id, judge.id, rater.id, gone.id
    run_id = create_run(engine, judge_id, campaign_id, actor_id=admin).id
    return campaign_id, judge_id, run_id, rater_id, gone_id


def _counts(engine) -> tuple[int, int, list[bool]]:
    with factory.session(engine) as s:
        judges = len(s.exec(select(Judge.id)).all())
        runs = s.exec(select(JudgeRun.cancel_requested)).all()
    return judges, len(runs), list(runs)


def test_a_rater_cannot_save_a_judge(engine, judged) -> None:
    rater_id = judged[3]
    before = _counts(engine)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        save_judge(engine, "sneaky", JudgeSpec(provider="openai", model="x"), actor_id=rater_id)
    assert _counts(engine) == before


def test_a_rater_cannot_edit_a_judge(engine, judged) -> None:
    rater_id = judged[3]
    before = _counts(engine)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        edit_judge(engine, "guarded", actor_id=rater_id, params={"temperature": 0.9})
    assert _counts(engine) == before


def test_a_rater_cannot_create_a_run(engine, judged) -> None:
    campaign_id, judge_id, run_id, rater_id, _ = judged
    request_cancel(engine, run_id, actor_id=factory.admin_id(engine))  # no open run left
    before = _counts(engine)
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        create_run(engine, judge_id, campaign_id, actor_id=rater_id)
    assert _counts(engine) == before


def test_a_rater_cannot_resume_a_run(engine, judged) -> None:
    run_id, rater_id = judged[2], judged[3]
    request_cancel(engine, run_id, actor_id=factory.admin_id(engine))
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        resume_run(engine, run_id, actor_id=rater_id)
    with factory.session(engine) as s:
        assert s.get(JudgeRun, run_id).status == "cancelled"


def test_a_rater_cannot_cancel_a_run(engine, judged) -> None:
    run_id, rater_id = judged[2], judged[3]
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        request_cancel(engine, run_id, actor_id=rater_id)
    with factory.session(engine) as s:
        run = s.get(JudgeRun, run_id)
        assert (run.status, run.cancel_requested) == ("pending", False)


def test_an_inactive_admin_is_refused_every_judge_write(engine, judged) -> None:
    campaign_id, judge_id, run_id, _, gone_id = judged
    spec = JudgeSpec(provider="openai", model="x")
    for call in (
        lambda: save_judge(engine, "late", spec, actor_id=gone_id),
        lambda: edit_judge(engine, "guarded", actor_id=gone_id, params={"temperature": 0.5}),
        lambda: create_run(engine, judge_id, campaign_id, actor_id=gone_id),
        lambda: resume_run(engine, run_id, actor_id=gone_id),
        lambda: request_cancel(engine, run_id, actor_id=gone_id),
    ):
        with pytest.raises(PermissionDeniedError, match="not active"):
            call()
    with factory.session(engine) as s:
        assert s.get(User, gone_id).active is False
