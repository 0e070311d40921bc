"""The CLI says which judge, which key variable and which price it went with (issue 14.12)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from db.models import Judge, JudgeRun
from tests import factory
from tests.cli.test_cli import cli_db  # noqa: F401  (fixture)

runner = CliRunner()


@pytest.fixture
def two_judges(cli_db):  # noqa: F811
    """Judge "busy" gave a verdict on all 3 comparisons, judge "quiet" on 1."""
    with factory.session(cli_db) as s:
        data = factory.campaign_with_outputs(s, "two", n_prompts=1, models=("m1", "m2", "m3"))
        busy, quiet = factory.judge(s, "busy"), factory.judge(s, "quiet", model="gpt-y")
        for comp in data["comparisons"]:
            factory.judge_judgment(s, comp, busy, 1)
        factory.judge_judgment(s, data["comparisons"][0], quiet, -1)
        s.commit()
    return "two"


def _leaderboard(campaign: str, *extra: str):
    result = runner.invoke(
        app, ["leaderboard", "-c", campaign, "--rounds", "20", "--format", "json", *extra]
    )
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the table stays alone on stdout
    return result


def test_leaderboard_names_the_busiest_judge_and_lists_the_others(two_judges) -> None:
    result = _leaderboard(two_judges, "--source", "judge")
    assert "Judge: busy@v1, the one with the most verdicts (3 verdicts)." in result.stderr
    assert "Other judges with verdicts: quiet@v1 (1)." in result.stderr
    assert "--source judge:quiet@v1" in result.stderr


def test_leaderboard_with_a_chosen_judge_says_so(two_judges) -> None:
    result = _leaderboard(two_judges, "--source", "judge:quiet")
    assert "Judge: quiet@v1, as asked (1 verdict)." in result.stderr
    assert "busy@v1 (3)" in result.stderr


def test_a_human_leaderboard_names_no_judge(two_judges) -> None:
    result = runner.invoke(app, ["leaderboard", "-c", two_judges, "--rounds", "20"])
    assert "Judge:" not in result.stderr


def test_judge_add_without_a_key_setting_names_the_variable_it_reads(
    cli_db,  # noqa: F811
    monkeypatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = runner.invoke(app, ["judge", "add", "j", "--model", "gpt-4o-mini"])
    assert result.exit_code == 0, result.output
    assert "reads its API key from OPENAI_API_KEY (it is not set" in result.stdout
    assert "--key-env" in result.stdout and "--no-key" in result.stdout


def test_judge_add_with_a_key_variable_says_whether_it_is_set(
    cli_db,  # noqa: F811
    monkeypatch,
) -> None:
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-secret-value")
    result = runner.invoke(app, ["judge", "add", "j", "--model", "m", "--key-env", "MY_JUDGE_KEY"])
    assert result.exit_code == 0, result.output
    assert "reads its API key from MY_JUDGE_KEY (it is set)." in result.stdout
    assert "sk-secret-value" not in result.output


def test_judge_add_without_a_key_says_none_is_sent(cli_db) -> None:  # noqa: F811
    result = runner.invoke(app, ["judge", "add", "j", "--model", "m", "--no-key"])
    assert "sends no API key" in result.stdout


def _stored_policy(engine) -> str:
    with factory.session(engine) as s:
        return s.exec(select(Judge.inconsistent_as)).one()


def test_judge_add_takes_tie_or_unscored_for_a_swapped_pair_that_disagrees(
    cli_db,  # noqa: F811
) -> None:
    ok = runner.invoke(
        app, ["judge", "add", "j", "--model", "m", "--no-key", "--inconsistent-as", "unscored"]
    )
    assert ok.exit_code == 0, ok.output
    assert _stored_policy(cli_db) == "unscored"
    bad = runner.invoke(
        app, ["judge", "add", "k", "--model", "m", "--no-key", "--inconsistent-as", "coin"]
    )
    assert bad.exit_code == 1 and "use tie or unscored" in bad.stderr


def test_the_old_name_drop_still_works_and_says_it_is_now_unscored(cli_db) -> None:  # noqa: F811
    result = runner.invoke(
        app, ["judge", "add", "j", "--model", "m", "--no-key", "--inconsistent-as", "drop"]
    )
    assert result.exit_code == 0, result.output
    assert "now called 'unscored'" in result.stderr
    assert _stored_policy(cli_db) == "unscored"


def _calibration(campaign: str, value: str):
    return runner.invoke(
        app, ["calibration", "-c", campaign, "--format", "json", "--inconsistent-as", value]
    )


def test_calibration_takes_the_same_values_as_judge_add(two_judges) -> None:
    result = _calibration(two_judges, "unscored")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inconsistent_as"] == "unscored"
    old = _calibration(two_judges, "drop")
    assert old.exit_code == 0, old.output
    assert json.loads(old.stdout)["inconsistent_as"] == "unscored"
    assert "now called 'unscored'" in old.stderr
    assert "use tie or unscored" in _calibration(two_judges, "coin").stderr


def test_both_commands_document_one_option_with_one_set_of_values() -> None:
    for command in (["judge", "add"], ["calibration"]):
        help_text = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"}).stdout
        assert "--inconsistent-as" in help_text and "tie or unscored" in help_text
        assert "drop" not in help_text


def test_runs_list_marks_a_cost_that_is_zero_for_want_of_a_price(
    cli_db,  # noqa: F811
    monkeypatch,
    wide_console,
) -> None:
    monkeypatch.delenv("JUDGEBOARD_PRICES_FILE", raising=False)
    with factory.session(cli_db) as s:
        campaign = factory.campaign_with_outputs(s, "priced", n_prompts=1)["campaign"]
        judge = factory.judge(s, "cheap", model="no-such-model-anywhere")
        s.add(JudgeRun(judge_id=judge.id, campaign_id=campaign.id, status="done"))
        s.commit()
    result = runner.invoke(app, ["judge", "runs"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "$0.0000 (price unknown)" in result.stdout
    assert "No price for model 'no-such-model-anywhere'" in result.stderr
    assert "JUDGEBOARD_PRICES_FILE" in result.stderr


@pytest.fixture
def rated(cli_db):  # noqa: F811
    with factory.session(cli_db) as s:
        factory.campaign_with_outputs(s, "rated", n_prompts=1, instructions="Press 1 for A.")
        s.commit()
    return "rated"


def _instructions(campaign: str, *extra: str):
    result = runner.invoke(app, ["campaign", "judge-instructions", "-c", campaign, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_campaign_judge_instructions_shows_the_neutral_default(rated) -> None:
    shown = _instructions(rated)
    assert "No judge instructions set" in shown and "Task: compare two answers" in shown
    assert "Press 1" not in shown


def test_campaign_judge_instructions_are_set_from_text_or_a_file_and_reset(rated, tmp_path) -> None:
    assert _instructions(rated, "--judge-instructions", "Be strict.") == "Be strict.\n"
    (tmp_path / "judge.txt").write_text("From [a] file.", encoding="utf-8")
    assert _instructions(rated, "--judge-instructions", "@judge.txt") == "From [a] file.\n"
    assert "No judge instructions set" in _instructions(rated, "--default")


def test_the_judge_preview_prints_every_message_it_would_send(rated) -> None:
    added = runner.invoke(
        app,
        ["judge", "add", "j", "--model", "m", "--no-key", "--param", 'system="Be fair."'],
    )
    assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["judge", "preview", "-c", rated, "-j", "j"])
    assert result.exit_code == 0, result.output
    assert "[system]\nBe fair.\n[user]\nYou are an impartial judge" in result.stdout
    assert "Task: compare two answers" in result.stdout and "Press 1" not in result.stdout
