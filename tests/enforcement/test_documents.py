"""Official PDF documents: the on-site inspection record (现场检查笔录).

The PDFs are read back with poppler-utils (pdftotext, pdftoppm, pdffonts, pdfinfo, pdfimages),
as a person or an archive system would see them, rather than by inspecting our own HTML.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFile

from enforcement.documents import (
    CheckIn,
    ChecklistRow,
    DocumentFonts,
    DocumentMeta,
    EvidenceItem,
    FontNotInstalledError,
    Inspector,
    OnSiteRecord,
    PartySignature,
    render_onsite_record,
)
from enforcement.documents.base import render_pdf

POPPLER = ("pdftotext", "pdftoppm", "pdffonts", "pdfinfo", "pdfimages")
BEIJING = timezone(timedelta(hours=8))
GENERATED_AT = datetime(2025, 3, 4, 2, 50, 7, tzinfo=UTC)  # 10:50:07 in Beijing
ITEM_NAMES = (
    "营业执照（登记事项）公示情况的检查",
    "食品经营许可证悬挂公示的检查",
    "进货查验记录制度执行情况的检查",
)
PHOTO_SHA = hashlib.sha256(b"photo of the storeroom").hexdigest()
VIDEO_SHA = hashlib.sha256(b"video of the shelves").hexdigest()
FINDINGS = (
    "经现场检查，该店经营场所与登记住所一致，营业执照悬挂于收银台醒目位置。\n"
    "仓库内发现标注生产日期为2024年1月的袋装绿茶12袋，已超过标签标示的保质期，"
    "当事人未能提供该批次产品的进货查验记录。执法人员对上述产品拍照、录像取证。"
)


# ------------------------------------------------------------------------------- test data


def signature_png(seed: int = 0) -> bytes:
    """A hand-drawn-looking signature stroke (deterministic for a seed)."""
    image = Image.new("RGBA", (480, 160), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = [
        (30 + x, 90 + 40 * math.sin(x / (18 + seed)) * math.cos(x / (55 + 3 * seed)))
        for x in range(0, 420, 3)
    ]
    draw.line(points, fill=(10, 10, 60, 255), width=6, joint="curve")
    draw.line([(60, 130), (400, 118)], fill=(10, 10, 60, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_record(**overrides: object) -> OnSiteRecord:
    """A realistic record: a tea shop in Hangzhou, three checklist items, two evidence files."""
    values: dict[str, object] = {
        "inspection_id": uuid.UUID("6f1c2b7e-3d4a-4c1b-9a5e-0d2f8b7c6a91"),
        "document_number": "西市监检〔2025〕0012号",
        "authority": "杭州市西湖区市场监督管理局",
        "enterprise_name": "杭州龙井人家茶叶有限公司",
        "uscc": "91330106MA2H7X3K7D",
        "enterprise_address": "浙江省杭州市西湖区龙井路88号",
        "legal_representative": "王建国",
        "inspection_place": "浙江省杭州市西湖区龙井路88号一楼门店及仓库",
        "started_at": datetime(2025, 3, 4, 1, 30, tzinfo=UTC),  # 9:30 in Beijing
        "ended_at": datetime(2025, 3, 4, 10, 45, tzinfo=BEIJING),
        "inspectors": (
            Inspector(
                name="张晓明", credential_number="33010612345", signature_png=signature_png(1)
            ),
            Inspector(
                name="李丽华", credential_number="33010667890", signature_png=signature_png(2)
            ),
        ),
        "check_in": CheckIn(verdict="inside", distance_m=35.4, accuracy_m=12.0),
        "checklist": (
            ChecklistRow(
                item_code="ZJSC-0101",
                item_name=ITEM_NAMES[0],
                department="登记注册科",
                result="合格",
            ),
            ChecklistRow(
                item_code="ZJSC-0307",
                item_name=ITEM_NAMES[1],
                department="食品经营监管科",
                result="合格",
            ),
            ChecklistRow(
                item_code="ZJSC-0312",
                item_name=ITEM_NAMES[2],
                department="食品经营监管科",
                result="不合格",
                note="未能提供进货查验记录",
            ),
        ),
        "findings": FINDINGS,
        "evidence": (
            EvidenceItem(
                kind="photo",
                file_name="IMG_20250304_094112.jpg",
                sha256=PHOTO_SHA,
                size_bytes=2_457_600,
                captured_at=datetime(2025, 3, 4, 1, 41, 12, tzinfo=UTC),
            ),
            EvidenceItem(
                kind="video",
                file_name="VID_20250304_095530.mp4",
                sha256=VIDEO_SHA,
                size_bytes=48_211_968,
                captured_at=datetime(2025, 3, 4, 1, 55, 30, tzinfo=UTC),
            ),
        ),
        "party_signature": PartySignature(signer_name="王建国", signature_png=signature_png(3)),
        "party_statement": "以上笔录我已看过，与事实相符。过期茶叶系疏忽未及时下架，愿意整改。",
    }
    values.update(overrides)
    return OnSiteRecord(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- poppler


@pytest.fixture(scope="module")
def poppler() -> None:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        reason = f"poppler-utils not installed ({', '.join(missing)})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def pdf_text(pdf: bytes, *, first: int = 1, last: int = 0, raw: bool = False) -> str:
    """The text as laid out on the page, or with ``raw`` in reading order (a table cell's
    wrapped lines stay together instead of sharing lines with the neighbouring cells)."""
    mode = "-raw" if raw else "-layout"
    pages = ["-f", str(first), *(["-l", str(last)] if last else [])]
    return subprocess.run(
        ["pdftotext", mode, *pages, "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")


def pdf_info(pdf: bytes) -> dict[str, str]:
    out = subprocess.run(
        ["pdfinfo", "-isodates", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def squash(text: str) -> str:
    """Text without whitespace: table cells may wrap and pdftotext pads CJK with spaces."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def record() -> OnSiteRecord:
    return make_record()


