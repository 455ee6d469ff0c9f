"""The transfer package (移送材料包): everything public security receives with a transfer, in one
ZIP whose every file is listed with its SHA-256 in a manifest that is itself hashed.

Layout (names in Chinese, as the recipients read them)::

    01-涉嫌犯罪案件移送书.pdf        the letter, with the item list as its annex and the receipt
    02-涉嫌犯罪案件调查报告.pdf      the case group's report and the head's decision
    03-涉案物品清单.csv              the item list again, for spreadsheets (UTF-8 with BOM)
    04-检验报告/NN-<title>.<ext>     inspection reports (检验报告)
    05-鉴定意见/NN-<title>.<ext>     appraisal opinions (鉴定意见)
    06-现场检查笔录/<number>.pdf     the on-site record of the inspection the case came from
    07-证据材料/NN-<title>.<ext>     other evidence: attached files, the inspection's photos…
    manifest.json                    every file above: path, SHA-256, size, category, title
    manifest.sha256                  "<sha256>  manifest.json" (``sha256sum -c`` reads it)

Deterministic: the same case exports the same bytes when nothing changed. The PDFs are
generated at the head's approval time, entries are written in a fixed order with a fixed
timestamp (the approval, Beijing time), fixed permissions and compression, and the manifest
is canonical JSON. The manifest's SHA-256 is recorded on the transfer and in the audit log on
export (``enforcement.services.transfers``), so a package that was changed and re-hashed
still fails :func:`verify_package` against the recorded hash.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.documents.base import SHANGHAI, cn_date
from enforcement.documents.investigation_report import (
    InvestigationReport,
    ReportAuthor,
    render_report,
)
from enforcement.documents.transfer_letter import (
    PackageFile,
    TransferItemRow,
    TransferLetter,
    render_transfer_letter,
)
from enforcement.evidence import EvidenceNotFound, EvidenceStore, safe_display_name
from enforcement.models import (
    AttachmentKind,
    EvidenceFile,
    FieldInspection,
    InspectionStatus,
    PenaltyCase,
    Transfer,
    TransferDecision,
)
from enforcement.reasons import reason, reason_of
from enforcement.services.onsite_record import (
    RecordIncompleteError,
    build_record,
    ensure_record,
)

__all__ = [
    "FORMAT",
    "ITEM_COLUMNS",
    "MANIFEST",
    "MANIFEST_SHA256",
    "PackageEntry",
    "PackageError",
    "PackageIncompleteError",
    "PackageNotAvailableError",
    "PackageResult",
    "VerifyReport",
    "build_package",
    "collect_entries",
    "document_numbers",
    "format_quantity",
    "items_csv",
    "manifest_bytes",
    "transfer_of",
    "verify_package",
    "write_package",
]

FORMAT = "suijian-transfer-package/1"
MANIFEST = "manifest.json"
MANIFEST_SHA256 = "manifest.sha256"
NOT_RECORDED = "未登记"
LETTER_PATH = "01-涉嫌犯罪案件移送书.pdf"
REPORT_PATH = "02-涉嫌犯罪案件调查报告.pdf"
ITEMS_PATH = "03-涉案物品清单.csv"
ITEM_COLUMNS = ("序号", "物品名称", "规格", "数量", "单位", "存放地点", "保管情况", "备注")

_FOLDERS = {
    AttachmentKind.INSPECTION_REPORT: ("04-检验报告", "检验报告"),
    AttachmentKind.APPRAISAL_OPINION: ("05-鉴定意见", "鉴定意见"),
    AttachmentKind.OTHER_EVIDENCE: ("07-证据材料", "证据材料"),
}
_RECORDS = ("06-现场检查笔录", "现场检查笔录")
_KIND_LABELS = {"photo": "照片", "video": "视频", "audio": "录音", "document": "文件"}
_ROLE_LABELS = {"lead": "主办人", "member": "协办人"}
_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/3gpp": "3gp",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/amr": "amr",
    "audio/amr-wb": "awb",
    "audio/ogg": "ogg",
    "audio/webm": "weba",
    "audio/3gpp": "3gp",
}
#: Already compressed: stored as they are (and a flipped byte stays where it was flipped).
_STORED_SUFFIXES = frozenset(_EXTENSIONS.values())
_READ_BLOCK = 1024 * 1024


# ------------------------------------------------------------------------------ errors


class PackageError(Exception):
    """The package cannot be built (the message says why)."""


class PackageNotAvailableError(PackageError):
    """No transfer, or not approved: only an approved transfer has a letter to send."""


class PackageIncompleteError(PackageError):
    """Something the package must hold is missing or damaged (a file not in the store, a
    document field the records lack); the message names it."""


# ------------------------------------------------------------------------------ writing


@dataclass(frozen=True)
class PackageEntry:
    """One file of the package."""

    path: str
    data: bytes
    category: str
    title: str
    media_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def manifest(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": len(self.data),
            "category": self.category,
            "title": self.title,
            "media_type": self.media_type,
        }


@dataclass(frozen=True)
class PackageResult:
    path: Path
    manifest_sha256: str
    size: int  # of the ZIP
    files: tuple[dict[str, Any], ...]  # the manifest's entries


def _zip_time(stamp: dt.datetime) -> tuple[int, int, int, int, int, int]:
    local = stamp.astimezone(SHANGHAI)
    if local.year < 1980:  # the ZIP format starts in 1980
        return (1980, 1, 1, 0, 0, 0)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def _write_entry(archive: zipfile.ZipFile, path: str, data: bytes, stamp: tuple) -> None:
    info = zipfile.ZipInfo(path, date_time=stamp)
    info.create_system = 3  # Unix: the permissions below mean the same everywhere
    info.external_attr = 0o100644 << 16
    stored = path.rsplit(".", 1)[-1].lower() in _STORED_SUFFIXES
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    archive.writestr(info, data, compresslevel=None if stored else 9)


def manifest_bytes(meta: dict[str, Any], entries: Sequence[PackageEntry]) -> bytes:
    """Canonical JSON (sorted keys, two-space indent, UTF-8, final newline)."""
    document = {**meta, "format": FORMAT, "files": [entry.manifest() for entry in entries]}
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def write_package(
    entries: Sequence[PackageEntry],
    meta: dict[str, Any],
    out_path: Path | str,
    *,
    timestamp: dt.datetime,
) -> PackageResult:
    """Write the ZIP (entries, then the manifest and its hash) atomically to ``out_path``."""
    paths = [entry.path for entry in entries]
    if len(set(paths)) != len(paths) or {MANIFEST, MANIFEST_SHA256} & set(paths):
        raise PackageError(f"duplicate or reserved file names in the package: {paths}")
    manifest = manifest_bytes(meta, entries)
    manifest_sha256 = hashlib.sha256(manifest).hexdigest()
    stamp = _zip_time(timestamp)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".transfer-", suffix=".zip.part", dir=out.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w") as archive:
                for entry in entries:
                    _write_entry(archive, entry.path, entry.data, stamp)
                _write_entry(archive, MANIFEST, manifest, stamp)
                checksum = f"{manifest_sha256}  {MANIFEST}\n".encode()
                _write_entry(archive, MANIFEST_SHA256, checksum, stamp)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o644)
        tmp.replace(out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return PackageResult(
        path=out,
        manifest_sha256=manifest_sha256,
        size=out.stat().st_size,
        files=tuple(entry.manifest() for entry in entries),
    )


# ------------------------------------------------------------------------------ verifying


@dataclass
class VerifyReport:
    """What :func:`verify_package` found; ``problems`` in the order they were met."""

    problems: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None
    files_checked: int = 0
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> str | None:
        return self.problems[0] if self.problems else None


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes; a damaged member (CRC or deflate error) raises ``ValueError``."""
    try:
        with archive.open(name) as handle:
            chunks = []
            while block := handle.read(_READ_BLOCK):
                chunks.append(block)
            return b"".join(chunks)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{name}: the file is damaged in the archive ({exc})") from exc


