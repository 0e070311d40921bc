"""How far each LLM judge agrees with the humans.

All figures are on the 3-way winner ("a", "tie", "b"; a ``both_bad`` vote is a tie). Every
figure is computed from per-comparison tallies (:class:`CalibrationInput`): the humans' a / tie
/ b counts and each judge's winner in each shown order. :func:`calibration_input` builds them
from a votes frame (see :mod:`metrics.frames`); ``results.calibration_queries`` builds the same
tallies with SQL aggregation, so the database path never pulls every vote.

**Orientation-free.** Which output of a comparison is stored as "A" is an accident of import
order. Every figure here is unchanged when a comparison is stored the other way round (A and B
swapped, lengths swapped, preferences negated, shown order "ab" <-> "ba"). Agreement, S1/S2,
position and length figures are so by construction. Cohen's kappa and Krippendorff's alpha
are not on the raw a/tie/b coding (their chance terms use the separate margins of "a" and "b"),
so they are computed on the *symmetrised* table: every comparison counted once as stored and
once flipped (a <-> b). The kappa bootstrap resamples comparisons by drawing the five flip
orbits of the confusion table, so its interval does not depend on the storage order either.

**Human majority.** Per comparison, the plurality winner of the humans' first showings (one
scored, non-re-shown vote per rater). When two winners share the top count the majority is
tied: the comparison is left out of every majority-based figure and counted in
``n_no_majority``. A single human vote is a majority of one.

**Judge verdict.** A judge (LLM rows grouped by ``judge``, or by ``rater`` where ``judge`` is
empty) may have one row per shown order. Unscored rows drop; if both orders are there and
agree, that is the verdict; if they disagree the verdict is a tie (``inconsistent_as="tie"``)
or the comparison is dropped (``"drop"``); a single order stands alone. Extra rows for the
same order (a re-run) keep the first. Rows whose ``shown_order`` is neither "ab" nor "ba"
(``"unknown"``: verdicts that came already combined over both orders) give a verdict only when
the comparison has no row in a known order; they count for agreement with the humans but not
for any position figure, and ``unknown_order_n`` says how many were left out.

**MT-Bench agreement** (Zheng et al. 2023). ``s1`` is the share of agreeing (judge verdict,
human vote) pairs over every human first showing on a comparison with a judge verdict, ties
included; ``s2`` keeps only the pairs where neither is a tie. ``human_s1`` / ``human_s2`` are
the same over every unordered pair of two humans' votes on the same comparisons: the ceiling
to compare with.

**Ceiling.** Each human's vote is scored against the plurality of the *other* humans (at
least ``min_others`` of them, not tied); ``human_ceiling`` pools those (human, comparison)
pairs. ``agreement_loo`` scores the judge's verdict against exactly the same leave-one-out
majorities, on the same pairs. A judge at the ceiling agrees with the humans as well as a
typical human does.

**Bias figures.** P(prefer first) counts every scored non-tie row with a known order: "first"
is A when ``shown_order`` is "ab", B when "ba". Position consistency is the share of
comparisons with a verdict in both orders whose two verdicts agree. P(prefer longer) counts the
judge's resolved non-tie verdicts and the humans' non-tie first showings on comparisons whose
outputs differ in length. The humans' figures in a :class:`JudgeCalibration` are on the
comparisons that judge rated, so the two sit side by side on the same items.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd

from metrics.errors import StatisticsError
from metrics.rater_quality import (
    check_votes,
    first_showings,
    human_rows,
    plurality,
    vote_winners,
    winner_counts,
)
from metrics.vocabulary import WINNERS, missing_to_none

InconsistentAs = Literal["tie", "drop"]

NO_CATEGORY = "(none)"

A, TIE, B, NONE = 0, 1, 2, -1
"""Winner indices into :data:`metrics.vocabulary.WINNERS`; NONE is no verdict."""
FLIP = np.array([B, TIE, A])
"""The winner index once a comparison is stored the other way round."""

MAJORITY_COLUMNS: tuple[str, ...] = (
    "comparison_id",
    "votes_a",
    "votes_tie",
    "votes_b",
    "n_human_votes",
    "majority",
    "majority_share",
)

VERDICT_COLUMNS: tuple[str, ...] = (
    "judge",
    "comparison_id",
    "verdict",
    "verdict_ab",
    "verdict_ba",
    "consistent",
)

COMPARISON_COLUMNS: tuple[str, ...] = (
    "comparison_id",
    "prompt_id",
    "category",
    "model_a",
    "model_b",
    "len_a",
    "len_b",
    "votes_a",
    "votes_tie",
    "votes_b",
    "first_hits",
    "first_n",
    "unknown_order_n",
)
"""Per comparison: metadata, the humans' first-showing tallies, and over every scored human row
the non-tie rows with a known order (``first_n``), how many of them picked the output shown
first (``first_hits``), and the rows with an unknown order (``unknown_order_n``)."""

JUDGE_ROW_COLUMNS: tuple[str, ...] = ("judge", "comparison_id", "ab", "ba", "other")
"""Per judge and comparison: its winner index (0 a, 1 tie, 2 b, -1 none) when shown "ab",
when shown "ba", and in rows of unknown order."""

DISAGREEMENT_COLUMNS: tuple[str, ...] = (
    "comparison_id",
    "prompt_id",
    "category",
    "model_a",
    "model_b",
    "judge_verdict",
    "human_majority",
    "majority_share",
    "n_human_votes",
    "votes_a",
    "votes_tie",
    "votes_b",
    "judge_consistent",
)

_WINNER_NAMES = np.array(WINNERS, dtype=object)


def _share(hits: float, n: float) -> float:
    return float(hits) / float(n) if n else float("nan")


def _winner_index(winners: Any) -> np.ndarray:
    """'a'/'tie'/'b'/None -> 0/1/2/-1."""
    return pd.Index(WINNERS).get_indexer(pd.Series(winners, dtype=object)).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Orientation-free statistics on tables


def _flip_table(table: np.ndarray) -> np.ndarray:
    """The same table with a and b swapped on both axes (every comparison stored flipped)."""
    return table[..., FLIP, :][..., :, FLIP]


def symmetric_kappa(tables: np.ndarray) -> np.ndarray:
    """Cohen's kappa of each 3 x 3 (judge x reference) table after adding its flipped copy.

    NaN with fewer than two comparisons or when chance agreement is 1.
    """
    tables = np.asarray(tables, dtype=float)
    sym = tables + _flip_table(tables)
    n = sym.sum(axis=(-2, -1))
    observed = np.trace(sym, axis1=-2, axis2=-1)
    chance = (sym.sum(axis=-1) * sym.sum(axis=-2)).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (n * observed - chance) / (n * n - chance)
    return np.where((n >= 4) & (n * n != chance), kappa, np.nan)


# The five orbits of the 3 x 3 cells under the flip; each orbit's count fixes the symmetrised
# table, so resampling orbits is resampling comparisons without reference to storage order.
_ORBITS = [(A, A), (A, TIE), (A, B), (TIE, A), (TIE, TIE)]
_ORBIT_TABLES = np.zeros((len(_ORBITS), 3, 3))
for _k, (_i, _j) in enumerate(_ORBITS):
    _ORBIT_TABLES[_k, _i, _j] += 1
    _ORBIT_TABLES[_k, FLIP[_i], FLIP[_j]] += 1


def _orbit_counts(table: np.ndarray) -> np.ndarray:
    sym = table + _flip_table(table)
    return np.array([sym[i, j] / (2 if (i, j) == (TIE, TIE) else 1) for i, j in _ORBITS])


def kappa_bootstrap(
    table: np.ndarray, n_boot: int, seed: int | None, confidence: float = 0.95
) -> tuple[float, float, int]:
    """Percentile CI of :func:`symmetric_kappa` resampling the table's comparisons.

    A comparison falls in one cell, so drawing comparisons with replacement draws the cell (here
    the flip orbit) counts from a multinomial. Returns (low, high, usable rounds); rounds whose
    kappa is undefined (no variation) are counted out, not replaced.
    """
    orbits = _orbit_counts(np.asarray(table, dtype=float))
    n = int(round(orbits.sum()))
    if n_boot <= 0 or n < 2:
        return float("nan"), float("nan"), 0
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, orbits / n, size=n_boot).astype(float)
    boots = symmetric_kappa(np.einsum("rk,kij->rij", draws, _ORBIT_TABLES) / 2)
    boots = boots[np.isfinite(boots)]
    if not boots.size:
        return float("nan"), float("nan"), 0
    tail = (1 - confidence) / 2
    low, high = np.quantile(boots, [tail, 1 - tail])
    return float(low), float(high), int(boots.size)


def symmetric_nominal_alpha(counts: np.ndarray) -> float:
    """Krippendorff's nominal alpha from per-unit a/tie/b value counts (n, 3), every unit
    counted as stored and flipped. Units with fewer than two values are not pairable; NaN when
    nothing is pairable or every pairable value is the same."""
    counts = np.asarray(counts, dtype=float).reshape(-1, 3)
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    if not len(pairable):
        return float("nan")
    per_unit = pairable / (pairable.sum(axis=1, keepdims=True) - 1)
    coincidence = pairable.T @ per_unit - np.diag(per_unit.sum(axis=0))
    coincidence = coincidence + _flip_table(coincidence)
    margins = coincidence.sum(axis=1)
    total = margins.sum()
    off = ~np.eye(3, dtype=bool)
    expected = np.outer(margins, margins)[off].sum()
    if expected == 0:
        return float("nan")
    return float(1 - (total - 1) * coincidence[off].sum() / expected)


# ---------------------------------------------------------------------------------------------
# Inputs: per-comparison tallies


@dataclass(frozen=True)
class CalibrationInput:
    """What every calibration figure is computed from.

    ``comparisons`` has :data:`COMPARISON_COLUMNS` (one row per comparison, ``category``
    :data:`NO_CATEGORY` when it has none); ``judges`` has :data:`JUDGE_ROW_COLUMNS` (one row
    per judge and comparison it gave a scored verdict on).
    """

    comparisons: pd.DataFrame
    judges: pd.DataFrame


def _judge_rows(votes: pd.DataFrame) -> pd.DataFrame:
    """Scored LLM rows with ``judge_key`` and ``winner``."""
    llm = votes[votes["rater_kind"].eq("llm").to_numpy(dtype=bool)]
    key = llm["judge"] if "judge" in llm.columns else pd.Series(None, index=llm.index)
    key = key.astype(object).where(key.notna(), llm["rater"]).astype(str)
    llm = llm.assign(judge_key=key, winner=vote_winners(llm))
    return llm[llm["winner"].notna().to_numpy(dtype=bool)]


def _orders(rows: pd.DataFrame) -> pd.Series:
    order = rows["shown_order"] if "shown_order" in rows.columns else pd.Series(index=rows.index)
    return order.where(order.isin(["ab", "ba"]), "other").astype(str)


def _judge_table(votes: pd.DataFrame) -> pd.DataFrame:
    rows = _judge_rows(votes)
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in JUDGE_ROW_COLUMNS})
    first = rows.assign(order=_orders(rows), code=_winner_index(rows["winner"])).drop_duplicates(
        ["judge_key", "comparison_id", "order"], keep="first"
    )
    wide = first.pivot(index=["judge_key", "comparison_id"], columns="order", values="code")
    wide = wide.reindex(columns=["ab", "ba", "other"]).fillna(NONE).astype(np.int64)
    return pd.DataFrame(
        {
            "judge": wide.index.get_level_values("judge_key").to_numpy(dtype=object),
            "comparison_id": wide.index.get_level_values("comparison_id").to_numpy(),
            "ab": wide["ab"].to_numpy(),
            "ba": wide["ba"].to_numpy(),
            "other": wide["other"].to_numpy(),
        }
    )


def _category_keys(votes: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """Category per comparison (first non-empty one seen), :data:`NO_CATEGORY` when none."""
    if "category" not in votes.columns:
        return np.full(len(ids), NO_CATEGORY, dtype=object)
    cats = votes[["comparison_id", "category"]].dropna().drop_duplicates("comparison_id")
    keys = cats.set_index("comparison_id")["category"].astype(str)
    return keys.reindex(ids).astype(object).fillna(NO_CATEGORY).to_numpy(dtype=object)


def calibration_input(votes: pd.DataFrame) -> CalibrationInput:
    """Per-comparison tallies from a votes frame (the reference for the SQL aggregation)."""
    check_votes(votes)
    missing = [c for c in ("len_a", "len_b", "prompt_id", "model_a", "model_b") if c not in votes]
    votes = votes.assign(**dict.fromkeys(missing, np.nan))
    meta = votes.drop_duplicates("comparison_id").sort_values("comparison_id", kind="stable")
    ids = meta["comparison_id"].to_numpy()
    index = pd.Index(ids)
    counts = winner_counts(first_showings(votes)).reindex(index, fill_value=0)

    scored = human_rows(votes)
    scored = scored[scored["winner"].notna().to_numpy(dtype=bool)]
    order = _orders(scored)
    known = order.ne("other") & scored["winner"].isin(["a", "b"])
    winner = scored["winner"]
    first = (order.eq("ab") & winner.eq("a")) | (order.eq("ba") & winner.eq("b"))

    def per_comparison(flags: pd.Series) -> np.ndarray:
        total = flags.groupby(scored["comparison_id"]).sum()
        return total.reindex(index, fill_value=0).to_numpy(dtype=np.int64)

    frame = pd.DataFrame(
        {
            "comparison_id": ids,
            "prompt_id": meta["prompt_id"].to_numpy(),
            "category": _category_keys(votes, ids),
            "model_a": meta["model_a"].to_numpy(),
            "model_b": meta["model_b"].to_numpy(),
            "len_a": pd.to_numeric(meta["len_a"]).to_numpy(dtype=float, na_value=np.nan),
            "len_b": pd.to_numeric(meta["len_b"]).to_numpy(dtype=float, na_value=np.nan),
            "votes_a": counts["a"].to_numpy(),
            "votes_tie": counts["tie"].to_numpy(),
            "votes_b": counts["b"].to_numpy(),
            "first_hits": per_comparison(first & known),
            "first_n": per_comparison(known),
            "unknown_order_n": per_comparison(order.eq("other")),
        }
    )
    return CalibrationInput(frame, _judge_table(votes))


# ---------------------------------------------------------------------------------------------
# Building blocks


def human_majority(votes: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison with a human vote (columns :data:`MAJORITY_COLUMNS`).

    ``majority`` is missing (None) when the plurality is tied; ``majority_share`` is the top
    count over ``n_human_votes`` (how sure the humans were, whether or not there is a majority).
    """
    check_votes(votes)
    counts = winner_counts(first_showings(votes))
    return _majority_frame(counts.index.to_numpy(), counts.to_numpy())


