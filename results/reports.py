"""Agreement and calibration reports for one campaign: votes out of the DB, math in metrics/."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from db.access import admin_only
from db.errors import InvalidInputError
from metrics.agreement import AgreementReport, agreement_report
from metrics.calibration import CalibrationReport, calibration_from_input
from metrics.rater_quality import QualityThresholds, rater_quality
from metrics.vocabulary import missing_to_none
from results.calibration_queries import calibration_input_sql
from results.votes import VoteFilter, rater_names, scores_frame, votes_frame


@dataclass(frozen=True)
class AgreementPage:
    report: AgreementReport
    raters: pd.DataFrame

    def to_dict(self) -> dict:
        data = self.report.to_dict()
        data["raters"] = [
            {k: missing_to_none(v) for k, v in row.items()}
            for row in self.raters.to_dict("records")
        ]
        return data


def _named_votes(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """Votes with readable rater names (handles are unique) instead of internal keys."""
    votes = votes_frame(engine, flt)
    names = rater_names(engine, flt.campaign_id)
    return votes.assign(rater=votes["rater"].map(names).fillna(votes["rater"]))


def campaign_agreement(
    engine: Engine,
    campaign_id: int,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    thresholds: QualityThresholds | None = None,
    category: str | None = None,
    actor_id: int,
) -> AgreementPage:
    """Human-human agreement (alpha per criterion with CIs, kappas) and per-rater quality.

    Admins only: it shows every rater's judgments.
    """
    admin_only(engine, actor_id)
    flt = VoteFilter(campaign_id, rater_kind="human", category=category, include_reshows=True)
    votes = _named_votes(engine, flt)
    scores = scores_frame(engine, flt)
    names = rater_names(engine, campaign_id)
    scores = scores.assign(rater=scores["rater"].map(names).fillna(scores["rater"]))
    report = agreement_report(votes, scores, n_boot=n_boot, seed=seed)
    raters = rater_quality(votes, thresholds) if len(votes) else pd.DataFrame()
    return AgreementPage(report, raters)


def campaign_calibration(
    engine: Engine,
    campaign_id: int,
    *,
    inconsistent_as: str = "tie",
    category: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    actor_id: int,
) -> CalibrationReport:
    """Every judge of the campaign against the human majority (admins only).

    The votes are aggregated per comparison in SQL (:mod:`results.calibration_queries`);
    re-shown items are left out, as everywhere but the consistency figure.
    """
    admin_only(engine, actor_id)
    if inconsistent_as not in ("tie", "drop"):
        raise InvalidInputError("A swapped pair that disagrees counts as 'tie' or 'drop'.")
    data = calibration_input_sql(engine, VoteFilter(campaign_id, category=category))
    return calibration_from_input(
        data,
        inconsistent_as,  # type: ignore[arg-type]
        n_boot=n_boot,
        seed=seed,
    )
