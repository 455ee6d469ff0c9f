"""registry and accounts

Revision ID: 0001
Revises:
Create Date: 2026-11-22 15:07:52.732594
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
    )
    op.create_geospatial_table(
        "jurisdictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adcode", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "province",
                "city",
                "county",
                "township",
                name="level",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column(
            "polygon",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
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
            ["parent_id"],
            ["jurisdictions.id"],
            name=op.f("fk_jurisdictions_parent_id_jurisdictions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jurisdictions")),
        sa.UniqueConstraint("adcode", name=op.f("uq_jurisdictions_adcode")),
    )
    op.create_geospatial_index(
        "idx_jurisdictions_polygon",
        "jurisdictions",
        ["polygon"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_jurisdictions_parent_id"), "jurisdictions", ["parent_id"], unique=False
    )
    op.create_geospatial_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("natural_key", sa.String(length=64), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("legal_representative", sa.String(length=100), nullable=True),
        sa.Column(
            "entity_type",
            sa.Enum(
                "company",
                "individual_business",
                "farmer_cooperative",
                "public_institution",
                "social_organisation",
                "other",
                name="entity_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("industry_code", sa.String(length=5), nullable=True),
        sa.Column("registered_address", sa.String(length=500), nullable=True),
        sa.Column(
            "location",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "in_business",
                "deregistered",
                "revoked",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("registration_date", sa.Date(), nullable=True),
        sa.Column("registered_capital", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
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
            "registered_capital IS NULL OR registered_capital >= 0",
            name=op.f("ck_enterprises_capital"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_enterprises_jurisdiction_id_jurisdictions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("natural_key", name=op.f("uq_enterprises_natural_key")),
        sa.UniqueConstraint("uscc", name=op.f("uq_enterprises_uscc")),
    )
    op.create_geospatial_index(
        "idx_enterprises_location",
        "enterprises",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_enterprises_industry_code"),
        "enterprises",
        ["industry_code"],
        unique=False,
    )
    op.create_index(
        "ix_enterprises_jurisdiction_status",
        "enterprises",
        ["jurisdiction_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_enterprises_legal_representative"),
        "enterprises",
        ["legal_representative"],
        unique=False,
    )
    op.create_table(
        "inspection_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("scope_industries", sa.JSON(), nullable=False),
        sa.Column("scope_entity_types", sa.JSON(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "on_site",
                "documents",
                "online",
                name="method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("default_interval_months", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
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
            name=op.f("fk_inspection_items_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_items")),
        sa.UniqueConstraint("code", name=op.f("uq_inspection_items_code")),
    )
    op.create_index(
        op.f("ix_inspection_items_department_id"),
        "inspection_items",
        ["department_id"],
        unique=False,
    )
    op.create_table(
        "inspectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_no", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=True),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
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
            name=op.f("fk_inspectors_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_inspectors_jurisdiction_id_jurisdictions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspectors")),
        sa.UniqueConstraint("credential_no", name=op.f("uq_inspectors_credential_no")),
    )
    op.create_index(
        op.f("ix_inspectors_department_id"),
        "inspectors",
        ["department_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inspectors_jurisdiction_id"),
        "inspectors",
        ["jurisdiction_id"],
        unique=False,
    )
    op.create_table(
        "inspector_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("person_name", sa.String(length=100), nullable=True),
        sa.Column("relation", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "(enterprise_id IS NOT NULL) <> (person_name IS NOT NULL)",
            name=op.f("ck_inspector_conflicts_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_inspector_conflicts_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_inspector_conflicts_inspector_id_inspectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspector_conflicts")),
        sa.UniqueConstraint("inspector_id", "enterprise_id", "person_name", name="uq_conflict"),
    )
    op.create_index(
        op.f("ix_inspector_conflicts_enterprise_id"),
        "inspector_conflicts",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inspector_conflicts_inspector_id"),
        "inspector_conflicts",
        ["inspector_id"],
        unique=False,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "inspector",
                "supervisor",
                "enterprise",
                "liaison",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.SmallInteger(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
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
            name=op.f("fk_users_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_users_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_users_inspector_id_inspectors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("inspector_id", name=op.f("uq_users_inspector_id")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_department_id"), "users", ["department_id"], unique=False)
    op.create_index(op.f("ix_users_enterprise_id"), "users", ["enterprise_id"], unique=False)


def downgrade() -> None:

    op.drop_index(op.f("ix_users_enterprise_id"), table_name="users")
    op.drop_index(op.f("ix_users_department_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_inspector_conflicts_inspector_id"), table_name="inspector_conflicts")
    op.drop_index(op.f("ix_inspector_conflicts_enterprise_id"), table_name="inspector_conflicts")
    op.drop_table("inspector_conflicts")
    op.drop_index(op.f("ix_inspectors_jurisdiction_id"), table_name="inspectors")
    op.drop_index(op.f("ix_inspectors_department_id"), table_name="inspectors")
    op.drop_table("inspectors")
    op.drop_index(op.f("ix_inspection_items_department_id"), table_name="inspection_items")
    op.drop_table("inspection_items")
    op.drop_index(op.f("ix_enterprises_legal_representative"), table_name="enterprises")
    op.drop_index("ix_enterprises_jurisdiction_status", table_name="enterprises")
    op.drop_index(op.f("ix_enterprises_industry_code"), table_name="enterprises")
    op.drop_geospatial_index(
        "idx_enterprises_location",
        table_name="enterprises",
        postgresql_using="gist",
        column_name="location",
    )
    op.drop_geospatial_table("enterprises")
    op.drop_index(op.f("ix_jurisdictions_parent_id"), table_name="jurisdictions")
    op.drop_geospatial_index(
        "idx_jurisdictions_polygon",
        table_name="jurisdictions",
        postgresql_using="gist",
        column_name="polygon",
    )
    op.drop_geospatial_table("jurisdictions")
    op.drop_table("departments")