def _majority_frame(ids: np.ndarray, arr: np.ndarray) -> pd.DataFrame:
    total = arr.sum(axis=1)
    return pd.DataFrame(
        {
            "comparison_id": ids,
            "votes_a": arr[:, 0],
            "votes_tie": arr[:, 1],
            "votes_b": arr[:, 2],
            "n_human_votes": total,
            "majority": plurality(arr),
            "majority_share": arr.max(axis=1, initial=0) / np.maximum(total, 1),
        }
    )


def _resolve(
    ab: np.ndarray, ba: np.ndarray, other: np.ndarray, inconsistent_as: InconsistentAs
) -> tuple[np.ndarray, np.ndarray]:
    """(verdict index, swapped) per row; verdict NONE when dropped."""
    swapped = (ab >= 0) & (ba >= 0)
    verdict = np.where(ab >= 0, ab, np.where(ba >= 0, ba, other))
    verdict[swapped & (ab != ba)] = TIE if inconsistent_as == "tie" else NONE
    return verdict, swapped


def _check_inconsistent(inconsistent_as: str) -> None:
    if inconsistent_as not in ("tie", "drop"):
        raise StatisticsError(f"inconsistent_as must be 'tie' or 'drop', got {inconsistent_as!r}.")


def _names(idx: np.ndarray) -> np.ndarray:
    out = np.full(len(idx), None, dtype=object)
    ok = idx >= 0
    out[ok] = _WINNER_NAMES[idx[ok]]
    return out


