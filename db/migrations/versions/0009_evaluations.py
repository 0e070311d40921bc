"""evaluation specs and runs (issue 15, points 3, 4 and 8)

Adds check_results (one deterministic check's result per output, unique per output and
check name) and eval_runs (each `judgeboard eval run`: the spec text and hash, the dataset
version, split, sample size and seed, the campaign, status, verdict and results as JSON).

Chained after 0007: another branch adds 0008 in parallel; the lead re-chains at merge.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 19:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'check_results',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('output_id', sa.Integer(), nullable=False),
        sa.Column('check_name', _STR(length=100), nullable=False),
        sa.Column('passed', sa.Boolean(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('created_at', _WHEN(), nullable=False),
        sa.ForeignKeyConstraint(
            ['output_id'], ['outputs.id'],
            name=op.f('fk_check_results_output_id_outputs'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_check_results')),
        sa.UniqueConstraint(
            'output_id', 'check_name', name=op.f('uq_check_results_output_id_check_name')
        ),
    )
    op.create_table(
        'eval_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', _STR(length=200), nullable=False),
        sa.Column('spec_text', sa.Text(), nullable=False),
        sa.Column('spec_hash', _STR(length=64), nullable=False),
        sa.Column('dataset_version_id', sa.Integer(), nullable=False),
        sa.Column('split', _STR(length=32), nullable=False),
        sa.Column('sample_size', sa.Integer(), nullable=True),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('status', _STR(length=16), nullable=False),
        sa.Column('verdict', _STR(length=16), nullable=True),
        sa.Column('results', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', _WHEN(), nullable=False),
        sa.Column('finished_at', _WHEN(), nullable=True),
        sa.ForeignKeyConstraint(
            ['campaign_id'], ['campaigns.id'],
            name=op.f('fk_eval_runs_campaign_id_campaigns'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_eval_runs_created_by_users')
        ),
        sa.ForeignKeyConstraint(
            ['dataset_version_id'], ['dataset_versions.id'],
            name=op.f('fk_eval_runs_dataset_version_id_dataset_versions'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_eval_runs')),
    )
    with op.batch_alter_table('eval_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eval_runs_name'), ['name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('eval_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eval_runs_name'))
    op.drop_table('eval_runs')
    op.drop_table('check_results')
