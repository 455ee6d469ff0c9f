"""working-day clocks, alerts and rectification orders

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN_SQL = "stopped_at IS NULL"
RESULTS = ("no_problem", "rectification_ordered", "case_filed", "suspected_crime")


def upgrade() -> None:
    op.create_table(
        "clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "met",
                "late",
                "cancelled",
                name="outcome",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("extensions", sa.JSON(), nullable=False),
        sa.Column(
            "alerted",
            sa.Enum(
                "warning",
                "due",
                "overdue",
                name="alerted",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_clocks_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clocks")),
    )
    op.create_index(op.f("ix_clocks_department_id"), "clocks", ["department_id"], unique=False)
    op.create_index("ix_clocks_subject", "clocks", ["subject_type", "subject_id"], unique=False)
    op.create_index(
        "uq_clocks_open_subject",
        "clocks",
        ["kind", "subject_type", "subject_id"],
        unique=True,
        postgresql_where=sa.text(OPEN_SQL),
        sqlite_where=sa.text(OPEN_SQL),
    )
    op.create_index(
        "ix_clocks_running",
        "clocks",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(OPEN_SQL),
        sqlite_where=sa.text(OPEN_SQL),
    )

    op.create_table(
        "clock_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clock_id", sa.Integer(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "warning",
                "due",
                "overdue",
                name="level",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("extension", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_clock_alerts_acknowledged_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["clock_id"],
            ["clocks.id"],
            name=op.f("fk_clock_alerts_clock_id_clocks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_clock_alerts_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_alerts")),
        sa.UniqueConstraint("clock_id", "level", "extension", name="uq_clock_alerts_once"),
    )
    op.create_index(
        op.f("ix_clock_alerts_department_id"), "clock_alerts", ["department_id"], unique=False
    )

    # Re-inspections are further rounds of a drawn task (same draw and enterprise).
    with op.batch_alter_table("inspection_tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("round", sa.SmallInteger(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("reinspection_of_id", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_inspection_tasks_target", type_="unique")
        batch_op.create_unique_constraint(
            "uq_inspection_tasks_target", ["draw_id", "enterprise_id", "round"]
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_tasks_reinspection_of_id"),
            ["reinspection_of_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_inspection_tasks_reinspection_of_id_inspection_tasks"),
            "inspection_tasks",
            ["reinspection_of_id"],
            ["id"],
        )

    op.create_table(
        "rectification_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "rectified",
                "overdue",
                "reinspected",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("report_note", sa.Text(), nullable=True),
        sa.Column("reinspection_task_id", sa.Integer(), nullable=True),
        sa.Column("reinspection_id", sa.Integer(), nullable=True),
        sa.Column(
            "reinspection_result",
            sa.Enum(
                *RESULTS,
                name="reinspection_result",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_note", sa.String(length=500), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_rectification_orders_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_rectification_orders_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["field_inspections.id"],
            name=op.f("fk_rectification_orders_inspection_id_field_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["reinspection_id"],
            ["field_inspections.id"],
            name=op.f("fk_rectification_orders_reinspection_id_field_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["reinspection_task_id"],
            ["inspection_tasks.id"],
            name=op.f("fk_rectification_orders_reinspection_task_id_inspection_tasks"),
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["users.id"],
            name=op.f("fk_rectification_orders_reported_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_orders")),
        sa.UniqueConstraint("inspection_id", name=op.f("uq_rectification_orders_inspection_id")),
        sa.UniqueConstraint(
            "reinspection_task_id", name=op.f("uq_rectification_orders_reinspection_task_id")
        ),
    )
    op.create_index(
        op.f("ix_rectification_orders_department_id"),
        "rectification_orders",
        ["department_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_rectification_orders_enterprise_id"),
        "rectification_orders",
        ["enterprise_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rectification_orders_enterprise_id"), table_name="rectification_orders")
    op.drop_index(op.f("ix_rectification_orders_department_id"), table_name="rectification_orders")
    op.drop_table("rectification_orders")

    # Re-inspection rounds cannot survive the old constraint; drop them first.
    op.execute("DELETE FROM inspection_tasks WHERE round > 1")
    with op.batch_alter_table("inspection_tasks", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_inspection_tasks_reinspection_of_id_inspection_tasks"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_inspection_tasks_reinspection_of_id"))
        batch_op.drop_constraint("uq_inspection_tasks_target", type_="unique")
        batch_op.create_unique_constraint(
            "uq_inspection_tasks_target", ["draw_id", "enterprise_id"]
        )
        batch_op.drop_column("reinspection_of_id")
        batch_op.drop_column("round")

    op.drop_index(op.f("ix_clock_alerts_department_id"), table_name="clock_alerts")
    op.drop_table("clock_alerts")
    op.drop_index("ix_clocks_running", table_name="clocks")
    op.drop_index("uq_clocks_open_subject", table_name="clocks")
    op.drop_index("ix_clocks_subject", table_name="clocks")
    op.drop_index(op.f("ix_clocks_department_id"), table_name="clocks")
    op.drop_table("clocks")
