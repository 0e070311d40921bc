"""versioned datasets (issue 15, point 1)

Adds datasets, dataset_versions (immutable, content-hashed) and dataset_items, and points
campaigns and prompts at the dataset version they were taken from (NULL for campaigns and
prompts that were imported with their outputs).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 18:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'datasets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', _STR(length=200), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', _WHEN(), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_datasets_created_by_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
        sa.UniqueConstraint('name', name=op.f('uq_datasets_name')),
    )
    op.create_table(
        'dataset_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dataset_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('content_hash', _STR(length=64), nullable=False),
        sa.Column('n_items', sa.Integer(), nullable=False),
        sa.Column('source', _STR(length=500), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', _WHEN(), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_dataset_versions_created_by_users')
        ),
        sa.ForeignKeyConstraint(
            ['dataset_id'], ['datasets.id'],
            name=op.f('fk_dataset_versions_dataset_id_datasets'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_versions')),
        sa.UniqueConstraint(
            'dataset_id', 'content_hash', name=op.f('uq_dataset_versions_dataset_id_content_hash')
        ),
        sa.UniqueConstraint(
            'dataset_id', 'version', name=op.f('uq_dataset_versions_dataset_id_version')
        ),
    )
    op.create_table(
        'dataset_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('external_id', _STR(length=200), nullable=False),
        sa.Column('messages', sa.JSON(), nullable=False),
        sa.Column('reference', sa.Text(), nullable=True),
        sa.Column('category', _STR(length=100), nullable=True),
        sa.Column('split', _STR(length=32), nullable=True),
        sa.Column('meta', sa.JSON(), nullable=True),
        sa.Column('item_hash', _STR(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['version_id'], ['dataset_versions.id'],
            name=op.f('fk_dataset_items_version_id_dataset_versions'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_items')),
        sa.UniqueConstraint(
            'version_id', 'external_id', name=op.f('uq_dataset_items_version_id_external_id')
        ),
    )
    for table in ('campaigns', 'prompts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('dataset_version_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                f'fk_{table}_dataset_version_id_dataset_versions', 'dataset_versions',
                ['dataset_version_id'], ['id'],
            )


def downgrade() -> None:
    for table in ('prompts', 'campaigns'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                f'fk_{table}_dataset_version_id_dataset_versions', type_='foreignkey'
            )
            batch_op.drop_column('dataset_version_id')
    op.drop_table('dataset_items')
    op.drop_table('dataset_versions')
    op.drop_table('datasets')
