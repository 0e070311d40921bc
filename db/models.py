"""SQLModel tables: the whole schema. Alembic migrations must match this module exactly.

Conventions:
- Preferences are stored relative to a comparison's canonical order (output A, output B):
  -2 A much better, -1 A better, 0 tie, 1 B better, 2 B much better; NULL means unscored.
- ``shown_order`` is "ab" when output A was shown on the left / first, "ba" otherwise, and
  "unknown" on an imported judgment whose source did not record it (or combined both orders).
- ``Comparison.serve_rank`` is a random rank drawn from the campaign's ``serve_seed``: the
  queue serves comparisons in that order among equals, so human labels fall on a random
  sample (what prediction-powered inference assumes). Campaigns made before it have no seed.
- A single-output rubric item is a comparison whose two outputs are the same row
  (``output_a_id == output_b_id``), so one unique constraint covers both kinds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

ROLES = ("admin", "rater")
MODES = ("pairwise", "rubric", "both")
PREFERENCE_SCALES = ("3way", "5way")
SCALES = ("binary", "likert5", "likert10", "categories")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


def _json_or_null() -> Any:
    """A JSON column where Python None is SQL NULL (not the JSON text 'null')."""
    return Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'rater')", name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(unique=True, max_length=320, description="email, or an imported rater id")
    email: str | None = Field(default=None, max_length=320)
    display_name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="rater", max_length=16)
    active: bool = True
    imported: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    deactivated_at: datetime | None = None


class Invite(SQLModel, table=True):
    __tablename__ = "invites"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint("kind IN ('email', 'domain')", name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    value: str = Field(max_length=320)
    role: str = Field(default="rater", max_length=16)
    invited_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False))
    mode: str = Field(default="pairwise", max_length=16)
    preference_scale: str = Field(default="3way", max_length=8)
    allow_both_bad: bool = True
    overlap: int = 3
    gold_rate: float = 0.0
    attention_rate: float = 0.0
    reshow_rate: float = 0.0
    lease_seconds: int = 600
    rater_quota: int | None = Field(
        default=None, description="items each rater is asked for; None = as many as there are"
    )
    blind: bool = True
    allow_remote_images: bool = Field(
        default=False,
        description="raters' browsers load remote images in prompts, outputs and instructions",
    )
    allowed_raters: list[int] | None = _json()
    archived: bool = False
    serve_seed: int | None = Field(default=None, sa_type=BigInteger)
    dataset_version_id: int | None = Field(
        default=None,
        foreign_key="dataset_versions.id",
        description="the dataset version the campaign's prompts were taken from",
    )
    judge_instructions: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="what LLM judges are told; None = a neutral statement of the task",
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RubricCriterion(SQLModel, table=True):
    __tablename__ = "rubric_criteria"
    __table_args__ = (UniqueConstraint("campaign_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    scale: str = Field(default="likert5", max_length=16)
    categories: list[str] | None = _json()
    position: int = 0


class Prompt(SQLModel, table=True):
    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("campaign_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    external_id: str = Field(max_length=200)
    messages: list[dict[str, str]] = _json(nullable=False)
    reference: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    category: str | None = Field(default=None, max_length=100, index=True)
    split: str | None = Field(default=None, max_length=32)
    meta: dict[str, Any] | None = _json()
    dataset_version_id: int | None = Field(default=None, foreign_key="dataset_versions.id")


class Candidate(SQLModel, table=True):
    __tablename__ = "candidates"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    version: str | None = Field(default=None, max_length=100)
    meta: dict[str, Any] | None = _json()
    config_id: int | None = Field(
        default=None,
        foreign_key="candidate_configs.id",
        description="the candidate config that generates this candidate's outputs",
    )
    created_at: datetime = Field(default_factory=utcnow)


class Output(SQLModel, table=True):
    __tablename__ = "outputs"
    __table_args__ = (UniqueConstraint("prompt_id", "candidate_id"),)

    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(foreign_key="prompts.id", ondelete="CASCADE")
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    content: str = Field(sa_column=Column(Text, nullable=False))
    turns: list[str] | None = _json()
    latency_ms: float | None = None
    cost_usd: float | None = None
    tokens: int | None = None
    meta: dict[str, Any] | None = _json()


class Comparison(SQLModel, table=True):
    __tablename__ = "comparisons"
    __table_args__ = (
        UniqueConstraint("campaign_id", "prompt_id", "output_a_id", "output_b_id"),
        CheckConstraint("output_a_id <= output_b_id", name="canonical_order"),
        Index("ix_comparisons_queue", "campaign_id", "n_done", "serve_rank"),
        Index("ix_comparisons_check", "campaign_id", "check_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    prompt_id: int = Field(foreign_key="prompts.id", ondelete="CASCADE", index=True)
    output_a_id: int = Field(foreign_key="outputs.id", ondelete="CASCADE")
    output_b_id: int = Field(foreign_key="outputs.id", ondelete="CASCADE")
    check_kind: str | None = Field(default=None, max_length=16)
    expected_preference: int | None = None
    n_done: int = 0
    serve_rank: int = Field(default=0, sa_type=BigInteger)
    retired_at: datetime | None = Field(
        default=None, description="set when an admin retires the item: it leaves every result"
    )
    created_at: datetime = Field(default_factory=utcnow)


class Assignment(SQLModel, table=True):
    """A comparison leased to one rater, in the left/right order that rater sees.

    ``kind`` is "normal", "gold", "attention" or "reshow" (a comparison the rater already
    judged, shown again with sides swapped); ``status`` is "leased", "done", "skipped",
    "flagged" or "expired" (answered after the lease ran out and the comparison had filled
    up; not stored). A lease counts only while ``status = 'leased'`` and ``expires_at`` is in
    the future. The unique key means nobody is handed the same comparison twice per kind.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("comparison_id", "rater_id", "kind"),
        Index("ix_assignments_rater_status", "rater_id", "campaign_id", "status"),
        Index("ix_assignments_lease", "comparison_id", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    comparison_id: int = Field(foreign_key="comparisons.id", ondelete="CASCADE")
    rater_id: int = Field(foreign_key="users.id")
    shown_order: str = Field(default="ab", max_length=2)
    kind: str = Field(default="normal", max_length=16)
    status: str = Field(default="leased", max_length=16)
    flag_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    flag_status: str | None = Field(
        default=None, max_length=16, description="None = open; reviewed, fixed or retired"
    )
    flag_resolved_by: int | None = Field(default=None, foreign_key="users.id")
    flag_resolved_at: datetime | None = None
    leased_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class Judge(SQLModel, table=True):
    """An immutable judge configuration; editing one creates a new version (new row)."""

    __tablename__ = "judges"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    version: int = 1
    content_hash: str = Field(unique=True, max_length=64)
    provider: str = Field(max_length=32)
    model: str = Field(max_length=200)
    base_url: str | None = Field(default=None, max_length=500)
    api_key_env: str | None = Field(default=None, max_length=100)
    template_kind: str = Field(default="pairwise", max_length=32)
    template: str = Field(default="", sa_column=Column(Text, nullable=False))
    params: dict[str, Any] | None = _json()
    swap_policy: str = Field(default="both", max_length=16)
    inconsistent_as: str = Field(default="tie", max_length=16)
    imported: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class CandidateConfig(SQLModel, table=True):
    """An immutable candidate configuration that generates outputs; editing makes a new
    version. ``template`` (None: the prompt as it is) may use {prompt}, {category}, {id}."""

    __tablename__ = "candidate_configs"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        UniqueConstraint("name", "content_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    version: int = 1
    content_hash: str = Field(max_length=64)
    provider: str = Field(max_length=32)
    model: str = Field(max_length=200)
    base_url: str | None = Field(default=None, max_length=500)
    api_key_env: str | None = Field(default=None, max_length=100)
    system_prompt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    template: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    params: dict[str, Any] | None = _json()
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class JudgeRun(SQLModel, table=True):
    """A run of the one runner: ``kind`` "judge" (judge_id set, tasks are comparisons) or
    "generate" (candidate_config_id set, tasks are prompts)."""

    __tablename__ = "judge_runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="judge", max_length=16)
    judge_id: int | None = Field(default=None, foreign_key="judges.id", index=True)
    candidate_config_id: int | None = Field(
        default=None, foreign_key="candidate_configs.id", index=True
    )
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE", index=True)
    status: str = Field(default="pending", max_length=16)
    cancel_requested: bool = False
    n_tasks: int = 0
    n_done: int = 0
    n_failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JudgeTask(SQLModel, table=True):
    """One unit of a run: a comparison in one shown order (judge runs) or a prompt
    (generation runs)."""

    __tablename__ = "judge_tasks"
    __table_args__ = (
        UniqueConstraint("run_id", "comparison_id", "shown_order"),
        UniqueConstraint("run_id", "prompt_id"),
        Index("ix_judge_tasks_claim", "run_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="judge_runs.id", ondelete="CASCADE")
    comparison_id: int | None = Field(
        default=None, foreign_key="comparisons.id", ondelete="CASCADE"
    )
    prompt_id: int | None = Field(default=None, foreign_key="prompts.id", ondelete="CASCADE")
    shown_order: str = Field(default="ab", max_length=2)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ResponseCache(SQLModel, table=True):
    """Provider replies keyed by a hash of the exact request, so a re-run costs nothing."""

    __tablename__ = "response_cache"

    request_hash: str = Field(primary_key=True, max_length=64)
    response: dict[str, Any] = _json(nullable=False)
    created_at: datetime = Field(default_factory=utcnow)


class Judgment(SQLModel, table=True):
    """One verdict by one rater (a user or a judge version) on one comparison.

    ``rater_key`` is "u:<user id>" or "j:<judge id>": one non-null column, so the unique
    constraint holds for humans and judges alike. Revisions are new rows with a higher
    ``version``; the old row keeps ``is_current = false``.
    """

    __tablename__ = "judgments"
    __table_args__ = (
        UniqueConstraint("comparison_id", "rater_key", "shown_order", "version"),
        CheckConstraint("(user_id IS NULL) <> (judge_id IS NULL)", name="one_rater"),
        CheckConstraint("preference IS NULL OR preference BETWEEN -2 AND 2", name="preference"),
        # Covers the leaderboard scan: current votes of one kind arrive in comparison order,
        # so SQLite groups them per comparison without a sort and never reads the table.
        Index(
            "ix_judgments_campaign_kind",
            "campaign_id",
            "rater_kind",
            "is_current",
            "comparison_id",
            "preference",
            "judge_id",
            "is_reshow",
        ),
        Index("ix_judgments_rater", "rater_key", "campaign_id", "created_at"),
        # Undo finds an assignment's judgments, and deleting a lease checks this foreign key.
        Index("ix_judgments_assignment", "assignment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    comparison_id: int = Field(foreign_key="comparisons.id", ondelete="CASCADE")
    rater_key: str = Field(max_length=32)
    rater_kind: str = Field(default="human", max_length=8)
    user_id: int | None = Field(default=None, foreign_key="users.id")
    judge_id: int | None = Field(default=None, foreign_key="judges.id")
    judge_run_id: int | None = Field(default=None, foreign_key="judge_runs.id")
    assignment_id: int | None = Field(default=None, foreign_key="assignments.id")
    shown_order: str = Field(default="ab", max_length=8)
    preference: int | None = None
    both_bad: bool = False
    rationale: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    raw_reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    time_on_task_ms: int | None = None
    is_reshow: bool = False
    version: int = 1
    is_current: bool = True
    source: str = Field(default="app", max_length=16)
    tokens_in: int | None = None
    tokens_out: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class JudgmentScore(SQLModel, table=True):
    __tablename__ = "judgment_scores"
    __table_args__ = (UniqueConstraint("judgment_id", "output_id", "criterion_id"),)

    id: int | None = Field(default=None, primary_key=True)
    judgment_id: int = Field(foreign_key="judgments.id", ondelete="CASCADE")
    output_id: int = Field(foreign_key="outputs.id", ondelete="CASCADE")
    criterion_id: int = Field(foreign_key="rubric_criteria.id", ondelete="CASCADE", index=True)
    value: float


class Dataset(SQLModel, table=True):
    """A named, growing set of prompts; its content lives in immutable versions."""

    __tablename__ = "datasets"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class DatasetVersion(SQLModel, table=True):
    """One immutable snapshot of a dataset, named by the hash of its items.

    Adding a file whose items hash the same as an existing version gives that version back.
    """

    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version"),
        UniqueConstraint("dataset_id", "content_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="datasets.id", ondelete="CASCADE")
    version: int
    content_hash: str = Field(max_length=64)
    n_items: int
    source: str = Field(default="", max_length=500)
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class DatasetItem(SQLModel, table=True):
    """One prompt of a dataset version (never updated: a change makes a new version)."""

    __tablename__ = "dataset_items"
    __table_args__ = (UniqueConstraint("version_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="dataset_versions.id", ondelete="CASCADE")
    external_id: str = Field(max_length=200)
    messages: list[dict[str, str]] = _json(nullable=False)
    reference: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    category: str | None = Field(default=None, max_length=100)
    split: str | None = Field(default=None, max_length=32)
    meta: dict[str, Any] | None = _json()
    item_hash: str = Field(max_length=64)


class Adjudication(SQLModel, table=True):
    """An admin's verdict on a comparison: kept apart from rater votes, usable as gold."""

    __tablename__ = "adjudications"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE", index=True)
    comparison_id: int = Field(foreign_key="comparisons.id", ondelete="CASCADE", unique=True)
    admin_id: int = Field(foreign_key="users.id")
    preference: int | None = None
    both_bad: bool = False
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RaterExclusion(SQLModel, table=True):
    """A rater whose votes in one campaign are left out of results (kept; reversible)."""

    __tablename__ = "rater_exclusions"
    __table_args__ = (UniqueConstraint("campaign_id", "rater_key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    rater_key: str = Field(max_length=32)
    excluded_by: int = Field(foreign_key="users.id")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class ReviewAction(SQLModel, table=True):
    """Who did what, when, in review: flag resolutions, adjudications, exclusions, retirements."""

    __tablename__ = "review_actions"
    __table_args__ = (Index("ix_review_actions_campaign", "campaign_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    actor_id: int = Field(foreign_key="users.id")
    action: str = Field(max_length=32)
    comparison_id: int | None = Field(
        default=None, foreign_key="comparisons.id", ondelete="CASCADE"
    )
    rater_key: str | None = Field(default=None, max_length=32)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class Stream(SQLModel, table=True):
    """A named source of production traffic (one application or deployment) sent over OTLP."""

    __tablename__ = "streams"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class IngestToken(SQLModel, table=True):
    """A bearer token that lets a client send spans into one stream; only its hash is kept."""

    __tablename__ = "ingest_tokens"

    id: int | None = Field(default=None, primary_key=True)
    stream_id: int = Field(foreign_key="streams.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(unique=True, max_length=64, description="sha256 hex of the token")
    prefix: str = Field(max_length=16, description="the token's first characters, for display")
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class Interaction(SQLModel, table=True):
    """One production LLM call, read from a GenAI span.

    (stream, trace id, span id) is unique, so a batch sent twice is stored once. Range
    partitioning on ``started_at`` (PostgreSQL, later) will add ``started_at`` to the primary key
    and to that unique constraint; nothing refers to ``interactions.id`` yet.
    """

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("stream_id", "trace_id", "span_id"),
        Index("ix_interactions_stream_time", "stream_id", "started_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    stream_id: int = Field(foreign_key="streams.id", ondelete="CASCADE")
    received_at: datetime = Field(default_factory=utcnow)
    started_at: datetime
    operation: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=200)
    response_model: str | None = Field(default=None, max_length=200)
    version_tags: dict[str, str] | None = _json_or_null()
    messages: list[dict[str, Any]] | None = _json_or_null()
    output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    trace_id: str = Field(max_length=32)
    span_id: str = Field(max_length=16)
    response_id: str | None = Field(default=None, max_length=200)
    meta: dict[str, Any] | None = _json_or_null()


class SpanMessages(SQLModel, table=True):
    """Messages that arrived as OTLP log-record events before their span (``POST /v1/logs``).

    Kept until the span's interaction is stored, then copied onto it and deleted.
    """

    __tablename__ = "span_messages"
    __table_args__ = (UniqueConstraint("stream_id", "trace_id", "span_id"),)

    id: int | None = Field(default=None, primary_key=True)
    stream_id: int = Field(foreign_key="streams.id", ondelete="CASCADE")
    trace_id: str = Field(max_length=32)
    span_id: str = Field(max_length=16)
    messages: list[dict[str, Any]] | None = _json_or_null()
    output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = Field(default_factory=utcnow)


class CheckResult(SQLModel, table=True):
    """One deterministic check's result on one output (experiments/checks.py); an
    evaluation run writes it again, so it holds the latest definition's result."""

    __tablename__ = "check_results"
    __table_args__ = (UniqueConstraint("output_id", "check_name"),)

    id: int | None = Field(default=None, primary_key=True)
    output_id: int = Field(foreign_key="outputs.id", ondelete="CASCADE")
    check_name: str = Field(max_length=100)
    passed: bool
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class EvalRun(SQLModel, table=True):
    """One `judgeboard eval run`: the spec as written, where it ran and what it decided."""

    __tablename__ = "eval_runs"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    spec_text: str = Field(sa_column=Column(Text, nullable=False))
    spec_hash: str = Field(max_length=64)
    dataset_version_id: int = Field(foreign_key="dataset_versions.id")
    split: str = Field(max_length=32)
    sample_size: int | None = None
    seed: int = 0
    campaign_id: int | None = Field(default=None, foreign_key="campaigns.id", ondelete="SET NULL")
    status: str = Field(default="running", max_length=16)
    verdict: str | None = Field(default=None, max_length=16)
    results: dict[str, Any] | None = _json()
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


ALL_TABLES = [
    User,
    Invite,
    Campaign,
    RubricCriterion,
    Prompt,
    Candidate,
    Output,
    Comparison,
    Assignment,
    Judge,
    CandidateConfig,
    JudgeRun,
    JudgeTask,
    ResponseCache,
    Judgment,
    JudgmentScore,
    Adjudication,
    RaterExclusion,
    ReviewAction,
    Dataset,
    DatasetVersion,
    DatasetItem,
    Stream,
    IngestToken,
    Interaction,
    SpanMessages,
    CheckResult,
    EvalRun,
]
