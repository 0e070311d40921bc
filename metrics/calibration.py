"""How far each LLM judge agrees with the humans, on a votes frame (see :mod:`metrics.frames`).

All figures are on the 3-way winner ("a", "tie", "b"; a ``both_bad`` vote is a tie).

**Human majority.** Per comparison, the plurality winner of the humans' first showings (one
scored, non-re-shown vote per rater; gold and attention items count like any comparison, as in
:mod:`metrics.agreement`). When two winners share the top count the majority is tied: the
comparison is left out of every majority-based figure and counted in ``n_no_majority``. A
single human vote is a majority of one.

**Judge verdict.** A judge (LLM rows grouped by ``judge``, or by ``rater`` where ``judge`` is
empty) may have one row per shown order. Unscored rows drop; if both orders are there and
agree, that is the verdict; if they disagree the verdict is a tie (``inconsistent_as="tie"``)
or the comparison is dropped (``"drop"``); a single order stands alone. Extra rows for the
same order (a re-run) keep the first. Rows whose ``shown_order`` is neither "ab" nor "ba" give
a verdict only when the comparison has no row in a known order.

**Ceiling.** Each human's vote is scored against the plurality of the *other* humans
(:func:`metrics.rater_quality.loo_majority`, at least ``min_others`` of them, not tied);
``human_ceiling`` pools those (human, comparison) pairs, i.e. the per-rater LOO agreements
averaged with weights n. The judge is not a human, so the majority of all humans already
leaves it out and ``agreement`` is the judge's own LOO agreement; it leans slightly in the
judge's favour because its reference majority has one more rater. ``agreement_loo`` removes
that: the judge's verdict scored against exactly the same LOO majorities, on exactly the same
(human, comparison) pairs, as the per-judge ``human_ceiling``. A judge at the ceiling agrees
with the humans as well as a typical human does.

**Bias figures.** P(prefer first) counts every scored non-tie row (each row has its own
order): "first" is A when ``shown_order`` is "ab", B when "ba". P(prefer longer) counts the
judge's resolved non-tie verdicts and the humans' non-tie first showings on comparisons whose
outputs differ in length. The humans' figures in a :class:`JudgeCalibration` are on the
comparisons that judge rated, so the two sit side by side on the same items.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd

from metrics.agreement import cohen_kappa, krippendorff_alpha
from metrics.errors import StatisticsError
from metrics.rater_quality import (
    check_votes,
    first_showings,
    human_rows,
    loo_majority,
    plurality,
    vote_winners,
    winner_counts,
)
from metrics.vocabulary import WINNER_CODES, WINNERS, missing_to_none

InconsistentAs = Literal["tie", "drop"]

NO_CATEGORY = "(none)"

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


def _mean(hits: Any) -> float:
    hits = np.asarray(hits, dtype=float)
    return float(hits.mean()) if hits.size else float("nan")


# ---------------------------------------------------------------------------------------------
# Building blocks


def human_majority(votes: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison with a human vote (columns :data:`MAJORITY_COLUMNS`).

    ``majority`` is missing (NA) when the plurality is tied; ``majority_share`` is the top
    count over ``n_human_votes`` (how sure the humans were, whether or not there is a majority).
    """
    shown = first_showings(votes)
    counts = winner_counts(shown)
    arr = counts.to_numpy()
    total = arr.sum(axis=1)
    return pd.DataFrame(
        {
            "comparison_id": counts.index.to_numpy(),
            "votes_a": arr[:, 0],
            "votes_tie": arr[:, 1],
            "votes_b": arr[:, 2],
            "n_human_votes": total,
            "majority": plurality(arr),
            "majority_share": arr.max(axis=1, initial=0) / np.maximum(total, 1),
        }
    )


def _judge_rows(votes: pd.DataFrame) -> pd.DataFrame:
    """Scored LLM rows with ``judge_key`` and ``winner``."""
    check_votes(votes)
    llm = votes[votes["rater_kind"].eq("llm").to_numpy(dtype=bool)]
    key = llm["judge"] if "judge" in llm.columns else pd.Series(None, index=llm.index)
    key = key.astype(object).where(key.notna(), llm["rater"]).astype(str)
    llm = llm.assign(judge_key=key, winner=vote_winners(llm))
    return llm[llm["winner"].notna().to_numpy(dtype=bool)]


