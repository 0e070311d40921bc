"""review and adjudication; separate judge instructions (issue 14)

Adds campaigns.judge_instructions (NULL: judges get a neutral statement of the task),
comparisons.retired_at, flag resolution columns on assignments, and three tables:
adjudications (an admin's verdict per comparison), rater_exclusions (a rater's votes left
out of one campaign's results, reversibly) and review_actions (who did what, when).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 18:05:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('judge_instructions', sa.Text(), nullable=True))
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('flag_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column('flag_resolved_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('flag_resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            'fk_assignments_flag_resolved_by_users', 'users', ['flag_resolved_by'], ['id']
        )
    op.create_table(
        'adjudications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('comparison_id', sa.Integer(), nullable=False),
        sa.Column('admin_id', sa.Integer(), nullable=False),
        sa.Column('preference', sa.Integer(), nullable=True),
        sa.Column('both_bad', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['admin_id'], ['users.id'], name=op.f('fk_adjudications_admin_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['campaign_id'], ['campaigns.id'],
            name=op.f('fk_adjudications_campaign_id_campaigns'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['comparison_id'], ['comparisons.id'],
            name=op.f('fk_adjudications_comparison_id_comparisons'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_adjudications')),
        sa.UniqueConstraint('comparison_id', name=op.f('uq_adjudications_comparison_id')),
    )
    with op.batch_alter_table('adjudications', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_adjudications_campaign_id'), ['campaign_id'], unique=False
        )
    op.create_table(
        'rater_exclusions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('rater_key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('excluded_by', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['campaign_id'], ['campaigns.id'],
            name=op.f('fk_rater_exclusions_campaign_id_campaigns'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['excluded_by'], ['users.id'], name=op.f('fk_rater_exclusions_excluded_by_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rater_exclusions')),
        sa.UniqueConstraint(
            'campaign_id', 'rater_key', name=op.f('uq_rater_exclusions_campaign_id_rater_key')
        ),
    )
    op.create_table(
        'review_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('comparison_id', sa.Integer(), nullable=True),
        sa.Column('rater_key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['users.id'], name=op.f('fk_review_actions_actor_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['campaign_id'], ['campaigns.id'],
            name=op.f('fk_review_actions_campaign_id_campaigns'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['comparison_id'], ['comparisons.id'],
            name=op.f('fk_review_actions_comparison_id_comparisons'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_actions')),
    )
    with op.batch_alter_table('review_actions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_review_actions_campaign', ['campaign_id', 'created_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('review_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_review_actions_campaign')
    op.drop_table('review_actions')
    op.drop_table('rater_exclusions')
    with op.batch_alter_table('adjudications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adjudications_campaign_id'))
    op.drop_table('adjudications')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_assignments_flag_resolved_by_users', type_='foreignkey')
        batch_op.drop_column('flag_resolved_at')
        batch_op.drop_column('flag_resolved_by')
        batch_op.drop_column('flag_status')
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('judge_instructions')
