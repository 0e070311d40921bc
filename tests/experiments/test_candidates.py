"""Candidate configs (issue 15, point 2): immutable, content-hashed versions; what a config
sends for a prompt; the seeded, stratified sample of a split."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from db.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from experiments.candidates import get_candidate, list_candidates, save_candidate
from experiments.sampling import allocate, stratified_sample
from judges.candidates import CandidateSpec
from judges.providers import build_messages_request
from tests import factory

SPEC = CandidateSpec(provider="openai", model="fake-gen", base_url="http://127.0.0.1:9/v1")


def test_saving_a_config_makes_version_1_and_the_same_content_returns_it(engine) -> None:
    admin = factory.admin_id(engine)
    first, created = save_candidate(engine, "bot", SPEC, actor_id=admin)
    again, created_again = save_candidate(
        engine, "bot", CandidateSpec("OpenAI", " fake-gen ", "http://127.0.0.1:9/v1/"),
        actor_id=admin,
    )  # fmt: skip
    assert (first.version, created) == (1, True)
    assert (again.id, created_again) == (first.id, False)
    assert len(first.content_hash) == 64


def test_editing_a_config_makes_the_next_version_and_keeps_the_old_one(engine) -> None:
    admin = factory.admin_id(engine)
    v1, _ = save_candidate(engine, "bot", SPEC, actor_id=admin)
    edited = CandidateSpec(**{**SPEC.__dict__, "system": "Be brief.", "params": {"seed": 1}})
    v2, created = save_candidate(engine, "bot", edited, actor_id=admin)
    assert created and v2.version == 2 and v2.content_hash != v1.content_hash
    assert (v2.system_prompt, v2.params) == ("Be brief.", {"seed": 1})
    assert get_candidate(engine, "bot").id == v2.id
    assert get_candidate(engine, "bot@v1").id == v1.id
    assert get_candidate(engine, "bot@1").model == "fake-gen"
    listed = list_candidates(engine, actor_id=admin)
    assert [(c.name, c.version) for c in listed] == [("bot", 2)]
    assert len(list_candidates(engine, actor_id=admin, all_versions=True)) == 2


def test_the_hash_covers_every_field_that_changes_the_request() -> None:
    base = SPEC.content_hash()
    changes = [
        {"model": "other"},
        {"provider": "anthropic"},
        {"base_url": "http://127.0.0.1:10/v1"},
        {"api_key_env": "MY_KEY"},
        {"system": "Be brief."},
        {"template": "Answer: {prompt}"},
        {"params": {"temperature": 0.5}},
    ]
    hashes = {CandidateSpec(**{**SPEC.__dict__, **c}).content_hash() for c in changes}
    assert base not in hashes and len(hashes) == len(changes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"provider": "bard"}, "is not one of openai, anthropic"),
        ({"model": " "}, "needs a model name"),
        ({"template": "Answer {question}"}, "Unknown placeholder '{question}'"),
        ({"template": "No placeholder at all"}, "must use {prompt}"),
        ({"params": {"temprature": 1}}, "Unknown candidate parameter 'temprature'"),
        ({"api_key_env": "sk-abcdefabcdefabcdefabcdef"}, "not the key itself"),
    ],
)
def test_a_bad_config_is_refused_with_the_fix(change, message) -> None:
    with pytest.raises(InvalidInputError, match=message):
        CandidateSpec(**{**SPEC.__dict__, **change}).normalized()


def test_an_unknown_candidate_names_the_known_ones(engine) -> None:
    save_candidate(engine, "bot", SPEC, actor_id=factory.admin_id(engine))
    with pytest.raises(NotFoundError, match="Known candidates: bot"):
        get_candidate(engine, "nobody")
    with pytest.raises(NotFoundError, match="No candidate config 'bot@v7'"):
        get_candidate(engine, "bot@v7")


def test_a_rater_cannot_save_or_list_candidate_configs(engine) -> None:
    with factory.session(engine) as s:
        rater = factory.user(s).id
        s.commit()
    before = factory.table_counts(engine)
    with pytest.raises(PermissionDeniedError):
        save_candidate(engine, "bot", SPEC, actor_id=rater)
    with pytest.raises(PermissionDeniedError):
        list_candidates(engine, actor_id=rater)
    assert factory.table_counts(engine) == before


CONVERSATION = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "What is 2+2?"},
]


def test_without_a_template_the_conversation_is_sent_as_it_is() -> None:
    spec = CandidateSpec(**{**SPEC.__dict__, "system": "Be brief."}).normalized()
    sent = spec.messages_for(CONVERSATION, "math", "p1")
    body = json.loads(build_messages_request(spec, sent, None, spec.system).body)
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, *CONVERSATION]


def test_a_template_reshapes_the_last_user_turn_and_keeps_the_earlier_ones() -> None:
    template = "[{category}/{id}] Answer in one word: {prompt} {{literal}}"
    spec = CandidateSpec(**{**SPEC.__dict__, "template": template}).normalized()
    sent = spec.messages_for(CONVERSATION, "math", "p1")
    assert sent[:2] == CONVERSATION[:2]
    assert sent[2] == {
        "role": "user",
        "content": "[math/p1] Answer in one word: What is 2+2? {literal}",
    }
    whole = CandidateSpec(**{**SPEC.__dict__, "template": "Transcript:\n{messages}"})
    assert whole.normalized().messages_for(CONVERSATION, None, "p1") == [
        {
            "role": "user",
            "content": "Transcript:\nUser: Hi\n\nAssistant: Hello!\n\nUser: What is 2+2?",
        }
    ]


def test_anthropic_gets_system_turns_in_its_system_field() -> None:
    spec = CandidateSpec("anthropic", "claude-x", "http://127.0.0.1:9", system="Be brief.")
    spec = spec.normalized()
    messages = [{"role": "system", "content": "You are a bot."}, *CONVERSATION]
    body = json.loads(build_messages_request(spec, messages, None, spec.system).body)
    assert body["system"] == "Be brief.\n\nYou are a bot."
    assert body["messages"] == CONVERSATION


ITEMS = [(f"p{i:03d}", "math" if i < 60 else "writing" if i < 90 else "code") for i in range(100)]


def _sample(items, n: int, seed: int):
    return stratified_sample(items, n, seed, item_id=lambda x: x[0], stratum=lambda x: x[1])


def test_a_sample_is_the_same_for_the_same_seed_whatever_the_order() -> None:
    first = _sample(ITEMS, 20, seed=7)
    shuffled = list(reversed(ITEMS))
    assert sorted(_sample(shuffled, 20, seed=7)) == sorted(first)
    assert _sample(ITEMS, 20, seed=8) != first
    assert first == sorted(first)  # in the order given


def test_a_sample_keeps_each_category_in_proportion() -> None:
    counts = Counter(cat for _id, cat in _sample(ITEMS, 20, seed=3))
    assert counts == {"math": 12, "writing": 6, "code": 2}


def test_a_small_category_still_gets_one_when_the_sample_allows() -> None:
    assert allocate({"big": 98, "a": 1, "b": 1}, 3) == {"big": 1, "a": 1, "b": 1}
    assert allocate({"big": 98, "a": 1, "b": 1}, 10) == {"big": 8, "a": 1, "b": 1}
    assert sum(allocate({"x": 5, "y": 3, "z": 2}, 7).values()) == 7


def test_a_sample_as_large_as_the_split_is_the_whole_split() -> None:
    assert _sample(ITEMS, 500, seed=1) == ITEMS
    with pytest.raises(InvalidInputError, match="at least 1"):
        _sample(ITEMS, 0, seed=1)