def judge_verdicts(votes: pd.DataFrame, inconsistent_as: InconsistentAs = "tie") -> pd.DataFrame:
    """Each judge's resolved verdict per comparison (columns :data:`VERDICT_COLUMNS`).

    ``verdict_ab`` / ``verdict_ba`` are the winners in each shown order (None if absent);
    ``consistent`` is whether they agree (None unless both are there). Comparisons dropped by
    ``inconsistent_as="drop"`` are left out.
    """
    _check_inconsistent(inconsistent_as)
    check_votes(votes)
    table = _judge_table(votes)
    ab, ba = table["ab"].to_numpy(np.int64), table["ba"].to_numpy(np.int64)
    verdict, swapped = _resolve(ab, ba, table["other"].to_numpy(np.int64), inconsistent_as)
    consistent = np.full(len(table), None, dtype=object)
    consistent[swapped] = (ab[swapped] == ba[swapped]).tolist()
    out = pd.DataFrame(
        {
            "judge": table["judge"].to_numpy(dtype=object),
            "comparison_id": table["comparison_id"].to_numpy(),
            "verdict": _names(verdict),
            "verdict_ab": _names(ab),
            "verdict_ba": _names(ba),
            "consistent": consistent,
        }
    )
    return out[verdict >= 0].reset_index(drop=True)