def _resolve(rows: pd.DataFrame, inconsistent_as: InconsistentAs) -> pd.DataFrame:
    """Per (judge, comparison): the winner in each order and the resolved verdict (NA when
    dropped). ``rows`` are :func:`_judge_rows`."""
    if inconsistent_as not in ("tie", "drop"):
        raise StatisticsError(
            f"inconsistent_as must be 'tie' or 'drop', got {inconsistent_as!r}."
        )
    order = rows["shown_order"] if "shown_order" in rows.columns else pd.Series(index=rows.index)
    order = order.where(order.isin(["ab", "ba"]), "other").astype(str)
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in VERDICT_COLUMNS})
    first = rows.assign(order=order).drop_duplicates(
        ["judge_key", "comparison_id", "order"], keep="first"
    )
    wide = first.pivot(index=["judge_key", "comparison_id"], columns="order", values="winner")
    wide = wide.reindex(columns=["ab", "ba", "other"]).astype(object)
    wide = wide.where(wide.notna(), None)
    ab, ba, other = (wide[c].to_numpy(dtype=object) for c in ("ab", "ba", "other"))
    swapped = pd.notna(ab) & pd.notna(ba)
    consistent = np.full(len(wide), None, dtype=object)
    consistent[swapped] = (ab[swapped] == ba[swapped]).tolist()
    verdict = np.where(pd.notna(ab), ab, np.where(pd.notna(ba), ba, other))
    verdict[swapped & (ab != ba)] = "tie" if inconsistent_as == "tie" else None
    return pd.DataFrame(
        {
            "judge": wide.index.get_level_values("judge_key").to_numpy(dtype=object),
            "comparison_id": wide.index.get_level_values("comparison_id").to_numpy(),
            "verdict": verdict,
            "verdict_ab": ab,
            "verdict_ba": ba,
            "consistent": consistent,
        }
    )


def judge_verdicts(votes: pd.DataFrame, inconsistent_as: InconsistentAs = "tie") -> pd.DataFrame:
    """Each judge's resolved verdict per comparison (columns :data:`VERDICT_COLUMNS`).

    ``verdict_ab`` / ``verdict_ba`` are the winners in each shown order (NA if absent);
    ``consistent`` is whether they agree (None unless both are there). Comparisons dropped by
    ``inconsistent_as="drop"`` are left out. Join with :func:`human_majority` for
    :mod:`metrics.blend` (codes in :data:`metrics.vocabulary.WINNER_CODES`).
    """
    resolved = _resolve(_judge_rows(votes), inconsistent_as)
    return resolved[resolved["verdict"].notna().to_numpy(dtype=bool)].reset_index(drop=True)


def _first_hits(rows: pd.DataFrame) -> pd.Series:
    """1/0 per scored non-tie row with a known order: did it pick the output shown first?"""
    order = rows["shown_order"] if "shown_order" in rows.columns else pd.Series(index=rows.index)
    keep = rows["winner"].isin(["a", "b"]) & order.isin(["ab", "ba"])
    first = (order.eq("ab") & rows["winner"].eq("a")) | (order.eq("ba") & rows["winner"].eq("b"))
    return first[keep].astype(float)


