"""`judgeboard calibration`: new figures in the table, missing shown as missing, names literal."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app
from tests import factory
from tests.cli.test_cli import cli_db  # noqa: F401  (fixture)

runner = CliRunner()


def _combined_campaign(engine) -> str:
    """Humans all pick A; the judge "[bold]x[/bold]" picks B, in verdicts of unknown order."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, "combined", n_prompts=4, models=("m1", "m2"))
        raters = factory.raters(s, 3)
        judge = factory.judge(s, "[bold]x[/bold]")
        for comp in data["comparisons"]:
            for rater in raters:
                factory.human_judgment(s, comp, rater, -1)
            factory.judge_judgment(s, comp, judge, 1, shown_order="unknown")
        s.commit()
    return "combined"


def test_table_shows_missing_position_figures_as_missing_and_says_why(cli_db):  # noqa: F811
    campaign = _combined_campaign(cli_db)
    result = runner.invoke(app, ["calibration", "-c", campaign])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    swap = lines["consistency under position swap"]
    assert "—" in swap and "0.000" not in swap
    assert "0.000" in lines["agreement with the majority"]  # a measured zero stays a zero
    assert "MT-Bench S1" in result.stdout and "bootstrap interval" in result.stdout
    assert "[bold]x[/bold]@v1" in result.stdout  # shown literally, not as Rich markup
    assert "4 verdicts came with an unknown shown order" in result.stderr


def test_json_has_s1_s2_kappa_interval_and_unknown_order_counts(cli_db):  # noqa: F811
    campaign = _combined_campaign(cli_db)
    result = runner.invoke(app, ["calibration", "-c", campaign, "--format", "json"])
    assert result.exit_code == 0, result.output
    (judge,) = json.loads(result.stdout)["judges"]
    assert (judge["s1"], judge["s1_n"], judge["human_s1"]) == (0.0, 12, 1.0)
    assert judge["position_consistency"] is None and judge["p_prefer_first"] is None
    assert judge["unknown_order_n"] == 4
    assert "unknown shown order" in judge["position_missing_reason"]
    assert "cohen_kappa_low" in judge and "kappa_boot_usable" in judge


def test_an_extreme_length_bias_is_printed_as_a_warning(cli_db):  # noqa: F811
    from tests.views.test_calibration_page import _length_loving_judge

    _length_loving_judge(cli_db)
    result = runner.invoke(app, ["calibration", "-c", "wordy"])
    assert result.exit_code == 0, result.output
    assert "Warning: wordy-judge@v1: the longer answer wins in 100% of" in result.stderr
    assert "shown first" not in result.stderr