def verify_package(path: Path | str, expected_manifest_sha256: str | None = None) -> VerifyReport:
    """Check a package: the manifest against ``manifest.sha256`` (and against
    ``expected_manifest_sha256``, the hash recorded at export, when given), then every file
    listed (present, same size, same SHA-256), then files the manifest does not list."""
    report = VerifyReport()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"{path}: not a readable ZIP archive ({exc})")
        return report
    with archive:
        names = archive.namelist()
        duplicates = sorted({n for n in names if names.count(n) > 1})
        for name in duplicates:
            report.problems.append(f"{name}: appears more than once in the archive")
        if MANIFEST not in names:
            report.problems.append(f"{MANIFEST}: missing from the package")
            return report
        try:
            manifest = _read_member(archive, MANIFEST)
        except ValueError as exc:
            report.problems.append(str(exc))
            return report
        actual = hashlib.sha256(manifest).hexdigest()
        report.manifest_sha256 = actual
        _check_manifest_hash(archive, names, actual, expected_manifest_sha256, report)
        try:
            document = json.loads(manifest.decode("utf-8"))
            listed = document["files"]
            if document.get("format") != FORMAT or not isinstance(listed, list):
                raise ValueError(f"format is not {FORMAT}")
        except (ValueError, KeyError, TypeError) as exc:
            report.problems.append(f"{MANIFEST}: not a transfer package manifest ({exc})")
            return report
        report.manifest = document
        seen = {MANIFEST, MANIFEST_SHA256}
        for index, entry in enumerate(listed):
            _check_file(archive, names, index, entry, report)
            if isinstance(entry, dict):
                seen.add(str(entry.get("path")))
        for name in names:
            if name not in seen:
                report.problems.append(f"{name}: extra file, not listed in {MANIFEST}")
    return report