def _longer_hits(winner: pd.Series, len_a: pd.Series, len_b: pd.Series) -> np.ndarray:
    """1/0 per non-tie verdict on outputs of different length: did it pick the longer one?"""
    la = pd.to_numeric(len_a).to_numpy(dtype=float, na_value=np.nan)
    lb = pd.to_numeric(len_b).to_numpy(dtype=float, na_value=np.nan)
    w = winner.to_numpy(dtype=object)
    keep = np.isin(w, ["a", "b"]) & ~np.isnan(la) & ~np.isnan(lb) & (la != lb)
    return ((w == "a") == (la > lb))[keep].astype(float)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CalibrationFigures:
    """One judge against the humans on one set of comparisons (all of them, or one category).

    ``n`` counts comparisons with both a judge verdict and a (non-tied) human majority: the
    base of ``agreement``, ``cohen_kappa`` and ``confusion``; ``n_without_ties`` those where
    neither side is a tie. ``confusion[judge][majority]`` counts comparisons by judge verdict
    and human majority. ``alpha_humans`` / ``alpha_with_judge`` are nominal Krippendorff alpha
    on the comparisons the judge has a verdict on, without and with the judge as one more rater.
    """

    agreement: float
    agreement_without_ties: float
    cohen_kappa: float
    n: int
    n_without_ties: int
    agreement_loo: float
    human_ceiling: float
    human_ceiling_n: int
    alpha_humans: float
    alpha_with_judge: float
    position_consistency: float
    position_n: int
    p_prefer_first: float
    first_n: int
    p_prefer_first_humans: float
    first_n_humans: int
    p_prefer_longer: float
    longer_n: int
    p_prefer_longer_humans: float
    longer_n_humans: int
    n_verdicts: int
    n_inconsistent: int
    n_no_majority: int
    n_no_humans: int
    confusion: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, keys in field order; NaN becomes None."""
        out: dict[str, Any] = {}
        for f in fields(CalibrationFigures):
            value = getattr(self, f.name)
            if f.name == "confusion":
                out[f.name] = {k: dict(v) for k, v in value.items()}
            else:
                out[f.name] = missing_to_none(value)
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
    p_prefer_first_humans: float
    first_n_humans: int
    p_prefer_longer_humans: float
    longer_n_humans: int
    n_comparisons: int
    n_no_majority: int
    inconsistent_as: str
    min_others: int
    notes: list[str] = field(default_factory=list)

    def judge(self, name: str) -> JudgeCalibration:
        for j in self.judges:
            if j.judge == name:
                return j
        raise StatisticsError(
            f"No judge {name!r} in this report; judges are {[j.judge for j in self.judges]}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "judges": [j.to_dict() for j in self.judges],
            "human_ceiling": missing_to_none(self.human_ceiling),
            "human_ceiling_n": self.human_ceiling_n,
            "p_prefer_first_humans": missing_to_none(self.p_prefer_first_humans),
            "first_n_humans": self.first_n_humans,
            "p_prefer_longer_humans": missing_to_none(self.p_prefer_longer_humans),
            "longer_n_humans": self.longer_n_humans,
            "n_comparisons": self.n_comparisons,
            "n_no_majority": self.n_no_majority,
            "inconsistent_as": self.inconsistent_as,
            "min_others": self.min_others,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------
# Computation


@dataclass(frozen=True)
class _Humans:
    """The human-side frames every judge is measured against."""

    shown: pd.DataFrame
    scored: pd.DataFrame
    majority: pd.DataFrame
    loo: pd.DataFrame

    def restrict(self, cids: np.ndarray) -> _Humans:
        return _Humans(
            *(
                f[f["comparison_id"].isin(cids)]
                for f in (self.shown, self.scored, self.majority, self.loo)
            )
        )


_SHOWN = ("comparison_id", "rater", "winner", "shown_order", "len_a", "len_b")


def _slim(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Only ``columns``, strings as plain objects: the per-judge, per-category slices below
    take many row subsets, which are much cheaper on NumPy than on Arrow-backed strings."""
    cols = [c for c in columns if c in frame.columns]
    out = frame[cols].reset_index(drop=True)
    return out.astype({c: object for c in cols if out[c].dtype == "str"})


def _alpha(long: pd.DataFrame) -> float:
    return krippendorff_alpha(long, "nominal", n_boot=0).alpha