@pytest.fixture(scope="module")
def pdf(record: OnSiteRecord) -> bytes:
    return render_onsite_record(record, generated_at=GENERATED_AT)


@pytest.fixture(scope="module")
def text(pdf: bytes, poppler: None) -> str:
    return pdf_text(pdf)


@pytest.fixture(scope="module")
def raw(pdf: bytes, poppler: None) -> str:
    return squash(pdf_text(pdf, raw=True))


# ------------------------------------------------------------------------------- content


def test_pdf_shows_title_enterprise_and_record_facts(pdf: bytes, raw: str) -> None:
    assert pdf.startswith(b"%PDF-")
    assert "现场检查笔录" in raw  # the title is letter-spaced: 现 场 检 查 笔 录
    for fact in (
        "杭州市西湖区市场监督管理局",
        "文书编号：西市监检〔2025〕0012号",
        "检查对象杭州龙井人家茶叶有限公司",
        "91330106MA2H7X3K7D",
        "法定代表人（负责人）王建国",
        "检查地点浙江省杭州市西湖区龙井路88号一楼门店及仓库",
        "张晓明（执法证号：33010612345）、李丽华（执法证号：33010667890）",
        "签到核验位于检查对象登记位置范围内；距登记位置35米，定位精度±12米",
        "检查任务编号6f1c2b7e-3d4a-4c1b-9a5e-0d2f8b7c6a91",
        "四、当事人意见以上笔录我已看过，与事实相符。过期茶叶系疏忽未及时下架，愿意整改。",
    ):
        assert fact in raw, fact


def test_times_are_shown_in_asia_shanghai(text: str, raw: str) -> None:
    # started_at is 01:30 UTC; ended_at is given as +08:00 already.
    assert "检查时间2025年3月4日9时30分至2025年3月4日10时45分" in raw
    assert "2025-03-04 09:41:12" in text  # evidence captured 01:41:12 UTC
    assert re.search(r"生成时间：2025-03-04\s+10:50:07（北京时间）", text)


def test_checklist_rows_and_results_are_listed(raw: str) -> None:
    codes = ("ZJSC-0101", "ZJSC-0307", "ZJSC-0312")
    results = ("合格", "合格", "不合格")
    for index, (code, name, result) in enumerate(zip(codes, ITEM_NAMES, results, strict=True)):
        assert f"{index + 1}{code}{name}" in raw
        assert re.search(f"{name}(登记注册科|食品经营监管科){result}", raw), name
    assert "不合格未能提供进货查验记录" in raw