def _check_manifest_hash(
    archive: zipfile.ZipFile,
    names: list[str],
    actual: str,
    expected: str | None,
    report: VerifyReport,
) -> None:
    if MANIFEST_SHA256 not in names:
        report.problems.append(f"{MANIFEST_SHA256}: missing from the package")
    else:
        try:
            recorded = _read_member(archive, MANIFEST_SHA256).decode("ascii", "replace").split()
        except ValueError as exc:
            report.problems.append(str(exc))
            recorded = []
        if not recorded or recorded[0].lower() != actual:
            said = recorded[0] if recorded else "nothing"
            report.problems.append(
                f"{MANIFEST}: its SHA-256 is {actual} but {MANIFEST_SHA256} says {said} "
                "(the manifest was changed)"
            )
    if expected is not None and expected.lower() != actual:
        report.problems.append(
            f"{MANIFEST}: its SHA-256 is {actual}, not {expected.lower()} as recorded at export"
        )


def _check_file(
    archive: zipfile.ZipFile,
    names: list[str],
    index: int,
    entry: Any,
    report: VerifyReport,
) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        report.problems.append(f"{MANIFEST}: files[{index}] has no path")
        return
    name = entry["path"]
    if name not in names:
        report.problems.append(f"{name}: missing (listed in {MANIFEST})")
        return
    try:
        data = _read_member(archive, name)
    except ValueError as exc:
        report.problems.append(str(exc))
        return
    report.files_checked += 1
    sha256 = hashlib.sha256(data).hexdigest()
    if sha256 != entry.get("sha256"):
        report.problems.append(
            f"{name}: SHA-256 is {sha256}, {MANIFEST} says {entry.get('sha256')} "
            "(the file was changed)"
        )
    elif len(data) != entry.get("size"):
        report.problems.append(f"{name}: {len(data)} bytes, {MANIFEST} says {entry.get('size')}")


# ------------------------------------------------------------------------------ building


def format_quantity(value: Decimal | int | float | str) -> str:
    """``12`` for 12.000, ``3.5`` for 3.500: no exponent, no trailing zeros."""
    number = Decimal(str(value)).normalize()
    text = format(number, "f")
    return "0" if text in ("-0", "") else text


def items_csv(transfer: Transfer) -> bytes:
    """The item list as CSV: UTF-8 with a BOM (spreadsheets on Chinese desktops need it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ITEM_COLUMNS)
    for number, item in enumerate(transfer.items, start=1):
        writer.writerow(
            [
                number,
                item.name,
                item.spec,
                format_quantity(item.quantity),
                item.unit,
                item.location,
                item.custody,
                item.note,
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def document_numbers(transfer: Transfer) -> tuple[str, str]:
    """(letter, report) document numbers: department code, year, the transfer's id."""
    department = transfer.case.department
    letter_year = (transfer.decided_at or transfer.reported_at).astimezone(SHANGHAI).year
    report_year = transfer.reported_at.astimezone(SHANGHAI).year
    return (
        f"{department.code}移送〔{letter_year}〕{transfer.id:05d}号",
        f"{department.code}移调〔{report_year}〕{transfer.id:05d}号",
    )


def _extension(media_type: str) -> str:
    return _EXTENSIONS.get(media_type, "bin")


def _file_name(number: int, title: str, media_type: str) -> str:
    """``NN-<title>.<ext>``: the title made safe for a file name (never a path)."""
    extension = _extension(media_type)
    stem = safe_display_name(title, max_length=60)
    if stem.lower().endswith(f".{extension}"):
        stem = stem[: -len(extension) - 1] or "unnamed"
    return f"{number:02d}-{stem}.{extension}"