def _plurality_index(counts: np.ndarray) -> np.ndarray:
    """Index of the top count per row; NONE when two share it or there are no votes."""
    top = counts.max(axis=1, initial=0)
    unique = (counts == top[:, None]).sum(axis=1) == 1
    return np.where(unique & (top > 0), counts.argmax(axis=1), NONE)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CalibrationFigures:
    """One judge against the humans on one set of comparisons (all of them, or one category).

    ``n`` counts comparisons with both a judge verdict and a (non-tied) human majority: the
    base of ``agreement``, ``cohen_kappa`` and ``confusion``; ``n_without_ties`` those where
    neither side is a tie. ``confusion[judge][majority]`` counts comparisons by judge verdict
    and human majority, as stored. ``cohen_kappa`` (with its bootstrap interval
    ``cohen_kappa_low`` / ``cohen_kappa_high`` over ``kappa_boot_usable`` usable rounds) and
    ``alpha_humans`` / ``alpha_with_judge`` (nominal Krippendorff alpha on the comparisons the
    judge has a verdict on, without and with the judge as one more rater) are orientation-free
    (see the module docstring). ``s1`` / ``s2`` are MT-Bench's per-vote agreement with and
    without ties, ``human_s1`` / ``human_s2`` the human-human figures on the same comparisons.
    ``unknown_order_n`` counts the judge's rows of unknown shown order, left out of the position
    figures; ``unknown_order_n_humans`` the humans' on these comparisons.
    """

    agreement: float
    agreement_without_ties: float
    cohen_kappa: float
    n: int
    n_without_ties: int
    cohen_kappa_low: float
    cohen_kappa_high: float
    kappa_boot_usable: int
    s1: float
    s1_n: int
    s2: float
    s2_n: int
    human_s1: float
    human_s1_n: int
    human_s2: float
    human_s2_n: int
    agreement_loo: float
    human_ceiling: float
    human_ceiling_n: int
    alpha_humans: float
    alpha_with_judge: float
    position_consistency: float
    position_n: int
    p_prefer_first: float
    first_n: int
    unknown_order_n: int
    p_prefer_first_humans: float
    first_n_humans: int
    unknown_order_n_humans: int
    p_prefer_longer: float
    longer_n: int
    p_prefer_longer_humans: float
    longer_n_humans: int
    n_verdicts: int
    n_inconsistent: int
    n_no_majority: int
    n_no_humans: int
    confusion: dict[str, dict[str, int]]

    def position_missing_reason(self) -> str | None:
        """Why position consistency / P(prefer first) are missing, or None when they are not."""
        if self.position_n and self.first_n:
            return None
        if self.unknown_order_n:
            return (
                f"{self.unknown_order_n} verdicts came with an unknown shown order (combined over "
                "both orders), so position figures are not computed for them"
            )
        if not self.position_n:
            return "no comparison was judged in both shown orders"
        return "no non-tie verdict with a known shown order"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, keys in field order; NaN becomes None."""
        out: dict[str, Any] = {}
        for f in fields(CalibrationFigures):
            value = getattr(self, f.name)
            if f.name == "confusion":
                out[f.name] = {k: dict(v) for k, v in value.items()}
            else:
                out[f.name] = missing_to_none(value)
        out["position_missing_reason"] = self.position_missing_reason()
        return out


@dataclass(frozen=True)
class JudgeCalibration(CalibrationFigures):
    """A judge's :class:`CalibrationFigures` on all its comparisons, per category, and the
    comparisons where it disagrees with the human majority (:data:`DISAGREEMENT_COLUMNS`, most
    confident human majorities first: majority share, then number of human votes, descending)."""

    judge: str = ""
    by_category: dict[str, CalibrationFigures] = field(default_factory=dict)
    disagreements: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(DISAGREEMENT_COLUMNS))
    )

    def to_dict(self) -> dict[str, Any]:
        """Stable keys: ``judge``, then ``agreement``, ``agreement_without_ties``,
        ``cohen_kappa``, ``n`` and the other figures, ``by_category`` and ``disagreements``
        (a list of records)."""
        return {
            "judge": self.judge,
            **super().to_dict(),
            "by_category": {k: v.to_dict() for k, v in self.by_category.items()},
            "disagreements": [
                {k: missing_to_none(v) for k, v in rec.items()}
                for rec in self.disagreements.to_dict(orient="records")
            ],
        }


@dataclass(frozen=True)
class CalibrationReport:
    """Every judge's calibration, plus the human-side figures on all comparisons."""

    judges: list[JudgeCalibration]
    human_ceiling: float
    human_ceiling_n: int
    human_s1: float
    human_s1_n: int
    human_s2: float
    human_s2_n: int
    p_prefer_first_humans: float
    first_n_humans: int
    unknown_order_n_humans: int
    p_prefer_longer_humans: float
    longer_n_humans: int
    n_comparisons: int
    n_no_majority: int
    inconsistent_as: str
    min_others: int
    n_boot: int
    notes: list[str] = field(default_factory=list)

    def judge(self, name: str) -> JudgeCalibration:
        for j in self.judges:
            if j.judge == name:
                return j
        raise StatisticsError(
            f"No judge {name!r} in this report; judges are {[j.judge for j in self.judges]}."
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"judges": [j.to_dict() for j in self.judges]}
        for f in fields(CalibrationReport):
            if f.name not in ("judges", "notes"):
                out[f.name] = missing_to_none(getattr(self, f.name))
        out["notes"] = list(self.notes)
        return out


