"""The calibration report straight from the database (SQL aggregation) against the reference
(every vote pulled into a frame, then metrics.calibration), and its orientation invariance."""

from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import select

from db.errors import InvalidInputError
from db.models import Candidate, Comparison, Judge, Judgment, Output
from metrics.calibration import calibration_report
from results.reports import campaign_calibration
from results.votes import VoteFilter, votes_frame
from tests import factory


def _judge(s, name: str, model: str) -> Judge:
    found = s.exec(select(Judge).where(Judge.name == name)).first()
    return found or factory.judge(s, name, model=model)


def _candidate(s, name: str) -> Candidate:
    found = s.exec(select(Candidate).where(Candidate.name == name)).first()
    if found is None:
        found = Candidate(name=name)
        s.add(found)
        s.flush()
    return found


def _seed(engine, flipped: frozenset[int] = frozenset(), seed: int = 0, name: str = "c1") -> int:
    """Six prompts x three models, all pairs; 1-4 humans per comparison, judge "ab-ba" in both
    orders, judge "combined" with some verdicts of unknown order; a re-show and a superseded
    revision that must not count. The outputs of the prompts whose index is in ``flipped`` are
    created in the other model order, so their comparisons store the other model as A, with
    every vote recoded to match: the same votes, stored the other way round."""
    rng = np.random.default_rng(seed)
    models = ("m1", "m2", "m3")
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, name, n_prompts=6, models=(), pairs=False)
        candidates = [_candidate(s, m) for m in models]
        raters = factory.raters(s, 4, prefix=name)
        judges = [_judge(s, "ab-ba", "gpt-x"), _judge(s, "combined", "gpt-y")]
        lengths = {m: [int(rng.integers(1, 40)) for _ in range(6)] for m in models}
        for k, prompt in enumerate(data["prompts"]):
            outputs = {}
            for m, cand in sorted(zip(models, candidates, strict=True), reverse=k in flipped):
                outputs[m] = Output(
                    prompt_id=prompt.id, candidate_id=cand.id, content="x" * lengths[m][k]
                )
                s.add(outputs[m])
                s.flush()
            for i, x in enumerate(models):
                for y in models[i + 1 :]:
                    flip = k in flipped
                    a, b = (outputs[y], outputs[x]) if flip else (outputs[x], outputs[y])
                    comp = Comparison(
                        campaign_id=data["campaign"].id,
                        prompt_id=prompt.id,
                        output_a_id=a.id,
                        output_b_id=b.id,
                    )
                    s.add(comp)
                    s.flush()
                    _votes(s, comp, raters, judges, rng, flip)
        s.commit()
        return data["campaign"].id


def _votes(s, comp: Comparison, raters, judges, rng, flip: bool) -> None:
    sign = -1 if flip else 1
    swap = {"ab": "ba", "ba": "ab", "unknown": "unknown"}

    def order(o: str) -> str:
        return swap[o] if flip else o

    lean = int(rng.choice([-1, 0, 1]))
    for rater in raters[: int(rng.integers(1, 5))]:
        pref = lean if rng.random() < 0.6 else int(rng.choice([-2, -1, 0, 1, 2]))
        bad = bool(rng.random() < 0.1)
        shown = "ab" if rng.random() < 0.5 else "ba"
        factory.human_judgment(
            s, comp, rater, None if bad else sign * pref, both_bad=bad, shown_order=order(shown)
        )
    if rng.random() < 0.3:
        factory.human_judgment(
            s, comp, raters[0], sign * 2, shown_order=order("ba"), is_reshow=True, version=2
        )
    for shown in ("ab", "ba"):
        pref = lean if rng.random() < 0.7 else int(rng.choice([-1, 0, 1]))
        factory.judge_judgment(s, comp, judges[0], sign * pref, order(shown))
    old = factory.judge_judgment(s, comp, judges[1], sign * 2, order("ab"))
    old.is_current = False
    s.add(old)
    shown_orders = ("unknown",) if rng.random() < 0.5 else ("ab", "ba")
    for shown in shown_orders:
        row = Judgment(
            campaign_id=comp.campaign_id,
            comparison_id=comp.id,
            rater_key=f"j:{judges[1].id}",
            rater_kind="llm",
            judge_id=judges[1].id,
            shown_order=order(shown),
            preference=sign * int(rng.choice([-1, 0, 1])),
            version=2,
        )
        s.add(row)
    s.flush()


