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


def _unit_coincidence(counts: np.ndarray) -> np.ndarray:
    """Krippendorff's coincidences of each unit, (n, 3, 3), from its a/tie/b value counts:
    n_uc n_uk / (m_u - 1), less the self-pairs on the diagonal; zero for units with fewer
    than two values (not pairable)."""
    counts = np.asarray(counts, dtype=float).reshape(-1, 3)
    m = counts.sum(axis=1)
    per = counts * np.where(m >= 2, 1 / np.maximum(m - 1, 1), 0.0)[:, None]
    out = counts[:, :, None] * per[:, None, :]
    diagonal = np.arange(3)
    out[:, diagonal, diagonal] -= per
    return out


def _alpha_from_coincidence(coincidence: np.ndarray) -> float:
    """Nominal alpha from summed coincidences, after adding their a <-> b flip."""
    sym = coincidence + _flip_table(coincidence)
    margins = sym.sum(axis=1)
    total = margins.sum()
    off = ~np.eye(3, dtype=bool)
    expected = np.outer(margins, margins)[off].sum()
    if total < 2 or expected <= 0:
        return float("nan")
    return float(1 - (total - 1) * sym[off].sum() / expected)


def alpha_bootstrap(
    unit_coincidences: np.ndarray, n_boot: int, seed: int | None, confidence: float = 0.95
) -> tuple[float, float, int]:
    """Percentile CI of the nominal alpha of summed unit coincidences, resampling units.

    ``unit_coincidences`` is (units, 9): one row per comparison. Comparisons with the same
    coincidences are interchangeable, so drawing comparisons with replacement draws how many
    of each distinct row there are from a multinomial (a handful of rows, however many
    comparisons). Units without pairable values (rows of zeros) are left out, as they add
    nothing to any resample. Returns (low, high, usable rounds); rounds with an undefined
    alpha are counted out.
    """
    tables = np.asarray(unit_coincidences, dtype=float).reshape(-1, 3, 3)
    # Each unit as stored plus flipped: a unit and its flip are one row, so the draws do not
    # depend on which output was stored as A.
    rows = (tables + _flip_table(tables)).reshape(-1, 9)
    rows = rows[rows.any(axis=1)]
    n = rows.shape[0]
    if n_boot <= 0 or n < 2:
        return float("nan"), float("nan"), 0
    # np.unique over whole rows as one opaque value: ten times faster than axis=0.
    keys = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.dtype.itemsize * 9))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    distinct = rows[first]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=n_boot).astype(float)
    sym = (draws @ distinct).reshape(-1, 3, 3)
    margins = sym.sum(axis=2)
    total = margins.sum(axis=1)
    off = ~np.eye(3, dtype=bool)
    expected = np.einsum("ri,rj->rij", margins, margins)[:, off].sum(axis=1)
    observed = sym[:, off].sum(axis=1)
    defined = (total >= 2) & (expected > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        boots = np.where(defined, 1 - (total - 1) * observed / expected, np.nan)
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
    return _alpha_from_coincidence(_unit_coincidence(counts).sum(axis=0))


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
    alpha_humans_low: float
    alpha_humans_high: float
    alpha_with_judge_low: float
    alpha_with_judge_high: float
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


def _loo(tallies: np.ndarray, min_others: int) -> tuple[np.ndarray, np.ndarray]:
    """Per comparison and human vote w (a, tie, b): the plurality of the *other* votes there
    (NONE when fewer than ``min_others`` or tied) and how many votes w it scores."""
    n = tallies.sum(axis=1)
    refs = np.full(tallies.shape, NONE, dtype=np.int64)
    weights = np.zeros(tallies.shape, dtype=np.int64)
    for w in (A, TIE, B):
        others = tallies.copy()
        others[:, w] -= 1
        ref = _plurality_index(np.maximum(others, 0))
        valid = (tallies[:, w] > 0) & (n - 1 >= min_others) & (ref >= 0)
        refs[:, w] = np.where(valid, ref, NONE)
        weights[:, w] = np.where(valid, tallies[:, w], 0)
    return refs, weights


@dataclass(frozen=True)
class _HumanSide:
    """Per-comparison human figures, computed once and gathered for every judge and category."""

    tallies: np.ndarray
    n: np.ndarray
    majority: np.ndarray
    loo_refs: np.ndarray
    loo_weights: np.ndarray
    loo_hits: np.ndarray
    pairs: tuple[np.ndarray, ...]
    longer: tuple[np.ndarray, ...]
    coincidence: np.ndarray

    @classmethod
    def of(
        cls, tallies: np.ndarray, len_a: np.ndarray, len_b: np.ndarray, min_others: int
    ) -> _HumanSide:
        refs, weights = _loo(tallies, min_others)
        return cls(
            tallies=tallies,
            n=tallies.sum(axis=1),
            majority=_plurality_index(tallies),
            loo_refs=refs,
            loo_weights=weights,
            loo_hits=(weights * (refs == np.arange(3))).sum(axis=1),
            pairs=_human_pairs(tallies),
            longer=_longer_humans(tallies, len_a, len_b),
            coincidence=_unit_coincidence(tallies).reshape(-1, 9),
        )


def _human_pairs(tallies: np.ndarray) -> tuple[np.ndarray, ...]:
    """MT-Bench human-human per comparison: S1 agreeing pairs, S1 pairs, S2 agreeing, S2 pairs."""
    t = tallies.astype(np.int64)
    n = t.sum(axis=1)
    decisive = t[:, A] + t[:, B]
    same = t * (t - 1) // 2
    return (
        same.sum(axis=1),
        n * (n - 1) // 2,
        same[:, A] + same[:, B],
        decisive * (decisive - 1) // 2,
    )


def _longer_humans(tallies: np.ndarray, len_a: np.ndarray, len_b: np.ndarray):
    keep = np.isfinite(len_a) & np.isfinite(len_b) & (len_a != len_b)
    hits = np.where(len_a > len_b, tallies[:, A], tallies[:, B]) * keep
    return hits, (tallies[:, A] + tallies[:, B]) * keep


_SUMMED = (
    "agree", "no_ties", "agree_no_ties", "s1_hits", "s1_n", "s2_hits", "s2_n", "h_s1", "h_s1_n",
    "h_s2", "h_s2_n", "loo_hits", "loo_n", "judge_loo", "pos_pairs", "pos_consistent",
    "first_hits", "first_n", "unknown", "first_hits_h", "first_n_h", "unknown_h",
    "longer_hits", "longer_n", "longer_h_hits", "longer_h_n", "n_verdicts", "inconsistent",
    "no_majority", "no_humans",
)  # fmt: skip


def _contributions(
    rows: _Rows, human: _HumanSide, inconsistent_as: InconsistentAs
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What each of a judge's comparisons adds to every figure: the per-comparison terms of
    :data:`_SUMMED`, its confusion cell (-1 for none), its coincidences without and with the
    judge, and whether the judge disagrees with the human majority there."""
    verdict, swapped = _resolve(rows.ab, rows.ba, rows.other, inconsistent_as)
    judged = verdict >= 0
    v = np.where(judged, verdict, TIE)
    p = rows.pos
    t, n, majority = human.tallies[p], human.n[p], human.majority[p]
    heard = judged & (n > 0)
    both = heard & (majority >= 0)
    no_ties = both & (v != TIE) & (majority != TIE)
    vote_for_v = t[np.arange(len(v)), v] * judged
    decisive = judged & (v != TIE)
    h_s1, h_s1_n, h_s2, h_s2_n = (x[p] for x in human.pairs)
    loo_weights = human.loo_weights[p]
    loo_n = loo_weights.sum(axis=1)
    loo_hits = human.loo_hits[p]
    judge_loo = (loo_weights * (human.loo_refs[p] == v[:, None])).sum(axis=1)
    with_judge = t + np.eye(3, dtype=t.dtype)[v] * judged[:, None]
    la, lb = rows.len_a, rows.len_b
    longer = decisive & np.isfinite(la) & np.isfinite(lb) & (la != lb)
    longer_h_hits, longer_h_n = (x[p] for x in human.longer)
    terms = {
        "agree": both & (v == majority),
        "no_ties": no_ties,
        "agree_no_ties": no_ties & (v == majority),
        "s1_hits": vote_for_v,
        "s1_n": n * judged,
        "s2_hits": vote_for_v * decisive,
        "s2_n": (t[:, A] + t[:, B]) * decisive,
        "h_s1": h_s1 * judged,
        "h_s1_n": h_s1_n * judged,
        "h_s2": h_s2 * judged,
        "h_s2_n": h_s2_n * judged,
        "loo_hits": loo_hits * judged,
        "loo_n": loo_n * judged,
        "judge_loo": judge_loo * judged,
        "pos_pairs": swapped,
        "pos_consistent": swapped & (rows.ab == rows.ba),
        "first_hits": (rows.ab == A).astype(int) + (rows.ba == B),
        "first_n": np.isin(rows.ab, (A, B)).astype(int) + np.isin(rows.ba, (A, B)),
        "unknown": rows.other >= 0,
        "first_hits_h": rows.first_hits,
        "first_n_h": rows.first_n,
        "unknown_h": rows.unknown_h,
        "longer_hits": longer & ((v == A) == (la > lb)),
        "longer_n": longer,
        "longer_h_hits": longer_h_hits,
        "longer_h_n": longer_h_n,
        "n_verdicts": judged,
        "inconsistent": swapped & (rows.ab != rows.ba),
        "no_majority": heard & (majority < 0),
        "no_humans": judged & (n == 0),
    }
    cell = np.where(both, v * 3 + majority, -1)
    coin_h = human.coincidence[p] * judged[:, None]
    coin_j = _unit_coincidence(with_judge).reshape(-1, 9) * judged[:, None]
    return terms, cell, coin_h, coin_j, both & (v != majority)


def _group_sums(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(groups, weights=np.asarray(values, dtype=float), minlength=n_groups)


def _figures_by_group(
    rows: _Rows,
    human: _HumanSide,
    groups: np.ndarray,
    n_groups: int,
    inconsistent_as: InconsistentAs,
    n_boot: int,
    seed: int | None,
) -> tuple[list[CalibrationFigures], CalibrationFigures, np.ndarray]:
    """Figures per group (e.g. category) and over all of ``rows``, and the disagreement mask:
    every figure is a sum over comparisons, so each comparison's terms are computed once."""
    terms, cell, coin_h, coin_j, disagree = _contributions(rows, human, inconsistent_as)
    sums = {k: _group_sums(terms[k], groups, n_groups) for k in _SUMMED}
    has_cell = cell >= 0
    confusion = np.bincount(groups[has_cell] * 9 + cell[has_cell], minlength=n_groups * 9).reshape(
        n_groups, 3, 3
    )
    coincidences = [
        np.stack([_group_sums(c[:, k], groups, n_groups) for k in range(9)], axis=1).reshape(
            n_groups, 3, 3
        )
        for c in (coin_h, coin_j)
    ]

    def build(pick: Any, units: Any) -> CalibrationFigures:
        return _figures_from_sums(
            {k: pick(v) for k, v in sums.items()},
            pick(confusion),
            pick(coincidences[0]),
            pick(coincidences[1]),
            n_boot,
            seed,
            (coin_h[units], coin_j[units]),
        )

    per_group = [build(lambda a, g=g: a[g], groups == g) for g in range(n_groups)]
    return per_group, build(lambda a: a.sum(axis=0), slice(None)), disagree


def _figures_from_sums(
    s: dict[str, Any],
    confusion: np.ndarray,
    coin_h: np.ndarray,
    coin_j: np.ndarray,
    n_boot: int,
    seed: int | None,
    unit_coincidences: tuple[np.ndarray, np.ndarray],
) -> CalibrationFigures:
    confusion = np.asarray(confusion).astype(np.int64)
    n = int(confusion.sum())
    kappa_low, kappa_high, usable = kappa_bootstrap(confusion, n_boot, seed)
    alpha_h_low, alpha_h_high, _ = alpha_bootstrap(unit_coincidences[0], n_boot, seed)
    alpha_j_low, alpha_j_high, _ = alpha_bootstrap(unit_coincidences[1], n_boot, seed)
    i = {k: int(round(float(v))) for k, v in s.items()}
    return CalibrationFigures(
        agreement=_share(i["agree"], n),
        agreement_without_ties=_share(i["agree_no_ties"], i["no_ties"]),
        cohen_kappa=float(symmetric_kappa(confusion)),
        n=n,
        n_without_ties=i["no_ties"],
        cohen_kappa_low=kappa_low,
        cohen_kappa_high=kappa_high,
        kappa_boot_usable=usable,
        s1=_share(i["s1_hits"], i["s1_n"]),
        s1_n=i["s1_n"],
        s2=_share(i["s2_hits"], i["s2_n"]),
        s2_n=i["s2_n"],
        human_s1=_share(i["h_s1"], i["h_s1_n"]),
        human_s1_n=i["h_s1_n"],
        human_s2=_share(i["h_s2"], i["h_s2_n"]),
        human_s2_n=i["h_s2_n"],
        agreement_loo=_share(i["judge_loo"], i["loo_n"]),
        human_ceiling=_share(i["loo_hits"], i["loo_n"]),
        human_ceiling_n=i["loo_n"],
        alpha_humans=_alpha_from_coincidence(coin_h),
        alpha_with_judge=_alpha_from_coincidence(coin_j),
        alpha_humans_low=alpha_h_low,
        alpha_humans_high=alpha_h_high,
        alpha_with_judge_low=alpha_j_low,
        alpha_with_judge_high=alpha_j_high,
        position_consistency=_share(i["pos_consistent"], i["pos_pairs"]),
        position_n=i["pos_pairs"],
        p_prefer_first=_share(i["first_hits"], i["first_n"]),
        first_n=i["first_n"],
        unknown_order_n=i["unknown"],
        p_prefer_first_humans=_share(i["first_hits_h"], i["first_n_h"]),
        first_n_humans=i["first_n_h"],
        unknown_order_n_humans=i["unknown_h"],
        p_prefer_longer=_share(i["longer_hits"], i["longer_n"]),
        longer_n=i["longer_n"],
        p_prefer_longer_humans=_share(i["longer_h_hits"], i["longer_h_n"]),
        longer_n_humans=i["longer_h_n"],
        n_verdicts=i["n_verdicts"],
        n_inconsistent=i["inconsistent"],
        n_no_majority=i["no_majority"],
        n_no_humans=i["no_humans"],
        confusion={
            WINNERS[j]: {WINNERS[m]: int(confusion[j, m]) for m in range(3)} for j in range(3)
        },
    )


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
    category = comparisons["category"].to_numpy(dtype=object)
    category = np.where(pd.isna(category), NO_CATEGORY, category).astype(str)
    cat_code, cat_names = pd.factorize(category, sort=True)
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
    human = _HumanSide.of(tallies, len_a, len_b, min_others)
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
        groups = cat_code[p]
        per_category, overall, disagree = _figures_by_group(
            rows, human, groups, len(cat_names), inconsistent_as, n_boot, seed
        )
        present = np.unique(groups)
        by_category = {str(cat_names[g]): per_category[g] for g in present}
        judges.append(
            JudgeCalibration(
                **{f.name: getattr(overall, f.name) for f in fields(CalibrationFigures)},
                judge=str(name),
                by_category=by_category,
                disagreements=_disagreements(comparisons, rows, disagree, inconsistent_as),
            )
        )

    heard = human.n > 0
    majority = human.majority
    loo_hits, loo_n = int(human.loo_hits.sum()), int(human.loo_weights.sum())
    h_s1, h_s1_n, h_s2, h_s2_n = (int(x.sum()) for x in human.pairs)
    longer_hits, longer_n = (int(x.sum()) for x in human.longer)
    first_hits, first_n, unknown_h = (int(x.sum()) for x in human_arrays[3:])
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
        p_prefer_first_humans=_share(first_hits, first_n),
        first_n_humans=first_n,
        unknown_order_n_humans=unknown_h,
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
