"""Property-based fuzz of every importer, on SQLite and PostgreSQL.

Each example is a file of mostly valid rows with random mutations (wrong types, missing
fields, huge/negative/NaN numbers, odd unicode, nested objects, empty strings, duplicate ids,
extra fields). The property: the import is accepted and what was stored matches the result's
counts and the rows' texts, or it is refused with an ImportFileError naming the file, the line
(where the problem has one) and the field, and every table is exactly as it was.
"""

from __future__ import annotations

import itertools
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.errors import ImportFileError
from db.models import Campaign, Candidate, Output, Prompt, metadata
from ingest.outputs import import_outputs, load_questions
from ingest.votes import import_votes
from tests import factory

FUZZ = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=40,
    deadline=None,
    derandomize=True,
)

_names = itertools.count()

# ---- hostile values ------------------------------------------------------------------------

ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: written as the JSON escape "\ud800"
    "x\udfffy",
    "\u202e\u200b\ufeff",
    "😀" * 3,
    "line\nbreak\r\n",
    '"quoted, comma"',
    "x" * 201,
    "A>>B",
    "model_a",
    "tie (bothbad)",
    "NaN",
    "-1",
    "1e309",
]

scalar_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.sampled_from([0, -1, 2**31, 2**63, 10**201, 4_102_444_801, 1_700_000_000_000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=12),
)


def _nest(depth: int) -> Any:
    value: Any = "deep"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


hostile_values = st.one_of(
    scalar_values,
    st.lists(scalar_values, max_size=3),
    st.dictionaries(
        st.sampled_from(["role", "content", "x", "\x00k", ""]), scalar_values, max_size=3
    ),
    st.sampled_from([_nest(70), _nest(3), [{"role": "user"}], [{"content": "hi"}], [], {}]),
)

# A mutation: (kind, row index (mod the row count), key, value)
MUTATION_KINDS = ["set", "set", "set", "drop", "extra", "duplicate", "nested-key"]


def mutations(keys: list[str]) -> st.SearchStrategy[list[tuple[str, int, str, Any]]]:
    one = st.tuples(
        st.sampled_from(MUTATION_KINDS),
        st.integers(min_value=0, max_value=50),
        st.sampled_from(keys),
        hostile_values,
    )
    return st.lists(one, max_size=3)


def mutate(rows: list[dict[str, Any]], muts: list[tuple[str, int, str, Any]]) -> list[dict]:
    rows = [dict(r) for r in rows]
    for kind, i, key, value in muts:
        row = rows[i % len(rows)]
        if kind == "set":
            row[key] = value
        elif kind == "drop":
            row.pop(key, None)
        elif kind == "extra":
            row[f"extra_{key}"] = value
        elif kind == "duplicate":
            rows.append(dict(row))
        elif kind == "nested-key" and isinstance(row.get(key), list) and row[key]:
            inner = row[key][0]
            if isinstance(inner, dict):
                row[key] = [dict(inner, **{"content": value})] + row[key][1:]
            else:
                row[key] = [value] + row[key][1:]
        else:
            row[key] = value
    return rows


# ---- writing files -------------------------------------------------------------------------


def _json_bytes(value: Any) -> bytes:
    # ensure_ascii: lone surrogates become "\udxxx" escapes, NaN becomes the NaN literal
    return json.dumps(value).encode("ascii")


