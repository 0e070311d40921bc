"""Comparing two recorded evaluation runs prompt by prompt (experiments.compare): the paired
win-rate difference against a hand count, the shared prompts, the regressions with both
outputs, cost and latency deltas, and the refusals. Storage on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest

from db.errors import InvalidInputError, PermissionDeniedError
from experiments.compare import compare_runs
from metrics.paired import paired_difference
from tests import factory
from tests.experiments import compare_data as data

A = ["WW", "WL", "WW", "TT", "LL", "WW", "WT", "LW"]
B = ["WW", "LL", "WW", "LL", "LL", "WL", "WW", "LL"]
SCORE = {"W": 1.0, "T": 0.5, "L": 0.0}


def _scores(outcomes: list[str]) -> np.ndarray:
    return np.array([(SCORE[p[0]] + SCORE[p[1]]) / 2 for p in outcomes])


def _two_runs(engine, tmp_path, a=A, b=B, **kw):
    ref = data.dataset(engine, tmp_path, len(A))
    run_a = data.eval_run(engine, ref, a, version=1, cost_usd=0.001,
                          latency_ms=[100.0 * (i + 1) for i in range(len(A))])  # fmt: skip
    run_b = data.eval_run(engine, ref, b, version=2, cost_usd=0.003,
                          latency_ms=[50.0 * (i + 1) for i in range(len(A))], **kw)  # fmt: skip
    return run_a, run_b


def test_the_paired_difference_is_b_minus_a_per_prompt_of_the_judges_verdicts(
    engine, tmp_path
) -> None:
    run_a, run_b = _two_runs(engine, tmp_path)
    r = compare_runs(engine, run_a, run_b, actor_id=factory.admin_id(engine), seed=3)
    assert (r.a.candidate, r.b.candidate, r.dataset) == ("good@v1", "good@v2", "qa@1")
    assert r.n_shared == len(A) and r.notes == ()
    expected = paired_difference(_scores(A), _scores(B), seed=3)
    assert r.overall.diff == pytest.approx(float(np.mean(_scores(B) - _scores(A))))
    assert (r.overall.low, r.overall.high, r.overall.p_value) == (
        pytest.approx(expected.low),
        pytest.approx(expected.high),
        pytest.approx(expected.p_value),
    )
    assert r.a.win_rate == pytest.approx(float(_scores(A).mean()))
    assert {c.category: c.n for c in r.categories} == {"math": 4, "writing": 4}


def test_regressions_are_prompts_b_lost_in_both_orders_while_a_did_not(engine, tmp_path) -> None:
    run_a, run_b = _two_runs(engine, tmp_path)
    r = compare_runs(engine, run_a, run_b, actor_id=factory.admin_id(engine))
    # each drops 0.5: p1 WL->LL, p3 TT->LL, p7 LW->LL; p4 lost in both runs, p5 only once
    assert [x.prompt for x in r.regressions] == ["p1", "p3", "p7"]
    assert r.n_regressions == 3
    first = r.regressions[0]
    assert (first.output_a, first.output_b) == ("good@v1 answer 1", "good@v2 answer 1")
    assert first.prompt_text == "Question 1?" and (first.score_a, first.score_b) == (0.5, 0.0)


def test_swapping_the_runs_negates_the_difference(engine, tmp_path) -> None:
    run_a, run_b = _two_runs(engine, tmp_path)
    admin = factory.admin_id(engine)
    ab = compare_runs(engine, run_a, run_b, actor_id=admin, seed=1)
    ba = compare_runs(engine, run_b, run_a, actor_id=admin, seed=1)
    assert ba.overall.diff == pytest.approx(-ab.overall.diff)
    assert ba.overall.p_value == pytest.approx(ab.overall.p_value)
    assert ba.cost_delta_usd == pytest.approx(-ab.cost_delta_usd)
    assert ba.n_regressions == 0  # A lost both orders only on p4, where B lost too


def test_cost_and_latency_deltas_are_b_minus_a_on_the_shared_prompts(engine, tmp_path) -> None:
    run_a, run_b = _two_runs(engine, tmp_path)
    r = compare_runs(engine, run_a, run_b, actor_id=factory.admin_id(engine))
    lat_a = [100.0 * (i + 1) for i in range(len(A))]
    lat_b = [50.0 * (i + 1) for i in range(len(A))]
    assert r.cost_delta_usd == pytest.approx(0.002)
    assert (r.a.baseline_cost_mean_usd, r.b.baseline_p95_latency_ms) == (
        pytest.approx(0.001),
        pytest.approx(np.percentile(lat_b, 95)),  # each run's campaign has its own baseline outputs
    )
    assert r.p50_delta_ms == pytest.approx(np.percentile(lat_b, 50) - np.percentile(lat_a, 50))
    assert r.p95_delta_ms == pytest.approx(np.percentile(lat_b, 95) - np.percentile(lat_a, 95))
    assert (r.a.p95_latency_ms, r.b.cost_mean_usd) == (
        pytest.approx(np.percentile(lat_a, 95)),
        pytest.approx(0.003),
    )


def test_only_prompts_scored_in_both_runs_are_compared_and_the_note_says_how_many(
    engine, tmp_path
) -> None:
    b = ["", *B[1:6], "", ""]
    run_a, run_b = _two_runs(engine, tmp_path, b=b)
    r = compare_runs(engine, run_a, run_b, actor_id=factory.admin_id(engine))
    assert (r.n_shared, r.n_only_a, r.n_only_b) == (5, 3, 0)
    assert "share 5 scored prompts (3 only in run" in r.notes[0]
    kept = list(range(1, 6))
    assert r.overall.diff == pytest.approx(float(np.mean(_scores(B)[kept] - _scores(A)[kept])))


def test_runs_on_different_dataset_versions_are_refused_naming_both(engine, tmp_path) -> None:
    ref1 = data.dataset(engine, tmp_path, len(A))
    ref2 = data.dataset(engine, tmp_path, len(A), text="Question {i}, reworded?")
    run_a = data.eval_run(engine, ref1, A)
    run_b = data.eval_run(engine, ref2, B, version=2)
    with pytest.raises(InvalidInputError, match="qa@1 and run .* on qa@2"):
        compare_runs(engine, run_a, run_b, actor_id=factory.admin_id(engine))


def test_a_candidate_missing_from_a_run_is_refused_with_its_candidates(engine, tmp_path) -> None:
    run_a, run_b = _two_runs(engine, tmp_path)
    with pytest.raises(InvalidInputError, match="no candidate 'other'.*good@v1"):
        compare_runs(engine, run_a, run_b, actor_id=factory.admin_id(engine), candidate="other")


def test_a_rater_cannot_compare_runs(engine, tmp_path) -> None:
    run_a, run_b = _two_runs(engine, tmp_path)
    with factory.session(engine) as s:
        rater = factory.user(s)
        s.commit()
    with pytest.raises(PermissionDeniedError):
        compare_runs(engine, run_a, run_b, actor_id=rater.id)


def test_a_cache_hit_adds_no_cost_and_no_latency(engine, tmp_path) -> None:
    from sqlmodel import select

    from db.models import Candidate, Output

    run_a, run_b = _two_runs(engine, tmp_path)
    with factory.session(engine) as s:
        cand = s.exec(select(Candidate).where(Candidate.name == "good@v1")).one()
        hit = s.exec(
            select(Output).where(Output.candidate_id == cand.id).order_by(Output.id)
        ).first()
        hit.cost_usd, hit.latency_ms, hit.meta = 0.0, None, {"cached": True}
        s.add(hit)
        s.commit()
    r = compare_runs(engine, run_a, run_b, actor_id=factory.admin_id(engine))
    assert r.a.cost_mean_usd == pytest.approx(0.001)
    assert r.a.p50_latency_ms == pytest.approx(np.percentile([100.0 * i for i in range(2, 9)], 50))
