"""Least privilege lives in the domain layer: a rater is refused, whatever page they find."""

from __future__ import annotations

import pytest

from annotate.pairing import generate_comparisons
from db.errors import PermissionDeniedError
from results.comparisons import comparison_detail
from results.export import export_judgments
from results.gate import gate
from results.leaderboards import LeaderboardQuery, compute_leaderboard
from results.reports import campaign_agreement, campaign_calibration
from tests import factory
from tests.results.test_leaderboards import HUMAN


@pytest.fixture
def setup(engine):
    with factory.session(engine) as s:
        data = factory.voted_campaign(s, HUMAN, name="blind")
        rater = factory.user(s, "plain.rater@x.org")
        gone = factory.user(s, "gone@x.org", role="admin")
        gone.active = False
        s.commit()
        return data["campaign"].id, data["comparisons"][0].id, rater.id, gone.id


CALLS = {
    "leaderboard": lambda e, c, _, a: compute_leaderboard(e, LeaderboardQuery(c), actor_id=a),
    "gate": lambda e, c, _, a: gate(e, LeaderboardQuery(c), "strong", "weak", actor_id=a),
    "agreement": lambda e, c, _, a: campaign_agreement(e, c, n_boot=10, actor_id=a),
    "calibration": lambda e, c, _, a: campaign_calibration(e, c, actor_id=a),
    "pairing": lambda e, c, _, a: generate_comparisons(e, c, actor_id=a),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_raters_are_refused_admin_reads_and_writes(engine, setup, call) -> None:
    campaign_id, comparison_id, rater_id, _ = setup
    with pytest.raises(PermissionDeniedError, match="Only admins"):
        CALLS[call](engine, campaign_id, comparison_id, rater_id)


def test_raters_cannot_export_or_open_a_comparison(engine, setup, tmp_path) -> None:
    campaign_id, comparison_id, rater_id, _ = setup
    with pytest.raises(PermissionDeniedError):
        export_judgments(engine, campaign_id, "csv", tmp_path / "x.csv", actor_id=rater_id)
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(PermissionDeniedError):
        comparison_detail(engine, comparison_id, actor_id=rater_id)


def test_a_deactivated_admin_is_refused_too(engine, setup) -> None:
    campaign_id, _, _, gone_id = setup
    with pytest.raises(PermissionDeniedError, match="not active"):
        compute_leaderboard(engine, LeaderboardQuery(campaign_id), actor_id=gone_id)


def test_raters_cannot_read_judge_configs_runs_or_verdicts(engine, setup) -> None:
    from judges.config import list_judges
    from judges.runs import list_runs
    from judges.verdicts import browse_verdicts

    campaign_id, _, rater_id, _ = setup
    for call in (
        lambda: list_judges(engine, actor_id=rater_id),
        lambda: list_runs(engine, campaign_id, actor_id=rater_id),
        lambda: browse_verdicts(engine, campaign_id, actor_id=rater_id),
    ):
        with pytest.raises(PermissionDeniedError, match="Only admins"):
            call()
