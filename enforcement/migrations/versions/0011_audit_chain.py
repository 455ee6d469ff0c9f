"""the hash-chained audit log and its anchors

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 09:00:00.000000

Existing audit rows are chained in id order. The hashing is copied here (frozen, like the
rest of a migration); it is ``enforcement.models.audit.canonical_entry`` of this revision,
and the test suite checks that ``suijian audit verify`` accepts what this migration chains.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(
            sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_seq"), ["seq"])
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchors")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_anchors_seq")),
    )
    _chain_existing_rows(op.get_bind())


def downgrade() -> None:
    op.drop_table("audit_anchors")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_log_seq"), type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")


_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("entity_type", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)


def _entry_hash(row: Any, seq: int, prev_hash: str) -> str:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=dt.UTC)
    document = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": row.actor_id,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "details": row.details,
        "prev_hash": prev_hash,
    }
    body = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _chain_existing_rows(connection: sa.Connection) -> None:
    statement = (
        sa.update(_log)
        .where(_log.c.id == sa.bindparam("b_id"))
        .values(
            seq=sa.bindparam("b_seq"),
            prev_hash=sa.bindparam("b_prev"),
            entry_hash=sa.bindparam("b_hash"),
        )
    )
    seq, prev, last_id = 0, GENESIS_HASH, 0
    while True:
        rows = connection.execute(
            sa.select(
                _log.c.id,
                _log.c.at,
                _log.c.actor_id,
                _log.c.action,
                _log.c.entity_type,
                _log.c.entity_id,
                _log.c.details,
            )
            .where(_log.c.id > last_id)
            .order_by(_log.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        params = []
        for row in rows:
            seq += 1
            digest = _entry_hash(row, seq, prev)
            params.append({"b_id": row.id, "b_seq": seq, "b_prev": prev, "b_hash": digest})
            prev = digest
        connection.execute(statement, params)
        last_id = rows[-1].id
