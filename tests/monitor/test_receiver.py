"""The OTLP/HTTP receiver (issue 16, points 1 and 3) through Starlette's TestClient, on both
databases: tokens, limits, encodings, idempotency, non-GenAI spans."""

from __future__ import annotations

import gzip
import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from sqlmodel import Session, select
from starlette.testclient import TestClient

from db.models import Interaction
from monitor.otlp import Limits
from monitor.receiver import create_app
from monitor.streams import create_token, revoke_token
from tests import factory
from tests.monitor import spans

PB = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def admin(engine) -> int:
    return factory.admin_id(engine)


@pytest.fixture
def token(engine, admin) -> str:
    return create_token(engine, "chatbot", actor_id=admin).token


def _client(engine, **limits) -> TestClient:
    return TestClient(create_app(engine, limits=Limits(**limits) if limits else None, prices={}))


def _post(client, body, token, **headers):
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/v1/traces", content=body, headers={**PB, **auth, **headers})


def _rows(engine) -> list[Interaction]:
    with Session(engine) as s:
        return list(s.exec(select(Interaction).order_by(Interaction.span_id)))


def test_protobuf_spans_become_interactions(engine, token) -> None:
    body = spans.protobuf_body([spans.semconv_span(1), spans.semconv_span(2)])
    r = _post(_client(engine), body, token)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    rows = _rows(engine)
    assert [row.span_id for row in rows] == [f"{1:016x}", f"{2:016x}"]
    assert rows[0].model == "gpt-4o-mini" and rows[0].input_tokens == 12
    assert rows[0].version_tags == {"service.name": "chatbot", "service.version": "1.4.2"}
    assert rows[0].messages[1] == {"role": "user", "content": "What is 2+2?"}


def test_json_body_with_hex_ids(engine, token) -> None:
    body = spans.json_body([spans.semconv_span(3)])
    r = _post(_client(engine), body, token, **{"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    [row] = _rows(engine)
    assert (row.trace_id, row.span_id) == (f"{3:032x}", f"{3:016x}")
    assert row.output == "4"


def test_gzip_body(engine, token) -> None:
    body = gzip.compress(spans.protobuf_body([spans.semconv_span(1)]))
    r = _post(_client(engine), body, token, **{"Content-Encoding": "gzip"})
    assert r.status_code == 200
    assert len(_rows(engine)) == 1


def test_resending_a_batch_stores_it_once(engine, token) -> None:
    client = _client(engine)
    body = spans.protobuf_body([spans.semconv_span(1), spans.semconv_span(2)])
    assert _post(client, body, token).status_code == 200
    assert _post(client, body, token).status_code == 200
    assert len(_rows(engine)) == 2


def test_non_genai_spans_are_dropped_and_counted(engine, token) -> None:
    client = _client(engine)
    body = spans.protobuf_body([spans.semconv_span(1), spans.plain_span(5), spans.plain_span(6)])
    r = _post(client, body, token)
    answer = ExportTraceServiceResponse.FromString(r.content)
    assert r.status_code == 200
    assert answer.partial_success.rejected_spans == 2
    assert "not GenAI" in answer.partial_success.error_message
    assert len(_rows(engine)) == 1
    assert client.get("/health").json()["spans_dropped"] == 2


@pytest.mark.parametrize("auth", [None, "jbi_wrong", "Basic abc"])
def test_no_or_invalid_token_is_401_and_writes_nothing(engine, token, auth) -> None:
    client = _client(engine)
    headers = {
        **PB,
        **({"Authorization": auth if " " in auth else f"Bearer {auth}"} if auth else {}),
    }
    r = client.post(
        "/v1/traces", content=spans.protobuf_body([spans.semconv_span()]), headers=headers
    )
    assert r.status_code == 401
    assert "ingest token create" in r.text
    assert _rows(engine) == []


def test_a_revoked_token_is_401(engine, admin) -> None:
    made = create_token(engine, "chatbot", actor_id=admin)
    revoke_token(engine, made.id, actor_id=admin)
    r = _post(_client(engine), spans.protobuf_body([spans.semconv_span()]), made.token)
    assert r.status_code == 401
    assert _rows(engine) == []


def test_tokens_route_spans_to_their_own_stream(engine, admin) -> None:
    a = create_token(engine, "alpha", actor_id=admin).token
    b = create_token(engine, "beta", actor_id=admin).token
    client = _client(engine)
    _post(client, spans.protobuf_body([spans.semconv_span(1)]), a)
    _post(client, spans.protobuf_body([spans.semconv_span(1)]), b)
    assert sorted(r.stream_id for r in _rows(engine)) == [1, 2]


def test_a_body_over_the_limit_is_413(engine, token) -> None:
    body = spans.protobuf_body([spans.semconv_span(n) for n in range(1, 20)])
    r = _post(_client(engine, max_body_bytes=1000), body, token)
    assert r.status_code == 413
    assert "--max-body-bytes" in r.text
    assert _rows(engine) == []


def test_a_gzip_bomb_is_413(engine, token) -> None:
    body = gzip.compress(b"\0" * 200_000)
    r = _post(_client(engine, max_body_bytes=50_000), body, token, **{"Content-Encoding": "gzip"})
    assert r.status_code == 413


def test_an_attribute_over_the_limit_is_400_and_the_batch_is_not_written(engine, token) -> None:
    big = spans.semconv_span(2, **{"gen_ai.prompt": "x" * 5000})
    body = spans.protobuf_body([spans.semconv_span(1), big])
    r = _post(_client(engine, max_attribute_bytes=1000), body, token)
    assert r.status_code == 400
    assert "gen_ai.prompt" in r.text and "--max-attribute-bytes" in r.text
    assert _rows(engine) == []


def test_malformed_protobuf_is_400_and_the_receiver_keeps_serving(engine, token) -> None:
    client = _client(engine)
    r = _post(client, b"\xff\xff\xff\xff not protobuf", token)
    assert r.status_code == 400
    assert _post(client, spans.protobuf_body([spans.semconv_span()]), token).status_code == 200
    assert len(_rows(engine)) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
    ],
)
def test_malformed_json_is_400(engine, token, body) -> None:
    r = _post(_client(engine), body, token, **{"Content-Type": "application/json"})
    assert r.status_code == 400
    assert _rows(engine) == []


