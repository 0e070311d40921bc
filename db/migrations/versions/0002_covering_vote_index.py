"""widen ix_judgments_campaign_kind into a covering index for vote aggregation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:20:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ['campaign_id', 'rater_kind', 'is_current']
NEW = [*OLD, 'comparison_id', 'preference', 'judge_id']


def upgrade() -> None:
    with op.batch_alter_table('judgments', schema=None) as batch_op:
        batch_op.drop_index('ix_judgments_campaign_kind')
        batch_op.create_index('ix_judgments_campaign_kind', NEW, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('judgments', schema=None) as batch_op:
        batch_op.drop_index('ix_judgments_campaign_kind')
        batch_op.create_index('ix_judgments_campaign_kind', OLD, unique=False)
