"""sampling plans, draws, inspection tasks and the audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:35:02.554870
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_actor_id"), "audit_log", ["actor_id"], unique=False)
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"], unique=False)
    op.create_table(
        "sampling_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("jurisdiction_ids", sa.JSON(), nullable=False),
        sa.Column("tier_ratios", sa.JSON(), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=True),
        sa.Column(
            "method",
            sa.Enum("exact", "poisson", name="method", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("exclude_within_months", sa.SmallInteger(), nullable=True),
        sa.Column("annual_cap", sa.SmallInteger(), nullable=True),
        sa.Column("alternates_per_stratum", sa.SmallInteger(), nullable=False),
        sa.Column("strata_keys", sa.JSON(), nullable=False),
        sa.Column("team_size", sa.SmallInteger(), nullable=False),
        sa.Column("workload_cap", sa.SmallInteger(), nullable=True),
        sa.Column("recuse_same_jurisdiction", sa.Boolean(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "approved",
                "seed_committed",
                "drawn",
                "published",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("seed_commitment", sa.String(length=64), nullable=True),
        sa.Column("revealed_seed", sa.String(length=256), nullable=True),
        sa.Column("public_value_source", sa.String(length=300), nullable=True),
        sa.Column("public_value", sa.String(length=200), nullable=True),
        sa.Column("supersedes_plan_id", sa.Integer(), nullable=True),
        sa.Column("redraw_reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("committed_by_id", sa.Integer(), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "revealed_seed IS NULL OR status IN ('drawn', 'published')",
            name=op.f("ck_sampling_plans_revealed"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'approved') OR seed_commitment IS NOT NULL",
            name=op.f("ck_sampling_plans_committed"),
        ),
        sa.CheckConstraint(
            "(supersedes_plan_id IS NULL) = (redraw_reason IS NULL)",
            name=op.f("ck_sampling_plans_redraw_reason"),
        ),
        sa.CheckConstraint(
            "alternates_per_stratum >= 0", name=op.f("ck_sampling_plans_alternates_per_stratum")
        ),
        sa.CheckConstraint(
            "annual_cap IS NULL OR annual_cap >= 1", name=op.f("ck_sampling_plans_annual_cap")
        ),
        sa.CheckConstraint("budget IS NULL OR budget >= 1", name=op.f("ck_sampling_plans_budget")),
        sa.CheckConstraint(
            "exclude_within_months IS NULL OR exclude_within_months >= 0",
            name=op.f("ck_sampling_plans_exclude_within_months"),
        ),
        sa.CheckConstraint(
            "seed_commitment IS NULL OR length(seed_commitment) = 64",
            name=op.f("ck_sampling_plans_commitment_length"),
        ),
        sa.CheckConstraint("team_size >= 2", name=op.f("ck_sampling_plans_team_size")),
        sa.CheckConstraint(
            "workload_cap IS NULL OR workload_cap >= 1", name=op.f("ck_sampling_plans_workload_cap")
        ),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_sampling_plans_year")),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_sampling_plans_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["committed_by_id"], ["users.id"], name=op.f("fk_sampling_plans_committed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_sampling_plans_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["drawn_by_id"], ["users.id"], name=op.f("fk_sampling_plans_drawn_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_sampling_plans_published_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_plan_id"],
            ["sampling_plans.id"],
            name=op.f("fk_sampling_plans_supersedes_plan_id_sampling_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sampling_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_sampling_plans_code")),
        sa.UniqueConstraint("seed_commitment", name=op.f("uq_sampling_plans_seed_commitment")),
        sa.UniqueConstraint(
            "supersedes_plan_id", name=op.f("uq_sampling_plans_supersedes_plan_id")
        ),
    )
    op.create_table(
        "draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("algorithm_version", sa.String(length=32), nullable=False),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["sampling_plans.id"], name=op.f("fk_draws_plan_id_sampling_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draws")),
        sa.UniqueConstraint("plan_id", name=op.f("uq_draws_plan_id")),
    )
    op.create_table(
        "plan_items",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inspection_items.id"],
            name=op.f("fk_plan_items_item_id_inspection_items"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["sampling_plans.id"],
            name=op.f("fk_plan_items_plan_id_sampling_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "item_id", name=op.f("pk_plan_items")),
    )
    op.create_index(op.f("ix_plan_items_item_id"), "plan_items", ["item_id"], unique=False)
    op.create_table(
        "inspection_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=200), nullable=False),
        sa.Column("is_alternate", sa.Boolean(), nullable=False),
        sa.Column("alternate_rank", sa.Integer(), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "standby",
                "open",
                "in_progress",
                "done",
                "cancelled",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(is_alternate AND alternate_rank IS NOT NULL AND alternate_rank >= 1) OR (NOT is_alternate AND alternate_rank IS NULL)",
            name=op.f("ck_inspection_tasks_alternate_rank"),
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"],
            ["draws.id"],
            name=op.f("fk_inspection_tasks_draw_id_draws"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_inspection_tasks_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_tasks")),
        sa.UniqueConstraint("draw_id", "enterprise_id", name="uq_inspection_tasks_target"),
        sa.UniqueConstraint("uuid", name=op.f("uq_inspection_tasks_uuid")),
    )
    op.create_index(
        op.f("ix_inspection_tasks_enterprise_id"),
        "inspection_tasks",
        ["enterprise_id"],
        unique=False,
    )
    op.create_table(
        "task_items",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inspection_items.id"],
            name=op.f("fk_task_items_item_id_inspection_items"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_tasks.id"],
            name=op.f("fk_task_items_task_id_inspection_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "item_id", name=op.f("pk_task_items")),
    )
    op.create_index(op.f("ix_task_items_item_id"), "task_items", ["item_id"], unique=False)
    op.create_table(
        "task_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("lead", "member", name="role", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_task_members_inspector_id_inspectors"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_tasks.id"],
            name=op.f("fk_task_members_task_id_inspection_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_members")),
        sa.UniqueConstraint("task_id", "inspector_id", name="uq_task_members_officer"),
    )
    op.create_index(
        op.f("ix_task_members_inspector_id"), "task_members", ["inspector_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_task_members_inspector_id"), table_name="task_members")
    op.drop_table("task_members")
    op.drop_index(op.f("ix_task_items_item_id"), table_name="task_items")
    op.drop_table("task_items")
    op.drop_index(op.f("ix_inspection_tasks_enterprise_id"), table_name="inspection_tasks")
    op.drop_table("inspection_tasks")
    op.drop_index(op.f("ix_plan_items_item_id"), table_name="plan_items")
    op.drop_table("plan_items")
    op.drop_table("draws")
    op.drop_table("sampling_plans")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor_id"), table_name="audit_log")
    op.drop_table("audit_log")