def _no_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_no_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    value = _no_surrogates(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def write_file(directory: Path, container: str, rows: list[dict[str, Any]]) -> Path:
    path = directory / f"fuzz{next(_names)}.{container}"
    if container == "jsonl":
        path.write_bytes(b"".join(_json_bytes(r) + b"\n" for r in rows))
    elif container == "json":
        path.write_bytes(b"[\n" + b",\n".join(_json_bytes(r) for r in rows) + b"\n]\n")
    elif container == "csv":
        factory.write_csv(path, [{k: _cell(v) for k, v in r.items()} for r in rows])
    elif container == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        clean = [_no_surrogates(r) for r in rows]
        columns = {}
        for key in dict.fromkeys(k for r in clean for k in r):
            values = [r.get(key) for r in clean]
            try:
                columns[key] = pa.array(values)
            except (pa.ArrowException, TypeError, OverflowError, ValueError):
                # a column of mixed types: store it as text, as a spreadsheet would
                columns[key] = pa.array([None if v is None else _cell(v) for v in values])
        try:
            pq.write_table(pa.table(columns), path)
        except pa.ArrowException:  # e.g. an empty struct: Parquet cannot hold it
            for key, array in columns.items():
                if pa.types.is_nested(array.type):
                    values = [r.get(key) for r in clean]
                    columns[key] = pa.array([None if v is None else _cell(v) for v in values])
            pq.write_table(pa.table(columns), path)
    else:  # pragma: no cover
        raise AssertionError(container)
    return path


# ---- the property --------------------------------------------------------------------------


def db_state(engine: Engine) -> dict[str, Any]:
    """Row counts of every table plus the highest id of each: a cheap digest of the database."""
    state: dict[str, Any] = dict(factory.table_counts(engine))
    with engine.connect() as conn:
        for name, table in metadata.tables.items():
            if "id" in table.c:
                state[f"{name}.max_id"] = conn.execute(select(func.max(table.c.id))).scalar_one()
    return state


def delta(before: dict[str, Any], after: dict[str, Any], table: str) -> int:
    return after[table] - before[table]


# refusals about the file as a whole, which have no line to name
FILE_LEVEL = (
    "is empty",
    "expected a JSON list",
    "no such campaign",
    "UTF-8",
    "unknown file type",
    "a questions file goes with MT-Bench or Arena-Hard answers",
    "is not a readable Parquet file",
)


def accepted_or_refused(
    engine: Engine, path: Path, run: Callable[[], Any]
) -> tuple[Any | None, dict, dict]:
    before = db_state(engine)
    try:
        result = run()
    except ImportFileError as err:
        message = str(err)
        assert path.name in err.path and path.name in message, message
        if err.line is not None:
            assert f"line {err.line}" in message or f"row {err.line}" in message, message
        else:
            assert any(phrase in message for phrase in FILE_LEVEL), (
                f"a refusal without a line must be about the file as a whole: {message}"
            )
        if err.field:
            assert f"'{err.field}'" in message, message
        after = db_state(engine)
        assert after == before, f"refused ({message}) but the database changed"
        event(f"refused: field {err.field}")
        return None, before, after
    event("accepted")
    return result, before, db_state(engine)


def stored_outputs(engine: Engine, campaign: str) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Prompt.external_id, Candidate.name, Output.content)
            .join(Output, Output.prompt_id == Prompt.id)
            .join(Candidate, Candidate.id == Output.candidate_id)
            .join(Campaign, Campaign.id == Prompt.campaign_id)
            .where(Campaign.name == campaign)
        ).all()
    return {(p, m): c for p, m, c in rows}


def _as_text(value: Any) -> str | None:
    """The text an importer stores for a text field, or None where that is not obvious."""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            return None
        return value.replace("\x00", "")
    return None


