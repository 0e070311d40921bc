"""Votes files as teams have them: scalar answers, bad rows, other texts, unknown order,
Arena-Hard judgments."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from db.errors import ImportFileError
from db.models import Campaign, Judge, Output, Prompt, User
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from metrics.agreement import cohen_kappa, pairwise_cohen_kappa
from results.votes import VoteFilter, votes_frame
from tests import factory
from tests.ingest.test_import_votes import _judgments

RATERS = ("ann", "bob", "cyd")
# The answers of a pairwise test set that stores some of them as JSON scalars.
ANSWERS = {
    0: (True, False),
    1: (42, 41),
    2: ("Paris", "Lyon"),
    3: (1.5, "one and a half"),
    4: ("yes", "no"),
    5: ("blue", "green"),
}
# Each rater's winner per question (A is model_a, shown first).
WINNERS = {
    "ann": ["model_a", "model_b", "model_a", "tie", "model_a", "model_b"],
    "bob": ["model_a", "model_b", "model_b", "tie", "model_a", "model_a"],
    "cyd": ["model_a", "tie", "model_a", "tie", "model_b", "model_b"],
}


def _scalar_votes() -> list[dict]:
    return [
        {
            "question_id": q,
            "prompt": f"Question {q}?",
            "model_a": "m1",
            "model_b": "m2",
            "output_a": ANSWERS[q][0],
            "output_b": ANSWERS[q][1],
            "winner": WINNERS[rater][q],
            "judge": rater,
        }
        for rater in RATERS
        for q in ANSWERS
    ]


def _kappa_by_hand(x: list[str], y: list[str]) -> float:
    n = len(x)
    observed = sum(a == b for a, b in zip(x, y, strict=True)) / n
    cx, cy = Counter(x), Counter(y)
    expected = sum(cx[k] * cy[k] for k in set(x) | set(y)) / n**2
    return (observed - expected) / (1 - expected)


def test_votes_whose_answers_are_numbers_and_booleans_import(engine, tmp_path: Path) -> None:
    path = factory.write_jsonl(tmp_path / "v.jsonl", _scalar_votes())

    result = import_votes(engine, path, "scalars", actor_id=factory.admin_id(engine))

    assert (result.judgments_added, result.outputs_added) == (18, 12)
    # 5 scalar answers, carried by each of the three raters' votes
    assert result.values_as_text == 15
    assert "15 values were numbers or booleans and were stored as text" in result.summary()
    with factory.session(engine) as s:
        texts = set(s.exec(select(Output.content)))
    assert {"true", "false", "42", "41", "1.5", "one and a half"} <= texts


def test_human_agreement_on_scalar_answers_matches_a_computation_by_hand(
    engine, tmp_path: Path
) -> None:
    path = factory.write_jsonl(tmp_path / "v.jsonl", _scalar_votes())
    import_votes(engine, path, "scalars", actor_id=factory.admin_id(engine))
    with factory.session(engine) as s:
        campaign_id = s.exec(select(Campaign.id).where(Campaign.name == "scalars")).one()
        names = {f"u:{u.id}": u.handle for u in s.exec(select(User))}

    frame = votes_frame(engine, VoteFilter(campaign_id=campaign_id, rater_kind="human"))
    frame["rater"] = frame["rater"].map(names)
    wide = frame.pivot(index="comparison_id", columns="rater", values="preference")
    long = frame.rename(columns={"comparison_id": "unit"}).assign(
        value=np.sign(frame["preference"])
    )[["unit", "rater", "value"]]
    pairwise = pairwise_cohen_kappa(long).kappa

    for i, r1 in enumerate(RATERS):
        for r2 in RATERS[i + 1 :]:
            expected = _kappa_by_hand(WINNERS[r1], WINNERS[r2])
            assert cohen_kappa(wide[r1], wide[r2]) == pytest.approx(expected, abs=1e-12)
            assert pairwise.loc[r1, r2] == pytest.approx(expected, abs=1e-12)


def test_human_agreement_does_not_depend_on_which_answer_the_file_lists_first(
    engine, tmp_path: Path
) -> None:
    swapped = []
    for vote in _scalar_votes():
        flip = {"model_a": "model_b", "model_b": "model_a"}
        swapped.append(
            vote
            | {
                "model_a": vote["model_b"],
                "model_b": vote["model_a"],
                "output_a": vote["output_b"],
                "output_b": vote["output_a"],
                "winner": flip.get(vote["winner"], vote["winner"]),
            }
        )
    admin = factory.admin_id(engine)
    kappas = []
    for name, votes in (("as listed", _scalar_votes()), ("swapped", swapped)):
        import_votes(
            engine, factory.write_jsonl(tmp_path / f"{name}.jsonl", votes), name, actor_id=admin
        )
        with factory.session(engine) as s:
            campaign_id = s.exec(select(Campaign.id).where(Campaign.name == name)).one()
        frame = votes_frame(engine, VoteFilter(campaign_id=campaign_id, rater_kind="human"))
        long = frame.rename(columns={"comparison_id": "unit"}).assign(
            value=np.sign(frame["preference"])
        )[["unit", "rater", "value"]]
        kappas.append(pairwise_cohen_kappa(long).kappa.to_numpy())
    np.testing.assert_allclose(kappas[0], kappas[1], atol=1e-12)


JUDGE_WINNERS = ["model_a", "model_b", "model_b", "tie", "model_a", "model_a"]
_CODE = {"model_a": "a", "model_b": "b", "tie": "tie"}
_FLIP = {"a": "b", "b": "a", "tie": "tie"}


def _both_ways(codes: list[str]) -> list[str]:
    """Each comparison counted as stored and flipped: the orientation-free coding."""
    return codes + [_FLIP[c] for c in codes]


def _vote_pair_agreement(left: list[list[str]], right: list[list[str]], ties: bool) -> float:
    """MT-Bench per-vote agreement: every (left vote, right vote) pair on one comparison."""
    hits = total = 0
    for xs, ys in zip(left, right, strict=True):
        for i, x in enumerate(xs):
            for j, y in enumerate(ys):
                if xs is ys and j <= i:
                    continue
                if not ties and "tie" in (x, y):
                    continue
                hits += x == y
                total += 1
    return hits / total


def test_agreement_and_calibration_on_scalar_answers_match_a_computation_by_hand(
    engine, tmp_path: Path
) -> None:
    from results.reports import campaign_agreement, campaign_calibration

    judge_rows = [
        vote | {"judge": "gpt-judge", "rater_kind": "llm"}
        | {"winner": JUDGE_WINNERS[vote["question_id"]]}
        for vote in _scalar_votes()[: len(ANSWERS)]
    ]
    path = factory.write_jsonl(tmp_path / "v.jsonl", _scalar_votes() + judge_rows)
    admin = factory.admin_id(engine)
    import_votes(engine, path, "scalars", actor_id=admin)
    with factory.session(engine) as s:
        campaign_id = s.exec(select(Campaign.id).where(Campaign.name == "scalars")).one()

    agreement = campaign_agreement(engine, campaign_id, n_boot=50, actor_id=admin).to_dict()
    humans = {r: [_CODE[w] for w in WINNERS[r]] for r in RATERS}
    kappas = {(p["rater_1"], p["rater_2"]): p["kappa"] for p in agreement["pairwise_cohen_kappa"]}
    for i, r1 in enumerate(RATERS):
        for r2 in RATERS[i + 1 :]:
            expected = _kappa_by_hand(_both_ways(humans[r1]), _both_ways(humans[r2]))
            assert kappas[(r1, r2)] == pytest.approx(expected, abs=1e-12)
    per_item = [[humans[r][q] for r in RATERS] for q in ANSWERS]
    for setup, ties in (("S1", True), ("S2", False)):
        expected = _vote_pair_agreement(per_item, per_item, ties)
        assert agreement["human_human"][setup]["agreement"] == pytest.approx(expected, abs=1e-12)

    judge = campaign_calibration(engine, campaign_id, n_boot=50, actor_id=admin).judges[0]
    verdicts = [_CODE[w] for w in JUDGE_WINNERS]
    majority = [Counter(votes).most_common(1)[0][0] for votes in per_item]
    for votes in per_item:  # every comparison has a strict majority
        top = Counter(votes).most_common()
        assert len(top) == 1 or top[0][1] > top[1][1]
    assert judge.n == len(ANSWERS)
    hits = [v == m for v, m in zip(verdicts, majority, strict=True)]
    assert judge.agreement == pytest.approx(np.mean(hits), abs=1e-12)
    expected_kappa = _kappa_by_hand(_both_ways(verdicts), _both_ways(majority))
    assert judge.cohen_kappa == pytest.approx(expected_kappa, abs=1e-12)
    as_lists = [[v] for v in verdicts]
    assert judge.s1 == pytest.approx(_vote_pair_agreement(as_lists, per_item, True), abs=1e-12)
    assert judge.s2 == pytest.approx(_vote_pair_agreement(as_lists, per_item, False), abs=1e-12)


def _bad_votes(tmp_path: Path) -> Path:
    votes = factory.vote_rows(3)
    votes.append({**votes[0], "model_b": "m1", "output_b": "m1 says 0"})  # line 4
    votes.append({**votes[1], "winner": "model_c"})  # line 5
    votes.append({**votes[2], "model_a": "m2", "model_b": "m2"})  # line 6
    return factory.write_jsonl(tmp_path / "v.jsonl", votes)


def test_by_default_a_bad_vote_rejects_the_whole_file(engine, tmp_path: Path) -> None:
    factory.admin_id(engine)
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as info:
        import_votes(engine, _bad_votes(tmp_path), "arena", actor_id=factory.admin_id(engine))
    assert (info.value.line, info.value.field) == (4, "model_b")
    assert "3 problems found; nothing was imported" in str(info.value)
    assert factory.table_counts(engine) == before


def test_skip_invalid_imports_the_good_votes_and_names_self_pairs(engine, tmp_path: Path) -> None:
    result = import_votes(
        engine,
        _bad_votes(tmp_path),
        "arena",
        actor_id=factory.admin_id(engine),
        skip_invalid=True,
    )

    assert (result.judgments_added, result.rows_rejected) == (3, 3)
    summary = result.summary()
    assert "3 invalid rows were skipped" in summary
    assert "Rows pairing a model with itself: m1 (1), m2 (1)." in summary
    rejected = [
        json.loads(line) for line in (tmp_path / "v.jsonl.rejects.jsonl").read_text().splitlines()
    ]
    assert [(r["line"], r["field"]) for r in rejected] == [
        (4, "model_b"),
        (5, "winner"),
        (6, "model_b"),
    ]
    assert rejected[1]["row"]["winner"] == "model_c"
    assert "same model as model_a ('m1')" in rejected[0]["reason"]


def _stored_outputs(engine, tmp_path: Path) -> None:
    import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "o.jsonl", factory.output_rows(2)),
        "arena",
        actor_id=factory.admin_id(engine),
    )


def test_a_vote_whose_answer_differs_from_the_stored_output_is_an_error(
    engine, tmp_path: Path
) -> None:
    _stored_outputs(engine, tmp_path)
    votes = [
        {
            "prompt_id": "p1",
            "model_a": "m1",
            "model_b": "m2",
            "output_a": "m1 says 1",
            "output_b": "a different answer",
            "winner": "model_b",
            "judge": "ann",
        }
    ]
    path = factory.write_jsonl(tmp_path / "v.jsonl", votes)
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as info:
        import_votes(engine, path, "arena", actor_id=factory.admin_id(engine))
    assert (info.value.line, info.value.field) == (1, "output_b")
    assert "differs from the output already stored for model 'm2' and prompt 'p1'" in str(
        info.value
    )
    assert factory.table_counts(engine) == before

    lenient = import_votes(
        engine, path, "arena", actor_id=factory.admin_id(engine), skip_invalid=True
    )
    assert (lenient.judgments_added, lenient.rows_rejected) == (0, 1)


def test_a_vote_whose_prompt_differs_from_the_stored_prompt_is_an_error(
    engine, tmp_path: Path
) -> None:
    _stored_outputs(engine, tmp_path)
    vote = {
        "prompt_id": "p0",
        "prompt": "Some other question?",
        "model_a": "m1",
        "model_b": "m2",
        "winner": "tie",
        "judge": "ann",
    }
    path = factory.write_jsonl(tmp_path / "v.jsonl", [vote])
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as info:
        import_votes(engine, path, "arena", actor_id=factory.admin_id(engine))
    assert (info.value.line, info.value.field) == (1, "prompt")
    assert "differs from the prompt already stored for 'p0'" in str(info.value)
    assert factory.table_counts(engine) == before


def test_two_votes_giving_one_model_two_answers_is_an_error(engine, tmp_path: Path) -> None:
    votes = factory.vote_rows(1)
    votes.append({**votes[0], "output_a": "m1 changed its mind", "judge": "bob"})
    with pytest.raises(ImportFileError) as info:
        import_votes(
            engine,
            factory.write_jsonl(tmp_path / "v.jsonl", votes),
            "arena",
            actor_id=factory.admin_id(engine),
        )
    assert (info.value.line, info.value.field) == (2, "output_a")
    assert "differs from the answer of model 'm1' to '0' on line 1" in str(info.value)


def test_votes_without_answers_for_a_missing_campaign_say_so_once(engine, tmp_path: Path) -> None:
    votes = [
        {k: v for k, v in vote.items() if k not in ("output_a", "output_b")}
        for vote in factory.vote_rows(5, (("m1", "m2"), ("m2", "m3")))
    ]
    factory.admin_id(engine)
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as info:
        import_votes(
            engine,
            factory.write_jsonl(tmp_path / "v.jsonl", votes),
            "typo",
            actor_id=factory.admin_id(engine),
            skip_invalid=True,
        )
    message = str(info.value)
    assert message.count("no such campaign 'typo'") == 1
    assert "import its outputs first" in message and "m3" not in message
    assert factory.table_counts(engine) == before


def test_a_vote_with_unknown_position_is_stored_with_unknown_shown_order(
    engine, tmp_path: Path
) -> None:
    votes = factory.vote_rows(2)
    votes[1] |= {"position": "unknown", "model_a": "m2", "model_b": "m1", "winner": "model_a"}
    votes[1] |= {"output_a": votes[1]["output_b"], "output_b": votes[1]["output_a"]}
    votes.append({**votes[1], "winner": "model_b"})  # the same rater again: a revision

    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "v.jsonl", votes),
        "arena",
        actor_id=factory.admin_id(engine),
    )

    assert (result.unknown_order, result.revisions) == (2, 1)
    assert "2 votes do not say which answer was shown first" in result.summary()
    got = [
        (j.shown_order, j.preference if a == "m1" else -j.preference, j.version, j.is_current)
        for j, _, a, _ in _judgments(engine)
    ]
    # Preferences toward m2: negative = m1 better.
    assert got == [("ab", -1, 1, True), ("unknown", 1, 1, False), ("unknown", -1, 2, True)]


def test_a_position_other_than_unknown_is_an_error(engine, tmp_path: Path) -> None:
    vote = factory.vote_rows(1)[0] | {"position": "left"}
    with pytest.raises(ImportFileError) as info:
        import_votes(
            engine,
            factory.write_jsonl(tmp_path / "v.jsonl", [vote]),
            "arena",
            actor_id=factory.admin_id(engine),
        )
    assert (info.value.line, info.value.field) == (1, "position")


def test_a_vote_with_the_text_of_a_stand_in_prompt_fills_it_in(engine, tmp_path: Path) -> None:
    vote = factory.vote_rows(1)[0]
    bare = {k: v for k, v in vote.items() if k != "prompt"}
    admin = factory.admin_id(engine)
    import_votes(engine, factory.write_jsonl(tmp_path / "a.jsonl", [bare]), "mt", actor_id=admin)
    import_votes(engine, factory.write_jsonl(tmp_path / "b.jsonl", [vote]), "mt", actor_id=admin)
    with factory.session(engine) as s:
        prompt = s.exec(select(Prompt)).one()
    assert prompt.messages == [{"role": "user", "content": "Question 0?"}]


# ---- Arena-Hard judgment files ----------------------------------------------------------------


def _answers(engine, tmp_path: Path, models: tuple[str, ...]) -> None:
    rows = [
        {"prompt_id": q, "prompt": f"Question {q}?", "model": m, "output": f"{m} on {q}"}
        for q in ("q1", "q2")
        for m in models
    ]
    import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "answers.jsonl", rows),
        "ah",
        actor_id=factory.admin_id(engine),
    )


def _judgment_row(qid: str, model: str, first: str | None, second: str | None) -> dict:
    return {
        "question_id": qid,
        "model": model,
        "judge": "gpt-4-1106-preview",
        "games": [
            {"user_prompt": "...", "judgment": f"verdict [[{first}]]", "score": first},
            {"user_prompt": "...", "judgment": f"verdict [[{second}]]", "score": second},
        ],
    }


@pytest.mark.parametrize("baseline_first", [True, False])
def test_arena_hard_judgments_are_two_swapped_verdicts_with_strength(
    engine, tmp_path: Path, baseline_first: bool
) -> None:
    # Which model's output is stored first decides the canonical A; the verdicts must not.
    _answers(engine, tmp_path, ("base", "cand") if baseline_first else ("cand", "base"))
    rows = [_judgment_row("q1", "cand", "A>>B", "A=B"), _judgment_row("q2", "cand", "B>A", "A>B")]

    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "cand.jsonl", rows),
        "ah",
        actor_id=factory.admin_id(engine),
        baseline="base",
    )

    assert (result.judgments_added, result.judge_raters_added) == (4, 1)
    with factory.session(engine) as s:
        judge = s.exec(select(Judge).where(Judge.imported)).one()
    assert judge.name == "gpt-4-1106-preview"
    # Preference relative to the baseline: negative = baseline better.
    got = []
    for j, _, a, b in _judgments(engine):
        toward_base = j.preference if a == "base" else -j.preference
        first_shown = a if j.shown_order == "ab" else b
        got.append((first_shown, toward_base, j.raw_reply))
    assert got == [
        ("base", -2, "verdict [[A>>B]]"),  # q1 game 1: baseline (A) much better
        ("cand", 0, "verdict [[A=B]]"),
        ("base", 1, "verdict [[B>A]]"),  # q2 game 1: candidate (B) better
        ("cand", 1, "verdict [[A>B]]"),  # q2 game 2: candidate (A) better
    ]
    assert all(j.judge_id == judge.id and j.rater_kind == "llm" for j, *_ in _judgments(engine))


def test_arena_hard_judge_name_can_be_given(engine, tmp_path: Path) -> None:
    _answers(engine, tmp_path, ("base", "cand"))
    rows = [_judgment_row("q1", "cand", "A>B", "B>A")]
    import_votes(
        engine,
        factory.write_jsonl(tmp_path / "j.jsonl", rows),
        "ah",
        actor_id=factory.admin_id(engine),
        baseline="base",
        judge="my-judge",
    )
    with factory.session(engine) as s:
        assert s.exec(select(Judge.name).where(Judge.imported)).one() == "my-judge"


def test_arena_hard_judgments_need_the_baseline(engine, tmp_path: Path) -> None:
    _answers(engine, tmp_path, ("base", "cand"))
    with pytest.raises(ImportFileError, match="--baseline"):
        import_votes(
            engine,
            factory.write_jsonl(tmp_path / "j.jsonl", [_judgment_row("q1", "cand", "A>B", "A>B")]),
            "ah",
            actor_id=factory.admin_id(engine),
        )


def test_an_arena_hard_game_without_a_verdict_is_an_error_or_a_rejected_row(
    engine, tmp_path: Path
) -> None:
    _answers(engine, tmp_path, ("base", "cand"))
    rows = [_judgment_row("q1", "cand", "A>B", None), _judgment_row("q2", "cand", "A>B", "A>B")]
    rows.append(_judgment_row("q2", "base", "A=B", "A=B"))
    path = factory.write_jsonl(tmp_path / "j.jsonl", rows)
    before = factory.table_counts(engine)
    with pytest.raises(ImportFileError) as info:
        import_votes(engine, path, "ah", actor_id=factory.admin_id(engine), baseline="base")
    assert (info.value.line, info.value.field) == (1, "games[1].score")
    assert factory.table_counts(engine) == before

    result = import_votes(
        engine, path, "ah", actor_id=factory.admin_id(engine), baseline="base", skip_invalid=True
    )
    assert (result.judgments_added, result.rows_rejected) == (2, 2)
    assert "Rows pairing a model with itself: base (1)." in result.summary()


def test_arena_hard_judgments_before_their_answers_name_the_missing_output(
    engine, tmp_path: Path
) -> None:
    _answers(engine, tmp_path, ("base",))
    with pytest.raises(ImportFileError) as info:
        import_votes(
            engine,
            factory.write_jsonl(tmp_path / "j.jsonl", [_judgment_row("q1", "cand", "A>B", "A>B")]),
            "ah",
            actor_id=factory.admin_id(engine),
            baseline="base",
        )
    assert info.value.line == 1
    assert "no output of model 'cand' for prompt 'q1'" in str(info.value)


def test_conversation_turns_that_are_numbers_are_stored_as_text(engine, tmp_path: Path) -> None:
    def conv(answer: object) -> list[dict]:
        return [{"role": "user", "content": 6}, {"role": "assistant", "content": answer}]

    vote = {
        "question_id": 1,
        "model_a": "m1",
        "model_b": "m2",
        "conversation_a": conv(42),
        "conversation_b": conv(False),
        "winner": "model_a",
        "judge": "ann",
    }
    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "v.jsonl", [vote]),
        "conv",
        actor_id=factory.admin_id(engine),
    )
    assert result.values_as_text == 4
    with factory.session(engine) as s:
        assert set(s.exec(select(Output.content))) == {"42", "false"}
        assert s.exec(select(Prompt.messages)).one() == [{"role": "user", "content": "6"}]


def test_a_later_vote_with_prompt_text_fills_in_a_stand_in_from_an_earlier_batch(
    engine, tmp_path: Path, monkeypatch
) -> None:
    from ingest import votes as importer

    monkeypatch.setattr(importer, "BATCH_VOTES", 1)
    first, second = factory.vote_rows(1) + factory.vote_rows(1, judge="bob")
    del first["prompt"]
    import_votes(
        engine,
        factory.write_jsonl(tmp_path / "v.jsonl", [first, second]),
        "mt",
        actor_id=factory.admin_id(engine),
    )
    with factory.session(engine) as s:
        assert s.exec(select(Prompt.messages)).one() == [{"role": "user", "content": "Question 0?"}]


def test_a_rejected_vote_leaves_neither_its_answers_nor_its_rater_behind(
    engine, tmp_path: Path
) -> None:
    _stored_outputs(engine, tmp_path)
    vote = {
        "prompt_id": "p0",
        "model_a": "m3",
        "model_b": "m2",
        "output_a": "a new answer by m3",
        "output_b": "not what m2 said",
        "winner": "model_a",
        "judge": "zed",
    }
    before = factory.table_counts(engine)
    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "v.jsonl", [vote]),
        "arena",
        actor_id=factory.admin_id(engine),
        skip_invalid=True,
    )
    assert result.rows_rejected == 1
    after = factory.table_counts(engine)
    assert (after["outputs"], after["judgments"], after["users"]) == (
        before["outputs"],
        before["judgments"],
        before["users"],
    )