def _figures(
    humans: _Humans, rows: pd.DataFrame, resolved: pd.DataFrame, cids: np.ndarray
) -> CalibrationFigures:
    """Figures for one judge (``rows`` its scored rows, ``resolved`` its :func:`_resolve`
    output) restricted to the comparisons ``cids``."""
    rows = rows[rows["comparison_id"].isin(cids)]
    resolved = resolved[resolved["comparison_id"].isin(cids)]
    judged = resolved[resolved["verdict"].notna().to_numpy(dtype=bool)]
    verdict_of = judged.set_index("comparison_id")["verdict"]

    with_humans = judged.merge(humans.majority, on="comparison_id")
    both = with_humans[with_humans["majority"].notna().to_numpy(dtype=bool)]
    hit = both["verdict"] == both["majority"]
    no_ties = (both["verdict"] != "tie") & (both["majority"] != "tie")
    confusion = {
        j: {m: int(((both["verdict"] == j) & (both["majority"] == m)).sum()) for m in WINNERS}
        for j in WINNERS
    }
    kappa = (
        cohen_kappa(both["verdict"].map(WINNER_CODES), both["majority"].map(WINNER_CODES))
        if len(both)
        else float("nan")
    )

    loo = humans.loo[humans.loo["comparison_id"].isin(verdict_of.index)]
    loo = loo[loo["loo_majority"].notna().to_numpy(dtype=bool)]
    judge_on_loo = loo["comparison_id"].map(verdict_of) == loo["loo_majority"]

    shown = humans.shown[humans.shown["comparison_id"].isin(verdict_of.index)]
    human_long = pd.DataFrame(
        {
            "unit": shown["comparison_id"],
            "rater": shown["rater"].astype(str),
            "value": shown["winner"].map(WINNER_CODES),
        }
    )
    judge_long = pd.DataFrame(
        {"unit": verdict_of.index, "rater": "__judge__", "value": verdict_of.map(WINNER_CODES)}
    )

    swapped = resolved[resolved["consistent"].notna().to_numpy(dtype=bool)]
    first = _first_hits(rows)
    first_h = _first_hits(humans.scored[humans.scored["comparison_id"].isin(cids)])
    lengths = rows.drop_duplicates("comparison_id").set_index("comparison_id")[["len_a", "len_b"]]
    longer = _longer_hits(
        judged["verdict"],
        judged["comparison_id"].map(lengths["len_a"]),
        judged["comparison_id"].map(lengths["len_b"]),
    )
    shown_all = humans.shown[humans.shown["comparison_id"].isin(cids)]
    longer_h = _longer_hits(shown_all["winner"], shown_all["len_a"], shown_all["len_b"])

    return CalibrationFigures(
        agreement=_mean(hit),
        agreement_without_ties=_mean(hit[no_ties]),
        cohen_kappa=float(kappa),
        n=len(both),
        n_without_ties=int(no_ties.sum()),
        agreement_loo=_mean(judge_on_loo),
        human_ceiling=_mean(loo["winner"] == loo["loo_majority"]),
        human_ceiling_n=len(loo),
        alpha_humans=_alpha(human_long),
        alpha_with_judge=_alpha(pd.concat([human_long, judge_long], ignore_index=True)),
        position_consistency=_mean(swapped["consistent"].astype(bool)),
        position_n=len(swapped),
        p_prefer_first=_mean(first),
        first_n=len(first),
        p_prefer_first_humans=_mean(first_h),
        first_n_humans=len(first_h),
        p_prefer_longer=_mean(longer),
        longer_n=len(longer),
        p_prefer_longer_humans=_mean(longer_h),
        longer_n_humans=len(longer_h),
        n_verdicts=len(judged),
        n_inconsistent=int((~swapped["consistent"].astype(bool)).sum()),
        n_no_majority=len(with_humans) - len(both),
        n_no_humans=len(judged) - len(with_humans),
        confusion=confusion,
    )


def _disagreements(
    resolved: pd.DataFrame, majority: pd.DataFrame, meta: pd.DataFrame
) -> pd.DataFrame:
    m = resolved.merge(majority, on="comparison_id")
    m = m[m["majority"].notna().to_numpy(dtype=bool) & m["verdict"].notna().to_numpy(dtype=bool)]
    m = m[(m["verdict"] != m["majority"]).to_numpy(dtype=bool)]
    m = m.merge(meta, on="comparison_id", how="left").rename(
        columns={
            "verdict": "judge_verdict",
            "majority": "human_majority",
            "consistent": "judge_consistent",
        }
    )
    m = m.sort_values(
        ["majority_share", "n_human_votes", "comparison_id"],
        ascending=[False, False, True],
        kind="stable",
    )
    return m.reindex(columns=list(DISAGREEMENT_COLUMNS)).reset_index(drop=True)


def _category_keys(votes: pd.DataFrame) -> pd.Series:
    """Category per comparison (first non-empty one seen), :data:`NO_CATEGORY` when none."""
    if "category" not in votes.columns:
        ids = votes["comparison_id"].drop_duplicates()
        return pd.Series(NO_CATEGORY, index=ids.to_numpy(), dtype=object)
    cats = votes[["comparison_id", "category"]].dropna().drop_duplicates("comparison_id")
    keys = cats.set_index("comparison_id")["category"].astype(str)
    ids = votes["comparison_id"].drop_duplicates().to_numpy()
    return keys.reindex(ids).astype(object).fillna(NO_CATEGORY)


