"""Per-rater quality on the human rows of a votes frame (see :mod:`metrics.frames`).

Every figure is on the 3-way winner ("a", "tie", "b"; a ``both_bad`` vote is a tie, as in
:mod:`metrics.agreement`). Preferences are canonical (A/B), so a re-shown item with its sides
swapped still agrees with its first showing when the canonical winner is the same.

Which rows feed which figure:

- **Leave-one-out (LOO) majority**: each rater's *first showing* of a comparison (re-shows
  dropped, unscored rows dropped, one row per rater and comparison). Gold and attention items
  are ordinary comparisons here, as they are in :mod:`metrics.agreement`. A rater's vote on a
  comparison is scored against the plurality winner of the *other* raters' votes there, when at
  least ``min_others`` others voted and their plurality is not tied; otherwise the comparison is
  skipped for that rater.
- **Gold accuracy / attention failures**: rows with ``check_kind`` "gold" / "attention" that are
  scored and carry an ``expected_preference``; right means the same 3-way winner.
- **Consistency**: each re-shown row paired with the rater's first showing of that comparison.
- **P(prefer left)**: every scored, non-tie row of the rater (re-shows left out: they count for
  consistency only); "left" is A when ``shown_order`` is "ab", B when "ba". Rows whose shown order
  is "unknown" (or missing: e.g. verdicts imported already combined over both orders) are left
  out of it and counted in ``left_unknown_n``, so the table says how many were left out.
- **Median time**: every row of the rater with a ``time_on_task_ms``.
- **n**: every human row of the rater, scored or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics.errors import StatisticsError
from metrics.vocabulary import WINNERS, winner_codes

QUALITY_COLUMNS: tuple[str, ...] = (
    "rater",
    "n",
    "loo_agreement",
    "loo_n",
    "gold_accuracy",
    "gold_n",
    "attention_failures",
    "attention_failure_rate",
    "attention_n",
    "consistency",
    "consistency_n",
    "p_prefer_left",
    "left_n",
    "left_unknown_n",
    "median_time_ms",
    "time_n",
    "flags",
    "flagged",
)

LOO_COLUMNS: tuple[str, ...] = ("comparison_id", "rater", "winner", "loo_majority", "n_others")

_NEEDED = ("comparison_id", "rater", "rater_kind", "preference")


@dataclass(frozen=True)
class QualityThresholds:
    """Where an admin draws the line. ``None`` switches a check off.

    No rater with fewer than ``min_n`` judgments is flagged at all, and a share (LOO agreement,
    gold accuracy, consistency, P(prefer left)) or the median time is only checked once it rests
    on at least ``min_metric_n`` items, so one wrong gold answer out of two flags nobody.
    Attention failures are a count and are checked as soon as the rater is past ``min_n``.
    ``max_left_bias`` is symmetric: P(prefer left) above it or below ``1 - max_left_bias`` flags.
    """

    min_loo_agreement: float | None = 0.5
    min_gold_accuracy: float | None = 0.7
    max_attention_failures: int | None = 0
    min_consistency: float | None = 0.6
    max_left_bias: float | None = 0.7
    min_median_time_ms: float | None = 3000
    min_n: int = 5
    min_metric_n: int = 5


def check_votes(votes: pd.DataFrame, needed: tuple[str, ...] = _NEEDED) -> None:
    """Raise :class:`StatisticsError` naming the columns a votes frame is missing."""
    missing = [c for c in needed if c not in votes.columns]
    if missing:
        raise StatisticsError(
            f"The votes frame is missing columns {missing}; build it with the columns listed "
            "in metrics.frames.VOTE_COLUMNS."
        )


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _column(frame: pd.DataFrame, column: str, default: object = None) -> pd.Series:
    if column in frame.columns:
        return frame[column]
    return pd.Series(default, index=frame.index, dtype=object)


def vote_winners(votes: pd.DataFrame) -> pd.Series:
    """The 3-way winner of each row; a ``both_bad`` row is a tie whatever its preference."""
    return pd.Series(
        winner_codes(votes["preference"], _flag(votes, "both_bad")), index=votes.index, dtype=object
    )


def human_rows(votes: pd.DataFrame) -> pd.DataFrame:
    """The human rows, with their 3-way ``winner`` added."""
    check_votes(votes)
    humans = votes[votes["rater_kind"].eq("human").to_numpy(dtype=bool)]
    return humans.assign(winner=vote_winners(humans))


def first_showings(votes: pd.DataFrame) -> pd.DataFrame:
    """One scored human vote per rater and comparison: re-shows and unscored rows dropped, and
    if a rater still has two rows on a comparison the first (frame order) is kept."""
    humans = human_rows(votes)
    keep = ~_flag(humans, "is_reshow") & humans["winner"].notna().to_numpy(dtype=bool)
    return humans[keep].drop_duplicates(["comparison_id", "rater"], keep="first")


def winner_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Votes per comparison for each winner: index comparison_id, int columns a, tie, b."""
    codes, ids = pd.factorize(frame["comparison_id"], sort=True)
    winner = pd.Index(WINNERS).get_indexer(frame["winner"])
    ok = winner >= 0
    flat = np.bincount(codes[ok] * len(WINNERS) + winner[ok], minlength=len(ids) * len(WINNERS))
    return pd.DataFrame(
        flat.reshape(len(ids), len(WINNERS)),
        index=pd.Index(ids, name="comparison_id"),
        columns=list(WINNERS),
    )


