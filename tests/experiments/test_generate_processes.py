"""Generation runs across processes: SIGKILL and resume, two workers on PostgreSQL, and the
CLI end to end (issue 15, point 2)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, text
from sqlmodel import select

from db.engine import make_engine
from db.models import JudgeRun, JudgeTask, Output, metadata
from experiments.candidates import get_candidate, save_candidate
from experiments.datasets import add_dataset
from experiments.generation import create_generation_run
from judges.candidates import CandidateSpec, candidate_spec
from judges.providers import build_messages_request
from judges.runs import RunOptions, resume_run
from judges.worker import run_blocking
from tests import factory
from tests.llm_fixtures import ROOT


def _cli(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env={**os.environ, "JUDGEBOARD_DATABASE_URL": url, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _setup(engine, server, tmp_path: Path, n: int) -> None:
    admin = factory.admin_id(engine)
    path = factory.write_jsonl(tmp_path / "qa.jsonl", factory.dataset_rows(n))
    add_dataset(engine, path, "qa", actor_id=admin)
    spec = CandidateSpec("openai", "fake-gen", server.openai_base)
    save_candidate(engine, "bot", spec, actor_id=admin)
    server.configure(
        rules=[{"contains": f"Question {i}?", "reply": f"Answer {i}."} for i in range(n)]
    )


def _outputs_per_prompt(engine) -> list[int]:
    with factory.session(engine) as s:
        return list(
            s.exec(select(func.count()).select_from(Output).group_by(Output.prompt_id)).all()
        )


def test_a_generate_killed_with_sigkill_resumes_with_one_output_per_prompt_paid_once(
    tmp_path: Path, server
) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    _setup(engine, server, tmp_path, n=40)
    server.configure(latency_ms=150)
    child = _cli(url, "generate", "-d", "qa", "--candidate", "bot", "--concurrency", "4",
                 "--quiet")  # fmt: skip
    run_id = 1
    deadline = time.monotonic() + 60
    while factory.task_counts(engine, run_id).get("done", 0) < 8:
        assert child.poll() is None, child.stderr.read()
        assert time.monotonic() < deadline, "the child made no progress"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = factory.task_counts(engine, run_id)
    assert 8 <= before.get("done", 0) < 40 and before.get("claimed", 0) > 0
    resume_run(engine, run_id, actor_id=factory.admin_id(engine))
    server.configure(latency_ms=0)
    result = run_blocking(engine, run_id, RunOptions(concurrency=8))
    assert (result.status, result.n_done, result.n_failed) == ("done", 40, 0)
    assert _outputs_per_prompt(engine) == [1] * 40
    # Only requests in flight (or answered but not yet stored) at the kill are asked again.
    by_body = server.stats()["by_body"]
    assert len(by_body) == 40
    assert sum(by_body.values()) - len(by_body) <= 40 - before["done"]
    engine.dispose()


def test_two_workers_split_a_generation_run_on_postgresql_without_duplicates(
    database_url_factory, server, tmp_path: Path
) -> None:
    engine = database_url_factory("postgresql")
    metadata.create_all(engine)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    url = engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    url = url.render_as_string(hide_password=False)
    _setup(engine, server, tmp_path, n=40)
    # The first requests are slow, so the first worker is still busy when the other joins.
    server.configure(latency_ms=10, script=[{"delay_ms": 1500}] * 4)
    plan = create_generation_run(engine, "qa", "bot", actor_id=factory.admin_id(engine))
    workers = [
        _cli(url, "judge", "work", str(plan.run_id), "--concurrency", "4", "--quiet")
        for _ in range(2)
    ]
    for w in workers:
        _out, err = w.communicate(timeout=90)
        assert w.returncode == 0, err
    assert _outputs_per_prompt(engine) == [1] * 40
    assert server.requests() == 40 and server.duplicate_bodies() == 0
    with factory.session(engine) as s:
        assert s.get(JudgeRun, plan.run_id).status == "done"
        claimers = s.exec(select(JudgeTask.claimed_by).where(JudgeTask.run_id == plan.run_id)).all()
    assert len(set(claimers)) == 2
    engine.dispose()


def test_cli_adds_lists_and_generates_then_resumes_and_refuses_bad_input(
    tmp_path: Path, server, monkeypatch, wide_console
) -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from db.engine import dispose_engines

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    monkeypatch.setenv("JUDGEBOARD_PRICES_FILE", str(tmp_path / "prices.json"))
    (tmp_path / "prices.json").write_text('{"fake-gen": [1.0, 2.0]}')
    dispose_engines()
    engine = make_engine(url)
    metadata.create_all(engine)
    factory.write_jsonl(tmp_path / "qa.jsonl", factory.dataset_rows(6))
    (tmp_path / "system.txt").write_text("Answer [briefly].")
    cli = CliRunner()
    assert cli.invoke(app, ["dataset", "add", str(tmp_path / "qa.jsonl"), "--name", "qa"]
                      ).exit_code == 0  # fmt: skip
    add = ["candidate", "add", "bot", "--model", "fake-gen", "--base-url", server.openai_base,
           "--no-key", "--system", f"@{tmp_path / 'system.txt'}"]  # fmt: skip
    first = cli.invoke(app, [*add, "--param", "temperature=0"])
    assert first.exit_code == 0, first.output
    assert "Candidate 'bot@v1' saved" in first.output and "sends no API key" in first.output
    same = cli.invoke(app, [*add, "--param", "temperature=0"])
    assert "Candidate 'bot@v1' unchanged" in same.output
    second = cli.invoke(app, [*add, "--template", "Q: {prompt}"])
    assert "Candidate 'bot@v2' saved" in second.output
    listed = cli.invoke(app, ["candidate", "list", "--all-versions"])
    assert listed.exit_code == 0 and listed.output.count("fake-gen") == 2

    made = cli.invoke(app, ["generate", "-d", "qa@1", "--candidate", "bot@v1", "--split", "dev",
                            "--quiet"])  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "bot@v1 made 3 of 3 outputs (0 from the cache), 0 failed" in made.output
    assert "latency p50" in made.output and "price unknown" not in made.output
    spec = candidate_spec(get_candidate(engine, "bot@v1"))
    sent = build_messages_request(spec, [{"role": "user", "content": "Question 0?"}], None,
                                  spec.system)  # fmt: skip
    assert hashlib.sha256(sent.body).hexdigest() in server.stats()["by_body"]
    assert spec.system == "Answer [briefly]." and server.requests() == 3

    resumed = cli.invoke(app, ["generate", "--resume", "1", "--quiet"])
    assert resumed.exit_code == 0 and "made 3 of 3 outputs" in resumed.output
    runs = cli.invoke(app, ["candidate", "runs"])
    assert runs.exit_code == 0 and "│ 1   │ done   │ 3    │ 0      │ 3 " in runs.output
    assert "│ 1 " not in cli.invoke(app, ["judge", "runs"]).output
    bad = cli.invoke(app, ["candidate", "add", "x", "--model", "m", "--no-key",
                           "--template", "Hi {name}"])  # fmt: skip
    assert bad.exit_code == 1 and "Unknown placeholder '{name}'" in bad.output
    missing = cli.invoke(app, ["generate", "-d", "qa", "--candidate", "nobody"])
    assert missing.exit_code == 1 and "No candidate config 'nobody'" in missing.output
    unread = cli.invoke(app, ["candidate", "add", "y", "--model", "m", "--system", "@/nonexistent"])
    assert unread.exit_code == 1 and "cannot read /nonexistent" in unread.output
    neither = cli.invoke(app, ["generate"])
    assert neither.exit_code == 1 and "Give --dataset and --candidate" in neither.output
    dispose_engines()
    engine.dispose()


def test_the_api_key_reaches_the_provider_but_never_the_database(
    tmp_path: Path, server, monkeypatch
) -> None:
    key = "sk-gen-" + "0123456789abcdef" * 2
    monkeypatch.setenv("JB_GEN_KEY", key)
    server.configure(require_key=key)
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    metadata.create_all(engine)
    admin = factory.admin_id(engine)
    add_dataset(engine, factory.write_jsonl(tmp_path / "qa.jsonl", factory.dataset_rows(3)),
                "qa", actor_id=admin)  # fmt: skip
    spec = CandidateSpec("anthropic", "fake-gen", server.anthropic_base, api_key_env="JB_GEN_KEY")
    save_candidate(engine, "bot", spec, actor_id=admin)
    plan = create_generation_run(engine, "qa", "bot", actor_id=admin)
    assert run_blocking(engine, plan.run_id, RunOptions(concurrency=2)).n_done == 3
    assert server.stats()["auth_seen"] == {"with_key": 3}
    engine.dispose()
    for path in tmp_path.iterdir():
        assert key.encode() not in path.read_bytes(), path.name
