"""Running evaluation specs end to end against the scripted local server: generation,
checks, pairwise judging with position swap, criteria PASS / FAIL / INCONCLUSIVE, the
record in eval_runs, JUnit parsed back with junitparser, the Markdown summary, the CLI's
exit codes. Storage on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from junitparser import Failure, JUnitXml
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from db.errors import PermissionDeniedError
from db.models import CheckResult, EvalRun, JudgeRun
from experiments.candidates import save_candidate
from experiments.datasets import add_dataset
from experiments.eval_reports import junit_xml, summary_markdown
from experiments.evaluation import list_eval_runs, run_evaluation
from experiments.spec import parse_spec
from judges.candidates import CandidateSpec
from judges.runs import RunOptions
from tests import factory

PRICES = {"fake-gen": (1.0, 2.0)}
FAST = RunOptions(concurrency=4, backoff_base_s=0.01, backoff_max_s=0.05, prices=PRICES)
LONG = "A long and careful answer with detail."
runner = CliRunner()

# the test split holds p1, p3, p5, p7; "mixed" answers p1 and p5 well, p3 and p7 badly
RULES = [
    {"contains": "Be thorough.", "reply": LONG},
    {"contains": "Question 1? Be mixed.", "reply": LONG},
    {"contains": "Question 5? Be mixed.", "reply": LONG},
    {"contains": "Be mixed.", "reply": "No."},
    {"contains": "Be brief.", "reply": "Short."},
]


def spec_text(compare: list[str], criteria: str, name: str = "release") -> str:
    return f"""
