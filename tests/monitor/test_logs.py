"""GenAI events sent as OTLP log records (POST /v1/logs) give interactions their messages,
whether they arrive before or after the span (issue 16, points 1 and 2). Both databases."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from sqlmodel import Session, select
from starlette.testclient import TestClient

from db.models import Interaction, SpanMessages
from monitor.genai import event_from_log_record
from monitor.receiver import create_app
from monitor.streams import create_token
from tests import factory
from tests.monitor import spans

PB = {"Content-Type": "application/x-protobuf"}
EXPECTED_INPUT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is 2+2?"},
]


@pytest.fixture
def token(engine) -> str:
    return create_token(engine, "chatbot", actor_id=factory.admin_id(engine)).token


def _post(client, path, body, token, **headers):
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(path, content=body, headers={**PB, **auth, **headers})


def _bare_span(n: int = 1):
    return spans.span(spans.genai_attrs(), n=n)


def _rows(engine) -> list[Interaction]:
    with Session(engine) as s:
        return list(s.exec(select(Interaction).order_by(Interaction.span_id)))


def _waiting(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(SpanMessages.id)).all())


def test_details_event_with_structured_attributes_is_read() -> None:
    name, attrs = event_from_log_record(spans.details_record())
    assert name == "gen_ai.client.inference.operation.details"
    assert attrs["gen_ai.input.messages"][1]["parts"][0]["content"] == "What is 2+2?"


def test_message_event_content_comes_from_the_body() -> None:
    record = spans.log_record(1, "gen_ai.user.message", body={"content": "Hi"})
    assert event_from_log_record(record) == ("gen_ai.user.message", {"content": "Hi"})


def test_older_sdks_name_the_event_in_an_attribute() -> None:
    record = spans.log_record(1, "", {"event.name": "gen_ai.choice"}, body={"index": 0})
    assert event_from_log_record(record)[0] == "gen_ai.choice"


def test_a_log_record_that_is_not_a_genai_event_is_none() -> None:
    assert event_from_log_record(spans.log_record(1, "", {"log.level": "info"}, "hi")) is None


def test_events_before_the_span_reach_its_interaction(engine, token) -> None:
    client = TestClient(create_app(engine, prices={}))
    logs = spans.logs_request([spans.details_record(1)]).SerializeToString()
    assert _post(client, "/v1/logs", logs, token).status_code == 200
    assert _waiting(engine) == 1
    traces = spans.protobuf_body([_bare_span(1)])
    assert _post(client, "/v1/traces", traces, token).status_code == 200
    [row] = _rows(engine)
    assert row.messages == EXPECTED_INPUT and row.output == "4"
    assert _waiting(engine) == 0


def test_events_after_the_span_fill_in_its_messages(engine, token) -> None:
    client = TestClient(create_app(engine, prices={}))
    _post(client, "/v1/traces", spans.protobuf_body([_bare_span(1)]), token)
    assert _rows(engine)[0].messages is None
    records = [
        spans.log_record(1, "gen_ai.system.message", body={"content": "Be brief."}),
        spans.log_record(1, "gen_ai.user.message", body={"content": "What is 2+2?"}),
        spans.log_record(
            1,
            "gen_ai.choice",
            body={"index": 0, "finish_reason": "stop", "message": {"content": "4"}},
        ),
    ]
    logs = spans.logs_request(records).SerializeToString()
    assert _post(client, "/v1/logs", logs, token).status_code == 200
    [row] = _rows(engine)
    assert row.messages == EXPECTED_INPUT and row.output == "4"
    assert _waiting(engine) == 0


def test_events_only_touch_their_own_stream(engine, token) -> None:
    other = create_token(engine, "other", actor_id=factory.admin_id(engine)).token
    client = TestClient(create_app(engine, prices={}))
    _post(client, "/v1/traces", spans.protobuf_body([_bare_span(1)]), token)
    logs = spans.logs_request([spans.details_record(1)]).SerializeToString()
    _post(client, "/v1/logs", logs, other)
    assert _rows(engine)[0].messages is None
    assert _waiting(engine) == 1


def test_other_log_records_are_dropped_and_counted(engine, token) -> None:
    client = TestClient(create_app(engine, prices={}))
    records = [spans.details_record(1), spans.log_record(2, "", {"log.level": "info"}, "hello")]
    r = _post(client, "/v1/logs", spans.logs_request(records).SerializeToString(), token)
    answer = ExportLogsServiceResponse.FromString(r.content)
    assert r.status_code == 200
    assert answer.partial_success.rejected_log_records == 1
    assert _waiting(engine) == 1
    assert client.get("/health").json()["log_records_dropped"] == 1


def test_logs_without_a_token_are_401_and_nothing_is_kept(engine, token) -> None:
    client = TestClient(create_app(engine, prices={}))
    logs = spans.logs_request([spans.details_record(1)]).SerializeToString()
    assert _post(client, "/v1/logs", logs, None).status_code == 401
    assert _waiting(engine) == 0


def test_otlp_json_logs_with_hex_ids(engine, token) -> None:
    from google.protobuf import json_format

    doc = json_format.MessageToDict(spans.logs_request([spans.details_record(3)]))
    record = doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    record["traceId"], record["spanId"] = f"{3:032x}", f"{3:016x}"
    client = TestClient(create_app(engine, prices={}))
    r = _post(
        client, "/v1/logs", json.dumps(doc).encode(), token, **{"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    _post(client, "/v1/traces", spans.protobuf_body([_bare_span(3)]), token)
    assert _rows(engine)[0].output == "4"


def test_malformed_logs_are_400(engine, token) -> None:
    client = TestClient(create_app(engine, prices={}))
    assert _post(client, "/v1/logs", b"\xff\xff garbage", token).status_code == 400
    assert _waiting(engine) == 0


def test_messages_whose_span_never_came_are_dropped_after_two_days(engine, token) -> None:
    from datetime import timedelta

    from db.models import utcnow
    from monitor.store import write_span_messages
    from monitor.streams import stream_id_of

    stream_id = stream_id_of(engine, "chatbot")
    row = {"trace_id": f"{1:032x}", "span_id": f"{1:016x}", "messages": None, "output": "x"}
    write_span_messages(engine, stream_id, [row], received_at=utcnow() - timedelta(days=3))
    assert _waiting(engine) == 1
    write_span_messages(engine, stream_id, [{**row, "span_id": f"{2:016x}"}])
    with Session(engine) as s:
        assert s.exec(select(SpanMessages.span_id)).all() == [f"{2:016x}"]
