"""The release gate: does a candidate beat a baseline, by the lower bound of its interval?"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy import or_
from sqlalchemy.engine import Engine

from db.access import admin_only
from db.errors import InvalidInputError, NotFoundError
from db.joins import CandA, CandB
from metrics.blend import ppi_win_rate
from metrics.win_rates import clustered_win_rate_interval
from results.leaderboards import (
    LeaderboardQuery,
    check_strong_weight,
    ppi_frame,
    resolve_judge,
)
from results.sampling import labelled_sample_check
from results.votes import VoteFilter, left_out, per_comparison_tallies, scoped, with_models


@dataclass(frozen=True)
class GateResult:
    passed: bool
    win_rate: float
    ci_low: float
    ci_high: float
    n: int
    message: str


def gate(
    engine: Engine,
    q: LeaderboardQuery,
    candidate: str,
    baseline: str,
    min_win_rate: float = 0.5,
    *,
    actor_id: int,
) -> GateResult:
    """Pass when the lower CI bound of ``candidate``'s win rate over ``baseline`` clears it.

    Ties count half. Human and judge sources use a Wilson interval on the head-to-head
    votes, widened for votes that share a comparison (several raters, or a judge's two
    swapped verdicts; see :func:`metrics.win_rates.clustered_win_rate_interval`), with
    strong verdicts counted ``q.strong_weight`` times; ``ppi`` uses the
    prediction-powered interval, one unit per comparison, and its message carries a warning
    when the human labels were not drawn at random (``results.sampling``).
    """
    admin_only(engine, actor_id)
    check_strong_weight(q.strong_weight)
    caveat = ""
    if q.source == "ppi":
        judge_id, _ = resolve_judge(engine, q.campaign_id, q.judge)
        est = ppi_win_rate(ppi_frame(engine, q, judge_id), candidate, baseline)
        if int(est.n_total) == 0:
            raise NotFoundError(
                f"This judge has no verdicts comparing '{candidate}' with '{baseline}': check"
                " the names (judgeboard leaderboard lists them) or run the judge first."
            )
        if int(est.n_labelled) == 0:
            raise NotFoundError(
                f"No human-labelled comparison of '{candidate}' with '{baseline}' has a verdict"
                " of this judge, so PPI has nothing to correct the judge with: rate some of"
                " their comparisons in the queue, or gate on --source judge."
            )
        rate, lo, hi, n = est.estimate, est.ci_low, est.ci_high, int(est.n_total)
        clusters = n
        warning = labelled_sample_check(engine, q.campaign_id).warning()
        caveat = f" Warning: {warning}" if warning else ""
    else:
        if q.source == "human":
            flt = q.votes(rater_kind="human")
        elif q.source == "judge":
            flt = q.votes(judge_id=resolve_judge(engine, q.campaign_id, q.judge)[0])
        else:
            raise InvalidInputError("The gate takes source human, judge or ppi.")
        votes = head_to_head_clusters(engine, flt, candidate, baseline, q.strong_weight)
        n = int(votes["n"].sum())
        if n == 0:
            raise NotFoundError(
                f"No {q.source} votes compare '{candidate}' with '{baseline}': check the names"
                " (judgeboard leaderboard lists them) or collect votes first."
            )
        rate, lo, hi, _ = clustered_win_rate_interval(
            votes["wins"].to_numpy(), votes["ties"].to_numpy(), votes["n"].to_numpy()
        )
        clusters = len(votes)
    on_comparisons = f" votes on {clusters} comparisons" if clusters != n else ""
    passed = bool(lo >= min_win_rate)
    verdict = "PASS" if passed else "FAIL"
    fix = ""
    if math.isfinite(lo) and math.isfinite(hi):
        ci = f"95% CI {lo:.1%} to {hi:.1%}"
    else:  # e.g. PPI with one human-labelled comparison: an estimate but no interval
        few = "human labels" if q.source == "ppi" else "votes"
        ci = f"no 95% CI: too few {few}"
        fix = ": rate more of their comparisons" if q.source == "ppi" else ": collect more votes"
    shown_rate = f"{rate:.1%}" if math.isfinite(rate) else "an unknown share"
    message = (
        f"{verdict}: {candidate} beats {baseline} {shown_rate} of the time"
        f" ({ci}, n={n}{on_comparisons}); the gate needs the lower bound"
        f" >= {min_win_rate:.1%}{fix}.{caveat}"
    )
    if (note := left_out(engine, q.campaign_id).note()) is not None:
        message += f" {note}"
    return GateResult(passed, float(rate), float(lo), float(hi), int(n), message)


def head_to_head_clusters(
    engine: Engine, flt: VoteFilter, candidate: str, baseline: str, strong_weight: int = 1
) -> pd.DataFrame:
    """``wins, ties, n`` of ``candidate`` against ``baseline``, one row per comparison
    (a strong verdict counted ``strong_weight`` times, as on the leaderboard)."""
    pc = per_comparison_tallies(replace(scoped(engine, flt), scored_only=True), strong_weight)
    query = with_models(pc, pc.c.a_wins, pc.c.ties, pc.c.b_wins).where(
        or_(
            (CandA.name == candidate) & (CandB.name == baseline),
            (CandA.name == baseline) & (CandB.name == candidate),
        )
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["model_a", "model_b", "a_wins", "ties", "b_wins"])
    as_a = frame["model_a"] == candidate
    return pd.DataFrame(
        {
            "wins": frame["a_wins"].where(as_a, frame["b_wins"]),
            "ties": frame["ties"],
            "n": frame["a_wins"] + frame["ties"] + frame["b_wins"],
        }
    ).astype("int64")
