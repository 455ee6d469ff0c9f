"""People who sign in: one account per person, with a role and a scope; their API tokens; the
failed sign-ins of each client address (the per-address limit)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum, utcnow
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
    # The generation of the account's sessions: a session cookie carries the value it was
    # signed in under and is anonymous once they differ. Sign-out, a password change or reset
    # and deactivation increment it, so every copy of an earlier cookie stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Scope: a department for officers, an enterprise for an enterprise account.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"), unique=True)

    department: Mapped[Department | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()
    inspector: Mapped[Inspector | None] = relationship()


class ApiToken(Base):
    """A bearer token of the JSON API (a tablet, a script). Only the SHA-256 of the secret is
    stored, so a copy of the database cannot be used to sign in."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")  # "tablet 3", "nightly export"
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SigninFailure(Base):
    """One refused sign-in (login page or token endpoint) from a client address. Counted in a
    sliding window to slow down password spraying over many usernames; rows older than the
    window are pruned. The username is not kept: the limit is per address only."""

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))  # IPv4 or IPv6 text (at most 45 chars)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
