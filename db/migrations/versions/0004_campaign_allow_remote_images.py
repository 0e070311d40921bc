"""per-campaign opt-in for remote images (issue 13, point 9)

Adds campaigns.allow_remote_images. Existing campaigns get false: their raters keep seeing
remote images as their address in text until an admin opts the campaign in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 17:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'allow_remote_images', sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.alter_column('allow_remote_images', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('allow_remote_images')
