"""People who sign in: one account per person, with a role and a scope."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum
from enforcement.models.registry import Department, Enterprise, Inspector


class Role(enum.StrEnum):
    INSPECTOR = "inspector"
    SUPERVISOR = "supervisor"
    ENTERPRISE = "enterprise"
    LIAISON = "liaison"
    ADMIN = "admin"


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(SmallInteger, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Scope: a department for officers, an enterprise for an enterprise account.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"), unique=True)

    department: Mapped[Department | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()
    inspector: Mapped[Inspector | None] = relationship()