def test_each_evidence_hash_is_on_one_line(text: str, raw: str) -> None:
    lines = text.splitlines()
    for sha in (PHOTO_SHA, VIDEO_SHA):
        assert any(f"SHA-256: {sha}" in line for line in lines), sha
    assert "1照片IMG_20250304_094112.jpg2,457,600" in raw
    assert "2视频VID_20250304_095530.mp448,211,968" in raw


def test_signatures_section_lists_signers(pdf: bytes, raw: str, poppler: None) -> None:
    section = raw[raw.index("五、签名") :]
    assert "检查人员签名张晓明（执法证号：33010612345）李丽华（执法证号：33010667890）" in section
    assert "当事人签名王建国" in section
    assert "日期2025年3月4日" in section
    assert "拒绝签字" not in raw
    # The three signature images (two inspectors, the party) are in the PDF, each with the
    # transparency mask of its PNG.
    listing = subprocess.run(
        ["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    kinds = [line.split()[2] for line in listing.splitlines()[2:]]
    assert kinds.count("image") == 3
    assert kinds.count("smask") == 3


def test_header_and_footer_on_every_page(text: str) -> None:
    pages = [page for page in text.split("\f") if page.strip()]
    assert len(pages) == 2
    for number, page in enumerate(pages, start=1):
        header = squash(page.strip().splitlines()[0])
        assert header == "杭州市西湖区市场监督管理局文书编号：西市监检〔2025〕0012号"
        footer = page.strip().splitlines()[-1]
        assert re.search(r"生成时间：2025-03-04\s+10:50:07（北京时间）", footer)
        assert f"第 {number} 页 共 2 页" in footer


def test_pdf_metadata(pdf: bytes, poppler: None) -> None:
    info = pdf_info(pdf)
    assert info["Title"] == "现场检查笔录 西市监检〔2025〕0012号"
    assert info["Author"] == "杭州市西湖区市场监督管理局"
    assert info["Keywords"] == "6f1c2b7e-3d4a-4c1b-9a5e-0d2f8b7c6a91"
    assert info["CreationDate"] in ("2025-03-04T02:50:07Z", "2025-03-04T02:50:07+00")
    assert info["Page size"].startswith("595.276 x 841.89")  # A4


def test_text_from_the_record_is_not_markup(poppler: None) -> None:
    pdf = render_onsite_record(
        make_record(enterprise_name="<b>某某</b> & 公司"), generated_at=GENERATED_AT
    )
    assert "<b>某某</b> & 公司" in pdf_text(pdf)


# ------------------------------------------------------------------------------- rendering


def test_first_page_renders_to_a_non_blank_image(pdf: bytes, poppler: None, tmp_path: Path) -> None:
    source, target = tmp_path / "record.pdf", tmp_path / "page"
    source.write_bytes(pdf)
    options = ["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run(["pdftoppm", *options, str(source), str(target)], check=True)
    with Image.open(tmp_path / "page.png") as page:
        assert page.size in ((496, 702), (497, 702))  # A4 at 60 dpi
        gray = page.convert("L")
        histogram = gray.histogram()
    dark = sum(histogram[:128]) / sum(histogram)
    assert 0.02 < dark < 0.5  # text, table rules and signatures; not blank, not black


def test_fonts_are_embedded(pdf: bytes, poppler: None) -> None:
    out = subprocess.run(
        ["pdffonts", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    rows = [line.split() for line in out.splitlines()[2:]]
    names = [row[0].partition("+")[2] for row in rows]
    assert {"Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold", "DejaVu-Sans-Mono"} <= set(names)
    for row in rows:  # columns from the end: emb sub uni object-id generation
        assert row[-5] == "yes", f"font not embedded: {row[0]}"


def test_long_findings_span_two_pages_with_page_numbers(poppler: None) -> None:
    paragraphs = [
        f"第{n}项情况：执法人员对仓库第{n}号货架进行检查，核对产品标签、生产日期和保质期，"
        "并要求当事人提供相应的进货票据和供货者资质证明，当事人当场提供了部分票据。"
        for n in range(1, 15)
    ]
    pdf = render_onsite_record(
        make_record(findings="\n".join(paragraphs)), generated_at=GENERATED_AT
    )
    assert pdf_info(pdf)["Pages"] == "2"
    first, second = pdf_text(pdf, first=1, last=1), pdf_text(pdf, first=2, last=2)
    assert "第 1 页 共 2 页" in first
    assert "第 2 页 共 2 页" in second
    # The findings section itself continues from page 1 onto page 2.
    assert "第1项情况" in squash(first)
    assert "第14项情况" in squash(second)
    # The running header repeats on page 2.
    assert "文书编号：西市监检〔2025〕0012号" in squash(second)


def test_refusal_to_sign_shows_refusal_and_witness(poppler: None) -> None:
    party = PartySignature(
        signer_name="王建国",
        refused=True,
        refusal_note="当事人对检查结果有异议，拒绝在笔录上签字，执法人员已全程录像。",
        witness_name="赵卫东（龙井路社区工作人员）",
        witness_signature_png=signature_png(4),
    )
    pdf = render_onsite_record(make_record(party_signature=party), generated_at=GENERATED_AT)
    raw = squash(pdf_text(pdf, raw=True))
    section = raw[raw.index("五、签名") :]
    assert "当事人签名拒绝签字王建国见证人：赵卫东（龙井路社区工作人员）" in section
    assert "拒签说明当事人对检查结果有异议，拒绝在笔录上签字，执法人员已全程录像。" in section
    # Signature images: two inspectors and the witness; none for the party.
    listing = subprocess.run(
        ["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert [line.split()[2] for line in listing.splitlines()[2:]].count("image") == 3


def test_no_evidence_and_no_statement_are_stated(poppler: None) -> None:
    pdf = render_onsite_record(make_record(evidence=(), party_statement=""))
    raw = squash(pdf_text(pdf, raw=True))
    assert "三、现场证据材料本次检查未采集证据材料。" in raw
    assert "四、当事人意见当事人未发表意见。" in raw


def test_importing_documents_keeps_pillow_strict_about_truncated_images() -> None:
    # WeasyPrint turns LOAD_TRUNCATED_IMAGES on when imported; base.py turns it back off.
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_same_input_gives_same_bytes(pdf: bytes, record: OnSiteRecord) -> None:
    again = render_onsite_record(record, generated_at=GENERATED_AT)
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(pdf).hexdigest()
    later = render_onsite_record(record, generated_at=GENERATED_AT + timedelta(seconds=1))
    assert later != pdf


def test_same_bytes_in_another_process(pdf: bytes) -> None:
    """Nothing per-process (hash seed, clock, font subset timestamps) leaks into the bytes."""
    script = (
        "import hashlib, runpy, sys\n"
        f"ns = runpy.run_path({str(Path(__file__))!r})\n"
        "pdf = ns['render_onsite_record'](ns['make_record'](), generated_at=ns['GENERATED_AT'])\n"
        "sys.stdout.write(hashlib.sha256(pdf).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, check=True, text=True
    )
    assert out.stdout == hashlib.sha256(pdf).hexdigest()


def test_missing_font_is_an_error_not_a_substitute() -> None:
    meta = DocumentMeta(
        title="现场检查笔录", authority="某局", document_number="1", generated_at=GENERATED_AT
    )
    fonts = DocumentFonts(serif="No Such Serif CJK")
    with pytest.raises(FontNotInstalledError, match=r"No Such Serif CJK.*fonts-noto-cjk"):
        render_pdf("onsite_record.html", meta, {"record": make_record()}, fonts=fonts)


def test_unsupported_locale_is_rejected(record: OnSiteRecord) -> None:
    with pytest.raises(ValueError, match="locale: must be one of zh_CN, got 'en_US'"):
        render_onsite_record(record, locale="en_US")


# ------------------------------------------------------------------------------- validation


def _inspector(**overrides: object) -> Inspector:
    values: dict[str, object] = {
        "name": "张晓明",
        "credential_number": "33010612345",
        "signature_png": signature_png(1),
    }
    return Inspector(**{**values, **overrides})  # type: ignore[arg-type]


BAD_RECORDS: dict[str, tuple[Callable[[], object], str]] = {
    "blank enterprise": (
        lambda: make_record(enterprise_name="  "),
        r"OnSiteRecord\.enterprise_name: is required",
    ),
    "no document number": (
        lambda: make_record(document_number=""),
        r"OnSiteRecord\.document_number: is required",
    ),
    "authority not text": (
        lambda: make_record(authority=None),
        r"OnSiteRecord\.authority: must be text",
    ),
    "naive start": (
        lambda: make_record(started_at=datetime(2025, 3, 4, 9, 30)),
        r"OnSiteRecord\.started_at: must be timezone-aware",
    ),
    "end before start": (
        lambda: make_record(ended_at=datetime(2025, 3, 4, 1, 0, tzinfo=UTC)),
        r"OnSiteRecord\.ended_at: .* is before started_at",
    ),
    "bad uscc": (
        lambda: make_record(uscc="91330106MA2H7X3K7E"),
        r"OnSiteRecord\.uscc: invalid code '91330106MA2H7X3K7E'",
    ),
    "bad inspection id": (
        lambda: make_record(inspection_id="not-a-uuid"),
        r"OnSiteRecord\.inspection_id: must be a UUID",
    ),
    "one inspector": (
        lambda: make_record(inspectors=(_inspector(),)),
        r"OnSiteRecord\.inspectors: needs at least 2 entries, got 1",
    ),
    "same inspector twice": (
        lambda: make_record(inspectors=(_inspector(), _inspector())),
        r"OnSiteRecord\.inspectors\[1\]: duplicate '33010612345'",
    ),
    "empty checklist": (
        lambda: make_record(checklist=()),
        r"OnSiteRecord\.checklist: needs at least 1 entries, got 0",
    ),
    "checklist of dicts": (
        lambda: make_record(checklist=({"item_code": "X"},)),
        r"OnSiteRecord\.checklist\[0\]: must be a ChecklistRow, got dict",
    ),
    "blank findings": (lambda: make_record(findings=""), r"OnSiteRecord\.findings: is required"),
    "no credential number": (
        lambda: _inspector(credential_number=""),
        r"Inspector\.credential_number: is required",
    ),
    "signature not png": (
        lambda: _inspector(signature_png=b"GIF89a..."),
        r"Inspector\.signature_png: is not a PNG image",
    ),
    "truncated png": (
        lambda: _inspector(signature_png=signature_png()[:60]),
        r"Inspector\.signature_png: PNG image cannot be decoded",
    ),
    "unknown result": (
        lambda: ChecklistRow(item_code="A", item_name="B", department="C", result="通过"),
        r"ChecklistRow\.result: must be one of '合格', '不合格', '不适用', got '通过'",
    ),
    "unknown verdict": (
        lambda: CheckIn(verdict="near", distance_m=1, accuracy_m=1),
        r"CheckIn\.verdict: must be one of 'inside', 'outside', 'uncertain'",
    ),
    "negative distance": (
        lambda: CheckIn(verdict="inside", distance_m=-1, accuracy_m=1),
        r"CheckIn\.distance_m: must be a finite number >= 0",
    ),
    "short hash": (
        lambda: dataclasses.replace(make_record().evidence[0], sha256="abc123"),
        r"EvidenceItem\.sha256: must be 64 lowercase hexadecimal digits",
    ),
    "unknown evidence kind": (
        lambda: dataclasses.replace(make_record().evidence[0], kind="document"),
        r"EvidenceItem\.kind: must be one of 'photo', 'video', 'audio'",
    ),
    "party did not sign": (
        lambda: PartySignature(signer_name="王建国"),
        r"PartySignature\.signature_png: is required unless refused=True",
    ),
    "refusal without witness": (
        lambda: PartySignature(signer_name="王建国", refused=True),
        r"PartySignature\.witness_name: is required",
    ),
    "no signer name": (
        lambda: PartySignature(signer_name="", signature_png=signature_png()),
        r"PartySignature\.signer_name: is required",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_bad_input_raises_value_error_naming_the_field(case: str) -> None:
    build, message = BAD_RECORDS[case]
    with pytest.raises(ValueError, match=message):
        build()


def test_render_rejects_naive_generated_at(record: OnSiteRecord) -> None:
    with pytest.raises(ValueError, match=r"DocumentMeta\.generated_at: must be timezone-aware"):
        render_onsite_record(record, generated_at=datetime(2025, 3, 4, 10, 50))
