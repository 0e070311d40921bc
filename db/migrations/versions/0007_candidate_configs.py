"""candidates that generate (issue 15, point 2)

Adds candidate_configs (immutable, content-hashed, versioned like judges) and generalises
judge runs into the one runner: judge_runs.kind ("judge" or "generate", existing runs are
"judge"), judge_runs.judge_id becomes nullable and judge_runs.candidate_config_id names the
config of a generation run; judge_tasks.comparison_id becomes nullable and
judge_tasks.prompt_id holds a generation task's prompt (unique per run). candidates.config_id
points a generated candidate at its config.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 18:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'candidate_configs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', _STR(length=200), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('content_hash', _STR(length=64), nullable=False),
        sa.Column('provider', _STR(length=32), nullable=False),
        sa.Column('model', _STR(length=200), nullable=False),
        sa.Column('base_url', _STR(length=500), nullable=True),
        sa.Column('api_key_env', _STR(length=100), nullable=True),
        sa.Column('system_prompt', sa.Text(), nullable=True),
        sa.Column('template', sa.Text(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', _WHEN(), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_candidate_configs_created_by_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_candidate_configs')),
        sa.UniqueConstraint(
            'name', 'content_hash', name=op.f('uq_candidate_configs_name_content_hash')
        ),
        sa.UniqueConstraint('name', 'version', name=op.f('uq_candidate_configs_name_version')),
    )
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_candidates_config_id_candidate_configs', 'candidate_configs',
            ['config_id'], ['id'],
        )
    with op.batch_alter_table('judge_runs', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', _STR(length=16), nullable=False, server_default='judge')
        )
        batch_op.add_column(sa.Column('candidate_config_id', sa.Integer(), nullable=True))
        batch_op.alter_column('judge_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            'ix_judge_runs_candidate_config_id', ['candidate_config_id'], unique=False
        )
        batch_op.create_foreign_key(
            'fk_judge_runs_candidate_config_id_candidate_configs', 'candidate_configs',
            ['candidate_config_id'], ['id'],
        )
    with op.batch_alter_table('judge_runs', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=_STR(length=16), server_default=None)
    with op.batch_alter_table('judge_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prompt_id', sa.Integer(), nullable=True))
        batch_op.alter_column('comparison_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(
            'uq_judge_tasks_run_id_prompt_id', ['run_id', 'prompt_id']
        )
        batch_op.create_foreign_key(
            'fk_judge_tasks_prompt_id_prompts', 'prompts', ['prompt_id'], ['id'],
            ondelete='CASCADE',
        )


def downgrade() -> None:
    op.execute("DELETE FROM judge_tasks WHERE comparison_id IS NULL")
    op.execute("DELETE FROM judge_runs WHERE judge_id IS NULL")
    with op.batch_alter_table('judge_tasks', schema=None) as batch_op:
        batch_op.drop_constraint('fk_judge_tasks_prompt_id_prompts', type_='foreignkey')
        batch_op.drop_constraint('uq_judge_tasks_run_id_prompt_id', type_='unique')
        batch_op.alter_column('comparison_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('prompt_id')
    with op.batch_alter_table('judge_runs', schema=None) as batch_op:
        batch_op.drop_constraint(
            'fk_judge_runs_candidate_config_id_candidate_configs', type_='foreignkey'
        )
        batch_op.drop_index('ix_judge_runs_candidate_config_id')
        batch_op.alter_column('judge_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('candidate_config_id')
        batch_op.drop_column('kind')
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_constraint('fk_candidates_config_id_candidate_configs', type_='foreignkey')
        batch_op.drop_column('config_id')
    op.drop_table('candidate_configs')