def _read_store(store: EvidenceStore, file: EvidenceFile, what: str) -> bytes:
    """The stored bytes, checked against their name: damaged evidence is never sent."""
    try:
        with store.open(file.sha256) as handle:
            data = handle.read()
    except EvidenceNotFound:
        raise PackageIncompleteError(
            reason(
                "${what}: file ${sha256} is not in the evidence store",
                what=what,
                sha256=file.sha256,
            )
        ) from None
    if hashlib.sha256(data).hexdigest() != file.sha256:
        raise PackageIncompleteError(
            reason(
                "${what}: file ${sha256} in the evidence store is damaged (its bytes no longer "
                "match their SHA-256)",
                what=what,
                sha256=file.sha256,
            )
        )
    return data


def _origin_inspection(case: PenaltyCase) -> FieldInspection | None:
    inspection = case.origin_inspection
    if inspection is None or inspection.status != InspectionStatus.FINISHED:
        return None
    return inspection


def collect_entries(
    session: Session, transfer: Transfer, store: EvidenceStore
) -> tuple[list[PackageEntry], dict[str, Any]]:
    """The package's files (in their order) and the manifest's description of the transfer."""
    if transfer.decision != TransferDecision.APPROVE or transfer.decided_at is None:
        raise PackageNotAvailableError(
            reason(
                "transfer of case ${case} is not approved by the head: "
                "there is no transfer letter to send yet",
                case=transfer.case.case_no,
            )
        )
    case = transfer.case
    enterprise = case.enterprise
    evidence: list[PackageEntry] = []
    seen: set[str] = set()
    counters: dict[str, int] = {}

    def add(folder: str, category: str, title: str, file: EvidenceFile, data: bytes) -> None:
        counters[folder] = counters.get(folder, 0) + 1
        name = _file_name(counters[folder], title, file.media_type)
        evidence.append(PackageEntry(f"{folder}/{name}", data, category, title, file.media_type))
        seen.add(file.sha256)

    attachments = sorted(transfer.attachments, key=lambda a: (_FOLDERS[a.kind][0], a.position))
    for attachment in attachments:
        if attachment.kind == AttachmentKind.OTHER_EVIDENCE:
            continue  # after the on-site record, with the inspection's own evidence
        folder, category = _FOLDERS[attachment.kind]
        data = _read_store(
            store, attachment.file, reason("attachment '${title}'", title=attachment.title)
        )
        add(folder, category, attachment.title, attachment.file, data)

    inspection = _origin_inspection(case)
    origin = ""
    if inspection is not None:
        try:
            record_sha256, _ = ensure_record(session, inspection, store)
            number = build_record(session, inspection, store).document_number
        except RecordIncompleteError as exc:
            raise PackageIncompleteError(
                reason("on-site record: ${error}", error=reason_of(exc))
            ) from exc
        record = session.get(EvidenceFile, record_sha256)
        assert record is not None  # ensure_record registered it
        data = _read_store(store, record, reason("on-site record"))
        folder, category = _RECORDS
        title = f"现场检查笔录（{number}）"
        evidence.append(
            PackageEntry(f"{folder}/{number}.pdf", data, category, title, record.media_type)
        )
        seen.add(record.sha256)
        assert inspection.finished_at is not None
        origin = (
            f"{cn_date(inspection.finished_at)}，执法人员对当事人进行现场检查时发现本案线索"
            f"（现场检查笔录文书编号：{number}）。"
        )

    folder, category = _FOLDERS[AttachmentKind.OTHER_EVIDENCE]
    for attachment in attachments:
        if attachment.kind == AttachmentKind.OTHER_EVIDENCE and attachment.sha256 not in seen:
            data = _read_store(
                store, attachment.file, reason("attachment '${title}'", title=attachment.title)
            )
            add(folder, category, attachment.title, attachment.file, data)
    if inspection is not None:
        for item in inspection.evidence:
            if item.sha256 in seen:
                continue
            label = _KIND_LABELS.get(item.file.kind, "文件")
            title = item.caption or f"现场{label}（{item.sha256[:16]}）"
            data = _read_store(
                store, item.file, reason("inspection evidence ${sha256}", sha256=item.sha256)
            )
            add(folder, category, title, item.file, data)

    files = [
        PackageFile(
            category=e.category,
            title=e.title,
            path=e.path,
            sha256=e.sha256,
            size_bytes=len(e.data),
        )
        for e in evidence
    ]
    letter_number, report_number = document_numbers(transfer)
    items = [
        TransferItemRow(
            name=item.name,
            spec=item.spec,
            quantity=format_quantity(item.quantity),
            unit=item.unit,
            location=item.location,
            custody=item.custody,
            note=item.note,
        )
        for item in transfer.items
    ]
    approver = transfer.decided_by.display_name if transfer.decided_by else NOT_RECORDED
    missing = [f for f in ("police_office", "procuratorate") if not getattr(transfer, f)]
    if missing:
        raise PackageIncompleteError(
            reason(
                "${fields}: the letter's addressee and the procuratorate copied are not "
                "recorded (name them in the report or when sending)",
                fields=", ".join(missing),
            )
        )
    try:
        letter = TransferLetter(
            transfer_id=transfer.uuid,
            document_number=letter_number,
            authority=case.department.name,
            police_office=transfer.police_office or "",
            procuratorate=transfer.procuratorate or "",
            case_no=case.case_no,
            case_summary=case.summary,
            enterprise_name=enterprise.name,
            uscc=enterprise.uscc or "",
            suspected_offence=transfer.suspected_offence,
            approved_at=transfer.decided_at,
            approver_name=approver,
            report_document_number=report_number,
            items=items,
            files=files,
        )
        report = InvestigationReport(
            transfer_id=transfer.uuid,
            document_number=report_number,
            authority=case.department.name,
            case_no=case.case_no,
            case_summary=case.summary,
            filed_at=case.filed_at,
            enterprise_name=enterprise.name,
            uscc=enterprise.uscc or "",
            legal_representative=enterprise.legal_representative or NOT_RECORDED,
            enterprise_address=enterprise.registered_address or NOT_RECORDED,
            origin=origin,
            facts=transfer.facts,
            evidence_summary=transfer.evidence_summary,
            suspected_offence=transfer.suspected_offence,
            legal_basis=transfer.legal_basis,
            authors=[
                ReportAuthor(
                    name=author["name"],
                    role=_ROLE_LABELS.get(author.get("role", ""), "成员"),
                    credential_number=author.get("credential_no") or "",
                )
                for author in transfer.authors
            ],
            reported_at=transfer.reported_at,
            decision="同意移送",
            approver_name=approver,
            decided_at=transfer.decided_at,
            decision_reason=transfer.decision_reason or "",
            files=files,
        )
    except ValueError as exc:
        raise PackageIncompleteError(
            reason("the documents cannot be made: ${error}", error=str(exc))
        ) from exc
    generated_at = transfer.decided_at
    letter_pdf = render_transfer_letter(letter, generated_at=generated_at)
    report_pdf = render_report(report, generated_at=generated_at)
    entries = [
        PackageEntry(LETTER_PATH, letter_pdf, "移送书", "涉嫌犯罪案件移送书", "application/pdf"),
        PackageEntry(
            REPORT_PATH, report_pdf, "调查报告", "涉嫌犯罪案件调查报告", "application/pdf"
        ),
        PackageEntry(ITEMS_PATH, items_csv(transfer), "涉案物品清单", "涉案物品清单", "text/csv"),
        *evidence,
    ]
    meta = {
        "transfer": {
            "uuid": str(transfer.uuid),
            "letter_number": letter_number,
            "report_number": report_number,
            "case_no": case.case_no,
            "case_uuid": str(case.uuid),
            "authority": case.department.name,
            "enterprise": {"name": enterprise.name, "uscc": enterprise.uscc},
            "suspected_offence": transfer.suspected_offence,
            "approved_at": _iso(transfer.decided_at),
            "police_office": transfer.police_office,
            "procuratorate": transfer.procuratorate,
        },
        "generated_at": _iso(generated_at),
    }
    return entries, meta


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def transfer_of(session: Session, case: PenaltyCase) -> Transfer | None:
    return session.scalar(select(Transfer).where(Transfer.case_id == case.id))


def build_package(
    session: Session, case: PenaltyCase, out_path: Path | str, *, store: EvidenceStore
) -> PackageResult:
    """Build the package of ``case``'s approved transfer into ``out_path`` (atomically).

    Records nothing: the caller (``TransferService.export``) keeps the manifest's hash and
    writes the audit row. :class:`PackageNotAvailableError` without an approved transfer,
    :class:`PackageIncompleteError` when a file or a document field is missing.
    """
    transfer = transfer_of(session, case)
    if transfer is None:
        raise PackageNotAvailableError(reason("case ${case} has no transfer", case=case.case_no))
    entries, meta = collect_entries(session, transfer, store)
    assert transfer.decided_at is not None
    return write_package(entries, meta, out_path, timestamp=transfer.decided_at)
