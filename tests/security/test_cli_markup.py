"""Issue 13, point 7: every user-supplied string the CLI prints is shown as plain text.

Campaign, model, rater, judge and criterion names, flag reasons and file paths that look
like Rich markup must neither crash a command (``MarkupError``), vanish (``[redacted]``),
turn into a terminal link, nor change style: each appears in the output exactly as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import app
from tests import factory
from tests.cli.test_cli import cli_db, runner

__all__ = ["cli_db"]

PAYLOADS = [
    "[/x] broken",
    "[redacted]",
    "[link=http://evil.example]x[/link]",
    "[bold]b[/bold]",
]

# Pairwise preferences of the payload-named model over "plain" (negative: payload better).
VOTES = [-1, -1, 1, -1, 0, -1]


@pytest.fixture(params=PAYLOADS, ids=["close-tag", "redacted", "link", "bold"])
def payload(request) -> str:
    return request.param


@pytest.fixture
def hostile(cli_db, payload, wide_console) -> str:
    """A campaign, a model, raters and a judge all named with the payload; returns the name."""
    with factory.session(cli_db) as s:
        factory.voted_campaign(
            s,
            {(payload, "plain"): VOTES},
            n_raters=2,
            name=payload,
            judge_votes={(payload, "plain"): VOTES},
        )
        s.commit()
    return payload


def _ok(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def _path(tmp_path: Path, payload: str, suffix: str) -> Path:
    """A file whose path contains the payload (its slashes make folders)."""
    dest = tmp_path / "out" / f"{payload}{suffix}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def test_campaign_list_shows_markup_like_names_as_written(hostile) -> None:
    assert hostile in _ok(["campaign", "list"]).stdout


def test_judge_list_shows_markup_like_judge_names_as_written(hostile) -> None:
    assert f"{hostile}-judge" in _ok(["judge", "list"]).stdout


def test_judge_add_echoes_a_markup_like_name_as_written(cli_db, payload, wide_console) -> None:
    result = _ok(["judge", "add", payload, "--model", "m", "--no-key"])
    assert f"Judge '{payload}' v1" in result.stdout


def test_leaderboard_shows_markup_like_model_names_as_written(hostile) -> None:
    result = _ok(["leaderboard", "-c", hostile, "--rounds", "20"])
    assert f"| {hostile} |" in result.stdout


def test_leaderboard_output_path_is_printed_as_written(hostile, tmp_path) -> None:
    dest = _path(tmp_path, hostile, ".csv")
    result = _ok(
        ["leaderboard", "-c", hostile, "--rounds", "20", "--format", "csv", "-o", str(dest)]
    )
    assert f"Wrote 2 rows to {dest}." in result.stdout
    assert dest.exists()


def test_gate_message_names_markup_like_models_as_written(hostile) -> None:
    result = runner.invoke(
        app, ["gate", "-c", hostile, "--candidate", hostile, "--baseline", "plain"]
    )
    assert result.exit_code in (0, 1), result.output
    assert hostile in result.stdout


def test_agreement_shows_markup_like_rater_handles_as_written(hostile) -> None:
    result = _ok(["agreement", "-c", hostile, "--n-boot", "20"])
    assert f"{hostile}-r0@x.org" in result.stdout
    assert f"{hostile}-r1@x.org" in result.stdout


def test_calibration_shows_markup_like_judge_names_as_written(hostile) -> None:
    result = _ok(["calibration", "-c", hostile])
    assert f"{hostile}-judge" in result.stdout


def test_rubrics_show_markup_like_criteria_and_models_as_written(
    cli_db, payload, wide_console
) -> None:
    from annotate.campaigns import CriterionSpec

    with factory.session(cli_db) as s:
        data = factory.campaign_with_outputs(
            s, payload, n_prompts=2, models=(payload, "plain"), criteria=[CriterionSpec(payload)]
        )
        rater = factory.user(s, f"{payload}@x.org")
        for comp in data["comparisons"]:
            row = factory.human_judgment(s, comp, rater, -1)
            for (prompt_id, model), output in data["outputs"].items():
                if prompt_id == comp.prompt_id:
                    factory.score(s, row, output, payload, 4 if model == payload else 2)
        s.commit()
    result = _ok(["rubrics", "-c", payload])
    assert f"{payload} (" in result.stdout
    assert f"{payload}: score counts" in result.stdout
    assert f" {payload} " in result.stdout  # the model's row


def test_campaign_flags_show_markup_like_reasons_and_names_as_written(
    cli_db, payload, wide_console
) -> None:
    with factory.session(cli_db) as s:
        campaign_id = factory.blind_campaign(s, name=payload, n_prompts=2)["campaign"].id
        rater_id = factory.user(s, f"{payload}@x.org").id
        s.commit()
    factory.flag_items(cli_db, rater_id, campaign_id, [payload])
    result = _ok(["campaign", "flags", "-c", payload])
    assert f"1 flagged item in '{payload}':" in result.stdout
    assert f"flagged by {payload}@x.org at" in result.stdout
    assert f"    {payload}\n" in result.stdout


def test_import_shows_markup_like_file_and_campaign_names_as_written(
    cli_db, payload, tmp_path, wide_console
) -> None:
    path = factory.write_jsonl(_path(tmp_path, payload, ".jsonl"), factory.output_rows(1))
    result = _ok(["import", "outputs", str(path), "-c", payload])
    assert f"'{payload}'" in result.stdout


def test_export_path_is_printed_as_written(hostile, tmp_path) -> None:
    dest = _path(tmp_path, hostile, ".csv")
    result = _ok(["export", "-c", hostile, "--format", "csv", "-o", str(dest)])
    assert f"to {dest}." in result.stdout


def test_error_naming_a_markup_like_campaign_shows_it_as_written(cli_db, payload) -> None:
    result = runner.invoke(app, ["campaign", "flags", "-c", f"{payload} missing"])
    assert result.exit_code == 1
    assert f"{payload} missing" in result.stderr
