"""Background jobs: long operations started from the desk pages, run on the worker.

A job row is the shared record of progress between the web process (which creates it and
polls it) and the worker (which runs it and writes its progress in short transactions of its
own, so a page sees the progress while the work is still going on).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum
from enforcement.reasons import reason_from_document


class JobKind(enum.StrEnum):
    IMPORT = "import"  # a registry file through enforcement.importers
    RERATE = "rerate"  # the full re-rating of every enterprise
    DRAW = "draw"  # the draw of a (large) sampling plan


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


FINAL_JOB_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED})


class BackgroundJob(TimestampMixin, Base):
    """One long operation: what to do (kind, params), how far it got and what came out."""

    __tablename__ = "background_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    kind: Mapped[JobKind] = mapped_column(str_enum(JobKind, "job_kind"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus, "job_status"), default=JobStatus.QUEUED, index=True
    )
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(500), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # The message ids and values of ``message`` and ``error`` when the services gave reasons
    # (``enforcement.reasons``): the English texts above are what logs and the CLI read; pages
    # show these, translated for their reader.
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # An uploaded input (an import file) travels to the worker through the database.
    input_name: Mapped[str | None] = mapped_column(String(255))
    input_data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User] = relationship()

    @property
    def message_text(self) -> str:
        """``message``, translatable where it is shown when it was written as a reason."""
        return reason_from_document((self.texts or {}).get("message"), self.message)

    @property
    def error_text(self) -> str | None:
        """``error``, translatable where it is shown when it was written as a reason."""
        if self.error is None:
            return None
        return reason_from_document((self.texts or {}).get("error"), self.error)


__all__ = ["FINAL_JOB_STATUSES", "BackgroundJob", "JobKind", "JobStatus"]
