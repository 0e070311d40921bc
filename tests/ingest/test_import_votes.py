from __future__ import annotations

import hashlib
from pathlib import Path

from sqlmodel import select

from db.models import Candidate, Comparison, Judge, Judgment, Output, Prompt, User
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from tests import factory


def _judgments(engine) -> list[tuple[Judgment, Comparison, str, str]]:
    """Every judgment with its comparison and the model names of outputs A and B."""
    with factory.session(engine) as s:
        names = dict(
            s.exec(select(Output.id, Candidate.name).join(Candidate)).all()  # type: ignore[arg-type]
        )
        rows = s.exec(
            select(Judgment, Comparison)
            .join(Comparison, Comparison.id == Judgment.comparison_id)
            .order_by(Judgment.id)
        ).all()
        return [(j, c, names[c.output_a_id], names[c.output_b_id]) for j, c in rows]


def test_votes_with_outputs_and_human_raters(engine, tmp_path: Path) -> None:
    votes = factory.vote_rows(n_questions=2, judge="author_0", category="writing")
    votes += factory.vote_rows(n_questions=1, judge="author_1", winner="tie")
    path = factory.write_jsonl(tmp_path / "votes.jsonl", votes)

    result = import_votes(engine, path, "arena", actor_id=factory.admin_id(engine))

    assert (result.rows_read, result.judgments_added, result.comparisons_added) == (3, 3, 2)
    assert (result.human_raters_added, result.judge_raters_added, result.raters_added) == (2, 0, 2)
    assert (result.prompts_added, result.candidates_added, result.outputs_added) == (2, 2, 4)
    assert "3 votes" in result.summary()
    with factory.session(engine) as s:
        users = {u.handle: u for u in s.exec(select(User).where(User.role != "admin"))}
        prompt = s.exec(select(Prompt).where(Prompt.external_id == "0")).one()
    assert set(users) == {"author_0", "author_1"}
    assert all(u.imported and u.role == "rater" for u in users.values())
    assert prompt.messages == [{"role": "user", "content": "Question 0?"}]
    assert prompt.category == "writing"
    stored = _judgments(engine)
    j, comp, a, b = stored[0]
    # m1's output was created first, so it is output A and model_a was shown first.
    assert (a, b, j.shown_order, j.preference, j.both_bad) == ("m1", "m2", "ab", -1, False)
    assert (j.rater_key, j.user_id, j.judge_id) == (f"u:{users['author_0'].id}", j.user_id, None)
    assert (j.rater_kind, j.source, j.version, j.is_current) == ("human", "import", 1, True)
    tie, tie_comp = stored[2][0], stored[2][1]
    assert (tie.preference, tie.rater_key) == (0, f"u:{users['author_1'].id}")
    assert tie_comp.id == comp.id and tie_comp.n_done == 2
    assert stored[1][1].n_done == 1


def test_all_winner_values_in_both_shown_orders(engine, tmp_path: Path) -> None:
    # Outputs exist already with m1 before m2, so m1's output is canonical A.
    import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "o.jsonl", factory.output_rows(8)),
        "arena",
        actor_id=factory.admin_id(engine),
    )
    winners = ["model_a", "model_b", "tie", "tie (bothbad)"]
    votes = []
    for q in range(8):
        a, b = ("m1", "m2") if q < 4 else ("m2", "m1")
        votes.append(
            {
                "prompt_id": f"p{q}",
                "model_a": a,
                "model_b": b,
                "winner": winners[q % 4],
                "judge": "r1",
            }
        )
    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "v.jsonl", votes),
        "arena",
        actor_id=factory.admin_id(engine),
    )

    assert (result.judgments_added, result.outputs_added, result.prompts_added) == (8, 0, 0)
    got = [(j.shown_order, j.preference, j.both_bad) for j, *_ in _judgments(engine)]
    assert got == [
        ("ab", -1, False),
        ("ab", 1, False),
        ("ab", 0, False),
        ("ab", 0, True),
        ("ba", 1, False),
        ("ba", -1, False),
        ("ba", 0, False),
        ("ba", 0, True),
    ]
    assert all(a == "m1" and b == "m2" for _, _, a, b in _judgments(engine))


