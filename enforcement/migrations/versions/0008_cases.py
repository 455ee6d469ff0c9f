"""penalty cases, their events, case groups and coercive measures

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "penalty_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("case_no", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("origin_inspection_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "filed",
                "investigating",
                "decision_proposed",
                "legal_review",
                "decided",
                "executed",
                "closed",
                "withdrawn",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_major", sa.Boolean(), nullable=False),
        sa.Column("suspected_crime", sa.Boolean(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("deadline_extensions", sa.SmallInteger(), nullable=False),
        sa.Column(
            "proposed_measure",
            sa.Enum(
                "warning",
                "fine",
                "confiscation",
                "suspension",
                "revocation",
                name="proposed_measure",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("proposed_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("proposed_legal_basis", sa.Text(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("review_opinion", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("penalty_id", sa.Integer(), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("execution_note", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.Column(
            "reconsideration_status",
            sa.Enum(
                "requested",
                "upheld",
                "revoked",
                "changed",
                name="reconsideration_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("reconsideration_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconsideration_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconsideration_note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "proposed_amount IS NULL OR proposed_amount >= 0",
            name=op.f("ck_penalty_cases_proposed_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_penalty_cases_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_penalty_cases_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_penalty_cases_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["filed_by_id"], ["users.id"], name=op.f("fk_penalty_cases_filed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["origin_inspection_id"],
            ["field_inspections.id"],
            name=op.f("fk_penalty_cases_origin_inspection_id_field_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["penalty_id"], ["penalties.id"], name=op.f("fk_penalty_cases_penalty_id_penalties")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_penalty_cases_proposed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_penalty_cases_reviewed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_penalty_cases")),
        sa.UniqueConstraint("case_no", name=op.f("uq_penalty_cases_case_no")),
        sa.UniqueConstraint(
            "origin_inspection_id", name=op.f("uq_penalty_cases_origin_inspection_id")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_penalty_cases_uuid")),
    )
    with op.batch_alter_table("penalty_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_penalty_cases_department_status", ["department_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_penalty_cases_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column(
            "from_status",
            sa.Enum(
                "filed",
                "investigating",
                "decision_proposed",
                "legal_review",
                "decided",
                "executed",
                "closed",
                "withdrawn",
                name="from_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "filed",
                "investigating",
                "decision_proposed",
                "legal_review",
                "decided",
                "executed",
                "closed",
                "withdrawn",
                name="to_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_case_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["penalty_cases.id"],
            name=op.f("fk_case_events_case_id_penalty_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("lead", "member", name="role", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["penalty_cases.id"],
            name=op.f("fk_case_members_case_id_penalty_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_members")),
        sa.UniqueConstraint("case_id", "user_id", name="uq_case_members_case_user"),
    )
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "coercive_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("seal", "seize", name="kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_on >= started_on", name=op.f("ck_coercive_measures_dates")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["penalty_cases.id"],
            name=op.f("fk_coercive_measures_case_id_penalty_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_coercive_measures_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coercive_measures")),
        sa.UniqueConstraint("uuid", name=op.f("uq_coercive_measures_uuid")),
    )
    with op.batch_alter_table("coercive_measures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coercive_measures_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coercive_measures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coercive_measures_case_id"))

    op.drop_table("coercive_measures")
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_members_user_id"))

    op.drop_table("case_members")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
    with op.batch_alter_table("penalty_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_penalty_cases_enterprise_id"))
        batch_op.drop_index("ix_penalty_cases_department_status")

    op.drop_table("penalty_cases")
