"""the review of commitments (告知承诺): acceptance or rejection, then verification

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 00:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_STATUSES = ("filed", "withdrawn")
NEW_STATUSES = ("filed", "accepted", "rejected", "verified", "found_false", "withdrawn")


def _status(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values,
        name="status",
        native_enum=False,
        create_constraint=False,  # the CHECK is handled by hand below, under its final name
        length=max(len(v) for v in values),
    )


def _in(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_commitments_status"), type_="check")
        batch_op.alter_column(
            "status",
            existing_type=_status(OLD_STATUSES),
            type_=_status(NEW_STATUSES),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(op.f("ck_commitments_status"), _in(NEW_STATUSES))
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("verified_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verification_note", sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_commitments_department_id_departments"),
            "departments",
            ["department_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            op.f("fk_commitments_reviewed_by_id_users"), "users", ["reviewed_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_commitments_verified_by_id_users"), "users", ["verified_by_id"], ["id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_commitments_reviewed"),
            "(status IN ('filed', 'withdrawn')) = (reviewed_at IS NULL)",
        )
        batch_op.create_check_constraint(
            op.f("ck_commitments_verified"),
            "(status IN ('verified', 'found_false')) = (verified_at IS NOT NULL)",
        )
        batch_op.create_index(
            "ix_commitments_department_status", ["department_id", "status"], unique=False
        )
    # Commitments filed before: the item's department reviews them.
    op.execute(
        "UPDATE commitments SET department_id = (SELECT inspection_items.department_id"
        " FROM inspection_items WHERE inspection_items.id = commitments.item_id)"
        " WHERE item_id IS NOT NULL"
    )


def downgrade() -> None:
    # Reviewed commitments have no place in the old statuses: they go back to "filed".
    op.execute(
        "UPDATE commitments SET status = 'filed', reviewed_at = NULL, verified_at = NULL"
        " WHERE status IN ('accepted', 'rejected', 'verified', 'found_false')"
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index("ix_commitments_department_status")
        batch_op.drop_constraint(op.f("ck_commitments_verified"), type_="check")
        batch_op.drop_constraint(op.f("ck_commitments_reviewed"), type_="check")
        batch_op.drop_constraint(op.f("fk_commitments_verified_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_commitments_reviewed_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(
            op.f("fk_commitments_department_id_departments"), type_="foreignkey"
        )
        batch_op.drop_column("verification_note")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verified_by_id")
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by_id")
        batch_op.drop_column("version")
        batch_op.drop_column("department_id")
        batch_op.drop_constraint(op.f("ck_commitments_status"), type_="check")
        batch_op.alter_column(
            "status",
            existing_type=_status(NEW_STATUSES),
            type_=_status(OLD_STATUSES),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(op.f("ck_commitments_status"), _in(OLD_STATUSES))