# ---------------------------------------------------------------------------------------------
# Computation


@dataclass(frozen=True)
class _Rows:
    """Aligned per-comparison arrays: human tallies and lengths, and (for a judge) its
    winner in each order."""

    pos: np.ndarray
    tallies: np.ndarray
    len_a: np.ndarray
    len_b: np.ndarray
    first_hits: np.ndarray
    first_n: np.ndarray
    unknown_h: np.ndarray
    ab: np.ndarray
    ba: np.ndarray
    other: np.ndarray

    def take(self, mask: np.ndarray) -> _Rows:
        return _Rows(*(getattr(self, f.name)[mask] for f in fields(_Rows)))


def _loo(tallies: np.ndarray, min_others: int, verdict: np.ndarray | None = None):
    """(ceiling hits, pairs, judge hits on the same pairs) over every human vote."""
    n = tallies.sum(axis=1)
    hits = pairs = judge_hits = 0
    for w in (A, TIE, B):
        others = tallies.copy()
        others[:, w] -= 1
        ref = _plurality_index(np.maximum(others, 0))
        valid = (tallies[:, w] > 0) & (n - 1 >= min_others) & (ref >= 0)
        weight = np.where(valid, tallies[:, w], 0)
        pairs += int(weight.sum())
        hits += int(weight[ref == w].sum())
        if verdict is not None:
            judge_hits += int(weight[verdict == ref].sum())
    return hits, pairs, judge_hits


