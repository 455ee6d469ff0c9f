"""sign-in hardening: failed sign-ins per client address, and a generation for sessions

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 03:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_failures")),
    )
    with op.batch_alter_table("signin_failures", schema=None) as batch_op:
        batch_op.create_index("ix_signin_failures_address_at", ["address", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_signin_failures_at"), ["at"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
    with op.batch_alter_table("signin_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_failures_at"))
        batch_op.drop_index("ix_signin_failures_address_at")
    op.drop_table("signin_failures")