def test_an_unknown_content_type_is_415(engine, token) -> None:
    r = _post(_client(engine), b"hello", token, **{"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert "application/x-protobuf" in r.text


def test_health_answers_without_a_token(engine) -> None:
    r = _client(engine).get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_a_span_without_a_trace_id_is_dropped_and_counted(engine, token) -> None:
    broken = spans.semconv_span(9)
    broken.trace_id = b""
    r = _post(_client(engine), spans.protobuf_body([broken, spans.semconv_span(1)]), token)
    answer = ExportTraceServiceResponse.FromString(r.content)
    assert answer.partial_success.rejected_spans == 1
    assert "trace id" in answer.partial_success.error_message
    assert len(_rows(engine)) == 1


def test_otlp_json_with_string_ints_enum_numbers_and_empty_parent(engine, token) -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.version", "value": {"stringValue": "9"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "x"},
                        "spans": [
                            {
                                "traceId": "5B8EFFF798038103D269B633813FC60C",
                                "spanId": "EEE19B7EC3C1B174",
                                "parentSpanId": "",
                                "name": "chat m",
                                "kind": 3,
                                "startTimeUnixNano": "1796000000000000000",
                                "endTimeUnixNano": "1796000000500000000",
                                "attributes": [
                                    {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
                                    {
                                        "key": "gen_ai.usage.input_tokens",
                                        "value": {"intValue": "7"},
                                    },
                                ],
                                "someFutureField": True,
                            }
                        ],
                    }
                ],
            }
        ]
    }
    r = _post(
        _client(engine), json.dumps(body).encode(), token, **{"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    [row] = _rows(engine)
    assert row.trace_id == "5b8efff798038103d269b633813fc60c"
    assert (row.input_tokens, row.latency_ms, row.version_tags) == (
        7,
        500.0,
        {"service.version": "9"},
    )


def test_deeply_nested_json_is_400(engine, token) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    r = _post(_client(engine), body, token, **{"Content-Type": "application/json"})
    assert r.status_code == 400


def test_the_worker_factory_takes_database_and_limits_from_the_environment(
    sqlite_engine, monkeypatch
) -> None:
    from db.engine import dispose_engines
    from monitor.receiver import MAX_BODY_ENV, app_from_env

    monkeypatch.setenv("JUDGEBOARD_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv(MAX_BODY_ENV, "2000")
    token = create_token(sqlite_engine, "env", actor_id=factory.admin_id(sqlite_engine)).token
    try:
        client = TestClient(app_from_env())
        big = spans.protobuf_body([spans.semconv_span(n) for n in range(1, 20)])
        assert _post(client, big, token).status_code == 413
        assert _post(client, spans.protobuf_body([spans.semconv_span()]), token).status_code == 200
    finally:
        dispose_engines()
    assert len(_rows(sqlite_engine)) == 1


def test_a_span_without_messages_stores_sql_null(engine, token) -> None:
    bare = spans.span(spans.genai_attrs(), n=4)
    assert _post(_client(engine), spans.protobuf_body([bare]), token).status_code == 200
    with Session(engine) as s:
        missing = s.exec(select(Interaction.id).where(Interaction.messages.is_(None))).all()
    assert len(missing) == 1