def _human_pairs(tallies: np.ndarray) -> tuple[int, int, int, int]:
    """MT-Bench human-human: (S1 agreeing pairs, S1 pairs, S2 agreeing, S2 pairs)."""
    t = tallies.astype(np.int64)
    n = t.sum(axis=1)
    decisive = t[:, A] + t[:, B]
    same = (t * (t - 1) // 2).sum(axis=0)
    return (
        int(same.sum()),
        int((n * (n - 1) // 2).sum()),
        int(same[A] + same[B]),
        int((decisive * (decisive - 1) // 2).sum()),
    )


def _longer(winner: np.ndarray, len_a: np.ndarray, len_b: np.ndarray) -> tuple[int, int]:
    keep = (winner != TIE) & (winner >= 0) & np.isfinite(len_a) & np.isfinite(len_b)
    keep &= len_a != len_b
    return int(((winner == A) == (len_a > len_b))[keep].sum()), int(keep.sum())


def _longer_humans(rows: _Rows) -> tuple[int, int]:
    keep = np.isfinite(rows.len_a) & np.isfinite(rows.len_b) & (rows.len_a != rows.len_b)
    t = rows.tallies[keep]
    a_longer = rows.len_a[keep] > rows.len_b[keep]
    return int(np.where(a_longer, t[:, A], t[:, B]).sum()), int((t[:, A] + t[:, B]).sum())


def _figures(
    rows: _Rows, inconsistent_as: InconsistentAs, min_others: int, n_boot: int, seed: int | None
) -> tuple[CalibrationFigures, np.ndarray]:
    """Figures for one judge on ``rows``, and a mask of its disagreements with the majority."""
    verdict_all, swapped = _resolve(rows.ab, rows.ba, rows.other, inconsistent_as)
    judged = verdict_all >= 0
    tallies, v = rows.tallies[judged], verdict_all[judged]
    n_h = tallies.sum(axis=1)
    majority = _plurality_index(tallies)
    both = (n_h > 0) & (majority >= 0)
    vb, mb = v[both], majority[both]
    confusion = np.zeros((3, 3), dtype=np.int64)
    np.add.at(confusion, (vb, mb), 1)
    no_ties = (vb != TIE) & (mb != TIE)
    kappa_low, kappa_high, usable = kappa_bootstrap(confusion, n_boot, seed)

    heard = n_h > 0
    vote_for_v = tallies[np.arange(len(v)), v]
    decisive = v != TIE
    h_s1, h_s1_n, h_s2, h_s2_n = _human_pairs(tallies)
    loo_hits, loo_n, judge_loo = _loo(tallies, min_others, v)
    with_judge = tallies.copy()
    with_judge[np.arange(len(v)), v] += 1

    pairs = swapped
    first_n = int(np.isin(rows.ab, (A, B)).sum() + np.isin(rows.ba, (A, B)).sum())
    first_hits = int((rows.ab == A).sum() + (rows.ba == B).sum())
    longer_hits, longer_n = _longer(v, rows.len_a[judged], rows.len_b[judged])
    longer_h_hits, longer_h_n = _longer_humans(rows)
    n_first_h = int(rows.first_n.sum())

    figures = CalibrationFigures(
        agreement=_share((vb == mb).sum(), len(vb)),
        agreement_without_ties=_share((vb == mb)[no_ties].sum(), no_ties.sum()),
        cohen_kappa=float(symmetric_kappa(confusion)),
        n=len(vb),
        n_without_ties=int(no_ties.sum()),
        cohen_kappa_low=kappa_low,
        cohen_kappa_high=kappa_high,
        kappa_boot_usable=usable,
        s1=_share(vote_for_v[heard].sum(), n_h[heard].sum()),
        s1_n=int(n_h[heard].sum()),
        s2=_share(vote_for_v[decisive].sum(), (tallies[decisive][:, [A, B]]).sum()),
        s2_n=int(tallies[decisive][:, [A, B]].sum()),
        human_s1=_share(h_s1, h_s1_n),
        human_s1_n=h_s1_n,
        human_s2=_share(h_s2, h_s2_n),
        human_s2_n=h_s2_n,
        agreement_loo=_share(judge_loo, loo_n),
        human_ceiling=_share(loo_hits, loo_n),
        human_ceiling_n=loo_n,
        alpha_humans=symmetric_nominal_alpha(tallies),
        alpha_with_judge=symmetric_nominal_alpha(with_judge),
        position_consistency=_share((rows.ab == rows.ba)[pairs].sum(), pairs.sum()),
        position_n=int(pairs.sum()),
        p_prefer_first=_share(first_hits, first_n),
        first_n=first_n,
        unknown_order_n=int((rows.other >= 0).sum()),
        p_prefer_first_humans=_share(rows.first_hits.sum(), n_first_h),
        first_n_humans=n_first_h,
        unknown_order_n_humans=int(rows.unknown_h.sum()),
        p_prefer_longer=_share(longer_hits, longer_n),
        longer_n=longer_n,
        p_prefer_longer_humans=_share(longer_h_hits, longer_h_n),
        longer_n_humans=longer_h_n,
        n_verdicts=int(judged.sum()),
        n_inconsistent=int((pairs & (rows.ab != rows.ba)).sum()),
        n_no_majority=int((heard & (majority < 0)).sum()),
        n_no_humans=int((~heard).sum()),
        confusion={
            WINNERS[j]: {WINNERS[m]: int(confusion[j, m]) for m in range(3)} for j in range(3)
        },
    )
    disagree = np.zeros(len(rows.pos), dtype=bool)
    disagree[np.flatnonzero(judged)[both]] = vb != mb
    return figures, disagree


def _disagreements(
    comparisons: pd.DataFrame, rows: _Rows, mask: np.ndarray, inconsistent_as: InconsistentAs
) -> pd.DataFrame:
    picked = rows.take(mask)
    verdict, swapped = _resolve(picked.ab, picked.ba, picked.other, inconsistent_as)
    meta = comparisons.iloc[picked.pos]
    majority = _majority_frame(meta["comparison_id"].to_numpy(), picked.tallies)
    consistent = np.full(len(picked.pos), None, dtype=object)
    consistent[swapped] = (picked.ab[swapped] == picked.ba[swapped]).tolist()
    out = majority.assign(
        prompt_id=meta["prompt_id"].to_numpy(),
        category=meta["category"].to_numpy(),
        model_a=meta["model_a"].to_numpy(),
        model_b=meta["model_b"].to_numpy(),
        judge_verdict=_names(verdict),
        human_majority=majority["majority"],
        judge_consistent=consistent,
    )
    out = out.sort_values(
        ["majority_share", "n_human_votes", "comparison_id"],
        ascending=[False, False, True],
        kind="stable",
    )
    return out.reindex(columns=list(DISAGREEMENT_COLUMNS)).reset_index(drop=True)


def calibration_report(
    votes: pd.DataFrame,
    inconsistent_as: InconsistentAs = "tie",
    *,
    min_others: int = 2,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> CalibrationReport:
    """Calibrate every judge in ``votes`` against the human majority (judges sorted by name).

    ``min_others`` is how many *other* humans a comparison needs for a leave-one-out majority
    (the ceiling); with two humans per comparison pass 1, which makes the ceiling plain pairwise
    agreement. ``n_boot`` rounds for each kappa interval. See the module docstring for every
    definition.
    """
    _check_inconsistent(inconsistent_as)
    check_votes(votes)
    return calibration_from_input(
        calibration_input(votes),
        inconsistent_as,
        min_others=min_others,
        n_boot=n_boot,
        seed=seed,
    )


def calibration_from_input(
    data: CalibrationInput,
    inconsistent_as: InconsistentAs = "tie",
    *,
    min_others: int = 2,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> CalibrationReport:
    """:func:`calibration_report` on per-comparison tallies (:class:`CalibrationInput`)."""
    _check_inconsistent(inconsistent_as)
    comparisons = data.comparisons.reset_index(drop=True)
    tallies = comparisons[["votes_a", "votes_tie", "votes_b"]].to_numpy(dtype=np.int64)
    len_a = comparisons["len_a"].to_numpy(dtype=float, na_value=np.nan)
    len_b = comparisons["len_b"].to_numpy(dtype=float, na_value=np.nan)
    categories = comparisons["category"].astype(object).fillna(NO_CATEGORY).astype(str)
    categories = categories.to_numpy(dtype=object)
    human_arrays = (
        tallies,
        len_a,
        len_b,
        comparisons["first_hits"].to_numpy(dtype=np.int64),
        comparisons["first_n"].to_numpy(dtype=np.int64),
        comparisons["unknown_order_n"].to_numpy(dtype=np.int64),
    )
    position = pd.Index(comparisons["comparison_id"].to_numpy())
    judges_frame = data.judges
    if len(judges_frame):
        pos = position.get_indexer(judges_frame["comparison_id"].to_numpy())
        if (pos < 0).any():
            raise StatisticsError(
                "Judge rows name comparisons missing from the comparisons table; build both "
                "with calibration_input or results.calibration_queries."
            )
    judges: list[JudgeCalibration] = []
    names = judges_frame["judge"].astype(str).to_numpy(dtype=object) if len(judges_frame) else []
    for name in sorted(set(names)):
        mine = names == name
        p = pos[mine]
        rows = _Rows(
            p,
            *(arr[p] for arr in human_arrays),
            *(judges_frame[c].to_numpy(dtype=np.int64)[mine] for c in ("ab", "ba", "other")),
        )
        overall, disagree = _figures(rows, inconsistent_as, min_others, n_boot, seed)
        cats = categories[p]
        by_category = {
            str(cat): _figures(rows.take(cats == cat), inconsistent_as, min_others, n_boot, seed)[0]
            for cat in sorted(set(cats), key=str)
        }
        judges.append(
            JudgeCalibration(
                **{f.name: getattr(overall, f.name) for f in fields(CalibrationFigures)},
                judge=str(name),
                by_category=by_category,
                disagreements=_disagreements(comparisons, rows, disagree, inconsistent_as),
            )
        )

    everyone = _Rows(np.arange(len(comparisons)), *human_arrays, *([np.array([], np.int64)] * 3))
    heard = tallies.sum(axis=1) > 0
    majority = _plurality_index(tallies)
    loo_hits, loo_n, _ = _loo(tallies, min_others)
    h_s1, h_s1_n, h_s2, h_s2_n = _human_pairs(tallies)
    longer_hits, longer_n = _longer_humans(everyone)
    first_n = int(everyone.first_n.sum())
    n_no_majority = int((heard & (majority < 0)).sum())
    notes = _notes(judges, int(heard.sum()), loo_n, min_others)
    return CalibrationReport(
        judges=judges,
        human_ceiling=_share(loo_hits, loo_n),
        human_ceiling_n=loo_n,
        human_s1=_share(h_s1, h_s1_n),
        human_s1_n=h_s1_n,
        human_s2=_share(h_s2, h_s2_n),
        human_s2_n=h_s2_n,
        p_prefer_first_humans=_share(everyone.first_hits.sum(), first_n),
        first_n_humans=first_n,
        unknown_order_n_humans=int(everyone.unknown_h.sum()),
        p_prefer_longer_humans=_share(longer_hits, longer_n),
        longer_n_humans=longer_n,
        n_comparisons=int((heard & (majority >= 0)).sum()),
        n_no_majority=n_no_majority,
        inconsistent_as=inconsistent_as,
        min_others=min_others,
        n_boot=max(n_boot, 0),
        notes=notes,
    )


def _notes(judges: list[JudgeCalibration], n_heard: int, loo_n: int, min_others: int) -> list[str]:
    notes = []
    if not judges:
        notes.append("No scored LLM-judge rows; run a judge on this campaign first.")
    if n_heard == 0:
        notes.append("No scored human votes; judges can only be calibrated against human votes.")
    elif loo_n == 0:
        notes.append(
            f"No comparison has a human vote plus {min_others} other human votes with a clear "
            "majority, so there is no human ceiling; raise the overlap or lower min_others."
        )
    for j in judges:
        if j.unknown_order_n:
            notes.append(
                f"{j.judge}: {j.unknown_order_n} verdicts have an unknown shown order (combined "
                "over both orders); they count for agreement with the humans but are left out "
                "of position consistency and P(prefer first)."
            )
    return notes
