"""The transfer package (移送材料包): export → verify round trip, the same bytes for the same
case, tampering caught and named (a changed byte, a removed file, an edited manifest, an extra
file), the Chinese PDFs read back with poppler, the item list, and the ``suijian transfer``
commands."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.evidence import EvidenceStore
from enforcement.models import AuditLog, Transfer
from enforcement.services.transfers import TransferService
from enforcement.transfer_package import (
    MANIFEST,
    MANIFEST_SHA256,
    PackageIncompleteError,
    PackageNotAvailableError,
    build_package,
    verify_package,
)
from tests import factories
from tests.evidence_helpers import pdf_text
from tests.transfer_helpers import (
    INSPECTION_REPORT_PDF,
    POLICE_OFFICE,
    PROCURATORATE,
    REPORTED_AT,
    TransferScene,
    make_transfer_scene,
    report_body,
)

APPROVED_AT = REPORTED_AT + dt.timedelta(hours=5)  # 15:00 in Beijing
LETTER = "01-涉嫌犯罪案件移送书.pdf"
REPORT = "02-涉嫌犯罪案件调查报告.pdf"
ITEMS = "03-涉案物品清单.csv"
PHOTO = "07-证据材料/01-仓库内过期茶叶.jpg"


@pytest.fixture(scope="module")
def poppler() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        pytest.skip("poppler-utils (pdftotext, pdffonts) is not installed")


def approve(session: Session, ts: TransferScene) -> Transfer:
    transfer, _ = TransferService(session, ts.supervisor, clock=lambda: REPORTED_AT).report(
        ts.case.id, report_body(ts)
    )
    TransferService(session, ts.supervisor, clock=lambda: APPROVED_AT).decide(
        ts.case.id, "approve", "同意移送"
    )
    return transfer


@pytest.fixture
def ts(db_session: Session, tmp_path: Path) -> TransferScene:
    return make_transfer_scene(db_session, EvidenceStore(tmp_path / "evidence"))


@pytest.fixture
def exported(db_session: Session, ts: TransferScene, tmp_path: Path) -> tuple[Path, str]:
    approve(db_session, ts)
    service = TransferService(db_session, ts.liaison, clock=lambda: APPROVED_AT)
    result = service.export(ts.case.id, tmp_path / "package.zip", ts.store)
    return result.path, result.manifest_sha256


def rewrite(
    source: Path,
    target: Path,
    *,
    replace: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    add: dict[str, bytes] | None = None,
) -> Path:
    """A copy of the ZIP with entries replaced, dropped or added (the same entry metadata)."""
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            new.writestr(info, replace.get(info.filename, old.read(info.filename)))
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def flip_one_byte(source: Path, target: Path, member: str) -> Path:
    """Flip a byte in the middle of a stored (uncompressed) member, in place in the archive."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo(member)
    assert info.compress_type == zipfile.ZIP_STORED
    name_length, extra_length = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.file_size // 2] ^= 0x01
    target.write_bytes(bytes(data))
    return target


# ---------------------------------------------------------------------- round trip


