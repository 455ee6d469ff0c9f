"""The registry, one list and two directories (一单两库): departments, jurisdictions,
enterprises, inspectors and the inspection-item list."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.base import SRID, Base, TimestampMixin, UTCDateTime, str_enum


class JurisdictionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"

    @property
    def rank(self) -> int:
        """Higher is more specific; used to pick the innermost jurisdiction of a point."""
        return list(JurisdictionLevel).index(self) + 1


class EnterpriseStatus(enum.StrEnum):
    IN_BUSINESS = "in_business"  # 存续/在业
    DEREGISTERED = "deregistered"  # 注销
    REVOKED = "revoked"  # 吊销


class EntityType(enum.StrEnum):
    """Kinds of market entity, aligned with the USCC entity-type digit of registration code 9."""

    COMPANY = "company"  # 企业 (9-1)
    INDIVIDUAL = "individual_business"  # 个体工商户 (9-2)
    COOPERATIVE = "farmer_cooperative"  # 农民专业合作社 (9-3)
    PUBLIC_INSTITUTION = "public_institution"  # 事业单位等 (1-x)
    SOCIAL_ORGANISATION = "social_organisation"  # 社会组织 (5-x)
    OTHER = "other"


class InspectionMethod(enum.StrEnum):
    ON_SITE = "on_site"  # 现场检查
    DOCUMENTS = "documents"  # 书面检查
    ONLINE = "online"  # 网络监测


class Department(TimestampMixin, Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(200))


class Jurisdiction(TimestampMixin, Base):
    __tablename__ = "jurisdictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    adcode: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[JurisdictionLevel] = mapped_column(str_enum(JurisdictionLevel, "level"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="SET NULL"), index=True
    )
    polygon: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )

    parent: Mapped[Jurisdiction | None] = relationship(remote_side=[id])


class Enterprise(TimestampMixin, Base):
    """A market entity in the target directory (检查对象名录库)."""

    __tablename__ = "enterprises"
    __table_args__ = (
        CheckConstraint("registered_capital IS NULL OR registered_capital >= 0", name="capital"),
        Index("ix_enterprises_jurisdiction_status", "jurisdiction_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The upsert key: the USCC when there is one, else "<SCHEME>:<id>" (for example FHRS:1032122).
    natural_key: Mapped[str] = mapped_column(String(64), unique=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    legal_representative: Mapped[str | None] = mapped_column(String(100), index=True)
    entity_type: Mapped[EntityType] = mapped_column(str_enum(EntityType, "entity_type"))
    industry_code: Mapped[str | None] = mapped_column(String(5), index=True)  # GB/T 4754-2017
    registered_address: Mapped[str | None] = mapped_column(String(500))
    location: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=True)
    )
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="SET NULL")
    )
    status: Mapped[EnterpriseStatus] = mapped_column(
        str_enum(EnterpriseStatus, "status"), default=EnterpriseStatus.IN_BUSINESS
    )
    registration_date: Mapped[dt.date | None] = mapped_column(Date)
    registered_capital: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # CNY
    # Source-specific fields kept verbatim (for example the FSA hygiene rating).
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The current credit-risk rating (history: credit_ratings); None until first rated.
    credit_tier: Mapped[str | None] = mapped_column(String(1))
    credit_score: Mapped[float | None] = mapped_column(Float)
    credit_rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    jurisdiction: Mapped[Jurisdiction | None] = relationship()


class Inspector(TimestampMixin, Base):
    """A certified officer in the inspector directory (执法检查人员名录库)."""

    __tablename__ = "inspectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_no: Mapped[str] = mapped_column(String(32), unique=True)  # 执法证号
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="SET NULL"), index=True
    )
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    credential_expires_on: Mapped[dt.date | None] = mapped_column(Date)  # 执法证有效期
    # The last number given to a change of this inspector's task list (TaskChange.seq).
    task_feed_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    department: Mapped[Department] = relationship()
    jurisdiction: Mapped[Jurisdiction | None] = relationship()
    conflicts: Mapped[list[InspectorConflict]] = relationship(
        back_populates="inspector", cascade="all, delete-orphan", order_by="InspectorConflict.id"
    )


class InspectorConflict(Base):
    """A declared conflict of interest: an enterprise, or a named person (回避)."""

    __tablename__ = "inspector_conflicts"
    __table_args__ = (
        CheckConstraint(
            "(enterprise_id IS NOT NULL) <> (person_name IS NOT NULL)", name="one_target"
        ),
        UniqueConstraint("inspector_id", "enterprise_id", "person_name", name="uq_conflict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(
        ForeignKey("inspectors.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    person_name: Mapped[str | None] = mapped_column(String(100))
    relation: Mapped[str | None] = mapped_column(String(200))

    inspector: Mapped[Inspector] = relationship(back_populates="conflicts")
    enterprise: Mapped[Enterprise | None] = relationship()


class InspectionItem(TimestampMixin, Base):
    """An entry of the random-inspection item list (随机抽查事项清单)."""

    __tablename__ = "inspection_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    legal_basis: Mapped[str] = mapped_column(Text)
    # Target scope: GB/T 4754 prefixes and entity types; empty means "all".
    scope_industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope_entity_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    method: Mapped[InspectionMethod] = mapped_column(str_enum(InspectionMethod, "method"))
    # Default frequency as an interval: 12 = once a year, 24 = once every two years.
    default_interval_months: Mapped[int] = mapped_column(SmallInteger, default=12)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department] = relationship()


__all__ = [
    "Department",
    "Enterprise",
    "EnterpriseStatus",
    "EntityType",
    "InspectionItem",
    "InspectionMethod",
    "Inspector",
    "InspectorConflict",
    "Jurisdiction",
    "JurisdictionLevel",
]
