"""campaign_agreement straight from the database: same figures as the votes-frame path, and no
figure moves when comparisons are stored with their outputs the other way round."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from db.models import Comparison
from metrics.agreement import agreement_report
from metrics.rater_quality import position_bias, rater_quality
from results.reports import campaign_agreement
from results.votes import VoteFilter, rater_names, scores_frame, votes_frame
from tests import factory

MODELS = ("m1", "m2", "m3")
SWAP = {"ab": "ba", "ba": "ab"}


def _plan(seed: int = 0) -> list[dict]:
    """Votes on every (prompt, model pair): preferences of the first model named, a shown
    order (some unknown), the odd both-bad, unscored and re-shown vote, and a judge's."""
    rng = np.random.default_rng(seed)
    plan = []
    for prompt in range(4):
        for x, y in (("m1", "m2"), ("m1", "m3"), ("m2", "m3")):
            lean = rng.choice([-2, -1, 1])
            votes = []
            for rater in rng.choice(4, size=rng.integers(2, 5), replace=False):
                pref = int(np.clip(lean + rng.integers(-1, 2), -2, 2))
                votes.append(
                    {
                        "rater": int(rater),
                        "pref": None if rng.random() < 0.05 else pref,
                        "order": ("ab", "ba", "unknown")[rng.integers(0, 3)],
                        "both_bad": bool(rng.random() < 0.05),
                        "time": int(rng.integers(1000, 9000)),
                    }
                )
            plan.append({"prompt": prompt, "x": x, "y": y, "votes": votes, "judge": int(lean)})
    plan[0]["votes"][0]["order"] = "ab"
    plan[0]["votes"].append(dict(plan[0]["votes"][0], order="ba", reshow=True))
    return plan


def _store(engine, plan: list[dict], *, x_first: bool, name: str) -> int:
    """Store ``plan``. Comparisons keep their outputs in id order, so creating the outputs in
    the other model order (``x_first=False``) stores every comparison the other way round."""
    models = MODELS if x_first else MODELS[::-1]
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, name=name, n_prompts=4, models=models, pairs=False)
        raters = [factory.user(s, f"{name}-r{i}@x.org") for i in range(4)]
        judge = factory.judge(s, name=f"{name}-judge")
        prompts = data["prompts"]
        for item in plan:
            p = prompts[item["prompt"]]
            ox, oy = data["outputs"][(p.id, item["x"])], data["outputs"][(p.id, item["y"])]
            x_is_a = ox.id < oy.id
            assert x_is_a == x_first
            a, b = (ox, oy) if x_is_a else (oy, ox)
            comp = Comparison(
                campaign_id=data["campaign"].id, prompt_id=p.id, output_a_id=a.id, output_b_id=b.id
            )
            s.add(comp)
            s.flush()
            sign = 1 if x_is_a else -1
            for v in item["votes"]:
                factory.human_judgment(
                    s, comp, raters[v["rater"]], None if v["pref"] is None else sign * v["pref"],
                    shown_order=v["order"] if x_first else SWAP.get(v["order"], v["order"]),
                    both_bad=v["both_bad"], time_on_task_ms=v["time"],
                    is_reshow=v.get("reshow", False),
                )  # fmt: skip
            factory.judge_judgment(s, comp, judge, sign * item["judge"])
        s.commit()
        return data["campaign"].id


def _without_stored_order(page: dict) -> dict:
    return {k: v for k, v in page.items() if k != "as_stored"}


