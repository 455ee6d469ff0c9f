"""publication (一公开), replies and appeals, joint rewards and punishments

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(
        *values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(v) for v in values),
    )


def upgrade() -> None:
    op.create_table(
        "public_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("kind", "plan", "draw", "result", "penalty"), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("subject_name", sa.String(length=300), nullable=False),
        sa.Column("subject_uscc", sa.String(length=18), nullable=True),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("publish_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.Column("source_state", sa.String(length=100), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("schema_version", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.JSON(), nullable=False),
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
        sa.CheckConstraint("publish_on <= due_on", name=op.f("ck_public_records_hold_before_due")),
        sa.CheckConstraint(
            "withdrawn_at IS NULL OR published_at IS NOT NULL",
            name=op.f("ck_public_records_withdrawn_after_published"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_public_records_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_public_records_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_records")),
        sa.UniqueConstraint("kind", "source_id", name="uq_public_records_source"),
        sa.UniqueConstraint("kind", "subject_key", name="uq_public_records_subject"),
    )
    op.create_index("ix_public_records_kind_published", "public_records", ["kind", "published_at"])
    op.create_index(op.f("ix_public_records_department_id"), "public_records", ["department_id"])
    op.create_index(op.f("ix_public_records_enterprise_id"), "public_records", ["enterprise_id"])
    op.create_index(op.f("ix_public_records_subject_uscc"), "public_records", ["subject_uscc"])

    op.create_table(
        "public_record_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_public_record_replies_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_public_record_replies_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["public_records.id"],
            name=op.f("fk_public_record_replies_record_id_public_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_record_replies")),
    )
    op.create_index(
        op.f("ix_public_record_replies_record_id"), "public_record_replies", ["record_id"]
    )

    op.create_table(
        "public_record_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("status", _enum("status", "submitted", "upheld", "dismissed"), nullable=False),
        sa.Column("action", _enum("action", "correct", "withdraw"), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
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
            "(status = 'submitted') = (decided_at IS NULL)",
            name=op.f("ck_public_record_appeals_decided"),
        ),
        sa.CheckConstraint(
            "status <> 'upheld' OR action IS NOT NULL",
            name=op.f("ck_public_record_appeals_upheld_action"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["users.id"],
            name=op.f("fk_public_record_appeals_applicant_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_public_record_appeals_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_public_record_appeals_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["public_records.id"],
            name=op.f("fk_public_record_appeals_record_id_public_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_record_appeals")),
    )
    op.create_index("ix_public_record_appeals_status", "public_record_appeals", ["status", "id"])
    op.create_index(
        op.f("ix_public_record_appeals_record_id"), "public_record_appeals", ["record_id"]
    )

    op.create_table(
        "joint_list_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("basis", _enum("basis", "serious_illegal", "d_tier"), nullable=False),
        sa.Column("change", _enum("change", "added", "removed"), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_uscc", sa.String(length=18), nullable=True),
        sa.Column("enterprise_name", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_joint_list_changes_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_list_changes")),
    )
    op.create_index(
        "ix_joint_list_changes_source", "joint_list_changes", ["basis", "source_key", "id"]
    )
    op.create_index(
        op.f("ix_joint_list_changes_enterprise_id"), "joint_list_changes", ["enterprise_id"]
    )

    op.create_table(
        "joint_list_consumers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_list_consumers")),
        sa.UniqueConstraint("name", name=op.f("uq_joint_list_consumers_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_joint_list_consumers_token_sha256")),
    )


def downgrade() -> None:
    op.drop_table("joint_list_consumers")
    op.drop_index(op.f("ix_joint_list_changes_enterprise_id"), table_name="joint_list_changes")
    op.drop_index("ix_joint_list_changes_source", table_name="joint_list_changes")
    op.drop_table("joint_list_changes")
    op.drop_index(op.f("ix_public_record_appeals_record_id"), table_name="public_record_appeals")
    op.drop_index("ix_public_record_appeals_status", table_name="public_record_appeals")
    op.drop_table("public_record_appeals")
    op.drop_index(op.f("ix_public_record_replies_record_id"), table_name="public_record_replies")
    op.drop_table("public_record_replies")
    op.drop_index(op.f("ix_public_records_subject_uscc"), table_name="public_records")
    op.drop_index(op.f("ix_public_records_enterprise_id"), table_name="public_records")
    op.drop_index(op.f("ix_public_records_department_id"), table_name="public_records")
    op.drop_index("ix_public_records_kind_published", table_name="public_records")
    op.drop_table("public_records")
