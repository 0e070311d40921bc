"""Agreement and calibration reports for one campaign: votes out of the DB, math in metrics/."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.engine import Engine

from db.access import admin_only
from db.errors import InvalidInputError
from db.models import Comparison, Judgment, User
from metrics.agreement import AgreementReport, agreement_report
from metrics.calibration import CalibrationReport, calibration_from_input
from metrics.rater_quality import PositionBias, QualityThresholds, position_bias, rater_quality
from metrics.vocabulary import INCONSISTENT_AS, missing_to_none, user_key
from results.calibration_queries import calibration_input_sql
from results.votes import VoteFilter, scoped, scores_frame

_SHOWN_ORDERS = np.array(["unknown", "ab", "ba"], dtype=object)


@dataclass(frozen=True)
class AgreementPage:
    report: AgreementReport
    raters: pd.DataFrame
    position: PositionBias | None = None

    def to_dict(self) -> dict:
        data = self.report.to_dict()
        if self.position is not None:
            data["position_bias"] = self.position.to_dict()
        data["raters"] = [
            {k: missing_to_none(v) for k, v in row.items()}
            for row in self.raters.to_dict("records")
        ]
        return data


def _user_handles(engine: Engine) -> dict[str, str]:
    """Human rater key -> handle (handles are unique); one read of the small users table."""
    with engine.connect() as conn:
        return {user_key(uid): handle for uid, handle in conn.execute(select(User.id, User.handle))}


def _packed_vote() -> ColumnElement[int]:
    """preference, both-bad, shown order and re-show of a judgment as one small integer:
    ``(preference + 2, or 5 when none) * 16 + both_bad * 8 + order * 2 + is_reshow``, with
    order 1 = "ab", 2 = "ba", 0 = unknown. One value per row instead of four for the driver
    to convert (about a fifth of the read's time on 300,000 rows)."""
    return (
        func.coalesce(Judgment.preference + 2, 5) * 16
        + case((Judgment.both_bad, 8), else_=0)
        + case((Judgment.shown_order == "ab", 2), (Judgment.shown_order == "ba", 4), else_=0)
        + case((Judgment.is_reshow, 1), else_=0)
    )


def _agreement_votes(engine: Engine, flt: VoteFilter, handles: dict[str, str]) -> pd.DataFrame:
    """The human votes that agreement and rater quality read, with only the columns they read
    and raters named by their handles.

    This is the hot path of a large campaign (300,000 human votes), so the judgments are read
    alone through the covering index (no join, no sort in SQL), the small fields packed into
    one number in SQL (:func:`_packed_vote`), and the rows go from the DBAPI cursor into one
    float array: no per-row objects beyond the driver's own. The few comparisons that are
    checks or pair an output with itself come from a second, small query; raters are named
    from ``handles``. Rows are put in judgment order, as every votes frame is.
    """
    flt = replace(flt, rater_kind="human")
    query = flt.apply(
        select(
            Judgment.id,
            Judgment.comparison_id,
            Judgment.user_id,
            _packed_vote(),
            Judgment.time_on_task_ms,
        )
    )
    special = select(
        Comparison.id,
        Comparison.check_kind,
        Comparison.expected_preference,
        Comparison.output_a_id == Comparison.output_b_id,
    ).where(
        Comparison.campaign_id == flt.campaign_id,
        Comparison.check_kind.is_not(None) | (Comparison.output_a_id == Comparison.output_b_id),
    )
    with engine.connect() as conn:
        rows = conn.execute(query).cursor.fetchall()
        checks = conn.execute(special).all()
    table = np.array(rows, dtype=float).reshape(len(rows), 5)
    table = table[np.argsort(table[:, 0], kind="stable")]
    self_pairs = [cid for cid, _, _, same in checks if same]
    if self_pairs:
        table = table[~np.isin(table[:, 1], self_pairs)]
    user_ids, user_codes = np.unique(table[:, 2], return_inverse=True)
    keys = [user_key(int(uid)) for uid in user_ids]
    names = np.array([handles.get(key, key) for key in keys], dtype=object)
    comparison = pd.Series(table[:, 1].astype(np.int64))
    packed = table[:, 3].astype(np.int64)
    preference = (packed >> 4) - 2.0
    kinds = {cid: kind for cid, kind, _, _ in checks if kind is not None}
    expected = {cid: pref for cid, _, pref, _ in checks if pref is not None}
    return pd.DataFrame(
        {
            "comparison_id": comparison,
            "rater": pd.array(names[user_codes.ravel()], dtype="str"),
            "rater_kind": "human",
            "preference": np.where(preference > 2, np.nan, preference),
            "both_bad": (packed & 8) > 0,
            "shown_order": pd.array(_SHOWN_ORDERS[(packed >> 1) & 3], dtype="str"),
            "time_on_task_ms": table[:, 4],
            "check_kind": comparison.map(kinds) if kinds else None,
            "expected_preference": comparison.map(expected).astype(float) if expected else np.nan,
            "is_reshow": (packed & 1) > 0,
        }
    )


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
    """Human-human agreement (alpha per criterion with CIs, kappas with CIs, MT-Bench S1/S2)
    and per-rater quality. Preference figures are orientation-free (``metrics.agreement``).

    Admins only: it shows every rater's judgments.
    """
    admin_only(engine, actor_id)
    flt = scoped(
        engine,
        VoteFilter(campaign_id, rater_kind="human", category=category, include_reshows=True),
    )
    handles = _user_handles(engine)
    votes = _agreement_votes(engine, flt, handles)
    scores = scores_frame(engine, flt)
    scores = scores.assign(rater=scores["rater"].map(handles).fillna(scores["rater"]))
    report = agreement_report(votes, scores, n_boot=n_boot, seed=seed)
    raters = rater_quality(votes, thresholds) if len(votes) else pd.DataFrame()
    position = position_bias(votes)
    unknown = position.n_unknown_order
    if unknown:
        report.notes.append(
            f"{unknown} decisive vote{'s' if unknown != 1 else ''} with an unknown shown order"
            " left out of P(prefer left); they count everywhere else."
        )
    if (note := flt.left_out.note()) is not None:
        report.notes.append(note)
    return AgreementPage(report, raters, position)


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
    ``inconsistent_as`` is "tie" or "unscored" (a swapped pair that disagrees is left out);
    "drop", its old name, still works.
    """
    admin_only(engine, actor_id)
    choice = "unscored" if inconsistent_as == "drop" else inconsistent_as  # the old name
    if choice not in INCONSISTENT_AS:
        raise InvalidInputError(
            f"'{inconsistent_as}' is not a way to count a swapped pair that disagrees:"
            f" use {' or '.join(INCONSISTENT_AS)}."
        )
    flt = scoped(engine, VoteFilter(campaign_id, category=category))
    data = calibration_input_sql(engine, flt)
    report = calibration_from_input(
        data,
        "tie" if choice == "tie" else "drop",
        n_boot=n_boot,
        seed=seed,
    )
    report = replace(report, inconsistent_as=choice)
    if (note := flt.left_out.note()) is not None:
        report.notes.append(note)
    return report
