"""credit-risk classification: indicator sources, ratings and history, credit repair; the
outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:45:17.234360
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["dispatched_at", "id"], unique=False)
    op.create_table(
        "annual_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_annual_reports_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_reports")),
        sa.UniqueConstraint("enterprise_id", "year", name="enterprise_year"),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("substantiated", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_complaints_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaints_enterprise_received", ["enterprise_id", "received_on"], unique=False
        )

    op.create_table(
        "credit_list_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column(
            "list",
            sa.Enum(
                "abnormal_operation",
                "serious_illegal",
                name="credit_list",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("removal_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "removed_on IS NULL OR removed_on >= listed_on",
            name=op.f("ck_credit_list_entries_dates"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_credit_list_entries_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_list_entries")),
    )
    with op.batch_alter_table("credit_list_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_list_entries_enterprise", ["enterprise_id", "list"], unique=False
        )

    op.create_table(
        "credit_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("scorecard", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=False),
        sa.Column("previous_tier", sa.String(length=1), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column(
            "cause",
            sa.Enum(
                "batch",
                "event",
                "repair",
                "manual",
                name="cause",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("cause_detail", sa.String(length=200), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tier IN ('A', 'B', 'C', 'D')", name=op.f("ck_credit_ratings_tier")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_credit_ratings_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ratings")),
    )
    with op.batch_alter_table("credit_ratings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_ratings_enterprise_rated", ["enterprise_id", "rated_at"], unique=False
        )

    op.create_table(
        "penalties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("decision_no", sa.String(length=64), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column(
            "measure",
            sa.Enum(
                "warning",
                "fine",
                "confiscation",
                "suspension",
                "revocation",
                name="measure",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("repaired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name=op.f("ck_penalties_amount")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_penalties_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_penalties")),
        sa.UniqueConstraint("decision_no", name=op.f("uq_penalties_decision_no")),
    )
    with op.batch_alter_table("penalties", schema=None) as batch_op:
        batch_op.create_index(
            "ix_penalties_enterprise_decided", ["enterprise_id", "decided_on"], unique=False
        )

    op.create_table(
        "credit_repairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column(
            "subject",
            sa.Enum(
                "list_entry", "penalty", name="subject", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("list_entry_id", sa.Integer(), nullable=True),
        sa.Column("penalty_id", sa.Integer(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "approved",
                "rejected",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["users.id"], name=op.f("fk_credit_repairs_applicant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_credit_repairs_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_credit_repairs_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_entry_id"],
            ["credit_list_entries.id"],
            name=op.f("fk_credit_repairs_list_entry_id_credit_list_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["penalty_id"], ["penalties.id"], name=op.f("fk_credit_repairs_penalty_id_penalties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_repairs")),
    )
    with op.batch_alter_table("credit_repairs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_repairs_enterprise_status", ["enterprise_id", "status"], unique=False
        )

    # Plain ALTER TABLE, not batch mode: recreating "enterprises" on SQLite would trip over
    # the foreign keys that point at it and SpatiaLite's geometry triggers.
    op.add_column("enterprises", sa.Column("credit_tier", sa.String(length=1), nullable=True))
    op.add_column("enterprises", sa.Column("credit_score", sa.Float(), nullable=True))
    op.add_column(
        "enterprises", sa.Column("credit_rated_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    for column in ("credit_rated_at", "credit_score", "credit_tier"):
        op.drop_column("enterprises", column)  # SQLite >= 3.35 drops columns natively

    with op.batch_alter_table("credit_repairs", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_repairs_enterprise_status")

    op.drop_table("credit_repairs")
    with op.batch_alter_table("penalties", schema=None) as batch_op:
        batch_op.drop_index("ix_penalties_enterprise_decided")

    op.drop_table("penalties")
    with op.batch_alter_table("credit_ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_ratings_enterprise_rated")

    op.drop_table("credit_ratings")
    with op.batch_alter_table("credit_list_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_list_entries_enterprise")

    op.drop_table("credit_list_entries")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_enterprise_received")

    op.drop_table("complaints")
    op.drop_table("annual_reports")