def test_conversations_multi_turn_and_llm_judges(engine, tmp_path: Path) -> None:
    def conv(model: str) -> list[dict[str, str]]:
        return [
            {"role": "user", "content": "Plan a trip."},
            {"role": "assistant", "content": f"{model} plan"},
            {"role": "user", "content": "Make it shorter."},
            {"role": "assistant", "content": f"{model} short plan"},
        ]

    votes = [
        {
            "question_id": 81,
            "model_a": "gpt-4",
            "model_b": "llama-13b",
            "winner": "model_b",
            "judge": ["gpt-4", "pair-v2"],
            "rater_kind": "llm",
            "turn": 2,
            "conversation_a": conv("gpt-4"),
            "conversation_b": conv("llama-13b"),
        },
        {
            "question_id": 81,
            "model_a": "llama-13b",
            "model_b": "gpt-4",
            "winner": "model_b",
            "judge": "expert_3",
            "turn": 2,
            "tstamp": 1700000000,
            "conversation_a": conv("llama-13b"),
            "conversation_b": conv("gpt-4"),
        },
    ]
    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "mt.jsonl", votes),
        "mt",
        actor_id=factory.admin_id(engine),
    )

    assert (result.judge_raters_added, result.human_raters_added, result.comparisons_added) == (
        1,
        1,
        1,
    )
    with factory.session(engine) as s:
        prompt = s.exec(select(Prompt)).one()
        judge = s.exec(select(Judge)).one()
        outputs = {o.content: o for o in s.exec(select(Output))}
    assert prompt.external_id == "81#turn2"
    assert prompt.messages == [
        {"role": "user", "content": "Plan a trip."},
        {"role": "user", "content": "Make it shorter."},
    ]
    assert outputs["gpt-4 short plan"].turns == ["gpt-4 plan", "gpt-4 short plan"]
    assert (judge.name, judge.model, judge.provider, judge.imported) == (
        "gpt-4/pair-v2",
        "gpt-4/pair-v2",
        "imported",
        True,
    )
    assert judge.content_hash == hashlib.sha256(b"imported:gpt-4/pair-v2").hexdigest()
    (llm, comp, a, b), (human, _, _, _) = _judgments(engine)
    assert (a, b) == ("gpt-4", "llama-13b")
    assert (llm.rater_key, llm.judge_id, llm.user_id, llm.rater_kind) == (
        f"j:{judge.id}",
        judge.id,
        None,
        "llm",
    )
    assert (llm.shown_order, llm.preference) == ("ab", 1)
    assert (human.shown_order, human.preference) == ("ba", -1)
    assert human.created_at.year == 2023
    assert comp.n_done == 1  # only the human vote counts


def test_import_twice_changes_nothing(engine, tmp_path: Path) -> None:
    votes = factory.vote_rows(3, (("m1", "m2"), ("m2", "m3")))
    votes += factory.vote_rows(1, judge="gpt-j", rater_kind="llm")
    path = factory.write_jsonl(tmp_path / "v.jsonl", votes)
    import_votes(engine, path, "arena", actor_id=factory.admin_id(engine))
    factory.admin_id(engine)  # the acting admin exists before counting
    before = factory.table_counts(engine)

    again = import_votes(engine, path, "arena", actor_id=factory.admin_id(engine))

    assert factory.table_counts(engine) == before
    assert (again.judgments_added, again.judgments_existing) == (0, 7)
    assert (again.raters_added, again.comparisons_added, again.outputs_added) == (0, 0, 0)


def test_a_second_vote_by_the_same_rater_is_a_revision(engine, tmp_path: Path) -> None:
    votes = factory.vote_rows(1) + factory.vote_rows(1, winner="model_b")
    path = factory.write_jsonl(tmp_path / "v.jsonl", votes)

    result = import_votes(engine, path, "arena", actor_id=factory.admin_id(engine))

    assert (result.judgments_added, result.revisions) == (2, 1)
    (first, comp, _, _), (second, _, _, _) = _judgments(engine)
    assert (first.version, first.is_current, first.preference) == (1, False, -1)
    assert (second.version, second.is_current, second.preference) == (2, True, 1)
    assert comp.n_done == 1
    factory.admin_id(engine)  # the acting admin exists before counting
    before = factory.table_counts(engine)
    import_votes(engine, path, "arena", actor_id=factory.admin_id(engine))
    assert factory.table_counts(engine) == before


def test_votes_reuse_existing_raters_and_judges(engine, tmp_path: Path) -> None:
    with factory.session(engine) as s:
        factory.user(s, "author_0")
        factory.judge(s, name="gpt-j", model="gpt-j")  # a configured judge with that name
        s.commit()
    votes = factory.vote_rows(1) + factory.vote_rows(1, judge="gpt-j", rater_kind="llm")
    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "v.jsonl", votes),
        "arena",
        actor_id=factory.admin_id(engine),
    )
    assert (result.human_raters_added, result.judge_raters_added) == (0, 1)
    with factory.session(engine) as s:
        imported = s.exec(select(Judge).where(Judge.imported)).one()
    assert (imported.name, imported.version) == ("gpt-j", 2)


def test_a_vote_without_prompt_text_gets_a_placeholder_prompt(engine, tmp_path: Path) -> None:
    vote = factory.vote_rows(1)[0]
    del vote["prompt"]
    vote |= {"question_id": 95, "turn": 2}
    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "v.jsonl", [vote]),
        "mt",
        actor_id=factory.admin_id(engine),
    )
    assert (result.prompts_added, result.outputs_added) == (1, 2)
    with factory.session(engine) as s:
        prompt = s.exec(select(Prompt)).one()
    assert prompt.external_id == "95#turn2"
    assert prompt.messages == [
        {"role": "user", "content": "(question 95, turn 1)"},
        {"role": "user", "content": "(question 95, turn 2)"},
    ]
