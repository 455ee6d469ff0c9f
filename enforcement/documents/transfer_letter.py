"""The transfer letter (涉嫌犯罪案件移送书) as plain data, and its PDF.

国务院令第310号 (行政执法机关移送涉嫌犯罪案件的规定, revised 2020) art. 8: a transfer carries
the letter, the investigation report, the list of items involved (涉案物品清单), inspection
reports or appraisal opinions and the other evidence. The letter is addressed to the public
security office at the same level, copied to the procuratorate, lists what is attached, and
carries the item list as its annex and a receipt (回执) for the office to sign and return.

A service builds a :class:`TransferLetter` from the database and calls
:func:`render_transfer_letter`; construction validates every field, so an incomplete letter
fails with a ``ValueError`` naming the field before any PDF exists.
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
    require_count,
    require_items,
    require_sha256,
    require_text,
    require_uuid,
)
from enforcement.uscc import validate_uscc

__all__ = [
    "TITLE",
    "PackageFile",
    "TransferItemRow",
    "TransferLetter",
    "render_transfer_letter",
]

TITLE = "涉嫌犯罪案件移送书"


@dataclass(frozen=True, kw_only=True)
class TransferItemRow:
    """One line of the list of items involved (涉案物品清单)."""

    name: str
    spec: str = ""  # 规格型号
    quantity: str  # as printed: "12", "3.5"
    unit: str
    location: str = ""  # 存放地点
    custody: str = ""  # 保管情况 (sealed, seized, kept by whom)
    note: str = ""

    def __post_init__(self) -> None:
        require_text("TransferItemRow.name", self.name)
        require_text("TransferItemRow.quantity", self.quantity)
        require_text("TransferItemRow.unit", self.unit)
        for name in ("spec", "location", "custody", "note"):
            optional_text(f"TransferItemRow.{name}", getattr(self, name))


@dataclass(frozen=True, kw_only=True)
class PackageFile:
    """A file sent with the letter, as the annex list shows it."""

    category: str  # 检验报告, 鉴定意见, 现场检查笔录, 证据材料…
    title: str
    path: str  # its name inside the package
    sha256: str
    size_bytes: int

    def __post_init__(self) -> None:
        require_text("PackageFile.category", self.category)
        require_text("PackageFile.title", self.title)
        require_text("PackageFile.path", self.path)
        require_sha256("PackageFile.sha256", self.sha256)
        require_count("PackageFile.size_bytes", self.size_bytes)


@dataclass(frozen=True, kw_only=True)
class TransferLetter:
    transfer_id: uuid.UUID
    document_number: str  # 文书编号
    authority: str  # the transferring agency (移送机关)
    police_office: str  # addressee: public security at the same level
    procuratorate: str  # copied (抄送)
    case_no: str
    case_summary: str  # 案由
    enterprise_name: str
    uscc: str
    suspected_offence: str  # 涉嫌罪名
    approved_at: datetime  # the head's approval (aware); the letter's date
    approver_name: str
    report_document_number: str  # the investigation report's number
    items: Sequence[TransferItemRow] = field(default_factory=tuple)
    files: Sequence[PackageFile] = field(default_factory=tuple)
    contact: str = ""  # 联系人 (the liaison), optional

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "transfer_id", require_uuid("TransferLetter.transfer_id", self.transfer_id)
        )
        for name in (
            "document_number",
            "authority",
            "police_office",
            "procuratorate",
            "case_no",
            "case_summary",
            "enterprise_name",
            "uscc",
            "suspected_offence",
            "approver_name",
            "report_document_number",
        ):
            require_text(f"TransferLetter.{name}", getattr(self, name))
        if (problem := validate_uscc(self.uscc)) is not None:
            raise ValueError(f"TransferLetter.uscc: invalid code {self.uscc!r}: {problem.reason}")
        require_aware("TransferLetter.approved_at", self.approved_at)
        optional_text("TransferLetter.contact", self.contact)
        items = require_items("TransferLetter.items", self.items, TransferItemRow, minimum=0)
        object.__setattr__(self, "items", items)
        files = require_items("TransferLetter.files", self.files, PackageFile, minimum=0)
        object.__setattr__(self, "files", files)

    def count(self, *categories: str) -> int:
        """How many files of these categories are attached."""
        return sum(1 for f in self.files if f.category in categories)


def render_transfer_letter(letter: TransferLetter, *, generated_at: datetime) -> bytes:
    """The letter (with its item annex and the receipt) as PDF bytes.

    ``generated_at`` (aware) is printed in the footer and written as the PDF creation date;
    pass a stored time (the approval) to get the same bytes for the same letter.
    """
    if not isinstance(letter, TransferLetter):
        raise ValueError(f"letter: must be a TransferLetter, got {type(letter).__name__}")
    meta = DocumentMeta(
        title=TITLE,
        authority=letter.authority,
        document_number=letter.document_number,
        generated_at=require_aware("generated_at", generated_at),
        keywords=(letter.case_no, str(letter.transfer_id)),
    )
    return render_pdf("transfer_letter.html", meta, {"letter": letter})
