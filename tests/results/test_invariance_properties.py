"""Properties every figure must have, checked end to end through the database.

- Orientation: which output of a comparison is stored as "A" depends on the order outputs
  were created. Storing the same votes after creating each prompt's outputs in a random other
  order (flipping a random subset of comparisons) changes no figure.
- Duplication: repeating every human vote k times (k rater clones) leaves the leaderboard's
  ratings and intervals unchanged, because the bootstrap resamples comparisons.
- Re-shows: a rater's second look at a comparison (the consistency check) adds no vote to
  any leaderboard, the gate, agreement or calibration; the export still carries it, flagged.

Both backends run every property (the ``engine`` fixture).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from results.export import export_judgments
from results.gate import gate
from results.leaderboards import LeaderboardQuery, compute_leaderboard
from results.reports import campaign_agreement, campaign_calibration
from tests import factory

SEEDS = (3, 11)
ROUNDS = 200


def _relative_ids(value: Any, bases: dict[str, int]) -> Any:
    """Comparison and prompt ids made relative to the campaign's first, so campaigns line up."""
    if isinstance(value, dict):
        return {
            k: v - bases[k] if k in bases and v is not None else _relative_ids(v, bases)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_relative_ids(v, bases) for v in value]
    return value


def _assert_same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict), path
        assert set(a) == set(b), f"{path}: keys {sorted(set(a) ^ set(b))}"
        for key in a:
            _assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float | np.floating) and not isinstance(a, bool):
        assert isinstance(b, float | int | np.number), f"{path}: {a!r} vs {b!r}"
        if math.isnan(a):
            assert math.isnan(b), f"{path}: nan vs {b}"
        else:
            assert b == pytest.approx(a, abs=1e-9), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def _table(frame: pd.DataFrame) -> dict[str, Any]:
    """A leaderboard or win-rate frame keyed by model, so row order does not matter."""
    if frame.empty:
        return {}
    key = "model" if "model" in frame.columns else frame.columns[0]
    records = frame.sort_values(key).to_dict("records")
    return {str(r[key]): {k: v for k, v in r.items() if k != key} for r in records}


def _leaderboards(engine, campaign_id: int, admin: int, sources=("human", "judge", "blend")):
    out = {}
    for source in sources:
        q = LeaderboardQuery(campaign_id, source=source, rounds=ROUNDS, seed=1, baseline="m0")
        result = compute_leaderboard(engine, q, actor_id=admin)
        out[source] = {
            "table": _table(result.table),
            "win_rates": result.win_rates.sort_index().to_dict(),
            "n_votes": result.n_votes,
            "notes": result.notes,
        }
    return out


def _gates(engine, campaign_id: int, admin: int) -> dict[str, Any]:
    out = {}
    for source in ("human", "judge"):
        q = LeaderboardQuery(campaign_id, source=source)
        g = gate(engine, q, "m3", "m0", 0.5, actor_id=admin)
        out[source] = {"win_rate": g.win_rate, "ci": (g.ci_low, g.ci_high), "n": g.n}
    return out


def _figures(engine, stored: dict[str, Any], admin: int) -> dict[str, Any]:
    campaign_id = stored["campaign"].id
    agreement = campaign_agreement(engine, campaign_id, n_boot=ROUNDS, seed=0, actor_id=admin)
    agreement_figures = agreement.to_dict()
    agreement_figures.pop("as_stored")  # the stored-order figures, labelled as such
    calibration = campaign_calibration(engine, campaign_id, actor_id=admin).to_dict()
    for judge in calibration["judges"]:
        # the confusion table and disagreement list are reported by output as stored
        del judge["confusion"], judge["disagreements"]
        for figures in judge["by_category"].values():
            del figures["confusion"]
    return _relative_ids({
        "agreement": agreement_figures,
        "calibration": calibration,
        "leaderboards": _leaderboards(engine, campaign_id, admin, ("human", "judge", "blend")),
        "gates": _gates(engine, campaign_id, admin),
    }, stored["first_ids"])


def _store(engine, data, name: str, **kwargs) -> dict[str, Any]:
    with factory.session(engine) as s:
        stored = factory.store_logical_votes(s, data, name, **kwargs)
        s.commit()
    return stored


@pytest.mark.parametrize("seed", SEEDS)
def test_no_figure_depends_on_which_output_is_stored_first(engine, seed: int) -> None:
    data = factory.logical_votes(seed)
    rng = np.random.default_rng(seed + 100)
    shuffled = {i: tuple(rng.permutation(data["models"])) for i in range(data["n_prompts"])}
    admin = factory.admin_id(engine)
    first = _store(engine, data, "as-listed")
    second = _store(engine, data, "shuffled", output_order=shuffled)
    flipped = np.array(second["flipped"]) != np.array(first["flipped"])
    assert 0.2 < flipped.mean() < 0.8, "the shuffle must flip a real share of comparisons"
    _assert_same(_figures(engine, first, admin), _figures(engine, second, admin))


@pytest.mark.parametrize("copies", [2, 3])
def test_repeating_every_vote_leaves_leaderboard_intervals_unchanged(engine, copies) -> None:
    data = factory.logical_votes(SEEDS[0])
    admin = factory.admin_id(engine)
    once = _store(engine, data, "once")
    repeated = _store(engine, data, "repeated", copies=copies)
    a = _leaderboards(engine, once["campaign"].id, admin, ("human",))["human"]
    b = _leaderboards(engine, repeated["campaign"].id, admin, ("human",))["human"]
    assert b["n_votes"] == copies * a["n_votes"]
    for model, row in a["table"].items():
        for column in ("rating", "ci_low", "ci_high", "rank_low", "rank_high"):
            _assert_same(float(row[column]), float(b["table"][model][column]), f"{model}.{column}")


def test_reshown_items_count_only_for_consistency(engine, tmp_path: Path) -> None:
    data = factory.logical_votes(SEEDS[1])
    rng = np.random.default_rng(5)
    humans = [v for v in data["votes"] if v["rater"] != "judge"]
    picked = rng.choice(len(humans), size=len(humans) // 4, replace=False)
    reshows = [
        {"c": humans[k]["c"], "rater": humans[k]["rater"], "pref": int(rng.integers(-1, 2))}
        for k in picked
    ]
    admin = factory.admin_id(engine)
    plain = _store(engine, data, "plain")
    rechecked = _store(engine, data, "rechecked", reshows=reshows)
    without, with_reshows = (
        _figures(engine, c, admin) for c in (plain, rechecked)
    )
    raters_without = without["agreement"].pop("raters")
    raters_with = with_reshows["agreement"].pop("raters")
    _assert_same(without, with_reshows)
    consistency = [r["consistency_n"] for r in raters_with]
    assert any(consistency), "the re-shows must reach the consistency figure"
    assert not any(r["consistency_n"] for r in raters_without)

    dest = tmp_path / "rechecked.csv"
    export_judgments(engine, rechecked["campaign"].id, "csv", dest, actor_id=admin)
    exported = pd.read_csv(dest)
    assert int(exported["is_reshow"].sum()) == len(reshows)