def calibration_report(
    votes: pd.DataFrame,
    inconsistent_as: InconsistentAs = "tie",
    *,
    min_others: int = 2,
) -> CalibrationReport:
    """Calibrate every judge in ``votes`` against the human majority (judges sorted by name).

    ``min_others`` is how many *other* humans a comparison needs for a leave-one-out majority
    (the ceiling); with two humans per comparison pass 1, which makes the ceiling plain pairwise
    agreement. See the module docstring for every definition.
    """
    check_votes(votes)
    missing_lengths = [c for c in ("len_a", "len_b") if c not in votes.columns]
    votes = votes.assign(**dict.fromkeys(missing_lengths, np.nan))
    scored = human_rows(votes)
    scored = scored[scored["winner"].notna().to_numpy(dtype=bool)]
    humans = _Humans(
        shown=_slim(first_showings(votes), _SHOWN),
        scored=_slim(scored, _SHOWN),
        majority=human_majority(votes),
        loo=_slim(loo_majority(votes, min_others), ("comparison_id", "winner", "loo_majority")),
    )
    categories = _category_keys(votes)
    meta_cols = [c for c in ("comparison_id", "prompt_id", "model_a", "model_b") if c in votes]
    meta = votes[meta_cols].drop_duplicates("comparison_id")
    meta = meta.assign(category=meta["comparison_id"].map(categories))

    rows = _slim(_judge_rows(votes), ("judge_key", *_SHOWN))
    resolved_all = _resolve(rows, inconsistent_as)
    judged_cats = categories.reindex(resolved_all["comparison_id"].unique())
    humans_in = {
        cat: humans.restrict(ids.index.to_numpy()) for cat, ids in judged_cats.groupby(judged_cats)
    }
    judges = []
    for name in sorted(rows["judge_key"].unique()):
        j_rows = rows[rows["judge_key"].eq(name).to_numpy(dtype=bool)]
        resolved = resolved_all[resolved_all["judge"].eq(name).to_numpy(dtype=bool)]
        cids = resolved["comparison_id"].to_numpy()
        overall = _figures(humans, j_rows, resolved, cids)
        cats = categories.reindex(cids).to_numpy()
        by_category = {
            str(cat): _figures(humans_in[cat], j_rows, resolved, cids[cats == cat])
            for cat in sorted(set(cats), key=str)
        }
        judges.append(
            JudgeCalibration(
                **{f.name: getattr(overall, f.name) for f in fields(CalibrationFigures)},
                judge=str(name),
                by_category=by_category,
                disagreements=_disagreements(resolved, humans.majority, meta),
            )
        )

    loo = humans.loo[humans.loo["loo_majority"].notna().to_numpy(dtype=bool)]
    first_h = _first_hits(scored)
    longer_h = _longer_hits(humans.shown["winner"], humans.shown["len_a"], humans.shown["len_b"])
    n_no_majority = int(humans.majority["majority"].isna().sum())
    notes = []
    if not judges:
        notes.append("No scored LLM-judge rows; run a judge on this campaign first.")
    if len(humans.majority) == 0:
        notes.append("No scored human votes; judges can only be calibrated against human votes.")
    elif len(loo) == 0:
        notes.append(
            f"No comparison has a human vote plus {min_others} other human votes with a clear "
            "majority, so there is no human ceiling; raise the overlap or lower min_others."
        )
    return CalibrationReport(
        judges=judges,
        human_ceiling=_mean(loo["winner"] == loo["loo_majority"]),
        human_ceiling_n=len(loo),
        p_prefer_first_humans=_mean(first_h),
        first_n_humans=len(first_h),
        p_prefer_longer_humans=_mean(longer_h),
        longer_n_humans=len(longer_h),
        n_comparisons=len(humans.majority) - n_no_majority,
        n_no_majority=n_no_majority,
        inconsistent_as=inconsistent_as,
        min_others=min_others,
        notes=notes,
    )
