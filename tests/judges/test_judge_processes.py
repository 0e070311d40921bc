"""Judge runs across processes: SIGKILL and resume, two workers on PostgreSQL, key hygiene."""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import select

from db.engine import make_engine
from db.models import JudgeTask, Judgment, metadata
from judges.runs import RunOptions, create_run, resume_run
from judges.worker import run_blocking
from tests import factory
from tests.llm_fixtures import ROOT


def _cli(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.judge", *args],
        cwd=ROOT,
        env={**os.environ, "JUDGEBOARD_DATABASE_URL": url, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _campaign(engine, server, n_prompts: int, **spec) -> tuple[int, int]:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, n_prompts=n_prompts, models=("m1", "m22", "m333"))
        judge = factory.judge_config(s, "local-judge", base_url=server.openai_base, **spec)
        s.commit()
        return data["campaign"].id, judge.id


def _assert_one_verdict_per_task(engine, run_ids: set[int]) -> int:
    with factory.session(engine) as s:
        tasks = s.exec(select(JudgeTask).where(JudgeTask.run_id.in_(run_ids))).all()
        verdicts = s.exec(select(Judgment).where(Judgment.rater_kind == "llm")).all()
    per_task = {(t.comparison_id, t.shown_order): 0 for t in tasks}
    for v in verdicts:
        per_task[(v.comparison_id, v.shown_order)] += 1
    assert set(per_task.values()) == {1}
    assert len(verdicts) == len(tasks)
    assert {t.status for t in tasks} == {"done"}
    return len(tasks)


def test_a_run_killed_with_sigkill_resumes_with_exactly_one_verdict_per_task(
    tmp_path: Path, server
) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    server.configure(latency_ms=150)
    _campaign(engine, server, n_prompts=10)  # 30 comparisons, 60 tasks
    child = _cli(url, "run", "-c", "c1", "-j", "local-judge", "--concurrency", "4", "--quiet")
    run_id = 1
    deadline = time.monotonic() + 30
    while factory.task_counts(engine, run_id).get("done", 0) < 8:
        assert child.poll() is None, child.stderr.read()
        assert time.monotonic() < deadline, "the child made no progress"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = factory.task_counts(engine, run_id)
    assert 8 <= before.get("done", 0) < 60 and before.get("claimed", 0) > 0
    with factory.session(engine) as s:
        done_before = {
            (t.comparison_id, t.shown_order)
            for t in s.exec(
                select(JudgeTask).where(JudgeTask.run_id == run_id, JudgeTask.status == "done")
            ).all()
        }
    resume_run(engine, run_id, actor_id=factory.admin_id(engine))
    server.configure(latency_ms=0)
    result = run_blocking(engine, run_id, RunOptions(concurrency=8))
    assert (result.status, result.n_done, result.n_failed) == ("done", 60, 0)
    assert _assert_one_verdict_per_task(engine, {run_id}) == 60
    # Only requests in flight (or not yet written) at the kill are repeated: a task that was
    # done before the kill is never asked again.
    by_body = server.stats()["by_body"]
    assert sum(by_body.values()) - len(by_body) <= 60 - len(done_before)
    assert len(by_body) == 60
    engine.dispose()


def test_two_worker_processes_split_a_run_on_postgresql_without_duplicates(
    database_url_factory, server
) -> None:
    engine = database_url_factory("postgresql")
    metadata.create_all(engine)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    url = engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    url = url.render_as_string(hide_password=False)
    # The first requests are slow, so whichever worker starts first is still busy when the
    # other one has imported everything and joins.
    server.configure(latency_ms=10, script=[{"delay_ms": 1500}] * 4)
    campaign_id, judge_id = _campaign(engine, server, n_prompts=20)  # 60 comparisons
    run_id = create_run(engine, judge_id, campaign_id, actor_id=factory.admin_id(engine)).id
    workers = [_cli(url, "work", str(run_id), "--concurrency", "4", "--quiet") for _ in range(2)]
    for w in workers:
        _out, err = w.communicate(timeout=60)
        assert w.returncode == 0, err
    assert _assert_one_verdict_per_task(engine, {run_id}) == 120
    stats = server.stats()
    assert stats["requests"] == 120 and server.duplicate_bodies() == 0
    with factory.session(engine) as s:
        claimers = s.exec(select(JudgeTask.claimed_by).where(JudgeTask.run_id == run_id)).all()
        from db.models import JudgeRun

        assert s.get(JudgeRun, run_id).status == "done"
    assert len(set(claimers)) == 2  # both workers did part of the run


def test_the_api_key_never_reaches_the_database_exports_or_logs(
    tmp_path: Path, server, monkeypatch, caplog, capfd
) -> None:
    key = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("JB_LEAK_KEY", key)
    server.configure(require_key=key)
    db_file = tmp_path / "keys.db"
    url = f"sqlite:///{db_file}"
    engine = make_engine(url)
    metadata.create_all(engine)
    campaign_id, judge_id = _campaign(engine, server, n_prompts=2, api_key_env="JB_LEAK_KEY")
    caplog.set_level(logging.DEBUG)
    # A run in this process (all loggers at DEBUG, httpx included) ...
    admin = factory.admin_id(engine)
    run_id = create_run(engine, judge_id, campaign_id, actor_id=admin, limit=1).id
    assert run_blocking(engine, run_id, RunOptions(concurrency=2)).status == "done"
    # ... and one through the CLI in a child process.
    child = _cli(url, "run", "-c", "c1", "-j", "local-judge", "--concurrency", "2")
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert server.stats()["auth_seen"] == {"with_key": 12}  # 6 comparisons x 2 orders
    assert len(engine.connect().execute(select(Judgment.id)).all()) == 12
    engine.dispose()

    needle = key.encode()
    for path in tmp_path.iterdir():  # the database, its WAL and shared-memory files
        assert needle not in path.read_bytes(), path.name
    export = tmp_path / "export"
    export.mkdir()
    dump = make_engine(url)
    with dump.connect() as conn:
        for table in inspect(dump).get_table_names():
            rows = [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
            (export / f"{table}.json").write_text(json.dumps(rows, default=str))
            if rows:
                with (export / f"{table}.csv").open("w", newline="") as fh:
                    writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(rows)
    dump.dispose()
    assert (export / "judgments.csv").exists()
    for path in export.iterdir():
        assert needle not in path.read_bytes(), path.name
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args}" for r in caplog.records)
    assert caplog.records and key not in logged
    captured = capfd.readouterr()
    assert key not in out + err + captured.out + captured.err


def test_cli_adds_lists_previews_and_runs_judges(
    tmp_path: Path, server, monkeypatch, wide_console
) -> None:
    from typer.testing import CliRunner

    from cli.judge import judge_app
    from db.engine import dispose_engines

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    dispose_engines()
    engine = make_engine(url)
    metadata.create_all(engine)
    with factory.session(engine) as s:
        factory.campaign_with_outputs(s, n_prompts=1, models=("m1", "m22"))
        s.commit()
    cli = CliRunner()
    add = [
        "add",
        "cli-judge",
        "--model",
        "fake-judge",
        "--base-url",
        server.openai_base,
        "--no-key",
    ]
    first = cli.invoke(judge_app, [*add, "--param", "temperature=0.2"])
    assert first.exit_code == 0, first.output
    assert "Judge 'cli-judge' v1" in first.output
    assert "v1" in cli.invoke(judge_app, [*add, "--param", "temperature=0.2"]).output
    assert "v2" in cli.invoke(judge_app, [*add, "--param", "scale=5way"]).output
    listed = cli.invoke(judge_app, ["list", "--all-versions"])
    assert listed.exit_code == 0 and listed.output.count("cli-judge") == 2
    bad = cli.invoke(judge_app, ["add", "x", "--model", "m", "--kind", "pairwise",
                                 "--param", "temprature=1"])  # fmt: skip
    assert bad.exit_code == 1 and "Unknown judge parameter 'temprature'" in bad.output
    preview = cli.invoke(judge_app, ["preview", "-c", "c1", "-j", "cli-judge@1"])
    assert preview.exit_code == 0 and "m22 answer 0" in preview.output
    ran = cli.invoke(judge_app, ["run", "-c", "c1", "-j", "cli-judge", "--quiet"])
    assert ran.exit_code == 0, ran.output
    assert "done: 2/2 tasks done" in ran.output
    assert "done" in cli.invoke(judge_app, ["runs"]).output
    missing = cli.invoke(judge_app, ["run", "-c", "c1", "-j", "nobody"])
    assert missing.exit_code == 1 and "No judge 'nobody'" in missing.output
    dispose_engines()
    engine.dispose()
