"""candidate snapshots kept with each draw, and bearer tokens of the JSON API

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:30:37.960720
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candidate_snapshots",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=False),
        sa.Column("targets", sa.Integer(), nullable=False),
        sa.Column("inspectors", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_candidate_snapshots")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snapshot_sha256", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_draws_snapshot_sha256"), ["snapshot_sha256"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_draws_snapshot_sha256_candidate_snapshots"),
            "candidate_snapshots",
            ["snapshot_sha256"],
            ["sha256"],
        )


def downgrade() -> None:
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_draws_snapshot_sha256_candidate_snapshots"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_draws_snapshot_sha256"))
        batch_op.drop_column("snapshot_sha256")

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("candidate_snapshots")