def plurality(counts: np.ndarray) -> np.ndarray:
    """The winner with the most votes in each row of an (n, 3) a/tie/b count array; None when
    two winners share the top count or there are no votes."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, len(WINNERS))
    top = counts.max(axis=1, initial=0)
    unique_top = (counts == top[:, None]).sum(axis=1) == 1
    out = np.full(len(counts), None, dtype=object)
    ok = unique_top & (top > 0)
    out[ok] = np.asarray(WINNERS, dtype=object)[counts[ok].argmax(axis=1)]
    return out


def loo_majority(votes: pd.DataFrame, min_others: int = 2) -> pd.DataFrame:
    """Each human first showing next to the plurality winner of the *other* raters' first
    showings on that comparison (columns :data:`LOO_COLUMNS`).

    ``loo_majority`` is missing (NA) when fewer than ``min_others`` others voted or their
    plurality is tied; ``n_others`` is how many others voted.
    """
    shown = first_showings(votes)
    if shown.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LOO_COLUMNS})
    counts = winner_counts(shown)
    unit = counts.to_numpy()[counts.index.get_indexer(shown["comparison_id"])]
    own = np.zeros_like(unit)
    own[np.arange(len(own)), pd.Index(WINNERS).get_indexer(shown["winner"])] = 1
    others = unit - own
    n_others = others.sum(axis=1)
    majority = plurality(others)
    majority[n_others < min_others] = None
    return pd.DataFrame(
        {
            "comparison_id": shown["comparison_id"].to_numpy(),
            "rater": shown["rater"].to_numpy(),
            "winner": shown["winner"].to_numpy(),
            "loo_majority": majority,
            "n_others": n_others,
        }
    )


def _share(hit: pd.Series, by: pd.Series) -> pd.DataFrame:
    """Per group: mean, sum and count of a 0/1 series (NaN rows left out)."""
    grouped = hit.astype(float).groupby(by)
    return pd.DataFrame({"share": grouped.mean(), "hits": grouped.sum(), "n": grouped.count()})


def _expected_hits(rows: pd.DataFrame, kind: str) -> pd.Series:
    """1/0 per scored check row of ``kind`` with an expected answer (same winner or not)."""
    check = rows[_column(rows, "check_kind").eq(kind).to_numpy(dtype=bool)]
    expected = winner_codes(_column(check, "expected_preference", np.nan))
    ok = check["winner"].notna().to_numpy(dtype=bool) & pd.notna(expected)
    hit = check["winner"].to_numpy()[ok] == expected[ok]
    return pd.Series(hit.astype(float), index=check.index[ok])


def rater_quality(
    votes: pd.DataFrame,
    thresholds: QualityThresholds | None = None,
    *,
    min_others: int = 2,
) -> pd.DataFrame:
    """One row per human rater (sorted by rater key) with the columns in :data:`QUALITY_COLUMNS`.

    Shares are NaN with their ``*_n`` at 0 when there is nothing to measure. ``flags`` is a list
    of reasons such as ``"gold accuracy 0.50 < 0.70"``; ``flagged`` is whether it is non-empty.
    See the module docstring for which rows feed which figure.
    """
    humans = human_rows(votes)
    if humans.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in QUALITY_COLUMNS})
    rater = humans["rater"]
    table = pd.DataFrame({"n": rater.groupby(rater).size()})
    table.index.name = "rater"

    loo = loo_majority(votes, min_others)
    loo = loo[loo["loo_majority"].notna()]
    parts = {
        "loo": _share(loo["winner"] == loo["loo_majority"], loo["rater"]),
        "gold": _share(_expected_hits(humans, "gold"), rater),
        "attention": _share(1.0 - _expected_hits(humans, "attention"), rater),
    }

    shown = first_showings(votes)[["comparison_id", "rater", "winner"]]
    reshown = humans[_flag(humans, "is_reshow") & humans["winner"].notna().to_numpy(dtype=bool)]
    pairs = reshown[["comparison_id", "rater", "winner"]].merge(
        shown, on=["comparison_id", "rater"], suffixes=("", "_first")
    )
    parts["consistency"] = _share(pairs["winner"] == pairs["winner_first"], pairs["rater"])

    order = _column(humans, "shown_order")
    first_look = pd.Series(~_flag(humans, "is_reshow"), index=humans.index)
    vote = humans["winner"].isin(["a", "b"]) & first_look
    decisive = vote & order.isin(["ab", "ba"])
    left = (order.eq("ab") & humans["winner"].eq("a")) | (order.eq("ba") & humans["winner"].eq("b"))
    parts["left"] = _share(left[decisive], rater[decisive])
    unknown = vote & ~order.isin(["ab", "ba"])
    table["_left_unknown_n"] = unknown.groupby(rater).sum()

    time = pd.to_numeric(_column(humans, "time_on_task_ms", np.nan)).astype(float)
    table["median_time_ms"] = time.groupby(rater).median()
    table["_time_n"] = time.groupby(rater).count()

    for name, part in parts.items():
        table[f"_{name}_share"] = part["share"]
        table[f"_{name}_hits"] = part["hits"]
        table[f"{name}_n"] = part["n"]
    table = table.fillna({f"{name}_n": 0 for name in parts}).astype(
        {f"{name}_n": np.int64 for name in parts}
    )
    out = pd.DataFrame(
        {
            "rater": table.index.to_numpy(),
            "n": table["n"].to_numpy(np.int64),
            "loo_agreement": table["_loo_share"].to_numpy(float),
            "loo_n": table["loo_n"].to_numpy(np.int64),
            "gold_accuracy": table["_gold_share"].to_numpy(float),
            "gold_n": table["gold_n"].to_numpy(np.int64),
            "attention_failures": table["_attention_hits"].fillna(0).to_numpy(np.int64),
            "attention_failure_rate": table["_attention_share"].to_numpy(float),
            "attention_n": table["attention_n"].to_numpy(np.int64),
            "consistency": table["_consistency_share"].to_numpy(float),
            "consistency_n": table["consistency_n"].to_numpy(np.int64),
            "p_prefer_left": table["_left_share"].to_numpy(float),
            "left_n": table["left_n"].to_numpy(np.int64),
            "left_unknown_n": table["_left_unknown_n"].fillna(0).to_numpy(np.int64),
            "median_time_ms": table["median_time_ms"].to_numpy(float),
            "time_n": table["_time_n"].fillna(0).to_numpy(np.int64),
        }
    )
    out = out.sort_values("rater", key=lambda s: s.astype(str), ignore_index=True)
    return apply_thresholds(out, thresholds or QualityThresholds())


@dataclass(frozen=True)
class PositionBias:
    """How often human raters chose the output shown on the left, over decisive votes.

    Votes whose shown order is unknown (e.g. imported already combined over both orders) say
    nothing about position and are left out; ``n_unknown_order`` says how many.
    """

    p_prefer_left: float
    n: int
    n_unknown_order: int

    @property
    def reason(self) -> str | None:
        """Why the share is missing, in words (None when it is not)."""
        if self.n:
            return None
        if self.n_unknown_order:
            return "every decisive vote has an unknown shown order"
        return "no decisive human vote"

    def to_dict(self) -> dict[str, object]:
        return {
            "p_prefer_left": None if self.n == 0 else self.p_prefer_left,
            "n": self.n,
            "n_unknown_order": self.n_unknown_order,
            "reason": self.reason,
        }


def position_bias(votes: pd.DataFrame) -> PositionBias:
    """P(prefer left) over every decisive human vote of known shown order (re-shows left out,
    as everywhere but the consistency figure)."""
    humans = human_rows(votes)
    humans = humans[~_flag(humans, "is_reshow")]
    order = _column(humans, "shown_order")
    decisive = humans["winner"].isin(["a", "b"]).to_numpy(dtype=bool)
    known = order.isin(["ab", "ba"]).to_numpy(dtype=bool)
    left = (order.eq("ab") & humans["winner"].eq("a")) | (order.eq("ba") & humans["winner"].eq("b"))
    n = int((decisive & known).sum())
    hits = int(left.to_numpy(dtype=bool)[decisive & known].sum())
    return PositionBias(
        p_prefer_left=hits / n if n else float("nan"),
        n=n,
        n_unknown_order=int((decisive & ~known).sum()),
    )


def flag_reasons(row: pd.Series | dict, thresholds: QualityThresholds) -> list[str]:
    """Why one rater (a row of :func:`rater_quality`) falls short of ``thresholds``."""
    t = thresholds
    if row["n"] < t.min_n:
        return []
    # (label, value, items behind it, threshold, "<" = flag when below, ">" = flag when above)
    checks: list[tuple[str, float, float, float | None, str]] = [
        ("LOO agreement", row["loo_agreement"], row["loo_n"], t.min_loo_agreement, "<"),
        ("gold accuracy", row["gold_accuracy"], row["gold_n"], t.min_gold_accuracy, "<"),
        ("consistency", row["consistency"], row["consistency_n"], t.min_consistency, "<"),
        ("P(prefer left)", row["p_prefer_left"], row["left_n"], t.max_left_bias, ">"),
    ]
    if t.max_left_bias is not None:
        checks.append(
            ("P(prefer left)", row["p_prefer_left"], row["left_n"], 1 - t.max_left_bias, "<")
        )
    reasons = [
        f"{label} {value:.0%} {op} {limit:.0%}"
        for label, value, n, limit, op in checks
        if limit is not None
        and n >= t.min_metric_n
        and (value < limit if op == "<" else value > limit)
    ]
    failures, most = row["attention_failures"], t.max_attention_failures
    if most is not None and failures > most:
        reasons.append(f"attention failures {failures} > {most}")
    time, floor = row["median_time_ms"], t.min_median_time_ms
    if floor is not None and row["time_n"] >= t.min_metric_n and time < floor:
        reasons.append(f"median time {time:.0f} ms < {floor:.0f} ms")
    return reasons


def apply_thresholds(table: pd.DataFrame, thresholds: QualityThresholds) -> pd.DataFrame:
    """A copy of a :func:`rater_quality` table with ``flags``/``flagged`` recomputed, so a page
    can move the thresholds without recomputing the figures."""
    flags = [flag_reasons(row, thresholds) for _, row in table.iterrows()]
    return table.assign(
        flags=pd.Series(flags, index=table.index, dtype=object),
        flagged=np.array([bool(f) for f in flags], dtype=bool),
    )