def _close(x, y, path=""):
    if isinstance(x, dict):
        assert x.keys() == y.keys(), path
        for k in x:
            _close(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        assert len(x) == len(y), path
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            _close(u, v, f"{path}[{i}]")
    elif isinstance(x, float) and y is not None:
        assert x == pytest.approx(y, abs=1e-9, rel=0), path
    else:
        assert x == y, path


def test_database_report_equals_the_reference_on_every_vote(engine):
    campaign_id = _seed(engine)
    admin = factory.admin_id(engine)
    ours = campaign_calibration(engine, campaign_id, actor_id=admin, n_boot=200)
    reference = calibration_report(votes_frame(engine, VoteFilter(campaign_id)), n_boot=200)
    assert [j.judge for j in ours.judges] == ["ab-ba@v1", "combined@v1"]
    assert ours.judge("combined@v1").unknown_order_n > 0
    assert ours.judge("ab-ba@v1").position_n == 18
    _close(ours.to_dict(), reference.to_dict())


def test_database_report_with_a_category_and_unscored_equals_the_reference(engine):
    campaign_id = _seed(engine, seed=3)
    admin = factory.admin_id(engine)
    ours = campaign_calibration(
        engine,
        campaign_id,
        actor_id=admin,
        category="coding",
        inconsistent_as="unscored",
        n_boot=50,
    )
    votes = votes_frame(engine, VoteFilter(campaign_id, category="coding"))
    reference = calibration_report(votes, "drop", n_boot=50)
    assert set(ours.judges[0].by_category) == {"coding"}
    assert ours.inconsistent_as == "unscored"
    _close(ours.to_dict() | {"inconsistent_as": "drop"}, reference.to_dict())


def test_drop_still_means_unscored(engine):
    campaign_id = _seed(engine, seed=3)
    admin = factory.admin_id(engine)
    old, new = (
        campaign_calibration(engine, campaign_id, actor_id=admin, inconsistent_as=v, n_boot=0)
        for v in ("drop", "unscored")
    )
    assert old.to_dict() == new.to_dict()


def test_database_report_is_unchanged_when_comparisons_are_stored_the_other_way_round(
    engine,
):
    plain = _seed(engine, seed=7)
    flipped = _seed(engine, flipped=frozenset({0, 3, 4}), seed=7, name="c2")
    admin = factory.admin_id(engine)
    d0 = campaign_calibration(engine, plain, actor_id=admin, n_boot=200).to_dict()
    d1 = campaign_calibration(engine, flipped, actor_id=admin, n_boot=200).to_dict()
    for d in (d0, d1):
        for j in d["judges"]:
            # Reported as stored (a <-> b relabelled when flipped); ids differ per campaign.
            del j["confusion"], j["disagreements"]
            for fig in j["by_category"].values():
                del fig["confusion"]
    _close(d0, d1)


def test_bad_inconsistent_as_names_the_choices(engine):
    campaign_id = _seed(engine)
    with pytest.raises(InvalidInputError, match="use tie or unscored"):
        campaign_calibration(
            engine, campaign_id, actor_id=factory.admin_id(engine), inconsistent_as="both"
        )


def test_outputs_count_lengths_in_characters(engine):
    campaign_id = _seed(engine)
    with factory.session(engine) as s:
        out = s.get(Output, 1)
        out.content = "é" * 7
        s.add(out)
        s.commit()
    ours = campaign_calibration(engine, campaign_id, actor_id=factory.admin_id(engine), n_boot=0)
    votes = votes_frame(engine, VoteFilter(campaign_id))
    reference = calibration_report(votes, n_boot=0)
    _close(ours.to_dict(), reference.to_dict())


def test_many_judges_each_keep_their_own_verdicts(engine):
    """More judges than fit in one packed column, each with its own pattern of orders."""
    rng = np.random.default_rng(11)
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, "many", n_prompts=3, models=("m1", "m2", "m3"))
        raters = factory.raters(s, 3)
        judges = [factory.judge(s, f"judge-{k}", model=f"model-{k}") for k in range(12)]
        for comp in data["comparisons"]:
            for rater in raters:
                factory.human_judgment(s, comp, rater, int(rng.choice([-1, 0, 1])))
            for judge in judges:
                for shown in ("ab", "ba", "unknown"):
                    if rng.random() < 0.6:
                        pref = int(rng.choice([-2, -1, 0, 1, 2]))
                        factory.judge_judgment(s, comp, judge, pref, shown_order=shown)
        s.commit()
        campaign_id = data["campaign"].id
    ours = campaign_calibration(engine, campaign_id, actor_id=factory.admin_id(engine), n_boot=20)
    reference = calibration_report(votes_frame(engine, VoteFilter(campaign_id)), n_boot=20)
    assert len(ours.judges) == 12
    _close(ours.to_dict(), reference.to_dict())


def test_counts_too_large_for_their_packed_cells_are_summed_one_by_one(engine, monkeypatch):
    from results import calibration_queries

    campaign_id = _seed(engine, seed=5)
    admin = factory.admin_id(engine)
    packed = campaign_calibration(engine, campaign_id, actor_id=admin, n_boot=50).to_dict()
    # One bit per cell: any comparison with two votes in one (order, winner) cell overflows.
    monkeypatch.setattr(calibration_queries, "CELL_BITS", 1)
    # Two votes in cell 0 carry into cell 1: the cells no longer add up to the row count.
    assert calibration_queries._human_cells([(1, 0b10, 2)]) is None
    assert calibration_queries._human_cells([(1, 0b11, 2)]) is not None
    one_by_one = campaign_calibration(engine, campaign_id, actor_id=admin, n_boot=50).to_dict()
    reference = calibration_report(votes_frame(engine, VoteFilter(campaign_id)), n_boot=50)
    _close(one_by_one, reference.to_dict())
    _close(packed, one_by_one)