name = "{name}"
[dataset]
ref = "qa@1"
[candidates]
baseline = "base"
compare = {json.dumps(compare)}
[[judges]]
name = "local-judge"
[[checks]]
name = "detailed"
kind = "contains"
value = "detail"
[[checks]]
name = "no-refusal"
kind = "refusal"
{criteria}
[run]
bootstrap_rounds = 500
"""


WINS = """
[[criteria]]
name = "beats the baseline"
statistic = "win_rate"
op = ">="
threshold = 0.5
"""
DETAILED = """
[[criteria]]
name = "detailed"
statistic = "check_pass_rate"
check = "detailed"
candidate = "good"
op = ">="
threshold = 0.9
[[criteria]]
name = "p95 latency"
statistic = "latency_quantile"
op = "<="
threshold = 60000
"""
CHEAP = """
[[criteria]]
name = "cost per request"
statistic = "cost_mean"
op = "<="
threshold = 0.000000001
"""


def _setup(engine, server, tmp_path) -> None:
    admin = factory.admin_id(engine)
    path = factory.write_jsonl(tmp_path / "qa.jsonl", factory.dataset_rows(8))
    add_dataset(engine, path, "qa", actor_id=admin)
    for name, style in (("base", "brief"), ("good", "thorough"), ("mixed", "mixed")):
        spec = CandidateSpec("openai", "fake-gen", server.openai_base,
                             template=f"{{prompt}} Be {style}.")  # fmt: skip
        save_candidate(engine, name, spec, actor_id=admin)
    with factory.session(engine) as s:
        factory.judge_config(s, "local-judge", base_url=server.openai_base)
        s.commit()
    server.configure(rules=RULES)


def _run(engine, text: str, **kwargs):
    spec = parse_spec(text, "eval.toml")
    return run_evaluation(engine, spec, actor_id=factory.admin_id(engine), options=FAST, **kwargs)


def _by(result) -> dict[tuple[str, str], object]:
    return {(c.criterion, c.candidate): c for c in result.criteria}


def test_a_better_candidate_passes_every_criterion_and_the_run_is_recorded(
    engine, server, tmp_path
) -> None:
    _setup(engine, server, tmp_path)
    result = _run(engine, spec_text(["good"], WINS + DETAILED))
    assert result.verdict == "PASS" and result.exit_code() == 0
    assert (result.split, result.n_prompts, result.baseline) == ("test", 4, "base@v1")
    wins = _by(result)[("beats the baseline", "good@v1")]
    assert (wins.value, wins.low, wins.high, wins.n, wins.n_prompts) == (1.0, 1.0, 1.0, 8, 4)
    detailed = _by(result)[("detailed", "good@v1")]
    assert (detailed.verdict, detailed.value) == ("PASS", 1.0)
    assert _by(result)[("p95 latency", "good@v1")].verdict == "PASS"
    assert result.regressions == ()
    with factory.session(engine) as s:
        row = s.get(EvalRun, result.eval_run_id)
        assert (row.status, row.verdict, row.split, row.sample_size) == (
            "done",
            "PASS",
            "test",
            None,
        )
        assert row.results["criteria"][0]["verdict"] == "PASS" and len(row.spec_hash) == 64
        checks = s.exec(select(CheckResult)).all()
        assert len(checks) == 2 * 4 * 2  # two candidates, four prompts, two checks
        assert {c.check_name for c in checks if not c.passed} == {"detailed"}
    listed = list_eval_runs(engine, actor_id=factory.admin_id(engine))
    assert [(r.id, r.verdict, r.dataset) for r in listed] == [(result.eval_run_id, "PASS", "qa@1")]


def test_an_even_candidate_is_inconclusive_a_costly_one_fails_and_nothing_is_paid_twice(
    engine, server, tmp_path
) -> None:
    _setup(engine, server, tmp_path)
    _run(engine, spec_text(["good"], WINS))
    before = server.stats()["requests"]
    result = _run(engine, spec_text(["good", "mixed"], WINS))
    # only mixed's 4 outputs and its swapped verdicts on p3 and p7 are new requests: on
    # p1 and p5 it answered as good did, so the judge's requests are answered by the cache
    assert server.stats()["requests"] - before == 4 + 4
    mixed = _by(result)[("beats the baseline", "mixed@v1")]
    assert mixed.value == 0.5 and mixed.low < 0.5 <= mixed.high
    assert mixed.verdict == "INCONCLUSIVE" and result.verdict == "INCONCLUSIVE"
    assert (result.exit_code(), result.exit_code(0), result.exit_code(1)) == (2, 0, 1)
    assert sorted((r.candidate, r.prompt, r.n_verdicts) for r in result.regressions) == [
        ("mixed@v1", "p3", 2), ("mixed@v1", "p7", 2),
    ]  # fmt: skip
    failed = _run(engine, spec_text(["good"], CHEAP))
    cost = _by(failed)[("cost per request", "good@v1")]
    assert cost.verdict == "FAIL" and cost.low > 1e-9 and failed.exit_code() == 1
    with factory.session(engine) as s:
        generated = s.exec(select(JudgeRun).where(JudgeRun.kind == "generate")).all()
        assert sum(r.n_tasks for r in generated) == 3 * 4


def test_a_sample_draws_from_the_dev_split_into_its_own_campaign(engine, server, tmp_path) -> None:
    _setup(engine, server, tmp_path)
    result = _run(engine, spec_text(["good"], WINS), sample=2, seed=3)
    assert (result.split, result.n_prompts, result.sample) == ("dev", 2, 2)
    assert result.campaign == "eval release qa@1 dev n=2 seed=3"
    assert _by(result)[("beats the baseline", "good@v1")].n == 4


def test_a_rater_may_not_run_an_evaluation(engine, server, tmp_path) -> None:
    _setup(engine, server, tmp_path)
    with factory.session(engine) as s:
        rater = factory.user(s)
        s.commit()
    spec = parse_spec(spec_text(["good"], WINS), "eval.toml")
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        run_evaluation(engine, spec, actor_id=rater.id, options=FAST)
    with pytest.raises(PermissionDeniedError):
        list_eval_runs(engine, actor_id=rater.id)
    with factory.session(engine) as s:
        assert s.exec(select(EvalRun)).all() == []


def test_a_generation_that_keeps_failing_marks_the_run_failed(sqlite_engine, server, tmp_path):
    engine = sqlite_engine
    _setup(engine, server, tmp_path)
    server.configure(rate_500=1.0)
    spec = parse_spec(spec_text(["good"], WINS), "eval.toml")
    options = RunOptions(concurrency=2, max_attempts=1, backoff_base_s=0.01, prices=PRICES)
    with pytest.raises(Exception, match="Resume it"):
        run_evaluation(engine, spec, actor_id=factory.admin_id(engine), options=options)
    with factory.session(engine) as s:
        row = s.exec(select(EvalRun)).one()
        assert row.status == "failed" and "judgeboard generate --resume" in row.error


def test_junit_has_one_case_per_criterion_with_figure_interval_and_threshold(
    sqlite_engine, server, tmp_path
) -> None:
    _setup(sqlite_engine, server, tmp_path)
    result = _run(sqlite_engine, spec_text(["good", "mixed"], WINS + CHEAP))
    path = tmp_path / "report.xml"
    path.write_text(junit_xml(result))
    suites = JUnitXml.fromfile(str(path))
    suite = next(iter(suites))
    assert suite.name == "release" and suite.tests == 4 and suite.failures == 3
    cases = {(c.classname, c.name): c for c in suite}
    assert cases[("good@v1", "beats the baseline")].is_passed
    inconclusive = cases[("mixed@v1", "beats the baseline")].result[0]
    assert isinstance(inconclusive, Failure) and inconclusive.type == "inconclusive"
    assert "50.0%" in inconclusive.message and ">= 50.0%" in inconclusive.message
    assert "95% CI" in inconclusive.message
    failed = cases[("good@v1", "cost per request")].result[0]
    assert failed.type == "FAIL" and "<= $0.00000" in failed.message


def test_the_summary_has_the_criteria_table_costs_and_regressions(
    sqlite_engine, server, tmp_path
) -> None:
    _setup(sqlite_engine, server, tmp_path)
    result = _run(sqlite_engine, spec_text(["good", "mixed"], WINS))
    text = summary_markdown(result)
    assert text.startswith("## ⚠️ Evaluation release: **INCONCLUSIVE**")
    assert "| beats the baseline | good@v1 | ✅ PASS | 100\\.0% |" in text
    assert "| beats the baseline | mixed@v1 | ⚠️ INCONCLUSIVE | 50\\.0% |" in text
    assert "### Cost and latency" in text and "| base@v1 | 4 |" in text
    assert "- p3: mixed@v1 lost to base@v1 (local\\-judge, 2 verdicts)" in text


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    from db.engine import dispose_engines, get_engine

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield get_engine(url)
    dispose_engines()


def test_cli_exit_codes_files_and_json(cli_db, server, tmp_path) -> None:
    _setup(cli_db, server, tmp_path)
    passing = tmp_path / "pass.toml"
    passing.write_text(spec_text(["good"], WINS))
    junit, summary = tmp_path / "out" / "junit.xml", tmp_path / "summary.md"
    junit.parent.mkdir()
    ok = runner.invoke(
        app, ["eval", "run", str(passing), "--junit", str(junit), "--summary", str(summary)]
    )
    assert ok.exit_code == 0, ok.output
    assert next(iter(JUnitXml.fromfile(str(junit)))).tests == 1
    assert "**PASS**" in summary.read_text()
    undecided = tmp_path / "mixed.toml"
    undecided.write_text(spec_text(["good", "mixed"], WINS))
    assert runner.invoke(app, ["eval", "run", str(undecided)]).exit_code == 2
    relaxed = runner.invoke(app, ["eval", "run", str(undecided), "--inconclusive-exit", "0"])
    assert relaxed.exit_code == 0
    failing = tmp_path / "fail.toml"
    base_detailed = DETAILED.replace('candidate = "good"', 'candidate = "base"')
    failing.write_text(spec_text(["good"], base_detailed))
    as_json = runner.invoke(app, ["eval", "run", str(failing), "--format", "json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["criteria"][0]["verdict"] == "FAIL"
    listed = runner.invoke(app, ["eval", "list", "--format", "json"])
    assert [r["verdict"] for r in json.loads(listed.stdout)] == [
        "FAIL", "INCONCLUSIVE", "INCONCLUSIVE", "PASS",
    ]  # fmt: skip


def test_cli_exits_3_on_a_bad_spec_with_the_message_on_stderr(cli_db, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(spec_text(["good"], WINS.replace("threshold = 0.5", 'threshold = "half"')))
    result = runner.invoke(app, ["eval", "run", str(bad)])
    assert result.exit_code == 3
    assert "criteria[0].threshold: must be a number" in result.stderr
    missing = runner.invoke(app, ["eval", "run", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 3 and "Cannot read the evaluation spec" in missing.stderr


RUBRIC = """
[[rubric]]
name = "clarity"
description = "Is the answer clear?"
[[criteria]]
name = "clear enough"
statistic = "rubric_mean"
judge = "grader"
op = ">="
threshold = 3.5
[[criteria]]
name = "wins"
statistic = "win_rate"
judge = "local-judge"
op = ">="
threshold = 0.5
"""


def test_a_rubric_judge_grades_every_output_and_its_mean_is_judged(engine, server, tmp_path):
    _setup(engine, server, tmp_path)
    with factory.session(engine) as s:
        factory.judge_config(s, "grader", base_url=server.openai_base, template_kind="rubric")
        s.commit()
    text = spec_text(["good", "mixed"], RUBRIC).replace(
        '[[judges]]\nname = "local-judge"',
        '[[judges]]\nname = "local-judge"\n[[judges]]\nname = "grader"',
    )
    result = _run(engine, text)
    # the server grades len(answer) % 5 + 1: the long answer 4, "No." 4
    clear = _by(result)[("clear enough", "good@v1")]
    assert (clear.value, clear.low, clear.high, clear.n, clear.verdict) == (
        4.0,
        4.0,
        4.0,
        4,
        "PASS",
    )
    assert _by(result)[("clear enough", "mixed@v1")].value == 4.0
    assert _by(result)[("wins", "good@v1")].verdict == "PASS"
    before = server.stats()["requests"]
    again = _run(engine, text)
    assert server.stats()["requests"] == before
    assert _by(again)[("clear enough", "good@v1")].n == 4


def test_a_rubric_judge_on_a_win_rate_criterion_is_refused(sqlite_engine, server, tmp_path):
    _setup(sqlite_engine, server, tmp_path)
    with factory.session(sqlite_engine) as s:
        factory.judge_config(s, "grader", base_url=server.openai_base, template_kind="rubric")
        s.commit()
    text = spec_text(["good"], WINS).replace('name = "local-judge"', 'name = "grader"')
    with pytest.raises(Exception, match="grades on a rubric, but the spec has no"):
        _run(sqlite_engine, text)
