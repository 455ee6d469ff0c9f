"""penalties.revoked_at: a penalty revoked or replaced on reconsideration, apart from repair

Until now a reconsideration that revoked or changed a decision set the penalty's
``repaired_at``, the credit-repair field: the API then called a repaired penalty revoked and
a credit-repair application for a revoked one was refused as "already repaired". The
penalties named by reconsideration decisions (``case_events.details.revoked_penalty``) move
their time to ``revoked_at``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 07:40:00.000000
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_events = sa.table("case_events", sa.column("action", sa.String), sa.column("details", sa.JSON))
_penalties = sa.table(
    "penalties",
    sa.column("decision_no", sa.String),
    sa.column("repaired_at", sa.DateTime(timezone=True)),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("penalties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    revoked: set[str] = set()
    for (details,) in connection.execute(
        sa.select(_events.c.details).where(_events.c.action == "reconsideration.decide")
    ):
        if isinstance(details, str):  # a driver that hands JSON back as text
            details = json.loads(details)
        number = (details or {}).get("revoked_penalty")
        if number:
            revoked.add(number)
    for number in sorted(revoked):
        connection.execute(
            _penalties.update()
            .where(_penalties.c.decision_no == number, _penalties.c.repaired_at.is_not(None))
            .values(revoked_at=_penalties.c.repaired_at, repaired_at=None)
        )


def downgrade() -> None:
    connection = op.get_bind()
    connection.execute(
        _penalties.update()
        .where(_penalties.c.revoked_at.is_not(None))
        .values(repaired_at=_penalties.c.revoked_at)
    )
    # Not batch mode: on SQLite it copies and drops the table, which penalty_cases' foreign
    # key refuses once cases exist; SQLite (3.35+) drops a plain column in place.
    op.drop_column("penalties", "revoked_at")
