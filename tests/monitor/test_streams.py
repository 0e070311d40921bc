"""Ingest tokens (issue 16, point 3): made by admins, stored hashed, revocable. Both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.errors import NotFoundError, PermissionDeniedError
from monitor.streams import (
    create_token,
    list_streams,
    list_tokens,
    revoke_token,
    stream_for_token,
    stream_id_of,
)
from tests import factory


def test_a_new_token_opens_its_stream_and_names_it(engine) -> None:
    made = create_token(engine, "chatbot", actor_id=factory.admin_id(engine))
    assert stream_for_token(engine, made.token) == stream_id_of(engine, "chatbot")
    assert made.token.startswith(made.prefix)


def test_the_raw_token_is_never_stored(engine) -> None:
    made = create_token(engine, "chatbot", actor_id=factory.admin_id(engine))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT token_hash, prefix FROM ingest_tokens")).all()
    stored = " ".join(str(v) for row in rows for v in row)
    assert made.token not in stored
    assert len(rows[0][0]) == 64


def test_a_second_token_joins_the_existing_stream(engine) -> None:
    admin = factory.admin_id(engine)
    a = create_token(engine, "chatbot", actor_id=admin)
    b = create_token(engine, "chatbot", actor_id=admin)
    assert a.token != b.token
    assert [s.active_tokens for s in list_streams(engine)] == [2]


def test_an_unknown_or_malformed_token_finds_no_stream(engine) -> None:
    create_token(engine, "chatbot", actor_id=factory.admin_id(engine))
    assert stream_for_token(engine, "jbi_not-a-real-token") is None
    assert stream_for_token(engine, "") is None


def test_a_revoked_token_stops_working(engine) -> None:
    admin = factory.admin_id(engine)
    made = create_token(engine, "chatbot", actor_id=admin)
    info = revoke_token(engine, made.id, actor_id=admin)
    assert info.revoked_at is not None
    assert stream_for_token(engine, made.token) is None
    assert list_tokens(engine, actor_id=admin)[0].revoked_at is not None


def test_revoking_an_unknown_token_names_the_list_command(engine) -> None:
    with pytest.raises(NotFoundError, match="ingest token list"):
        revoke_token(engine, 99, actor_id=factory.admin_id(engine))


def test_a_rater_cannot_create_a_token_and_nothing_is_written(engine) -> None:
    with factory.session(engine) as s:
        rater = factory.user(s).id
        s.commit()
    with pytest.raises(PermissionDeniedError):
        create_token(engine, "chatbot", actor_id=rater)
    assert factory.table_counts(engine)["streams"] == 0
    assert factory.table_counts(engine)["ingest_tokens"] == 0


def test_a_rater_cannot_revoke_or_list_tokens(engine) -> None:
    made = create_token(engine, "chatbot", actor_id=factory.admin_id(engine))
    with factory.session(engine) as s:
        rater = factory.user(s).id
        s.commit()
    with pytest.raises(PermissionDeniedError):
        revoke_token(engine, made.id, actor_id=rater)
    with pytest.raises(PermissionDeniedError):
        list_tokens(engine, actor_id=rater)
    assert stream_for_token(engine, made.token) is not None
