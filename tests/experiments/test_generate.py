"""Candidates that generate (issue 15, point 2), against the scripted local server in both
wire formats, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from db.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from db.models import Candidate, JudgeRun, Output, Prompt
from experiments.candidates import save_candidate
from experiments.datasets import add_dataset, create_campaign_from_dataset
from experiments.generation import create_generation_run, generation_summary
from judges.candidates import CandidateSpec
from judges.runs import RunOptions
from judges.worker import run_blocking
from tests import factory

PRICES = {"fake-gen": (1.0, 2.0)}  # USD per 1M tokens in, out
FAST = RunOptions(concurrency=4, backoff_base_s=0.01, backoff_max_s=0.05, prices=PRICES)


def _answers(server, n: int) -> None:
    server.configure(
        rules=[{"contains": f"Question {i}?", "reply": f"Answer {i}."} for i in range(n)]
    )


def _dataset(engine, tmp_path, n: int = 6, name: str = "qa"):
    path = factory.write_jsonl(tmp_path / f"{name}.jsonl", factory.dataset_rows(n))
    return add_dataset(engine, path, name, actor_id=factory.admin_id(engine)).version


def _candidate(engine, server, provider: str = "openai", name: str = "bot", **spec):
    base = server.openai_base if provider == "openai" else server.anthropic_base
    config, _ = save_candidate(
        engine, name, CandidateSpec(provider, "fake-gen", base, **spec),
        actor_id=factory.admin_id(engine),
    )  # fmt: skip
    return config


def _generate(engine, dataset: str = "qa", candidate: str = "bot", **kwargs):
    return create_generation_run(
        engine, dataset, candidate, actor_id=factory.admin_id(engine), **kwargs
    )


def _outputs(engine, candidate: str = "bot@v1") -> list[tuple[str, Output]]:
    with factory.session(engine) as s:
        rows = s.exec(
            select(Prompt.external_id, Output)
            .join(Output, Output.prompt_id == Prompt.id)
            .join(Candidate, Candidate.id == Output.candidate_id)
            .where(Candidate.name == candidate)
            .order_by(Prompt.campaign_id, Prompt.external_id)
        ).all()
        return [(pid, o) for pid, o in rows]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_candidate_generates_one_output_per_prompt_with_latency_tokens_and_cost(
    engine, server, tmp_path, provider
) -> None:
    _dataset(engine, tmp_path, n=6)
    _candidate(engine, server, provider, system="Answer briefly.")
    _answers(server, 6)
    server.configure(latency_ms=60)
    plan = _generate(engine, split="dev")
    assert (plan.n_prompts, plan.n_tasks, plan.campaign) == (3, 3, "qa@1 dev")
    result = run_blocking(engine, plan.run_id, FAST)
    assert (result.status, result.n_done, result.n_failed) == ("done", 3, 0)
    outputs = _outputs(engine)
    assert [(pid, o.content) for pid, o in outputs] == [
        ("p0", "Answer 0."), ("p2", "Answer 2."), ("p4", "Answer 4."),
    ]  # fmt: skip
    path = "/v1/chat/completions" if provider == "openai" else "/v1/messages"
    assert server.stats()["by_path"] == {path: 3}
    for _pid, o in outputs:
        assert o.latency_ms >= 60
        assert o.tokens == o.meta["tokens_out"] > 0 and o.meta["tokens_in"] > 0
        assert o.cost_usd == pytest.approx((o.meta["tokens_in"] * 1 + o.tokens * 2) / 1e6)
        assert o.meta["response_model"] == "fake-gen" and not o.meta["cached"]
        assert len(o.meta["request_hash"]) == 64 and o.meta["run_id"] == plan.run_id
    summary = generation_summary(engine, plan.run_id)
    assert (summary.n_made, summary.n_cached, summary.n_failed) == (3, 0, 0)
    assert summary.cost_usd == pytest.approx(sum(o.cost_usd for _p, o in outputs))
    assert summary.p50_latency_ms >= 60 and summary.p95_latency_ms >= summary.p50_latency_ms
    assert "made 3 of 3 outputs (0 from the cache)" in summary.summary()


def test_429_with_retry_after_and_500s_are_retried_until_every_output_is_made(
    sqlite_engine, server, tmp_path
) -> None:
    engine = sqlite_engine
    _dataset(engine, tmp_path, n=2)
    _candidate(engine, server)
    _answers(server, 2)
    server.configure(
        script=[{"status": 429, "headers": {"retry-after": "1"}}, {"status": 500}, {"status": 500}]
    )
    plan = _generate(engine)
    options = RunOptions(concurrency=1, backoff_base_s=0.01, backoff_max_s=0.05, prices=PRICES)
    result = run_blocking(engine, plan.run_id, options)
    assert (result.status, result.n_done, result.n_failed) == ("done", 2, 0)
    per_body: dict[str, list[int]] = {}
    for _t, body, status in server.stats()["log"]:
        per_body.setdefault(body, []).append(status)
    assert sorted(s for statuses in per_body.values() for s in statuses) == [
        200, 200, 429, 500, 500,
    ]  # fmt: skip
    assert len(per_body) == 2 and all(v[-1] == 200 and 200 not in v[:-1] for v in per_body.values())
    assert sorted(o.content for _p, o in _outputs(engine)) == ["Answer 0.", "Answer 1."]


def test_exhausted_retries_fail_the_task_and_resume_makes_the_missing_output(
    engine, server, tmp_path
) -> None:
    from judges.runs import resume_run

    _dataset(engine, tmp_path, n=2)
    _candidate(engine, server)
    server.configure(rate_500=1.0)
    plan = _generate(engine)
    options = RunOptions(concurrency=2, max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.02)
    result = run_blocking(engine, plan.run_id, options)
    assert (result.status, result.n_done, result.n_failed) == ("done", 0, 2)
    assert "judgeboard generate --resume" in result.error
    server.configure(rate_500=0.0)
    resume_run(engine, plan.run_id, actor_id=factory.admin_id(engine))
    again = run_blocking(engine, plan.run_id, options)
    assert (again.status, again.n_done, again.n_failed) == ("done", 2, 0)
    assert len(_outputs(engine)) == 2


def test_generating_again_into_a_second_campaign_costs_no_request(engine, server, tmp_path) -> None:
    _dataset(engine, tmp_path, n=4)
    _candidate(engine, server)
    _answers(server, 4)
    first = _generate(engine)
    run_blocking(engine, first.run_id, FAST)
    assert server.requests() == 4
    second = _generate(engine, campaign="qa again")
    result = run_blocking(engine, second.run_id, FAST)
    assert (result.status, result.n_done, result.tokens_in, result.cost_usd) == ("done", 4, 0, 0)
    assert server.requests() == 4
    outputs = _outputs(engine)
    assert len(outputs) == 8
    again = [o for _p, o in outputs if o.meta["run_id"] == second.run_id]
    assert {(o.meta["cached"], o.cost_usd, o.latency_ms) for o in again} == {(True, 0.0, None)}
    assert sorted(o.content for o in again) == [f"Answer {i}." for i in range(4)]
    assert generation_summary(engine, second.run_id).n_cached == 4


def test_a_second_run_makes_only_the_missing_outputs(engine, server, tmp_path) -> None:
    _dataset(engine, tmp_path, n=6)
    _candidate(engine, server)
    first = _generate(engine, sample=2, seed=1)
    run_blocking(engine, first.run_id, FAST)
    second = _generate(engine)
    assert (second.n_prompts, second.n_tasks) == (6, 4)
    run_blocking(engine, second.run_id, FAST)
    assert len(_outputs(engine)) == 6
    third = _generate(engine)
    assert third.n_tasks == 0
    with factory.session(engine) as s:
        assert s.get(JudgeRun, third.run_id).status == "done"


def test_a_sample_draws_the_same_prompts_for_every_candidate(engine, server, tmp_path) -> None:
    _dataset(engine, tmp_path, n=12)
    _candidate(engine, server, name="bot")
    _candidate(engine, server, name="rival", system="Be terse.")
    a = _generate(engine, candidate="bot", split="dev", sample=4, seed=5)
    b = _generate(engine, candidate="rival", split="dev", sample=4, seed=5)
    run_blocking(engine, a.run_id, FAST)
    run_blocking(engine, b.run_id, FAST)
    bot = [p for p, _o in _outputs(engine, "bot@v1")]
    assert len(bot) == 4 and bot == [p for p, _o in _outputs(engine, "rival@v1")]
    with factory.session(engine) as s:
        categories = s.exec(
            select(Prompt.category).where(Prompt.external_id.in_(bot), Prompt.campaign_id == 1)
        ).all()
    # dev holds p0, p2, ..., p10: all "writing" (even ids), so the stratum is the split's.
    assert set(categories) == {"writing"}


def test_a_campaign_from_another_dataset_version_is_refused(engine, server, tmp_path) -> None:
    _dataset(engine, tmp_path, n=2)
    _dataset(engine, tmp_path, n=2, name="other")
    _candidate(engine, server)
    admin = factory.admin_id(engine)
    create_campaign_from_dataset(engine, "other", "mine", actor_id=admin)
    create_campaign_from_dataset(engine, "qa", "qa dev only", actor_id=admin, split="dev")
    before = factory.table_counts(engine)
    with pytest.raises(InvalidInputError, match="was made from other@1, not qa@1"):
        _generate(engine, campaign="mine")
    with pytest.raises(NotFoundError, match="no prompts of qa@1 in split 'test'.*splits are dev"):
        _generate(engine, campaign="qa dev only", split="test")
    assert factory.table_counts(engine) == before


def test_an_unfinished_run_must_be_resumed_before_another_starts(engine, server, tmp_path) -> None:
    _dataset(engine, tmp_path, n=2)
    _candidate(engine, server)
    plan = _generate(engine)
    with pytest.raises(InvalidInputError, match=f"generate --resume {plan.run_id}"):
        _generate(engine)


def test_a_rater_cannot_start_a_generation_run(engine, server, tmp_path) -> None:
    _dataset(engine, tmp_path, n=2)
    _candidate(engine, server)
    with factory.session(engine) as s:
        rater = factory.user(s).id
        s.commit()
    before = factory.table_counts(engine)
    with pytest.raises(PermissionDeniedError):
        create_generation_run(engine, "qa", "bot", actor_id=rater)
    assert factory.table_counts(engine) == before
