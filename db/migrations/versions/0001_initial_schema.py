"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 19:26:25.814474
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('preference_scale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('allow_both_bad', sa.Boolean(), nullable=False),
    sa.Column('overlap', sa.Integer(), nullable=False),
    sa.Column('gold_rate', sa.Float(), nullable=False),
    sa.Column('attention_rate', sa.Float(), nullable=False),
    sa.Column('reshow_rate', sa.Float(), nullable=False),
    sa.Column('lease_seconds', sa.Integer(), nullable=False),
    sa.Column('rater_quota', sa.Integer(), nullable=True),
    sa.Column('blind', sa.Boolean(), nullable=False),
    sa.Column('allowed_raters', sa.JSON(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_campaigns_name'))
    )
    op.create_table('candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_candidates')),
    sa.UniqueConstraint('name', name=op.f('uq_candidates_name'))
    )
    op.create_table('judges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('base_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('api_key_env', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('template_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('swap_policy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('inconsistent_as', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('imported', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judges')),
    sa.UniqueConstraint('content_hash', name=op.f('uq_judges_content_hash')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_judges_name_version'))
    )
    op.create_table('response_cache',
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('request_hash', name=op.f('pk_response_cache'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handle', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('imported', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deactivated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'rater')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('handle', name=op.f('uq_users_handle'))
    )
    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('invited_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('email', 'domain')", name=op.f('ck_invites_kind')),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], name=op.f('fk_invites_invited_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('kind', 'value', name=op.f('uq_invites_kind_value'))
    )
    op.create_table('judge_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('judge_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('n_tasks', sa.Integer(), nullable=False),
    sa.Column('n_done', sa.Integer(), nullable=False),
    sa.Column('n_failed', sa.Integer(), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_judge_runs_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['judge_id'], ['judges.id'], name=op.f('fk_judge_runs_judge_id_judges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judge_runs'))
    )
    with op.batch_alter_table('judge_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_judge_runs_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_judge_runs_judge_id'), ['judge_id'], unique=False)

    op.create_table('prompts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('messages', sa.JSON(), nullable=False),
    sa.Column('reference', sa.Text(), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('split', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_prompts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prompts')),
    sa.UniqueConstraint('campaign_id', 'external_id', name=op.f('uq_prompts_campaign_id_external_id'))
    )
    with op.batch_alter_table('prompts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompts_category'), ['category'], unique=False)

    op.create_table('rubric_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('scale', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_rubric_criteria_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric_criteria')),
    sa.UniqueConstraint('campaign_id', 'name', name=op.f('uq_rubric_criteria_campaign_id_name'))
    )
    op.create_table('outputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('turns', sa.JSON(), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('tokens', sa.Integer(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_outputs_candidate_id_candidates')),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.id'], name=op.f('fk_outputs_prompt_id_prompts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outputs')),
    sa.UniqueConstraint('prompt_id', 'candidate_id', name=op.f('uq_outputs_prompt_id_candidate_id'))
    )
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outputs_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('comparisons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=False),
    sa.Column('output_a_id', sa.Integer(), nullable=False),
    sa.Column('output_b_id', sa.Integer(), nullable=False),
    sa.Column('check_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('expected_preference', sa.Integer(), nullable=True),
    sa.Column('n_done', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('output_a_id <= output_b_id', name=op.f('ck_comparisons_canonical_order')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_comparisons_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['output_a_id'], ['outputs.id'], name=op.f('fk_comparisons_output_a_id_outputs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['output_b_id'], ['outputs.id'], name=op.f('fk_comparisons_output_b_id_outputs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.id'], name=op.f('fk_comparisons_prompt_id_prompts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comparisons')),
    sa.UniqueConstraint('campaign_id', 'prompt_id', 'output_a_id', 'output_b_id', name=op.f('uq_comparisons_campaign_id_prompt_id_output_a_id_output_b_id'))
    )
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comparisons_prompt_id'), ['prompt_id'], unique=False)
        batch_op.create_index('ix_comparisons_queue', ['campaign_id', 'n_done'], unique=False)
        batch_op.create_index('ix_comparisons_check', ['campaign_id', 'check_kind'], unique=False)

    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('comparison_id', sa.Integer(), nullable=False),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('shown_order', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('flag_reason', sa.Text(), nullable=True),
    sa.Column('leased_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_assignments_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['comparison_id'], ['comparisons.id'], name=op.f('fk_assignments_comparison_id_comparisons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rater_id'], ['users.id'], name=op.f('fk_assignments_rater_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments')),
    sa.UniqueConstraint('comparison_id', 'rater_id', 'kind', name=op.f('uq_assignments_comparison_id_rater_id_kind'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_lease', ['comparison_id', 'status', 'expires_at'], unique=False)
        batch_op.create_index('ix_assignments_rater_status', ['rater_id', 'campaign_id', 'status'], unique=False)

    op.create_table('judge_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('comparison_id', sa.Integer(), nullable=False),
    sa.Column('shown_order', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['comparison_id'], ['comparisons.id'], name=op.f('fk_judge_tasks_comparison_id_comparisons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['judge_runs.id'], name=op.f('fk_judge_tasks_run_id_judge_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judge_tasks')),
    sa.UniqueConstraint('run_id', 'comparison_id', 'shown_order', name=op.f('uq_judge_tasks_run_id_comparison_id_shown_order'))
    )
    with op.batch_alter_table('judge_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_judge_tasks_claim', ['run_id', 'status'], unique=False)

    op.create_table('judgments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('comparison_id', sa.Integer(), nullable=False),
    sa.Column('rater_key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('rater_kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('judge_id', sa.Integer(), nullable=True),
    sa.Column('judge_run_id', sa.Integer(), nullable=True),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('shown_order', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('preference', sa.Integer(), nullable=True),
    sa.Column('both_bad', sa.Boolean(), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=True),
    sa.Column('raw_reply', sa.Text(), nullable=True),
    sa.Column('time_on_task_ms', sa.Integer(), nullable=True),
    sa.Column('is_reshow', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=True),
    sa.Column('tokens_out', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (judge_id IS NULL)', name=op.f('ck_judgments_one_rater')),
    sa.CheckConstraint('preference IS NULL OR preference BETWEEN -2 AND 2', name=op.f('ck_judgments_preference')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_judgments_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_judgments_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['comparison_id'], ['comparisons.id'], name=op.f('fk_judgments_comparison_id_comparisons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['judge_id'], ['judges.id'], name=op.f('fk_judgments_judge_id_judges')),
    sa.ForeignKeyConstraint(['judge_run_id'], ['judge_runs.id'], name=op.f('fk_judgments_judge_run_id_judge_runs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_judgments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judgments')),
    sa.UniqueConstraint('comparison_id', 'rater_key', 'shown_order', 'version', name=op.f('uq_judgments_comparison_id_rater_key_shown_order_version'))
    )
    with op.batch_alter_table('judgments', schema=None) as batch_op:
        batch_op.create_index('ix_judgments_campaign_kind', ['campaign_id', 'rater_kind', 'is_current'], unique=False)
        batch_op.create_index('ix_judgments_rater', ['rater_key', 'campaign_id', 'created_at'], unique=False)
        batch_op.create_index('ix_judgments_assignment', ['assignment_id'], unique=False)

    op.create_table('judgment_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('judgment_id', sa.Integer(), nullable=False),
    sa.Column('output_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['rubric_criteria.id'], name=op.f('fk_judgment_scores_criterion_id_rubric_criteria'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['judgment_id'], ['judgments.id'], name=op.f('fk_judgment_scores_judgment_id_judgments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['output_id'], ['outputs.id'], name=op.f('fk_judgment_scores_output_id_outputs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judgment_scores')),
    sa.UniqueConstraint('judgment_id', 'output_id', 'criterion_id', name=op.f('uq_judgment_scores_judgment_id_output_id_criterion_id'))
    )
    with op.batch_alter_table('judgment_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_judgment_scores_criterion_id'), ['criterion_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('judgment_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_judgment_scores_criterion_id'))

    op.drop_table('judgment_scores')
    with op.batch_alter_table('judgments', schema=None) as batch_op:
        batch_op.drop_index('ix_judgments_assignment')
        batch_op.drop_index('ix_judgments_rater')
        batch_op.drop_index('ix_judgments_campaign_kind')

    op.drop_table('judgments')
    with op.batch_alter_table('judge_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_judge_tasks_claim')

    op.drop_table('judge_tasks')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_rater_status')
        batch_op.drop_index('ix_assignments_lease')

    op.drop_table('assignments')
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.drop_index('ix_comparisons_check')
        batch_op.drop_index('ix_comparisons_queue')
        batch_op.drop_index(batch_op.f('ix_comparisons_prompt_id'))

    op.drop_table('comparisons')
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outputs_candidate_id'))

    op.drop_table('outputs')
    op.drop_table('rubric_criteria')
    with op.batch_alter_table('prompts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompts_category'))

    op.drop_table('prompts')
    with op.batch_alter_table('judge_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_judge_runs_judge_id'))
        batch_op.drop_index(batch_op.f('ix_judge_runs_campaign_id'))

    op.drop_table('judge_runs')
    op.drop_table('invites')
    op.drop_table('users')
    op.drop_table('response_cache')
    op.drop_table('judges')
    op.drop_table('candidates')
    op.drop_table('campaigns')

