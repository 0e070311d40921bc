"""Streams of production traffic and the ingest tokens that let clients write into them.

A token is 32 random bytes from ``secrets`` (URL-safe, prefixed ``jbi_``), shown once when
it is made; only its sha256 is stored, with its first characters for display. A token names
its stream, so the receiver needs nothing else to know where spans go.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.access import require_admin
from db.engine import write_session
from db.errors import InvalidInputError, NotFoundError
from db.models import IngestToken, Interaction, Stream, User, utcnow

TOKEN_PREFIX = "jbi_"
DISPLAY_CHARS = 12
MAX_STREAM_NAME = 200


@dataclass(frozen=True)
class NewToken:
    id: int
    stream: str
    token: str
    prefix: str


@dataclass(frozen=True)
class TokenInfo:
    id: int
    stream: str
    prefix: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class StreamInfo:
    id: int
    name: str
    interactions: int
    active_tokens: int
    created_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInputError("A stream needs a name: pass --stream NAME, e.g. --stream chatbot.")
    if len(name) > MAX_STREAM_NAME:
        raise InvalidInputError(
            f"Stream name is {len(name)} characters: use at most {MAX_STREAM_NAME}."
        )
    return name


def _stream(session: Session, name: str) -> Stream | None:
    return session.exec(select(Stream).where(Stream.name == name)).first()


def _ensure(s: Session, name: str, actor_id: int) -> Stream:
    row = _stream(s, name)
    if row is None:
        row = Stream(name=name, created_by=actor_id)
        s.add(row)
        s.flush()
    return row


def ensure_stream(engine: Engine, stream: str, *, actor_id: int) -> int:
    """The id of ``stream``, made if it does not exist yet; admins only."""
    name = _clean_name(stream)
    with write_session(engine) as s:
        require_admin(s, actor_id)
        row = _ensure(s, name, actor_id)
        s.commit()
        return row.id


def create_token(engine: Engine, stream: str, *, actor_id: int) -> NewToken:
    """A new ingest token for ``stream`` (made if it does not exist yet); admins only.

    The returned ``token`` is the only time the raw value exists outside the client.
    """
    name = _clean_name(stream)
    with write_session(engine) as s:
        require_admin(s, actor_id)
        row = _ensure(s, name, actor_id)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = IngestToken(
            stream_id=row.id,
            token_hash=token_hash(token),
            prefix=token[:DISPLAY_CHARS],
            created_by=actor_id,
        )
        s.add(record)
        s.commit()
        return NewToken(id=record.id, stream=name, token=token, prefix=record.prefix)


def list_tokens(engine: Engine, *, actor_id: int, stream: str | None = None) -> list[TokenInfo]:
    """Every ingest token (or one stream's), newest first, without secrets; admins only."""
    with Session(engine) as s:
        require_admin(s, actor_id)
        query = (
            select(IngestToken, Stream.name, User.handle)
            .join(Stream, Stream.id == IngestToken.stream_id)
            .join(User, User.id == IngestToken.created_by)
            .order_by(IngestToken.id.desc())
        )
        if stream is not None:
            query = query.where(Stream.name == stream)
        return [
            TokenInfo(
                id=t.id,
                stream=name,
                prefix=t.prefix,
                created_by=handle,
                created_at=t.created_at,
                revoked_at=t.revoked_at,
            )
            for t, name, handle in s.exec(query)
        ]


def revoke_token(engine: Engine, token_id: int, *, actor_id: int) -> TokenInfo:
    """Stop a token from working, at once and for good; admins only. Revoking twice is a no-op."""
    with write_session(engine) as s:
        require_admin(s, actor_id)
        token = s.get(IngestToken, token_id)
        if token is None:
            raise NotFoundError(
                f"No ingest token with id {token_id}: `judgeboard ingest token list` shows them."
            )
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            s.add(token)
            s.commit()
        stream = s.get(Stream, token.stream_id)
        creator = s.get(User, token.created_by)
        return TokenInfo(
            id=token.id,
            stream=stream.name if stream else "?",
            prefix=token.prefix,
            created_by=creator.handle if creator else "?",
            created_at=token.created_at,
            revoked_at=token.revoked_at,
        )


def stream_for_token(engine: Engine, token: str) -> int | None:
    """The stream id a valid, unrevoked token writes to; None for anything else."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = token_hash(token)
    with Session(engine) as s:
        row = s.exec(
            select(IngestToken.token_hash, IngestToken.stream_id, IngestToken.revoked_at).where(
                IngestToken.token_hash == digest
            )
        ).first()
    if row is None or not hmac.compare_digest(row[0], digest) or row[2] is not None:
        return None
    return row[1]


def stream_id_of(engine: Engine, name: str) -> int:
    with Session(engine) as s:
        row = _stream(s, name)
        if row is None:
            raise NotFoundError(
                f"No stream named '{name}': create it with"
                f" `judgeboard ingest token create --stream {name}`."
            )
        return row.id


def list_streams(engine: Engine) -> list[StreamInfo]:
    """Every stream with its interaction count and number of working tokens."""
    with Session(engine) as s:
        counts = dict(
            s.exec(
                select(Interaction.stream_id, func.count()).group_by(Interaction.stream_id)
            ).all()
        )
        active = dict(
            s.exec(
                select(IngestToken.stream_id, func.count())
                .where(IngestToken.revoked_at.is_(None))
                .group_by(IngestToken.stream_id)
            ).all()
        )
        return [
            StreamInfo(
                id=st.id,
                name=st.name,
                interactions=int(counts.get(st.id, 0)),
                active_tokens=int(active.get(st.id, 0)),
                created_at=st.created_at,
            )
            for st in s.exec(select(Stream).order_by(Stream.name))
        ]
