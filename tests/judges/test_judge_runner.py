"""Judge runs against a real local HTTP server, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from annotate.campaigns import CriterionSpec
from db.errors import InvalidInputError
from db.models import JudgeRun, JudgeTask, Judgment, JudgmentScore, ResponseCache, utcnow
from judges.config import JudgeSpec, edit_judge, get_judge, list_judges, save_judge
from judges.preview import dry_run_blocking, preview_prompt
from judges.runs import RunOptions, create_run, request_cancel, resume_run
from judges.verdicts import browse_verdicts, position_consistency, resolve_judge_verdicts
from judges.worker import run_blocking
from tests import factory

FAST = RunOptions(concurrency=8, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=2.0)
MODELS = ("m1", "m22", "m333")  # outputs grow with the model name: B is always longer


def _setup(engine, server, n_prompts: int = 2, name: str = "local-judge", **spec):
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=n_prompts, models=MODELS)
        spec.setdefault("base_url", server.openai_base)
        judge = factory.judge_config(s, name, **spec)
        s.commit()
        return data["campaign"].id, judge.id, len(data["comparisons"])


def _start(engine, judge_id: int, campaign_id: int, **kwargs) -> int:
    return create_run(engine, judge_id, campaign_id, actor_id=factory.admin_id(engine), **kwargs).id


def _judgments(engine, **where) -> list[Judgment]:
    with factory.session(engine) as s:
        query = select(Judgment).where(Judgment.rater_kind == "llm")
        for k, v in where.items():
            query = query.where(getattr(Judgment, k) == v)
        return list(s.exec(query.order_by(Judgment.id)).all())


def test_a_run_stores_both_shown_orders_with_canonical_preferences(engine, server) -> None:
    campaign_id, judge_id, n = _setup(engine, server)
    run_id = _start(engine, judge_id, campaign_id)
    result = run_blocking(engine, run_id, FAST)
    assert (result.status, result.n_tasks, result.n_done, result.n_failed) == (
        "done",
        2 * n,
        2 * n,
        0,
    )
    rows = _judgments(engine)
    assert len(rows) == 2 * n
    assert sorted(r.shown_order for r in rows) == ["ab"] * n + ["ba"] * n
    # The fake judge prefers the longer answer, always canonical B: whatever position it was
    # shown in, the stored preference is +1.
    assert {r.preference for r in rows} == {1}
    assert {(r.judge_id, r.rater_key, r.judge_run_id, r.source) for r in rows} == {
        (judge_id, f"j:{judge_id}", run_id, "judge")
    }
    assert all(r.raw_reply and r.tokens_in and r.tokens_out for r in rows)
    assert result.tokens_in == sum(r.tokens_in for r in rows) > 0
    assert server.requests() == 2 * n and server.duplicate_bodies() == 0


def test_a_position_biased_judge_is_inconsistent_and_resolves_by_policy(engine, server) -> None:
    server.configure(policy="first")
    campaign_id, judge_id, n = _setup(engine, server)
    run_blocking(engine, _start(engine, judge_id, campaign_id), FAST)
    resolved = resolve_judge_verdicts(engine, judge_id, campaign_id)
    assert len(resolved) == n
    assert {(v.pref_ab, v.pref_ba, v.preference, v.consistent) for v in resolved} == {
        (-1, 1, 0, False)
    }
    assert {
        v.preference for v in resolve_judge_verdicts(engine, judge_id, campaign_id, "unscored")
    } == {None}
    summary = position_consistency(engine, judge_id, campaign_id)
    assert (summary.n_inconsistent, summary.n_consistent, summary.consistency) == (n, 0, 0.0)


def test_an_unparseable_reply_is_stored_unscored_with_its_raw_text(engine, server) -> None:
    server.configure(policy="garbage")
    campaign_id, judge_id, n = _setup(engine, server, n_prompts=1)
    result = run_blocking(engine, _start(engine, judge_id, campaign_id), FAST)
    assert (result.status, result.n_done, result.n_failed) == ("done", 2 * n, 0)
    rows = _judgments(engine)
    assert len(rows) == 2 * n
    assert all(r.preference is None for r in rows)
    assert {r.raw_reply for r in rows} == {"I would rather not say which one is better."}
    admin = factory.admin_id(engine)
    assert position_consistency(engine, judge_id, campaign_id).n_unscored_judgments == 2 * n
    shown = browse_verdicts(engine, campaign_id, judge_id, actor_id=admin, only_unscored=True)
    assert len(shown) == 2 * n and shown[-1]["model_a"] == "m1"


def test_retries_survive_429_500_timeouts_and_malformed_bodies(sqlite_engine, server) -> None:
    engine = sqlite_engine
    server.configure(
        script=[
            {"status": 429, "headers": {"retry-after": "1"}},
            {"status": 500},
            {"delay_ms": 3000},  # longer than the client's timeout
            {"malformed": True},
        ]
    )
    campaign_id, judge_id, _n = _setup(engine, server, n_prompts=1, swap_policy="ab")
    run = create_run(engine, judge_id, campaign_id, actor_id=factory.admin_id(engine), limit=1)
    options = RunOptions(concurrency=1, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=0.5)
    result = run_blocking(engine, run.id, options)
    assert (result.status, result.n_done, result.n_failed) == ("done", 1, 0)
    stats = server.stats()
    statuses = [status for _t, _h, status in stats["log"]]
    assert statuses[:2] == [429, 500] and statuses[-1] == 200
    assert stats["requests"] == 5
    # The retry after the 429 waited at least the Retry-After the server asked for.
    (t429, _h, _s), (t_next, _h2, _s2) = stats["log"][0], stats["log"][1]
    assert t_next - t429 >= 1.0
    assert len(_judgments(engine)) == 1


def test_exhausted_retries_fail_the_task_and_resume_retries_it(engine, server) -> None:
    server.configure(rate_500=1.0)
    campaign_id, judge_id, n = _setup(engine, server, n_prompts=1, swap_policy="ab")
    run_id = _start(engine, judge_id, campaign_id)
    options = RunOptions(concurrency=4, max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.02)
    result = run_blocking(engine, run_id, options)
    assert (result.status, result.n_done, result.n_failed) == ("done", 0, n)
    assert "resume the run to retry" in result.error
    with factory.session(engine) as s:
        errors = s.exec(select(JudgeTask.error).where(JudgeTask.run_id == run_id)).all()
        assert all("gave up after 2 attempts: HTTP 500" in e for e in errors)
    assert _judgments(engine) == []
    server.configure(rate_500=0.0)
    resume_run(engine, run_id, actor_id=factory.admin_id(engine))
    result = run_blocking(engine, run_id, options)
    assert (result.status, result.n_done, result.n_failed, result.error) == ("done", n, 0, None)
    assert len(_judgments(engine)) == n


def test_a_rejected_key_fails_the_run_with_the_fix_and_no_key_in_the_message(
    engine, server, monkeypatch
) -> None:
    monkeypatch.setenv("JB_TEST_KEY", "sk-wrong-key-0123456789")
    server.configure(require_key="sk-right")
    campaign_id, judge_id, n = _setup(engine, server, n_prompts=1, api_key_env="JB_TEST_KEY")
    run_id = _start(engine, judge_id, campaign_id)
    result = run_blocking(engine, run_id, FAST)
    assert result.status == "failed"
    assert "HTTP 401" in result.error and "check the key in JB_TEST_KEY" in result.error
    assert "sk-wrong-key" not in result.error and "[redacted]" in result.error
    with factory.session(engine) as s:
        statuses = set(s.exec(select(JudgeTask.status).where(JudgeTask.run_id == run_id)).all())
    assert statuses == {"pending"}  # nothing lost: fix the key and resume
    monkeypatch.setenv("JB_TEST_KEY", "sk-right")
    resume_run(engine, run_id, actor_id=factory.admin_id(engine))
    assert run_blocking(engine, run_id, FAST).n_done == 2 * n


def test_a_missing_key_stops_before_any_request(engine, server, monkeypatch) -> None:
    monkeypatch.delenv("JB_ABSENT_KEY", raising=False)
    campaign_id, judge_id, _n = _setup(engine, server, n_prompts=1, api_key_env="JB_ABSENT_KEY")
    run_id = _start(engine, judge_id, campaign_id)
    from judges.providers import ProviderError

    with pytest.raises(ProviderError, match="set JB_ABSENT_KEY"):
        run_blocking(engine, run_id, FAST)
    assert server.requests() == 0


def test_the_cache_makes_a_rerun_free_and_keeps_the_verdicts(engine, server) -> None:
    campaign_id, judge_id, n = _setup(engine, server)
    first = run_blocking(engine, _start(engine, judge_id, campaign_id), FAST)
    calls = server.requests()
    assert calls == 2 * n
    with factory.session(engine) as s:
        assert s.exec(select(func.count()).select_from(ResponseCache)).one() == 2 * n
    # Nothing is missing: a new run has no tasks.
    assert _start(engine, judge_id, campaign_id) and server.requests() == calls
    second = run_blocking(engine, _start(engine, judge_id, campaign_id, rerun=True), FAST)
    assert server.requests() == calls  # zero HTTP calls
    assert (second.n_done, second.tokens_in, second.cost_usd) == (2 * n, 0, 0.0)
    assert first.tokens_in > 0
    current = _judgments(engine, is_current=True)
    old = _judgments(engine, is_current=False)
    assert len(current) == len(old) == 2 * n
    assert {(r.version, r.source) for r in current} == {(2, "judge-cache")}
    key = lambda r: (r.comparison_id, r.shown_order)  # noqa: E731
    assert sorted((key(r), r.preference) for r in current) == sorted(
        (key(r), r.preference) for r in old
    )


def test_cancel_stops_between_batches_and_resume_finishes_without_duplicates(
    engine, server
) -> None:
    server.configure(latency_ms=30)
    campaign_id, judge_id, n = _setup(engine, server, n_prompts=6)
    run_id = _start(engine, judge_id, campaign_id)
    options = RunOptions(concurrency=2, batch_size=2, flush_every=1, flush_interval_s=0.01)
    admin = factory.admin_id(engine)

    def cancel_on_first_progress(p) -> None:
        if p.n_done and p.status == "running":
            request_cancel(engine, run_id, actor_id=admin)

    result = run_blocking(engine, run_id, options, progress=cancel_on_first_progress)
    assert result.status == "cancelled"
    assert 0 < result.n_done < 2 * n
    with factory.session(engine) as s:
        assert (
            s.exec(
                select(func.count()).where(
                    JudgeTask.run_id == run_id, JudgeTask.status == "claimed"
                )
            ).one()
            == 0
        )
    resume_run(engine, run_id, actor_id=admin)
    final = run_blocking(engine, run_id, FAST)
    assert (final.status, final.n_done) == ("done", 2 * n)
    rows = _judgments(engine)
    assert len(rows) == 2 * n == len({(r.comparison_id, r.shown_order) for r in rows})
    assert server.duplicate_bodies() == 0


def test_anthropic_wire_format_with_a_key_from_secrets(engine, server, monkeypatch) -> None:
    monkeypatch.delenv("JB_ANTHROPIC_KEY", raising=False)
    server.configure(require_key="ak-secret", reply_style="brackets")
    campaign_id, judge_id, n = _setup(
        engine, server, provider="anthropic", base_url=server.anthropic_base,
        api_key_env="JB_ANTHROPIC_KEY", model="claude-3-5-haiku",
    )  # fmt: skip
    run_id = _start(engine, judge_id, campaign_id)
    result = run_blocking(engine, run_id, FAST, secrets={"JB_ANTHROPIC_KEY": "ak-secret"})
    assert (result.status, result.n_done) == ("done", 2 * n)
    assert server.stats()["by_path"] == {"/v1/messages": 2 * n}
    assert {r.preference for r in _judgments(engine)} == {1}
    # Priced from the table: claude-3-5-haiku is $0.80 / $4 per 1M tokens.
    expected = result.tokens_in * 0.8e-6 + result.tokens_out * 4e-6
    assert result.cost_usd == pytest.approx(expected)


def test_a_rubric_judge_grades_every_criterion_of_single_outputs(engine, server) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s, n_prompts=1, models=MODELS, pairs=False, mode="rubric",
            criteria=[CriterionSpec("accuracy"), CriterionSpec("style", scale="likert10")],
        )  # fmt: skip
        items = factory.rubric_items(s, data["outputs"])
        judge = factory.judge_config(
            s, "grader", base_url=server.openai_base, template_kind="rubric"
        )
        s.commit()
        campaign_id, judge_id = data["campaign"].id, judge.id
        lengths = {o.id: len(o.content) for o in data["outputs"].values()}
        assert len(items) == len(lengths)
    result = run_blocking(engine, _start(engine, judge_id, campaign_id), FAST)
    assert (result.status, result.n_tasks, result.n_done) == ("done", 3, 3)
    assert server.requests() == 3 * 2
    with factory.session(engine) as s:
        scores = s.exec(select(JudgmentScore)).all()
    assert len(scores) == 3 * 2
    # The fake grader scores len(answer) % 5 + 1.
    assert {(sc.output_id, sc.value) for sc in scores} == {
        (oid, float(length % 5 + 1)) for oid, length in lengths.items()
    }
    assert all(r.preference is None and "[accuracy]" in r.raw_reply for r in _judgments(engine))


def test_stale_claims_are_taken_over_and_fresh_ones_are_left_alone(engine, server) -> None:
    campaign_id, judge_id, n = _setup(engine, server, n_prompts=1, swap_policy="ab")
    run_id = _start(engine, judge_id, campaign_id)
    with factory.session(engine) as s:
        s.execute(
            update(JudgeTask)
            .where(JudgeTask.run_id == run_id)
            .values(status="claimed", claimed_by="elsewhere:1:x", claimed_at=utcnow())
        )
        s.commit()
    left = run_blocking(engine, run_id, FAST)
    assert (left.status, left.n_done) == ("running", 0)
    assert server.requests() == 0
    with factory.session(engine) as s:
        s.execute(
            update(JudgeTask)
            .where(JudgeTask.run_id == run_id)
            .values(claimed_at=utcnow() - timedelta(hours=2))
        )
        s.commit()
    taken = run_blocking(engine, run_id, RunOptions(stale_after_s=3600))
    assert (taken.status, taken.n_done) == ("done", n)


def test_claims_of_a_dead_local_worker_are_released_at_start(engine, server) -> None:
    campaign_id, judge_id, n = _setup(engine, server, n_prompts=1, swap_policy="ab")
    run_id = _start(engine, judge_id, campaign_id)
    dead = subprocess.Popen(["true"])
    dead.wait()
    with factory.session(engine) as s:
        s.execute(
            update(JudgeTask)
            .where(JudgeTask.run_id == run_id)
            .values(
                status="claimed", claimed_by=f"{socket.gethostname()}:{dead.pid}:x",
                claimed_at=utcnow(),
            )
        )  # fmt: skip
        s.commit()
    assert run_blocking(engine, run_id, FAST).n_done == n


def test_runs_only_add_missing_tasks_and_refuse_a_second_open_run(engine, server) -> None:
    campaign_id, judge_id, n = _setup(engine, server)
    admin = factory.admin_id(engine)
    run = create_run(engine, judge_id, campaign_id, actor_id=admin, limit=1)
    assert run.n_tasks == 2
    with pytest.raises(InvalidInputError, match=f"resume it .*--resume {run.id}"):
        create_run(engine, judge_id, campaign_id, actor_id=admin)
    run_blocking(engine, run.id, FAST)
    rest = create_run(engine, judge_id, campaign_id, actor_id=admin)
    assert rest.n_tasks == 2 * (n - 1)
    run_blocking(engine, rest.id, FAST)
    assert len(_judgments(engine)) == 2 * n
    empty = create_run(engine, judge_id, campaign_id, actor_id=admin)
    assert (empty.n_tasks, empty.status) == (0, "done")


def test_requests_per_minute_limit_spaces_requests(sqlite_engine, server) -> None:
    campaign_id, judge_id, n = _setup(sqlite_engine, server, n_prompts=2, swap_policy="ab")
    run_id = _start(sqlite_engine, judge_id, campaign_id)
    t0 = time.perf_counter()
    run_blocking(sqlite_engine, run_id, RunOptions(concurrency=8, rpm=600))
    assert n == 6 and time.perf_counter() - t0 >= 0.5  # 6 requests at 10/s
    times = sorted(t for t, _h, _s in server.stats()["log"])
    # slots are 0.1 s apart; a loaded machine may wake two sleepers together, but the
    # six requests can never span less than their five slots
    assert times[-1] - times[0] >= 0.45


def test_progress_reports_grow_to_the_total_and_costs_follow_the_price_table(
    engine, server
) -> None:
    campaign_id, judge_id, n = _setup(engine, server)
    seen = []
    options = RunOptions(concurrency=2, flush_every=2, prices={"fake-judge": (1.0, 2.0)})
    result = run_blocking(
        engine, _start(engine, judge_id, campaign_id), options, progress=seen.append
    )
    done = [p.n_done for p in seen]
    assert done == sorted(done) and done[-1] == 2 * n and len(seen) > 1
    assert seen[-1].fraction == 1.0
    assert result.cost_usd == pytest.approx(result.tokens_in * 1e-6 + result.tokens_out * 2e-6)
    with factory.session(engine) as s:
        assert s.get(JudgeRun, result.run_id).cost_usd == pytest.approx(result.cost_usd)


def test_preview_and_dry_run_use_real_comparisons_and_warm_the_cache(engine, server) -> None:
    campaign_id, judge_id, n = _setup(engine, server)
    spec = JudgeSpec(provider="openai", model="fake-judge", base_url=server.openai_base)
    ab = preview_prompt(engine, spec, campaign_id)
    ba = preview_prompt(engine, spec, campaign_id, ab.comparison_id, "ba")
    assert "m1 answer 0" in ab.prompts[0] and "m22 answer 0" in ab.prompts[0]
    assert ab.prompts[0].index("m1 answer") < ab.prompts[0].index("m22 answer")
    assert ba.prompts[0].index("m22 answer") < ba.prompts[0].index("m1 answer")
    assert ab.url.endswith("/v1/chat/completions") and '"response_format"' in ab.body
    rows = dry_run_blocking(engine, spec, campaign_id, n=3)
    assert [(r.shown_verdict, r.preference, r.parsed_how) for r in rows] == [(1, 1, "json")] * 3
    assert _judgments(engine) == []
    run_blocking(engine, _start(engine, judge_id, campaign_id), FAST)
    assert server.requests() == 2 * n  # 3 from the dry run, the rest from the run


def test_judge_configs_are_versioned_by_content_hash(engine) -> None:
    admin = factory.admin_id(engine)
    spec = JudgeSpec(provider="openai", model="gpt-4o-mini")
    v1 = save_judge(engine, "gpt", spec, actor_id=admin)
    assert save_judge(engine, "gpt", spec, actor_id=admin).id == v1.id  # identical: no new version
    v2 = edit_judge(engine, "gpt", actor_id=admin, params={"temperature": 0.7})
    assert (v2.name, v2.version) == ("gpt", 2) and v2.content_hash != v1.content_hash
    assert v2.params["temperature"] == 0.7 and v1.params["temperature"] == 0
    with pytest.raises(InvalidInputError, match="'gpt@v1' already has exactly this config"):
        save_judge(engine, "other", spec, actor_id=admin)
    assert get_judge(engine, "gpt").id == v2.id
    assert get_judge(engine, "gpt@1").id == v1.id == get_judge(engine, "gpt", 1).id
    assert [(j.name, j.version) for j in list_judges(engine, actor_id=admin)] == [("gpt", 2)]
    assert len(list_judges(engine, actor_id=admin, all_versions=True)) == 2


def test_verdicts_point_at_the_judge_version_that_produced_them(engine, server) -> None:
    campaign_id, v1_id, n = _setup(engine, server, n_prompts=1, swap_policy="ab")
    run_blocking(engine, _start(engine, v1_id, campaign_id), FAST)
    v2 = edit_judge(
        engine, "local-judge", actor_id=factory.admin_id(engine), params={"temperature": 0.3}
    )
    run_blocking(engine, _start(engine, v2.id, campaign_id), FAST)
    assert {r.judge_id for r in _judgments(engine)} == {v1_id, v2.id}
    assert len(_judgments(engine, judge_id=v2.id)) == n


def test_unknown_price_adds_a_note_to_the_summary(engine, server) -> None:
    campaign_id, judge_id, _n = _setup(engine, server, n_prompts=1, swap_policy="ab")
    result = run_blocking(engine, _start(engine, judge_id, campaign_id), FAST)
    assert result.cost_usd == 0 and "No price for model 'fake-judge'" in result.summary()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_dead_pid_helper_recognises_live_and_dead_processes() -> None:
    from judges.worker import _claim_is_dead

    assert not _claim_is_dead(f"{socket.gethostname()}:{os.getpid()}:x")
    assert not _claim_is_dead("another-host:1:x")
