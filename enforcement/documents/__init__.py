"""Official enforcement documents as PDF (WeasyPrint + Jinja2; see ``base`` for why).

Input is plain data (dataclasses, no database); output is PDF bytes with the Chinese fonts
embedded.  One module per document type on top of the shared layout in ``base``:

* ``onsite_record``: 现场检查笔录 (on-site inspection record).
* ``transfer_letter``: 涉嫌犯罪案件移送书 (transfer letter, with the item list and receipt).
* ``investigation_report``: 涉嫌犯罪案件调查报告 (the case group's report).
"""

from enforcement.documents.base import DocumentFonts, DocumentMeta, FontNotInstalledError
from enforcement.documents.investigation_report import (
    InvestigationReport,
    ReportAuthor,
    render_report,
)
from enforcement.documents.onsite_record import (
    CheckIn,
    CheckInVerdict,
    ChecklistResult,
    ChecklistRow,
    EvidenceItem,
    EvidenceKind,
    Inspector,
    OnSiteRecord,
    PartySignature,
    render_onsite_record,
)
from enforcement.documents.transfer_letter import (
    PackageFile,
    TransferItemRow,
    TransferLetter,
    render_transfer_letter,
)

__all__ = [
    "CheckIn",
    "CheckInVerdict",
    "ChecklistResult",
    "ChecklistRow",
    "DocumentFonts",
    "DocumentMeta",
    "EvidenceItem",
    "EvidenceKind",
    "FontNotInstalledError",
    "Inspector",
    "InvestigationReport",
    "OnSiteRecord",
    "PackageFile",
    "PartySignature",
    "ReportAuthor",
    "TransferItemRow",
    "TransferLetter",
    "render_onsite_record",
    "render_report",
    "render_transfer_letter",
]