@pytest.mark.parametrize("category", [None, "writing"])
def test_agreement_from_the_database_equals_the_votes_frame_path(engine, category):
    campaign_id = _store(engine, _plan(), x_first=True, name="direct")
    admin = factory.admin_id(engine)
    page = campaign_agreement(
        engine, campaign_id, n_boot=50, seed=2, category=category, actor_id=admin
    )

    flt = VoteFilter(campaign_id, rater_kind="human", category=category, include_reshows=True)
    names = rater_names(engine, campaign_id)
    votes = votes_frame(engine, flt)
    votes = votes.assign(rater=votes["rater"].map(names))
    scores = scores_frame(engine, flt)
    expected = agreement_report(votes, scores, n_boot=50, seed=2).to_dict()
    got = page.to_dict()
    notes = got.pop("notes")
    position = got.pop("position_bias")
    assert {k: v for k, v in got.items() if k != "raters"} == {
        k: v for k, v in expected.items() if k != "notes"
    }
    pd.testing.assert_frame_equal(page.raters, rater_quality(votes))
    assert position == position_bias(votes).to_dict()
    unknown = int(page.raters["left_unknown_n"].sum())
    assert unknown > 0
    assert any(f"{unknown} decisive votes with an unknown shown order" in n for n in notes)
    assert got["krippendorff_alpha"]["preference/nominal"]["alpha"] is not None
    assert got["n_units"] == len(set(votes["comparison_id"]))


def test_storing_every_comparison_the_other_way_round_changes_no_figure(engine):
    plan = _plan(seed=3)
    kept = _store(engine, plan, x_first=True, name="kept")
    flipped = _store(engine, plan, x_first=False, name="flipped")
    admin = factory.admin_id(engine)
    pages = [
        campaign_agreement(engine, c, n_boot=100, seed=1, actor_id=admin).to_dict()
        for c in (kept, flipped)
    ]
    for page in pages:
        page["raters"] = [dict(r, rater=r["rater"].split("-", 1)[1]) for r in page["raters"]]
        for key in ("pairwise_cohen_kappa", "pairwise_weighted_kappa"):
            for pair in page[key]:
                pair["rater_1"] = pair["rater_1"].split("-", 1)[1]
                pair["rater_2"] = pair["rater_2"].split("-", 1)[1]
    a, b = (_without_stored_order(p) for p in pages)
    assert a.keys() == b.keys()
    for key in a:
        assert _close(a[key], b[key]), key
    assert pages[0]["as_stored"] != pages[1]["as_stored"]


def _close(left, right) -> bool:
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_close(left[k], right[k]) for k in left)
    if isinstance(left, list):
        pairs = zip(left, right, strict=True)
        return len(left) == len(right) and all(_close(x, y) for x, y in pairs)
    if isinstance(left, float) and isinstance(right, float):
        return abs(left - right) <= 1e-9
    return left == right


def test_a_campaign_without_two_votes_on_any_comparison_says_why(engine):
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, name="thin", n_prompts=1, models=("m1", "m2"))
        rater = factory.user(s, "solo@x.org")
        factory.human_judgment(s, data["comparisons"][0], rater, -1)
        s.commit()
        campaign_id = data["campaign"].id
    page = campaign_agreement(engine, campaign_id, n_boot=20, actor_id=factory.admin_id(engine))
    got = page.to_dict()
    nominal = got["krippendorff_alpha"]["preference/nominal"]
    assert nominal["alpha"] is None and nominal["reason"] == "no comparison with two ratings"
    assert got["percent_agreement"] is None and got["percent_agreement_reason"]
    assert got["fleiss_kappa"]["kappa"] is None and got["fleiss_kappa"]["reason"]
    assert got["human_human"]["S1"]["agreement"] is None and got["human_human"]["S1"]["reason"]


def test_a_reshown_comparison_changes_no_agreement_figure(engine):
    plan = _plan(seed=4)
    without = [dict(item, votes=[v for v in item["votes"] if not v.get("reshow")]) for item in plan]
    with_reshow = _store(engine, plan, x_first=True, name="again")
    plain = _store(engine, without, x_first=True, name="once")
    admin = factory.admin_id(engine)
    a, b = (
        campaign_agreement(engine, c, n_boot=50, actor_id=admin) for c in (with_reshow, plain)
    )
    report_a, report_b = a.report.to_dict(), b.report.to_dict()
    for key in ("pairwise_cohen_kappa", "pairwise_weighted_kappa"):
        for report in (report_a, report_b):
            for pair in report[key]:
                pair["rater_1"] = pair["rater_1"].split("-", 1)[1]
                pair["rater_2"] = pair["rater_2"].split("-", 1)[1]
    assert report_a == report_b
    consistency = a.raters["consistency_n"].sum(), b.raters["consistency_n"].sum()
    assert consistency == (1, 0)
