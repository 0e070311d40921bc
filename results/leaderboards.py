"""Leaderboards from the database: aggregate in SQL, compute in ``metrics/``, cache by version.

Sources: ``human``; ``judge`` (one judge version); ``blend`` (weighted human + judge
counts, for exploration); ``ppi`` (prediction-powered: judge verdicts on every
comparison, corrected by human verdicts where both exist).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from db.access import admin_only
from db.errors import InvalidInputError, NotFoundError
from db.joins import CandA, CandB, OutA, OutB, output_joins
from db.models import Candidate, Comparison, Judge, Judgment, Output, Prompt, ReviewAction
from metrics import vocabulary
from metrics.blend import blend_counts, ppi_bradley_terry
from metrics.counts import PairCounts, pair_counts_from_clusters
from metrics.leaderboard import LEADERBOARD_COLUMNS, Leaderboard, leaderboard
from metrics.vocabulary import missing_to_none
from metrics.win_rates import win_rate_matrix
from results.sampling import labelled_sample_check
from results.votes import (
    LeftOut,
    VoteFilter,
    left_out,
    per_comparison_tallies,
    preference_sign_sql,
    scoped,
    scores_frame,
    with_models,
)

SOURCES = ("human", "judge", "blend", "ppi")


@dataclass(frozen=True)
class LeaderboardQuery:
    campaign_id: int
    source: str = "human"
    judge: str | None = None
    weight: float = 0.5
    category: str | None = None
    split: str | None = None
    rounds: int = 1000
    baseline: str | None = None
    length_control: bool = False
    seed: int = 0
    strong_weight: int = 1

    def votes(
        self,
        *,
        rater_kind: str | None = None,
        judge_id: int | None = None,
        left: LeftOut | None = None,
    ) -> VoteFilter:
        """The scored current votes this query ranks on, of one rater kind or one judge
        (``left``: the campaign's retired comparisons and excluded raters, when known)."""
        return VoteFilter(
            self.campaign_id,
            rater_kind=rater_kind,
            judge_id=judge_id,
            category=self.category,
            split=self.split,
            scored_only=True,
            left_out=left,
        )


@dataclass
class LeaderboardResult:
    query: LeaderboardQuery
    table: pd.DataFrame
    win_rates: pd.DataFrame
    judge_label: str | None = None
    n_votes: int = 0
    width_ratio: float | None = None
    length_coef: float | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [
            {k: missing_to_none(v) for k, v in row.items()}
            for row in self.table.to_dict(orient="records")
        ]


def outcome_aggregates(engine: Engine, flt: VoteFilter) -> pd.DataFrame:
    """``model_a, model_b, outcome, n``: votes grouped in SQL by candidate pair and outcome.

    Two levels: votes are first counted per comparison (the covering index
    ``ix_judgments_campaign_kind`` hands them over in comparison order, so this needs
    neither a sort nor a table read), then the ~100x fewer per-comparison rows are joined
    to their candidates and summed per pair.
    """
    per_comparison = per_comparison_tallies(replace(scoped(engine, flt), scored_only=True))
    counted = select(
        OutA.candidate_id.label("cand_a"),
        OutB.candidate_id.label("cand_b"),
        func.sum(per_comparison.c.a_wins).label("a_wins"),
        func.sum(per_comparison.c.ties).label("ties"),
        func.sum(per_comparison.c.b_wins).label("b_wins"),
    ).join(Comparison, Comparison.id == per_comparison.c.comparison_id)
    per_pair = (
        output_joins(counted)
        .where(Comparison.output_a_id != Comparison.output_b_id)
        .group_by(OutA.candidate_id, OutB.candidate_id)
        .subquery()
    )
    query = (
        select(CandA.name, CandB.name, per_pair.c.a_wins, per_pair.c.ties, per_pair.c.b_wins)
        .join(CandA, CandA.id == per_pair.c.cand_a)
        .join(CandB, CandB.id == per_pair.c.cand_b)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    wide = pd.DataFrame(rows, columns=["model_a", "model_b", -1, 0, 1])
    frame = wide.melt(["model_a", "model_b"], var_name="outcome", value_name="n")
    frame = frame[frame["n"] > 0].reset_index(drop=True)
    return frame.astype({"outcome": "int64", "n": "int64"})


def cluster_aggregates(
    engine: Engine,
    flt: VoteFilter,
    *,
    strong_weight: int = 1,
    length_bins: int | None = None,
) -> pd.DataFrame:
    """Votes grouped by candidate pair and per-comparison outcome pattern.

    Columns ``model_a, model_b, a_wins, ties, b_wins, n``: ``n`` comparisons of the pair
    carried exactly ``a_wins``/``ties``/``b_wins`` votes (strong verdicts counted
    ``strong_weight`` times); with ``length_bins`` also ``length_bin`` and
    ``length_diff_sum``. Votes are first counted per comparison (the covering index
    ``ix_judgments_campaign_kind`` hands them over in comparison order), then the far
    fewer per-comparison rows are joined to their candidates and counted per pattern.
    This is what :func:`metrics.counts.pair_counts_from_clusters` takes, so the
    bootstrap resamples comparisons, not votes.
    """
    pc = per_comparison_tallies(replace(scoped(engine, flt), scored_only=True), strong_weight)
    # one integer per pattern: a 3-column GROUP BY key costs SQLite twice the time
    pattern = (pc.c.a_wins * _PATTERN_BASE + pc.c.ties) * _PATTERN_BASE + pc.c.b_wins
    keys = [OutA.candidate_id, OutB.candidate_id, pattern]
    extra = []
    if length_bins is not None:
        x = (
            (func.length(OutA.content) - func.length(OutB.content))
            * 1.0
            / (func.length(OutA.content) + func.length(OutB.content) + 1)
        )
        bin_ = case((x >= 1, length_bins - 1), else_=func.floor((x + 1) / 2 * length_bins))
        keys.append(bin_)
        extra = [bin_, func.sum(x)]
    query = (
        output_joins(
            select(*keys[:3], func.count(), *extra).join(
                Comparison, Comparison.id == pc.c.comparison_id
            )
        )
        .where(Comparison.output_a_id != Comparison.output_b_id)
        .group_by(*keys)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        names = dict(conn.execute(select(Candidate.id, Candidate.name)).all())
    columns = ["cand_a", "cand_b", "pattern", "n"]
    if length_bins is not None:
        columns += ["length_bin", "x_sum"]
    # column-wise: building a frame from ~10^5 Row objects costs more than the query
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    raw = pd.DataFrame({name: np.asarray(col) for name, col in zip(columns, cols, strict=True)})
    code = raw["pattern"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame(
        {
            "model_a": raw["cand_a"].map(names),
            "model_b": raw["cand_b"].map(names),
            "a_wins": code // (_PATTERN_BASE * _PATTERN_BASE),
            "ties": code // _PATTERN_BASE % _PATTERN_BASE,
            "b_wins": code % _PATTERN_BASE,
            "n": raw["n"].astype("int64"),
        }
    )
    if length_bins is not None:
        frame["length_bin"] = raw["length_bin"].astype("int64")
        votes = frame["a_wins"] + frame["ties"] + frame["b_wins"]
        frame["length_diff_sum"] = raw["x_sum"].astype("float64") * votes
    return frame


_PATTERN_BASE = 1 << 20
"""Votes one comparison may carry per outcome (a strong verdict counting k times): the
per-comparison pattern is packed as ``(a_wins * B + ties) * B + b_wins`` in SQL."""


LENGTH_BINS = 16


def _counts(
    engine: Engine, flt: VoteFilter, length_control: bool, strong_weight: int = 1
) -> PairCounts | None:
    bins = LENGTH_BINS if length_control else None
    frame = cluster_aggregates(engine, flt, strong_weight=strong_weight, length_bins=bins)
    if frame.empty:
        return None
    return pair_counts_from_clusters(frame, length_bins=bins)


def leaderboard_counts(engine: Engine, q: LeaderboardQuery, *, actor_id: int) -> PairCounts | None:
    """The counts (with their comparison clusters) a human or judge leaderboard ranks on.

    Admins only. For checking a leaderboard by hand or against another tool.
    """
    admin_only(engine, actor_id)
    if q.source not in ("human", "judge"):
        raise InvalidInputError("leaderboard_counts takes source human or judge.")
    if q.source == "human":
        flt = q.votes(rater_kind="human")
    else:
        flt = q.votes(judge_id=resolve_judge(engine, q.campaign_id, q.judge)[0])
    return _counts(engine, flt, q.length_control, q.strong_weight)


def campaign_models(engine: Engine, campaign_id: int, *, actor_id: int) -> list[str]:
    """Names of the candidates with an output in the campaign, sorted (admins only: it
    names the candidates of blind campaigns)."""
    admin_only(engine, actor_id)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Candidate.name)
            .join(Output, Output.candidate_id == Candidate.id)
            .join(Prompt, Prompt.id == Output.prompt_id)
            .where(Prompt.campaign_id == campaign_id)
            .distinct()
            .order_by(Candidate.name)
        ).all()
    return [name for (name,) in rows]


def judges_in_campaign(
    engine: Engine, campaign_id: int, *, actor_id: int
) -> list[tuple[int, str, int]]:
    """(judge id, "name@vN", verdicts) for every judge version with verdicts, most first.

    Admins only.
    """
    admin_only(engine, actor_id)
    return _judges_in_campaign(engine, campaign_id)


def _judges_in_campaign(engine: Engine, campaign_id: int) -> list[tuple[int, str, int]]:
    """Judges with verdicts that count: an excluded judge, or one whose verdicts are all on
    retired comparisons, is not offered."""
    counted = scoped(engine, VoteFilter(campaign_id, rater_kind="llm"))
    with engine.connect() as conn:
        rows = conn.execute(
            counted.apply(
                select(Judge.id, Judge.name, Judge.version, func.count()).join(
                    Judgment, Judgment.judge_id == Judge.id
                )
            )
            .group_by(Judge.id, Judge.name, Judge.version)
            .order_by(func.count().desc(), Judge.id)
        ).all()
    return [(jid, vocabulary.judge_label(name, version), n) for jid, name, version, n in rows]


def resolve_judge(engine: Engine, campaign_id: int, judge: str | None) -> tuple[int, str]:
    """A judge version by "name", "name@vN" or id; the busiest judge when None.

    For callers that have checked the actor (compute_leaderboard, the gate).
    """
    judges = _judges_in_campaign(engine, campaign_id)
    if not judges:
        raise NotFoundError(
            "No judge verdicts in this campaign yet: run a judge"
            " (judgeboard judge run --campaign ... --judge ...) or import LLM votes."
        )
    if judge is None:
        return judges[0][0], judges[0][1]
    for jid, label, _ in judges:
        if judge in (label, str(jid), label.rsplit("@v", 1)[0]):
            return jid, label
    raise NotFoundError(
        f"No verdicts from judge '{judge}' in this campaign; judges with verdicts:"
        f" {', '.join(label for _, label, _ in judges)}."
    )


def ppi_frame(
    engine: Engine, q: LeaderboardQuery, judge_id: int, left: LeftOut | None = None
) -> pd.DataFrame:
    """Per comparison: the judge's verdict (swaps resolved) and the human majority.

    A judge's two position-swapped verdicts that disagree resolve to a tie; a human
    majority that is split evenly is a tie too. Gold and attention items are left out:
    they are picked by hand, and PPI needs the labelled comparisons drawn at random.
    """
    sign = preference_sign_sql(Judgment.preference)
    judge_sum = func.sum(case((Judgment.judge_id == judge_id, sign), else_=0))
    judge_n = func.sum(case((Judgment.judge_id == judge_id, 1), else_=0))
    human_sum = func.sum(case((Judgment.rater_kind == "human", sign), else_=0))
    human_n = func.sum(case((Judgment.rater_kind == "human", 1), else_=0))
    per_comparison = (
        scoped(engine, q.votes(left=left))
        .apply(
            select(
                Judgment.comparison_id,
                judge_sum.label("judge_sum"),
                judge_n.label("judge_n"),
                human_sum.label("human_sum"),
                human_n.label("human_n"),
            )
        )
        .where((Judgment.rater_kind == "human") | (Judgment.judge_id == judge_id))
        .group_by(Judgment.comparison_id)
        .subquery()
    )
    pc = per_comparison.c
    query = with_models(per_comparison, pc.judge_sum, pc.judge_n, pc.human_sum, pc.human_n)
    query = query.where(Comparison.check_kind.is_(None))
    with engine.connect() as conn:
        frame = pd.DataFrame(
            conn.execute(query).all(),
            columns=["model_a", "model_b", "judge_sum", "judge_n", "human_sum", "human_n"],
        )
    judge = np.sign(frame["judge_sum"].astype(float)).where(frame["judge_n"] > 0)
    human = np.sign(frame["human_sum"].astype(float)).where(frame["human_n"] > 0)
    return pd.DataFrame(
        {
            "model_a": frame["model_a"],
            "model_b": frame["model_b"],
            "judge_preference": judge,
            "human_preference": human,
        }
    )


def _costs(engine: Engine, campaign_id: int) -> pd.DataFrame:
    per_candidate = (
        select(
            Output.candidate_id,
            func.avg(Output.cost_usd).label("cost"),
            func.avg(Output.latency_ms).label("latency"),
            func.count().label("n"),
        )
        .where(Output.prompt_id.in_(select(Prompt.id).where(Prompt.campaign_id == campaign_id)))
        .group_by(Output.candidate_id)
        .subquery()
    )
    pc = per_candidate.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(Candidate.name, pc.cost, pc.latency, pc.n).join(
                Candidate, Candidate.id == pc.candidate_id
            )
        ).all()
    return pd.DataFrame(rows, columns=["model", "cost_usd", "latency_ms", "n_outputs"]).astype(
        {"cost_usd": "float64", "latency_ms": "float64"}
    )


def data_version(engine: Engine, campaign_id: int) -> tuple[int, int, int]:
    """Changes whenever a judgment is added or revised in the campaign, and with every
    review action (a comparison retired, a rater excluded, and their reversals)."""
    with engine.connect() as conn:
        n, last = conn.execute(
            select(func.count(), func.max(Judgment.id)).where(Judgment.campaign_id == campaign_id)
        ).one()
        reviewed = conn.execute(
            select(func.max(ReviewAction.id)).where(ReviewAction.campaign_id == campaign_id)
        ).scalar()
    return int(n), int(last or 0), int(reviewed or 0)


_side_queries = ThreadPoolExecutor(max_workers=2, thread_name_prefix="leaderboard")
_cache: OrderedDict[tuple, LeaderboardResult] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 64


def check_strong_weight(weight: object) -> None:
    """Refuse a strong-verdict weight that is not a whole number of 1 or more."""
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
        raise InvalidInputError(
            f"Strong weight must be a whole number of 1 or more, got {weight!r}"
            " (Arena-Hard-Auto counts a strong verdict 3 times)."
        )


def compute_leaderboard(engine: Engine, q: LeaderboardQuery, *, actor_id: int) -> LeaderboardResult:
    """The leaderboard for one source, cached per campaign, data version and query.

    Admins only: it names the candidates of blind campaigns.
    """
    admin_only(engine, actor_id)
    if q.source not in SOURCES:
        raise InvalidInputError(f"Source '{q.source}' is not one of {', '.join(SOURCES)}.")
    if not 0.0 <= q.weight <= 1.0:
        raise InvalidInputError(f"Blend weight must be between 0 and 1, got {q.weight}.")
    check_strong_weight(q.strong_weight)
    key = (str(engine.url), q, data_version(engine, q.campaign_id))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    left = left_out(engine, q.campaign_id)
    result = _compute(engine, q, left)
    if (note := left.note()) is not None:
        result.notes.append(note)
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _empty(q: LeaderboardQuery, note: str, label: str | None = None) -> LeaderboardResult:
    return LeaderboardResult(
        q, pd.DataFrame(columns=list(LEADERBOARD_COLUMNS)), pd.DataFrame(), label, notes=[note]
    )


def _compute(engine: Engine, q: LeaderboardQuery, left: LeftOut) -> LeaderboardResult:
    judge_id, judge_label = None, None
    if q.source != "human":
        judge_id, judge_label = resolve_judge(engine, q.campaign_id, q.judge)
    if q.source == "ppi":
        result = _compute_ppi(engine, q, judge_id, judge_label, left)
        if q.strong_weight > 1:
            result.notes.append(
                "Strong weight applies to human, judge and blend leaderboards, not to PPI,"
                " which works on one verdict per comparison."
            )
        return result
    # Costs and rubric scores come from other tables: fetch them on a second connection
    # while this one aggregates the votes (the drivers release the GIL while they work).
    costs = _side_queries.submit(_costs, engine, q.campaign_id)
    scores = (
        _side_queries.submit(
            scores_frame,
            engine,
            VoteFilter(
                q.campaign_id, "human", category=q.category, split=q.split, left_out=left
            ),
        )
        if q.source == "human"
        else None
    )
    human = (
        _counts(engine, q.votes(rater_kind="human", left=left), q.length_control, q.strong_weight)
        if q.source in ("human", "blend")
        else None
    )
    judged = (
        _counts(engine, q.votes(judge_id=judge_id, left=left), q.length_control, q.strong_weight)
        if judge_id is not None
        else None
    )
    if q.source == "human":
        counts = human
    elif q.source == "judge":
        counts = judged
    else:
        if human is None or judged is None:
            missing = "human votes" if human is None else "judge verdicts"
            return _empty(
                q, f"A blend needs both sources; this selection has no {missing}.", judge_label
            )
        counts = blend_counts(human.collapse(), judged.collapse(), q.weight)
    if counts is None:
        return _empty(q, "No votes match this selection yet.", judge_label)
    extras = {}
    if scores is not None and not (rubric := scores.result()).empty:
        extras["scores"] = rubric
    board = leaderboard(
        counts,
        baseline=q.baseline,
        rounds=q.rounds,
        seed=q.seed,
        length_control=q.length_control and q.source != "blend",
        costs=costs.result(),
        **extras,
    )
    notes = leaderboard_notes(board, clustered=_clustered(counts), strong_weight=q.strong_weight)
    matrix = win_rate_matrix(counts.collapse() if counts.length is not None else counts)
    return LeaderboardResult(
        q,
        board.table,
        matrix.rate,
        judge_label,
        n_votes=int(round(float(np.sum(counts.n)))),
        length_coef=board.length_coef,
        notes=notes,
    )


def _clustered(counts: PairCounts) -> bool:
    parts = counts.parts or ((counts, 1.0),)
    return any(p.clusters is not None for p, _ in parts)


def leaderboard_notes(board: Leaderboard, *, clustered: bool, strong_weight: int = 1) -> list[str]:
    """What a reader must know to read the table: fit and bootstrap facts, in words."""
    notes = []
    if not board.converged:
        notes.append(
            "Warning: the Bradley–Terry fit did not converge, so the ratings are not"
            " reliable; collect more votes or check for a model that wins or loses every"
            " comparison."
        )
    if board.separated_models:
        names = ", ".join(board.separated_models)
        notes.append(
            f"{names} won or lost every vote they took part in: such a rating is set by the"
            " prior, not by the data, and its interval is open-ended in fact."
        )
    if board.n_components > 1:
        notes.append(
            f"The comparison graph has {board.n_components} disconnected groups (column"
            " 'group'): ratings across groups are not comparable, so models are ranked"
            " within their own group only and have no win rate against a baseline of"
            " another group."
        )
    usable = f"{board.usable_rounds} of {board.rounds} bootstrap rounds were usable"
    if board.usable_rounds < board.rounds:
        usable += f" ({board.rounds - board.usable_rounds} did not converge and are left out)"
    if board.separated_rounds:
        usable += (
            f"; in {board.separated_rounds} of them a model won or lost every resampled vote"
            " (no variation), kept in the intervals"
        )
    unit = (
        "comparisons (all votes on one comparison together)"
        if clustered
        else "votes"
    )
    notes.append(f"{usable}. The bootstrap resamples {unit} within each model pair.")
    if strong_weight > 1:
        notes.append(f"Strong verdicts count {strong_weight} times, as in Arena-Hard-Auto.")
    if board.baseline is not None:
        notes.append(
            f"Win rate against {board.baseline} is computed from the ratings as"
            " Arena-Hard-Auto does: 1 / (1 + 10^((baseline − rating) / 400)), its interval"
            " from the rating's interval."
        )
    return notes


def _compute_ppi(
    engine: Engine, q: LeaderboardQuery, judge_id: int, judge_label: str, left: LeftOut
) -> LeaderboardResult:
    frame = ppi_frame(engine, q, judge_id, left)
    labelled = int(frame["human_preference"].notna().sum())
    if frame["judge_preference"].notna().sum() == 0 or labelled == 0:
        return _empty(
            q,
            "PPI needs judge verdicts on the comparisons and human votes on some of them.",
            judge_label,
        )
    ppi = ppi_bradley_terry(frame, rounds=q.rounds, seed=q.seed, baseline=q.baseline)
    human = _counts(engine, q.votes(rater_kind="human", left=left), length_control=False)
    matrix = win_rate_matrix(human).rate if human is not None else pd.DataFrame()
    unlabelled = int((ppi.table["n_labelled"] == 0).sum())
    notes = [
        f"PPI: the judge's verdicts on {ppi.n_total} comparisons, corrected by humans on"
        f" {ppi.n_labelled}, with the judge weighted {_weight_text(ppi.judge_weight)}."
        f" {_width_note(ppi.width_ratio, unlabelled)}"
    ]
    warning = labelled_sample_check(engine, q.campaign_id).warning()
    return LeaderboardResult(
        q,
        ppi.table,
        matrix,
        judge_label,
        n_votes=ppi.n_total,
        width_ratio=ppi.width_ratio,
        notes=notes,
        warnings=[warning] if warning else [],
    )


def _weight_text(weight: float) -> str:
    if weight != weight:
        return "in full (no pair has human labels)"
    return (
        f"{weight:.2f} (median over model pairs; power tuning picks the weight that gives"
        " the narrowest valid interval: 1 trusts the judge fully, 0 uses human votes alone)"
    )


def _width_note(ratio: float, n_unlabelled: int = 0) -> str:
    """How PPI's intervals compare with human votes alone, and how many models sit out."""
    if ratio != ratio:
        text = "Interval width versus human votes alone could not be computed."
    elif ratio < 0.995:
        text = f"Its intervals are {1 - ratio:.0%} narrower than human votes alone."
    elif ratio <= 1.005:
        text = (
            "Its intervals are as wide as human votes alone: this judge agrees too little"
            " with the humans to sharpen the estimate, so it is given almost no weight."
        )
    else:
        text = f"Its intervals are {ratio - 1:.0%} wider than human votes alone."
    if n_unlabelled:
        models = "1 model has" if n_unlabelled == 1 else f"{n_unlabelled} models have"
        text += (
            f" {models} no human label: no human-only figures (shown as missing) and no part"
            " in the width comparison."
        )
    return text


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table; floats to 3 decimals, missing values "—"."""

    def cell(v: Any) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return "—"
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([head, rule, *rows])


def campaign_categories(engine: Engine, campaign_id: int, *, actor_id: int) -> list[str]:
    """The prompt categories that occur in the campaign, sorted (admins only)."""
    admin_only(engine, actor_id)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Prompt.category)
            .where(Prompt.campaign_id == campaign_id, Prompt.category.is_not(None))
            .distinct()
            .order_by(Prompt.category)
        ).all()
    return [category for (category,) in rows]


def campaign_costs(engine: Engine, campaign_id: int, *, actor_id: int) -> pd.DataFrame:
    """``model, cost_usd, latency_ms, n_outputs``: the mean cost and latency of each model's
    outputs in the campaign (NaN where none was recorded). Admins only."""
    admin_only(engine, actor_id)
    return _costs(engine, campaign_id)