def _id_text(value: Any) -> str | None:
    """An id as stored: integers (and integral floats) as decimal text, strings stripped."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return str(value)
    text = _as_text(value)
    return None if text is None else text.strip()


def check_outputs_stored(
    engine: Engine,
    campaign: str,
    rows: list[dict],
    result: Any,
    before: dict,
    after: dict,
    id_key: str = "prompt_id",
    model_key: str = "model",
    text: Callable[[dict], Any] | None = None,
) -> None:
    assert delta(before, after, "outputs") == result.outputs_added
    assert delta(before, after, "prompts") == result.prompts_added
    assert delta(before, after, "candidates") == result.candidates_added
    assert result.outputs_added + result.outputs_existing >= 1
    stored = stored_outputs(engine, campaign)
    assert len(stored) == result.outputs_added + result.outputs_existing
    for row in rows:
        pid, model = _id_text(row.get(id_key)), _as_text(row.get(model_key))
        want = _as_text(text(row) if text else row.get("output"))
        if pid is None or model is None or want is None:
            continue
        assert stored[(pid, model.strip())] == want, (pid, model)


# ---- outputs: long form in every container -------------------------------------------------

LONG_KEYS = [
    "prompt_id",
    "prompt",
    "model",
    "output",
    "reference",
    "category",
    "split",
    "latency_ms",
    "cost_usd",
    "tokens",
    "metadata",
]


def long_rows() -> list[dict[str, Any]]:
    rows = factory.output_rows(2, ("m1", "m2"))
    rows[0] |= {
        "latency_ms": 12.5,
        "cost_usd": 0.01,
        "tokens": 7,
        "metadata": {"k": ["a", "v"], "n": 1},
    }
    rows[1] |= {
        "prompt": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Question 0?"},
        ]
    }
    rows[1]["prompt_id"] = "p9"
    rows[2] |= {"split": "test", "reference": "ref"}
    rows[3]["prompt_id"] = 3
    return rows


@pytest.mark.parametrize("container", ["jsonl", "json", "csv", "parquet"])
@FUZZ
@given(muts=mutations(LONG_KEYS))
def test_long_form_outputs_are_stored_exactly_or_refused_without_a_trace(
    engine: Engine, container: str, muts: list
) -> None:
    actor = factory.admin_id(engine)
    rows = mutate(long_rows(), muts)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(Path(tmp), container, rows)
        campaign = f"fuzz-outputs-{next(_names)}"
        result, before, after = accepted_or_refused(
            engine, path, lambda: import_outputs(engine, path, campaign, actor_id=actor)
        )
    if result is not None:
        assert result.rows_read == len(rows)
        if container in ("jsonl", "json"):
            check_outputs_stored(engine, campaign, rows, result, before, after)
        else:
            assert delta(before, after, "outputs") == result.outputs_added


# ---- outputs: AlpacaEval -------------------------------------------------------------------

ALPACA_KEYS = ["instruction", "output", "generator", "dataset"]


def alpaca_rows() -> list[dict[str, Any]]:
    return [
        {
            "instruction": f"Do {i}",
            "output": f"Done {i} by {g}",
            "generator": g,
            "dataset": "helpful_base",
        }
        for i in range(2)
        for g in ("gpt4", "mine")
    ]


@FUZZ
@given(muts=mutations(ALPACA_KEYS))
def test_alpacaeval_outputs_are_stored_exactly_or_refused_without_a_trace(
    engine: Engine, muts: list
) -> None:
    actor = factory.admin_id(engine)
    rows = mutate(alpaca_rows(), muts)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(Path(tmp), "json", rows)
        campaign = f"fuzz-alpaca-{next(_names)}"
        result, before, after = accepted_or_refused(
            engine, path, lambda: import_outputs(engine, path, campaign, actor_id=actor)
        )
    if result is not None:
        assert result.rows_read == len(rows)
        assert delta(before, after, "outputs") == result.outputs_added
        assert delta(before, after, "prompts") == result.prompts_added
        stored = {(m, c) for (_, m), c in stored_outputs(engine, campaign).items()}
        for row in rows:
            model, text = _as_text(row.get("generator")), _as_text(row.get("output"))
            if model is not None and text is not None:
                assert (model.strip(), text) in stored


# ---- outputs: MT-Bench / Arena-Hard answers, with and without a questions file ------------

ANSWER_KEYS = ["question_id", "model_id", "choices", "answer_id", "tstamp", "uid"]


def answer_rows(arena_hard: bool) -> list[dict[str, Any]]:
    def turns(q: int, m: str) -> list[Any]:
        texts = [f"{m} turn 1 of {q}", f"{m} turn 2 of {q}"]
        return [{"content": t, "token_len": 3} for t in texts] if arena_hard else texts

    return [
        {
            "question_id": q,
            "model_id": m,
            "answer_id": f"a{q}{m}",
            "tstamp": 1.7e9,
            "choices": [{"index": 0, "turns": turns(q, m)}],
        }
        for q in (81, 82)
        for m in ("vicuna", "llama")
    ]


def question_rows() -> list[dict[str, Any]]:
    return [
        {"question_id": 81, "category": "writing", "turns": ["Write a poem.", "Shorter."]},
        {"question_id": 82, "category": "math", "turns": ["2+2?", "And 3+3?"]},
    ]


def _last_turn(row: dict) -> Any:
    try:
        last = row["choices"][0]["turns"][-1]
    except (KeyError, IndexError, TypeError):
        return None
    return last.get("content") if isinstance(last, dict) else last


@pytest.mark.parametrize("with_questions", [False, True], ids=["stand-in", "questions"])
@pytest.mark.parametrize("arena_hard", [False, True], ids=["mt-bench", "arena-hard"])
@FUZZ
@given(muts=mutations(ANSWER_KEYS), qmuts=mutations(["question_id", "turns", "category", "prompt"]))
def test_model_answers_are_stored_exactly_or_refused_without_a_trace(
    engine: Engine, arena_hard: bool, with_questions: bool, muts: list, qmuts: list
) -> None:
    actor = factory.admin_id(engine)
    rows = mutate(answer_rows(arena_hard), muts)
    with tempfile.TemporaryDirectory() as tmp:
        questions = None
        if with_questions:
            qpath = write_file(Path(tmp), "jsonl", mutate(question_rows(), qmuts))
            try:
                questions = load_questions(qpath)
            except ImportFileError as err:
                assert qpath.name in str(err)
                assert err.line is None or f"line {err.line}" in str(err)
                return
        path = write_file(Path(tmp), "jsonl", rows)
        campaign = f"fuzz-answers-{next(_names)}"
        result, before, after = accepted_or_refused(
            engine,
            path,
            lambda: import_outputs(engine, path, campaign, actor_id=actor, questions=questions),
        )
    if result is not None:
        assert result.rows_read == len(rows)
        check_outputs_stored(
            engine,
            campaign,
            rows,
            result,
            before,
            after,
            id_key="question_id",
            model_key="model_id",
            text=_last_turn,
        )


# ---- votes: Chatbot Arena / MT-Bench judgments ---------------------------------------------

VOTE_KEYS = [
    "question_id",
    "prompt",
    "model_a",
    "model_b",
    "output_a",
    "output_b",
    "winner",
    "judge",
    "rater_kind",
    "turn",
    "position",
    "category",
    "rationale",
    "tstamp",
    "conversation_a",
    "conversation_b",
]


def arena_vote_rows() -> list[dict[str, Any]]:
    rows = factory.vote_rows(2, (("m1", "m2"), ("m2", "m3")), judge="author_0")
    rows[0] |= {"tstamp": 1_700_000_000, "rationale": "A is better", "category": "writing"}
    rows[1] |= {"winner": "tie (bothbad)", "rater_kind": "llm", "judge": "gpt-4"}
    rows.append(
        {
            "question_id": "c1",
            "model_a": "m1",
            "model_b": "m3",
            "winner": "model_b",
            "judge": ["alice", "bob"],
            "turn": 2,
            "conversation_a": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "More"},
                {"role": "assistant", "content": "More!"},
            ],
            "conversation_b": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hey"},
                {"role": "user", "content": "More"},
                {"role": "assistant", "content": "Sure."},
            ],
        }
    )
    return rows


@pytest.mark.parametrize("container", ["jsonl", "json"])
@FUZZ
@given(muts=mutations(VOTE_KEYS))
def test_arena_votes_are_stored_exactly_or_refused_without_a_trace(
    engine: Engine, container: str, muts: list
) -> None:
    actor = factory.admin_id(engine)
    rows = mutate(arena_vote_rows(), muts)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(Path(tmp), container, rows)
        campaign = f"fuzz-votes-{next(_names)}"
        result, before, after = accepted_or_refused(
            engine, path, lambda: import_votes(engine, path, campaign, actor_id=actor)
        )
    if result is not None:
        assert result.rows_read == len(rows)
        assert delta(before, after, "judgments") == result.judgments_added
        assert delta(before, after, "outputs") == result.outputs_added
        assert delta(before, after, "prompts") == result.prompts_added
        assert delta(before, after, "comparisons") == result.comparisons_added
        assert result.judgments_added + result.judgments_existing >= 1
        stored = set(stored_outputs(engine, campaign).values())
        for row in rows:
            for key in ("output_a", "output_b"):
                text = _as_text(row.get(key))
                if text is not None and "conversation_" + key[-1] not in row:
                    assert text in stored, (key, text)


# ---- votes: Arena-Hard-Auto judgment files -------------------------------------------------

GAME_KEYS = ["question_id", "model", "judge", "games", "baseline", "category", "tstamp", "uid"]


def arena_hard_rows() -> list[dict[str, Any]]:
    return [
        {
            "question_id": q,
            "model": "llama",
            "judge": "gpt-4-1106-preview",
            "category": "hard",
            "tstamp": 1_700_000_000,
            "games": [
                {"score": "A>B", "judgment": "A is better [[A>B]]", "user_prompt": "..."},
                {"score": "B>>A", "judgment": "B much better [[B>>A]]", "user_prompt": None},
            ],
        }
        for q in (81, 82)
    ]


def _game_mutation(rows: list[dict], i: int, value: Any) -> None:
    row = rows[i % len(rows)]
    games = row.get("games")
    if isinstance(games, list) and games and isinstance(games[0], dict):
        games[i % len(games)] = dict(games[i % len(games)], score=value)


@FUZZ
@given(
    muts=mutations(GAME_KEYS),
    score=st.one_of(
        st.none(), st.sampled_from(["A=B", "B<<A", "A>>>B", "a>b", "", "B=A"]), scalar_values
    ),
    where=st.integers(min_value=0, max_value=3),
)
def test_arena_hard_judgments_are_stored_exactly_or_refused_without_a_trace(
    engine: Engine, muts: list, score: Any, where: int
) -> None:
    actor = factory.admin_id(engine)
    campaign = f"fuzz-ah-{next(_names)}"
    with tempfile.TemporaryDirectory() as tmp:
        answers = write_file(
            Path(tmp),
            "jsonl",
            [r | {"model_id": m} for r in answer_rows(True)[::2] for m in ("gpt-4-0314", "llama")],
        )
        import_outputs(engine, answers, campaign, actor_id=actor)
        rows = mutate(arena_hard_rows(), muts)
        if where < 2:
            _game_mutation(rows, where, score)
        path = write_file(Path(tmp), "jsonl", rows)
        result, before, after = accepted_or_refused(
            engine,
            path,
            lambda: import_votes(engine, path, campaign, actor_id=actor, baseline="gpt-4-0314"),
        )
    if result is not None:
        assert result.rows_read == len(rows)
        assert delta(before, after, "judgments") == result.judgments_added
        assert delta(before, after, "outputs") == result.outputs_added
        assert result.judgments_added + result.judgments_existing >= 2


def test_fuzz_values_include_every_kind_of_hostile_input() -> None:
    """The strategies reach NUL, surrogates, NaN, huge numbers and deep nesting."""
    assert "\x00" in "".join(ODD_STRINGS) and "\ud800" in ODD_STRINGS
    assert _json_bytes("\ud800") == b'"\\ud800"'
    assert math.isnan(json.loads(_json_bytes(float("nan"))))
    assert json.dumps(_nest(70)).count("[") + json.dumps(_nest(70)).count("{") == 70