def test_export_then_verify_and_the_same_bytes_again(
    db_session: Session, ts: TransferScene, exported: tuple[Path, str], tmp_path: Path
) -> None:
    path, manifest_sha256 = exported
    report = verify_package(path, manifest_sha256)
    assert report.ok, report.problems
    assert report.files_checked == 7
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = archive.read(MANIFEST)
        checksum = archive.read(MANIFEST_SHA256).decode()
        infos = archive.infolist()
    assert names == [
        LETTER,
        REPORT,
        ITEMS,
        "04-检验报告/01-茶叶检验报告.pdf",
        "05-鉴定意见/01-食品鉴定意见书.jpg",
        f"06-现场检查笔录/{ts.scene.department.code}现检〔2025〕{ts.scene.inspection.id:05d}号.pdf",
        PHOTO,
        MANIFEST,
        MANIFEST_SHA256,
    ]
    assert checksum == f"{manifest_sha256}  manifest.json\n"  # sha256sum -c reads it
    assert hashlib.sha256(manifest).hexdigest() == manifest_sha256
    assert {info.date_time for info in infos} == {(2025, 3, 10, 15, 0, 0)}  # the approval
    document = json.loads(manifest)
    assert document["format"] == "suijian-transfer-package/1"
    assert document["transfer"]["case_no"] == ts.case.case_no
    assert document["transfer"]["police_office"] == POLICE_OFFICE
    files = {f["path"]: f for f in document["files"]}
    assert files["04-检验报告/01-茶叶检验报告.pdf"]["sha256"] == ts.report_sha256
    assert files["04-检验报告/01-茶叶检验报告.pdf"]["size"] == len(INSPECTION_REPORT_PDF)
    assert files[PHOTO]["sha256"] == ts.photo_sha256
    assert files["05-鉴定意见/01-食品鉴定意见书.jpg"]["category"] == "鉴定意见"

    # Recorded on the transfer and in the audit log.
    transfer = db_session.scalar(select(Transfer).where(Transfer.case_id == ts.case.id))
    assert transfer.package_sha256 == manifest_sha256
    assert transfer.package_size == path.stat().st_size
    audit = db_session.scalars(select(AuditLog).where(AuditLog.action == "transfer.export")).one()
    assert audit.details["manifest_sha256"] == manifest_sha256 and audit.actor_id == ts.liaison.id

    # Deterministic: nothing changed, the same bytes.
    again = build_package(db_session, ts.case, tmp_path / "again.zip", store=ts.store)
    assert again.manifest_sha256 == manifest_sha256
    assert (tmp_path / "again.zip").read_bytes() == path.read_bytes()
    # Something changed: another manifest.
    transfer.items[0].note = "另有2袋已送检"
    db_session.flush()
    changed = build_package(db_session, ts.case, tmp_path / "changed.zip", store=ts.store)
    assert changed.manifest_sha256 != manifest_sha256


def test_a_changed_byte_is_named(exported: tuple[Path, str], tmp_path: Path) -> None:
    path, manifest_sha256 = exported
    with zipfile.ZipFile(path) as archive:
        original = archive.read(ITEMS)
    tampered = original.replace(b"120", b"121", 1)
    assert len(tampered) == len(original) and tampered != original
    copy = rewrite(path, tmp_path / "changed.zip", replace={ITEMS: tampered})
    report = verify_package(copy, manifest_sha256)
    assert not report.ok
    assert report.first_problem.startswith(f"{ITEMS}: SHA-256 is ")
    assert "the file was changed" in report.first_problem
    assert len(report.problems) == 1

    # A byte flipped inside the archive itself: the member is damaged, and named.
    flipped = flip_one_byte(path, tmp_path / "flipped.zip", PHOTO)
    damaged = verify_package(flipped, manifest_sha256)
    assert damaged.problems == [damaged.first_problem]
    assert damaged.first_problem.startswith(f"{PHOTO}: the file is damaged in the archive")


def test_a_removed_file_and_an_extra_file_are_named(
    exported: tuple[Path, str], tmp_path: Path
) -> None:
    path, manifest_sha256 = exported
    removed = rewrite(path, tmp_path / "removed.zip", drop=(REPORT,))
    report = verify_package(removed, manifest_sha256)
    assert report.problems == [f"{REPORT}: missing (listed in manifest.json)"]

    extra = rewrite(path, tmp_path / "extra.zip", add={"说明.txt": "补充材料".encode()})
    report = verify_package(extra, manifest_sha256)
    assert report.problems == ["说明.txt: extra file, not listed in manifest.json"]

    no_manifest = rewrite(path, tmp_path / "nomanifest.zip", drop=(MANIFEST,))
    assert verify_package(no_manifest).first_problem == "manifest.json: missing from the package"


