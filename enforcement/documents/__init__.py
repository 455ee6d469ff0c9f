"""Official enforcement documents as PDF (WeasyPrint + Jinja2; see ``base`` for why).

Input is plain data (dataclasses, no database); output is PDF bytes with the Chinese fonts
embedded.  One module per document type on top of the shared layout in ``base``:

* ``onsite_record``: 现场检查笔录 (on-site inspection record).
"""

from enforcement.documents.base import DocumentFonts, DocumentMeta, FontNotInstalledError
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
    "OnSiteRecord",
    "PartySignature",
    "render_onsite_record",
]
