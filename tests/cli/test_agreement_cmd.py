"""`judgeboard agreement`: missing figures say why, user text is printed as written."""

from __future__ import annotations

from cli.main import app
from tests import factory
from tests.cli.test_cli import cli_db, runner

__all__ = ["cli_db"]


def _thin_campaign(engine, handle: str) -> None:
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, name="thin", n_prompts=1, models=("m1", "m2"))
        factory.human_judgment(s, data["comparisons"][0], factory.user(s, handle), -1)
        s.commit()


def test_missing_figures_show_a_dash_and_the_reason_never_zero(cli_db, wide_console) -> None:
    _thin_campaign(cli_db, "solo@x.org")
    result = runner.invoke(app, ["agreement", "-c", "thin", "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert "Fleiss' kappa — (no comparison with two ratings)" in result.stdout
    assert "S1 with ties — (" in result.stdout
    assert "0.000" not in result.stdout and "0.0%" not in result.stdout


def test_rater_names_are_not_read_as_markup(cli_db, wide_console) -> None:
    _thin_campaign(cli_db, "[red]eve[/red]")
    result = runner.invoke(app, ["agreement", "-c", "thin", "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert "[red]eve[/red]" in result.stdout


def test_fleiss_kappa_and_alpha_carry_their_reading(cli_db, wide_console) -> None:
    with factory.session(cli_db) as s:
        data = factory.campaign_with_outputs(s, name="agreed", n_prompts=6, models=("m1", "m2"))
        raters = factory.raters(s, 3)
        for i, comp in enumerate(data["comparisons"]):
            for rater in raters:
                factory.human_judgment(s, comp, rater, -1 if i % 2 else 1)
        s.commit()
    result = runner.invoke(app, ["agreement", "-c", "agreed", "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert "bootstrap rounds usable): almost perfect agreement." in result.stdout
    assert "reliable agreement" in result.stdout