def test_an_edited_manifest_is_caught_even_when_rehashed(
    exported: tuple[Path, str], tmp_path: Path
) -> None:
    path, manifest_sha256 = exported
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read(MANIFEST))
        photo = archive.read(PHOTO)
    # Swap the photo for another and fix its line in the manifest.
    other = photo[:-3] + b"\x00\x00\x00"
    for entry in document["files"]:
        if entry["path"] == PHOTO:
            entry["sha256"] = hashlib.sha256(other).hexdigest()
    edited = (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()
    copy = rewrite(path, tmp_path / "edited.zip", replace={MANIFEST: edited, PHOTO: other})
    report = verify_package(copy)
    assert report.first_problem.startswith("manifest.json: its SHA-256 is ")
    assert "manifest.sha256 says" in report.first_problem

    # The forger re-hashes the manifest too: only the hash recorded at export catches it.
    new_sha = hashlib.sha256(edited).hexdigest()
    rehashed = rewrite(
        path,
        tmp_path / "rehashed.zip",
        replace={
            MANIFEST: edited,
            PHOTO: other,
            MANIFEST_SHA256: f"{new_sha}  manifest.json\n".encode(),
        },
    )
    assert verify_package(rehashed).ok
    caught = verify_package(rehashed, manifest_sha256)
    assert caught.problems == [
        f"manifest.json: its SHA-256 is {new_sha}, not {manifest_sha256} as recorded at export"
    ]


def test_not_a_zip(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    assert "not a readable ZIP archive" in verify_package(junk).first_problem


# ---------------------------------------------------------------------- contents


def test_the_pdfs_are_in_chinese_with_the_fonts_embedded(
    exported: tuple[Path, str], ts: TransferScene, poppler: None
) -> None:
    path, _ = exported
    with zipfile.ZipFile(path) as archive:
        letter = archive.read(LETTER)
        report = archive.read(REPORT)
    letter_text = pdf_text(letter)
    for expected in (
        "涉嫌犯罪案件移送书",
        f"{POLICE_OFFICE}：",
        "我局在查处杭州龙井人家茶叶有限公司",
        "涉嫌生产、销售不符合安全标准的食品罪",
        "经本机关负责人于2025年3月10日批准",
        f"抄送{PROCURATORATE}",
        "附件：涉案物品清单",
        "1过期袋装绿茶250克/袋120袋西湖区市场监管局罚没物品仓库已扣押",
        "2销售记录账本2本案卷已提取2024年12月至2025年3月",
        "涉嫌犯罪案件移送书（回执）",
        "检验报告、鉴定意见（共2份）",
        "现场检查笔录（共1份）及其他证据材料（共1份）",
        ts.report_sha256,
    ):
        assert expected in letter_text, expected
    report_text = pdf_text(report)
    for expected in (
        "涉嫌犯罪案件调查报告",
        "一、案件来源",
        "二、调查认定的事实",
        "销售金额共计人民币68000元",
        "三、证据情况",
        "四、涉嫌罪名及法律依据",
        "《中华人民共和国刑法》第一百四十三条",
        "五、处理意见",
        "六、专案组签名",
        "张晓明（主办人）",
        "李丽华（协办人）",
        "七、负责人审批意见",
        "同意移送",
        "王建军",
        "2025年3月10日15时00分",
        ts.case.case_no,
    ):
        assert expected in report_text, expected
    for pdf in (letter, report):
        fonts = subprocess.run(
            ["pdffonts", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        cjk = [line for line in fonts.splitlines() if "Noto-Serif-CJK-SC" in line]
        assert cjk and all(line.split()[-5:-2] == ["yes"] * 3 for line in cjk), fonts


def test_the_item_list_csv(exported: tuple[Path, str]) -> None:
    path, _ = exported
    with zipfile.ZipFile(path) as archive:
        raw = archive.read(ITEMS)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [
        ["序号", "物品名称", "规格", "数量", "单位", "存放地点", "保管情况", "备注"],
        [
            "1",
            "过期袋装绿茶",
            "250克/袋",
            "120",
            "袋",
            "西湖区市场监管局罚没物品仓库",
            "已扣押",
            "",
        ],
        ["2", "销售记录账本", "", "2", "本", "案卷", "已提取", "2024年12月至2025年3月"],
    ]


def test_only_an_approved_transfer_with_its_files_has_a_package(
    db_session: Session, ts: TransferScene, tmp_path: Path
) -> None:
    with pytest.raises(PackageNotAvailableError, match="has no transfer"):
        build_package(db_session, ts.case, tmp_path / "p.zip", store=ts.store)
    TransferService(db_session, ts.supervisor, clock=lambda: REPORTED_AT).report(
        ts.case.id, report_body(ts)
    )
    with pytest.raises(PackageNotAvailableError, match="not approved"):
        build_package(db_session, ts.case, tmp_path / "p.zip", store=ts.store)
    TransferService(db_session, ts.supervisor, clock=lambda: APPROVED_AT).decide(
        ts.case.id, "approve"
    )
    # The appraisal opinion's bytes went missing from the store: never a partial package.
    stored = ts.store.path_for(ts.appraisal_sha256)
    stored.chmod(0o644)
    stored.unlink()
    with pytest.raises(PackageIncompleteError, match="食品鉴定意见书") as missing:
        build_package(db_session, ts.case, tmp_path / "p.zip", store=ts.store)
    assert ts.appraisal_sha256 in str(missing.value)
    assert not (tmp_path / "p.zip").exists()
    # Damaged bytes (bit rot) are refused too.
    stored.write_bytes(b"\xff\xd8\xff damaged")
    with pytest.raises(PackageIncompleteError, match="damaged"):
        build_package(db_session, ts.case, tmp_path / "p.zip", store=ts.store)


# ---------------------------------------------------------------------- the command line


class Suijian:
    def __init__(self, ini: Path) -> None:
        self.ini = ini
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(main, ["-c", str(self.ini), *args])


@pytest.fixture
def cli_world(
    backend: str, new_database_url: Callable[[str], str], tmp_path: Path
) -> Iterator[tuple[Suijian, TransferScene, Engine]]:
    """A database of its own with an approved transfer (committed), and an ini naming it."""
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    evidence = tmp_path / "evidence"
    session = Session(bind=engine, expire_on_commit=False)
    factories.bind(session)
    try:
        ts = make_transfer_scene(session, EvidenceStore(evidence))
        approve(session, ts)
        session.commit()
        ini = tmp_path / "test.ini"
        ini.write_text(
            f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url}\n"
            f"suijian.var_dir = {tmp_path / 'var'}\nsuijian.evidence_dir = {evidence}\n"
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("DATABASE_URL", raising=False)
            yield Suijian(ini), ts, engine
    finally:
        session.close()
        engine.dispose()


def test_cli_export_verify_and_list(
    cli_world: tuple[Suijian, TransferScene, Engine], tmp_path: Path
) -> None:
    suijian, ts, engine = cli_world
    out = tmp_path / "out" / "移送材料.zip"
    exported = suijian(
        "transfer", "export", ts.case.case_no, "--out", str(out), "--as", ts.liaison.username
    )
    assert exported.exit_code == 0, exported.output
    assert f"transfer package of {ts.case.case_no} written" in exported.output
    with Session(engine) as session:
        recorded = session.scalar(select(Transfer.package_sha256))
    assert recorded and recorded in exported.output
    assert not list(out.parent.glob(".*.tmp"))

    verified = suijian("transfer", "verify", str(out), "--recorded")
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("OK: 7 files match manifest")

    broken = rewrite(out, tmp_path / "broken.zip", drop=(PHOTO,))
    failed = suijian("transfer", "verify", str(broken))
    assert failed.exit_code == 1
    assert failed.stdout.splitlines()[0] == f"{PHOTO}: missing (listed in manifest.json)"
    wrong = suijian("transfer", "verify", str(out), "--expect", "0" * 64)
    assert wrong.exit_code == 1 and "as recorded at export" in wrong.output

    refused = suijian(
        "transfer",
        "export",
        ts.case.case_no,
        "--out",
        str(tmp_path / "x.zip"),
        "--as",
        ts.lead.username,
    )
    assert refused.exit_code == 1 and "only the judicial liaison" in refused.output
    unknown = suijian("transfer", "export", "CASE-1999-000001", "--out", str(tmp_path / "x.zip"))
    assert unknown.exit_code == 1 and "no case numbered" in unknown.output

    table = suijian("transfer", "list")
    assert (
        table.exit_code == 0 and ts.case.case_no in table.output and "1 transfer(s)" in table.output
    )
    as_csv = suijian("transfer", "list", "--format", "csv")
    rows = list(csv.reader(io.StringIO(as_csv.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0][0] == "案件编号" and rows[1][0] == ts.case.case_no and rows[1][4] == "已批准移送"
    xlsx = tmp_path / "desk.xlsx"
    written = suijian("transfer", "list", "--format", "xlsx", "--out", str(xlsx), "--locale", "en")
    assert written.exit_code == 0, written.output
    sheet = load_workbook(xlsx).active
    assert sheet.cell(1, 1).value == "Case number" and sheet.cell(2, 1).value == ts.case.case_no
    assert sheet.cell(2, 5).value == "approved"
    needs_out = suijian("transfer", "list", "--format", "xlsx")
    assert needs_out.exit_code == 2 and "--out" in needs_out.output
