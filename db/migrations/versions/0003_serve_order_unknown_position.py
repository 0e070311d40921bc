"""random serving order, "unknown" shown order, is_reshow in the covering vote index

Adds campaigns.serve_seed and comparisons.serve_rank, widens judgments.shown_order to hold
"unknown", and appends is_reshow to ix_judgments_campaign_kind (vote counts leave re-shows
out, and the index must still cover them).

Existing comparisons keep their creation order as rank and their campaigns get no seed, so
their human labels are reported as not drawn at random.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 15:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


VOTE_INDEX = ['campaign_id', 'rater_kind', 'is_current', 'comparison_id', 'preference', 'judge_id']


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serve_seed', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('serve_rank', sa.BigInteger(), nullable=False, server_default='0')
        )
    op.execute('UPDATE comparisons SET serve_rank = id')
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.alter_column('serve_rank', server_default=None)
        batch_op.drop_index('ix_comparisons_queue')
        batch_op.create_index(
            'ix_comparisons_queue', ['campaign_id', 'n_done', 'serve_rank'], unique=False
        )
    with op.batch_alter_table('judgments', schema=None) as batch_op:
        batch_op.alter_column(
            'shown_order', existing_type=sa.String(length=2), type_=sa.String(length=8),
            existing_nullable=False,
        )
        batch_op.drop_index('ix_judgments_campaign_kind')
        batch_op.create_index('ix_judgments_campaign_kind', [*VOTE_INDEX, 'is_reshow'])


def downgrade() -> None:
    op.execute("UPDATE judgments SET shown_order = 'ab' WHERE shown_order = 'unknown'")
    with op.batch_alter_table('judgments', schema=None) as batch_op:
        batch_op.drop_index('ix_judgments_campaign_kind')
        batch_op.create_index('ix_judgments_campaign_kind', VOTE_INDEX)
        batch_op.alter_column(
            'shown_order', existing_type=sa.String(length=8), type_=sa.String(length=2),
            existing_nullable=False,
        )
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.drop_index('ix_comparisons_queue')
        batch_op.create_index('ix_comparisons_queue', ['campaign_id', 'n_done'], unique=False)
        batch_op.drop_column('serve_rank')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('serve_seed')
