"""production monitoring ingest (issue 16, points 1-3)

Adds streams (named sources of production traffic), ingest_tokens (bearer tokens per
stream, stored as sha256 hashes) and interactions (one row per GenAI span received over
OTLP; unique per stream, trace id and span id, so a re-sent batch is stored once) and
span_messages (messages sent as OTLP log-record events before their span arrived).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 18:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'streams',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', _STR(length=200), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', _WHEN(), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_streams_created_by_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_streams')),
        sa.UniqueConstraint('name', name=op.f('uq_streams_name')),
    )
    op.create_table(
        'ingest_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stream_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', _STR(length=64), nullable=False),
        sa.Column('prefix', _STR(length=16), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', _WHEN(), nullable=False),
        sa.Column('revoked_at', _WHEN(), nullable=True),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_ingest_tokens_created_by_users')
        ),
        sa.ForeignKeyConstraint(
            ['stream_id'], ['streams.id'],
            name=op.f('fk_ingest_tokens_stream_id_streams'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_ingest_tokens_token_hash')),
    )
    with op.batch_alter_table('ingest_tokens', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_ingest_tokens_stream_id'), ['stream_id'], unique=False
        )
    op.create_table(
        'interactions',
        sa.Column(
            'id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False
        ),
        sa.Column('stream_id', sa.Integer(), nullable=False),
        sa.Column('received_at', _WHEN(), nullable=False),
        sa.Column('started_at', _WHEN(), nullable=False),
        sa.Column('operation', _STR(length=64), nullable=True),
        sa.Column('model', _STR(length=200), nullable=True),
        sa.Column('response_model', _STR(length=200), nullable=True),
        sa.Column('version_tags', sa.JSON(), nullable=True),
        sa.Column('messages', sa.JSON(), nullable=True),
        sa.Column('output', sa.Text(), nullable=True),
        sa.Column('latency_ms', sa.Float(), nullable=True),
        sa.Column('input_tokens', sa.Integer(), nullable=True),
        sa.Column('output_tokens', sa.Integer(), nullable=True),
        sa.Column('cost_usd', sa.Float(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('trace_id', _STR(length=32), nullable=False),
        sa.Column('span_id', _STR(length=16), nullable=False),
        sa.Column('response_id', _STR(length=200), nullable=True),
        sa.Column('meta', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ['stream_id'], ['streams.id'],
            name=op.f('fk_interactions_stream_id_streams'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions')),
        sa.UniqueConstraint(
            'stream_id', 'trace_id', 'span_id',
            name=op.f('uq_interactions_stream_id_trace_id_span_id'),
        ),
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_interactions_stream_time', ['stream_id', 'started_at'], unique=False
        )
    op.create_table(
        'span_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stream_id', sa.Integer(), nullable=False),
        sa.Column('trace_id', _STR(length=32), nullable=False),
        sa.Column('span_id', _STR(length=16), nullable=False),
        sa.Column('messages', sa.JSON(), nullable=True),
        sa.Column('output', sa.Text(), nullable=True),
        sa.Column('received_at', _WHEN(), nullable=False),
        sa.ForeignKeyConstraint(
            ['stream_id'], ['streams.id'],
            name=op.f('fk_span_messages_stream_id_streams'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_span_messages')),
        sa.UniqueConstraint(
            'stream_id', 'trace_id', 'span_id',
            name=op.f('uq_span_messages_stream_id_trace_id_span_id'),
        ),
    )


def downgrade() -> None:
    op.drop_table('span_messages')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_stream_time')
    op.drop_table('interactions')
    with op.batch_alter_table('ingest_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_tokens_stream_id'))
    op.drop_table('ingest_tokens')
    op.drop_table('streams')
