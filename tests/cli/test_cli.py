from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from db.engine import dispose_engines, get_engine
from tests import factory
from tests.results.test_leaderboards import HUMAN

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    """A migrated SQLite database that the CLI finds through JUDGEBOARD_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield get_engine(url)
    dispose_engines()


@pytest.fixture
def voted(cli_db) -> str:
    with factory.session(cli_db) as s:
        factory.voted_campaign(s, HUMAN, name="Release 7")
        s.commit()
    return "Release 7"


def test_db_upgrade_is_idempotent(cli_db) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0


def test_leaderboard_json_is_a_stable_list_of_rows(voted) -> None:
    result = runner.invoke(app, ["leaderboard", "-c", voted, "--format", "json", "--rounds", "100"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["model"] for r in rows] == ["strong", "mid", "weak"]
    for key in ("model", "rating", "ci_low", "ci_high", "rank_low", "rank_high", "win_rate", "n"):
        assert key in rows[0]


def test_leaderboard_markdown_and_parquet(voted, tmp_path) -> None:
    md = runner.invoke(app, ["leaderboard", "-c", voted, "--rounds", "50"])
    assert md.exit_code == 0 and md.stdout.startswith("| model | rating |")
    dest = tmp_path / "board.parquet"
    pq = runner.invoke(
        app, ["leaderboard", "-c", voted, "--format", "parquet", "-o", str(dest), "--rounds", "50"]
    )
    assert pq.exit_code == 0, pq.output
    assert list(pd.read_parquet(dest).model) == ["strong", "mid", "weak"]


def test_gate_exit_codes_follow_the_lower_bound(voted) -> None:
    passed = runner.invoke(
        app, ["gate", "-c", voted, "--candidate", "strong", "--baseline", "weak"]
    )
    assert passed.exit_code == 0 and passed.stdout.startswith("PASS")
    failed = runner.invoke(app, ["gate", "-c", voted, "--candidate", "mid", "--baseline", "weak"])
    assert failed.exit_code == 1 and failed.stdout.startswith("FAIL")


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_opens_in_pandas(voted, tmp_path, fmt) -> None:
    dest = tmp_path / f"all.{fmt}"
    result = runner.invoke(app, ["export", "-c", voted, "--format", fmt, "-o", str(dest)])
    assert result.exit_code == 0, result.output
    reader = {"parquet": pd.read_parquet, "csv": pd.read_csv}.get(
        fmt, lambda p: pd.read_json(p, lines=True)
    )
    assert len(reader(dest)) == 30


def test_unknown_campaign_exits_1_and_says_how_to_create_it(cli_db) -> None:
    result = runner.invoke(app, ["leaderboard", "-c", "nope"])
    assert result.exit_code == 1
    assert "No campaign named 'nope'" in result.output
    assert "judgeboard import outputs" in result.output


def test_an_error_naming_user_text_prints_it_as_written_not_as_markup(cli_db) -> None:
    name = "[bold]q3[/bold] [link=http://evil.example]x[/link]"
    result = runner.invoke(app, ["leaderboard", "-c", name])
    assert result.exit_code == 1
    assert f"No campaign named '{name}'" in result.output


def _unknown_baseline(campaign: str, *extra: str) -> list[str]:
    result = runner.invoke(
        app, ["leaderboard", "-c", campaign, "--baseline", "typo", "--rounds", "20", *extra]
    )
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output.strip().splitlines()


@pytest.mark.parametrize("extra", [[], ["--length-control"]])
def test_unknown_baseline_is_one_line_naming_the_models_not_a_traceback(voted, extra) -> None:
    assert _unknown_baseline(voted, *extra) == [
        "Error: Baseline 'typo' has no comparisons; pick one of ['mid', 'strong', 'weak']."
    ]


def _arena_votes(path) -> None:
    """Three humans and one LLM judge on 12 questions: m1 usually beats m2, m2 beats m3."""
    rows = []
    for q in range(12):
        for a, b, usual in (("m1", "m2", "model_a"), ("m2", "m3", "model_a"), ("m1", "m3", "tie")):
            for r, rater in enumerate(("ana", "ben", "cy")):
                winner = usual if (q + r) % 4 else "model_b"
                rows.append(
                    {
                        **factory.vote_rows(1, ((a, b),), rater, winner)[0],
                        "question_id": q,
                        "output_a": f"{a} on {q}",
                        "output_b": f"{b} on {q}",
                    }
                )
            rows.append({**rows[-1], "judge": "gpt-judge", "rater_kind": "llm", "winner": usual})
    factory.write_jsonl(path, rows)


@pytest.fixture
def imported(cli_db, tmp_path) -> str:
    _arena_votes(tmp_path / "votes.jsonl")
    result = runner.invoke(
        app, ["import", "votes", str(tmp_path / "votes.jsonl"), "--campaign", "arena"]
    )
    assert result.exit_code == 0, result.output
    return "arena"


@pytest.mark.parametrize("source", ["human", "judge", "judge:gpt-judge", "blend", "ppi"])
def test_imported_votes_give_every_leaderboard_source(imported, source) -> None:
    result = runner.invoke(
        app,
        ["leaderboard", "-c", imported, "--source", source, "--format", "json", "--rounds", "100"],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["model"] for r in rows} == {"m1", "m2", "m3"}
    assert all(r["ci_low"] <= r["rating"] <= r["ci_high"] for r in rows)


@pytest.mark.parametrize("source", ["judge", "blend", "ppi"])
def test_unknown_baseline_on_judge_sources_is_one_line_too(imported, source) -> None:
    assert _unknown_baseline(imported, "--source", source) == [
        "Error: Baseline 'typo' has no comparisons; pick one of ['m1', 'm2', 'm3']."
    ]


def test_agreement_json_carries_the_pipeline_keys(imported) -> None:
    result = runner.invoke(
        app, ["agreement", "-c", imported, "--format", "json", "--n-boot", "100"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    alpha = data["krippendorff_alpha"]["preference/nominal"]
    assert {"alpha", "ci_low", "ci_high"} <= set(alpha)
    assert alpha["ci_low"] <= alpha["alpha"] <= alpha["ci_high"]
    assert 0 < data["percent_agreement"] < 1
    assert {(p["rater_1"], p["rater_2"]) for p in data["pairwise_cohen_kappa"]} == {
        ("ana", "ben"),
        ("ana", "cy"),
        ("ben", "cy"),
    }
    assert {r["rater"] for r in data["raters"]} == {"ana", "ben", "cy"}


def test_calibration_json_carries_the_pipeline_keys(imported) -> None:
    result = runner.invoke(app, ["calibration", "-c", imported, "--format", "json"])
    assert result.exit_code == 0, result.output
    (judge,) = json.loads(result.stdout)["judges"]
    assert judge["judge"] == "gpt-judge@v1"
    for key in ("agreement", "agreement_without_ties", "cohen_kappa", "n"):
        assert key in judge
    assert judge["n"] > 0 and 0 <= judge["agreement"] <= 1


def test_agreement_and_calibration_tables_render(imported) -> None:
    for command in (["agreement", "--n-boot", "50"], ["calibration"]):
        result = runner.invoke(app, [command[0], "-c", imported, *command[1:]])
        assert result.exit_code == 0, result.output
        assert "ana" in result.stdout or "gpt-judge" in result.stdout


def test_campaign_flags_lists_what_raters_reported(cli_db) -> None:
    with factory.session(cli_db) as s:
        campaign_id = factory.blind_campaign(s, name="Flagged", n_prompts=2)["campaign"].id
        rater_id = factory.raters(s, 1)[0].id
        s.commit()
    factory.flag_items(cli_db, rater_id, campaign_id, ["output B is cut off"])
    table = runner.invoke(app, ["campaign", "flags", "-c", "Flagged"])
    assert table.exit_code == 0, table.output
    assert "output B is cut off" in table.output
    as_json = runner.invoke(app, ["campaign", "flags", "-c", "Flagged", "--format", "json"])
    rows = json.loads(as_json.output)
    assert [r["reason"] for r in rows] == ["output B is cut off"]
    assert rows[0]["rater"] == "rater0@example.com"
    bad = runner.invoke(app, ["campaign", "flags", "-c", "Flagged", "--format", "xml"])
    assert bad.exit_code == 1 and "not one of table, json" in bad.output


def test_import_help_points_to_the_formats_document(cli_db) -> None:
    for command in (["import", "votes", "--help"], ["import", "outputs", "--help"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0 and "docs/FORMATS.md" in result.output


def test_import_votes_skip_invalid_writes_rejects_and_says_where(cli_db, tmp_path) -> None:
    votes = factory.vote_rows(3)
    votes[1]["winner"] = "nobody"
    votes[2] |= {"model_b": "m1"}
    path = factory.write_jsonl(tmp_path / "votes.jsonl", votes)
    strict = runner.invoke(app, ["import", "votes", str(path), "-c", "arena"])
    assert strict.exit_code == 1 and "line 2" in strict.output

    lenient = runner.invoke(app, ["import", "votes", str(path), "-c", "arena", "--skip-invalid"])

    assert lenient.exit_code == 0, lenient.output
    rejects = tmp_path / "votes.jsonl.rejects.jsonl"
    output = " ".join(lenient.stdout.split())
    assert f"2 invalid rows were skipped (listed in {rejects})" in output
    assert "Rows pairing a model with itself: m1 (1)." in output
    assert [json.loads(r)["line"] for r in rejects.read_text().splitlines()] == [2, 3]


def test_import_outputs_rejects_path_can_be_chosen(cli_db, tmp_path) -> None:
    rows = factory.output_rows(2)
    rows[0]["output"] = None
    path = factory.write_jsonl(tmp_path / "o.jsonl", rows)
    dest = tmp_path / "bad-rows.jsonl"
    result = runner.invoke(
        app,
        ["import", "outputs", str(path), "-c", "c", "--skip-invalid", "--rejects", str(dest)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(dest.read_text())["field"] == "output"


def test_arena_hard_answers_and_judgments_import_from_the_shell(cli_db, tmp_path) -> None:
    questions = factory.write_jsonl(
        tmp_path / "question.jsonl",
        [{"question_id": q, "category": "hard", "turns": [{"content": f"Q{q}?"}]} for q in "12"],
    )
    answers = []
    for model in ("gpt-4-0314", "cand"):
        rows = [
            {
                "question_id": q,
                "model_id": model,
                "choices": [{"index": 0, "turns": [{"content": f"{model} {q}", "token_len": 3}]}],
            }
            for q in "12"
        ]
        answers.append(str(factory.write_jsonl(tmp_path / f"{model}.jsonl", rows)))
    imported = runner.invoke(
        app, ["import", "outputs", *answers, "-c", "ah", "--questions", str(questions)]
    )
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.count("Imported 2 outputs") == 2
    judgments = factory.write_jsonl(
        tmp_path / "cand-judgments.jsonl",
        [
            {
                "question_id": q,
                "model": "cand",
                "judge": "gpt-4-1106-preview",
                "games": [{"score": "A>B"}, {"score": "B>>A"}],
            }
            for q in "12"
        ],
    )
    missing = runner.invoke(app, ["import", "votes", str(judgments), "-c", "ah"])
    assert missing.exit_code == 1 and "--baseline" in missing.output

    result = runner.invoke(
        app, ["import", "votes", str(judgments), "-c", "ah", "--baseline", "gpt-4-0314"]
    )

    assert result.exit_code == 0, result.output
    assert "Imported 4 votes" in result.stdout and "1 new judges" in result.stdout


def test_import_summary_text_is_printed_as_is(cli_db, tmp_path) -> None:
    path = factory.write_jsonl(tmp_path / "o.jsonl", factory.output_rows(1))
    result = runner.invoke(app, ["import", "outputs", str(path), "-c", "[bold]x[/bold]"])
    assert result.exit_code == 0, result.output
    assert "'[bold]x[/bold]'" in result.stdout
