"""transfers to justice (两法衔接): transfers, their item lists, attachments and history

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "rejected",
                "approved",
                "sent",
                "received",
                "filed",
                "not_filed",
                "reconsideration",
                "upheld",
                "supervision",
                "closed",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("evidence_summary", sa.Text(), nullable=False),
        sa.Column("suspected_offence", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "decision",
            sa.Enum(
                "approve", "reject", name="decision", native_enum=False, create_constraint=True
            ),
            nullable=True,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("police_office", sa.String(length=200), nullable=True),
        sa.Column("procuratorate", sa.String(length=200), nullable=True),
        sa.Column("procuratorate_copy_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_note", sa.Text(), nullable=True),
        sa.Column(
            "police_decision",
            sa.Enum(
                "filed",
                "not_filed",
                name="police_decision",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("police_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("police_reasons", sa.Text(), nullable=True),
        sa.Column("police_case_no", sa.String(length=100), nullable=True),
        sa.Column("reconsideration_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconsideration_reason", sa.Text(), nullable=True),
        sa.Column(
            "reconsideration_outcome",
            sa.Enum(
                "filed",
                "not_filed",
                name="reconsideration_outcome",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("reconsideration_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconsideration_note", sa.Text(), nullable=True),
        sa.Column("supervision_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supervision_reason", sa.Text(), nullable=True),
        sa.Column(
            "supervision_outcome",
            sa.Enum(
                "filed",
                "not_filed",
                name="supervision_outcome",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("supervision_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supervision_note", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("package_sha256", sa.String(length=64), nullable=True),
        sa.Column("package_size", sa.BigInteger(), nullable=True),
        sa.Column("package_exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("package_exported_by_id", sa.Integer(), nullable=True),
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
            ["case_id"], ["penalty_cases.id"], name=op.f("fk_transfers_case_id_penalty_cases")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_transfers_closed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_transfers_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["package_exported_by_id"],
            ["users.id"],
            name=op.f("fk_transfers_package_exported_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"], ["users.id"], name=op.f("fk_transfers_reported_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"], ["users.id"], name=op.f("fk_transfers_sent_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("case_id", name=op.f("uq_transfers_case_id")),
        sa.UniqueConstraint("uuid", name=op.f("uq_transfers_uuid")),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfers_status"), ["status"], unique=False)

    op.create_table(
        "transfer_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "inspection_report",
                "appraisal_opinion",
                "other_evidence",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["evidence_files.sha256"],
            name=op.f("fk_transfer_attachments_sha256_evidence_files"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_transfer_attachments_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_attachments")),
        sa.UniqueConstraint("transfer_id", "position", name="uq_transfer_attachments_position"),
        sa.UniqueConstraint("transfer_id", "sha256", name="uq_transfer_attachments_file"),
    )
    op.create_table(
        "transfer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "reported",
                "rejected",
                "approved",
                "sent",
                "received",
                "filed",
                "not_filed",
                "reconsideration",
                "upheld",
                "supervision",
                "closed",
                name="from_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "reported",
                "rejected",
                "approved",
                "sent",
                "received",
                "filed",
                "not_filed",
                "reconsideration",
                "upheld",
                "supervision",
                "closed",
                name="to_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_transfer_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_transfer_events_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_events")),
    )
    with op.batch_alter_table("transfer_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transfer_events_transfer_id"), ["transfer_id"], unique=False
        )

    op.create_table(
        "transfer_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("custody", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_transfer_items_quantity")),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_transfer_items_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_items")),
        sa.UniqueConstraint("transfer_id", "position", name="uq_transfer_items_position"),
    )


def downgrade() -> None:
    op.drop_table("transfer_items")
    with op.batch_alter_table("transfer_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_events_transfer_id"))

    op.drop_table("transfer_events")
    op.drop_table("transfer_attachments")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfers_status"))

    op.drop_table("transfers")
