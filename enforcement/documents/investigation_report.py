"""The investigation report of a suspected crime (涉嫌犯罪案件调查报告) as plain data, and its PDF.

国务院令第310号 art. 5: a case group of at least two officers verifies the facts and writes a
report to the head of the agency, who decides within 3 days whether to transfer. The report
states the case, the facts found, the evidence, the suspected offence with its legal basis,
the group's proposal, who wrote it, and the head's decision.

Construction validates every field (at least two authors), so an incomplete report fails with
a ``ValueError`` naming the field before any PDF exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from enforcement.documents.base import DocumentMeta, render_pdf
from enforcement.documents.fields import (
    optional_text,
    require_aware,
    require_items,
    require_text,
    require_uuid,
)
from enforcement.documents.transfer_letter import PackageFile
from enforcement.uscc import validate_uscc

__all__ = ["MIN_AUTHORS", "TITLE", "InvestigationReport", "ReportAuthor", "render_report"]

TITLE = "涉嫌犯罪案件调查报告"
MIN_AUTHORS = 2  # 国务院令第310号 art. 5: two or more officers form the case group


@dataclass(frozen=True, kw_only=True)
class ReportAuthor:
    name: str
    role: str  # 主办人 / 协办人
    credential_number: str = ""  # 执法证号, when the officer has one on record

    def __post_init__(self) -> None:
        require_text("ReportAuthor.name", self.name)
        require_text("ReportAuthor.role", self.role)
        optional_text("ReportAuthor.credential_number", self.credential_number)


@dataclass(frozen=True, kw_only=True)
class InvestigationReport:
    transfer_id: uuid.UUID
    document_number: str
    authority: str
    case_no: str
    case_summary: str  # 案由
    filed_at: datetime  # 立案时间
    enterprise_name: str
    uscc: str
    legal_representative: str
    enterprise_address: str
    origin: str  # 案件来源, e.g. the inspection that found it; may be blank
    facts: str  # 调查认定的事实; one paragraph per line
    evidence_summary: str  # 证据情况
    suspected_offence: str
    legal_basis: str
    authors: Sequence[ReportAuthor]
    reported_at: datetime
    decision: str  # 同意移送 / 不同意移送
    approver_name: str
    decided_at: datetime
    decision_reason: str = ""
    files: Sequence[PackageFile] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "transfer_id", require_uuid("InvestigationReport.transfer_id", self.transfer_id)
        )
        for name in (
            "document_number",
            "authority",
            "case_no",
            "case_summary",
            "enterprise_name",
            "uscc",
            "legal_representative",
            "enterprise_address",
            "facts",
            "evidence_summary",
            "suspected_offence",
            "legal_basis",
            "decision",
            "approver_name",
        ):
            require_text(f"InvestigationReport.{name}", getattr(self, name))
        if (problem := validate_uscc(self.uscc)) is not None:
            raise ValueError(
                f"InvestigationReport.uscc: invalid code {self.uscc!r}: {problem.reason}"
            )
        optional_text("InvestigationReport.origin", self.origin)
        optional_text("InvestigationReport.decision_reason", self.decision_reason)
        for name in ("filed_at", "reported_at", "decided_at"):
            require_aware(f"InvestigationReport.{name}", getattr(self, name))
        authors = require_items(
            "InvestigationReport.authors", self.authors, ReportAuthor, minimum=MIN_AUTHORS
        )
        object.__setattr__(self, "authors", authors)
        files = require_items("InvestigationReport.files", self.files, PackageFile, minimum=0)
        object.__setattr__(self, "files", files)


def render_report(report: InvestigationReport, *, generated_at: datetime) -> bytes:
    """The report as PDF bytes; the same report with the same ``generated_at`` (aware) renders
    to the same bytes."""
    if not isinstance(report, InvestigationReport):
        raise ValueError(f"report: must be an InvestigationReport, got {type(report).__name__}")
    meta = DocumentMeta(
        title=TITLE,
        authority=report.authority,
        document_number=report.document_number,
        generated_at=require_aware("generated_at", generated_at),
        keywords=(report.case_no, str(report.transfer_id)),
    )
    return render_pdf("investigation_report.html", meta, {"report": report})
