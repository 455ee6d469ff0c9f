"""Hostile uploads not covered elsewhere: what ``test_evidence.py`` (type allow-list, ZIP/PDF/
markup polyglots, PNG and HEIC pixel bombs, truncation, ``../`` as a hash, display names) and
``test_evidence_uploads.py`` / ``test_api_evidence.py`` (sizes, wrong types, resumable
uploads) already check is not repeated.

Added here: JPEG and WebP pixel bombs (dimensions in the header), an HTML document in a JPEG
comment; gzip and XLSX (ZIP) decompression bombs in imports; and the import page and the
resumable-upload API (in ``tests/mobile_api/test_hostile_upload_pages.py``, which needs the
web fixtures) fed oversized files, wrong types and file names with ``../``, absolute paths,
NUL and hundreds of characters. Each is refused with a reason naming the field, or (names)
reduced to a harmless base name; never a server error.
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from PIL import Image

from enforcement.evidence import EvidenceRejected, EvidenceStore
from enforcement.importers import readers
from enforcement.importers.readers import ImportFileError, open_source


def jpeg(size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(buf, "JPEG", **save)
    return buf.getvalue()


def with_sof_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF0) claiming width x height."""
    at = data.index(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def webp_header(width: int, height: int) -> bytes:
    """A lossless WebP whose VP8L header claims width x height (at most 16384 each)."""
    bits = (width - 1) | ((height - 1) << 14)
    vp8l = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 16
    chunk = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# --- evidence: pixel bombs and markup the existing tests do not build ----------------------


@pytest.mark.parametrize(
    ("data", "pixels"),
    [
        (with_sof_size(jpeg(), 60_000, 60_000), "60000x60000"),  # 3.6 G pixels
        (with_sof_size(jpeg(), 12_000, 10_001), "12000x10001"),  # just over 120 M
        (webp_header(16_384, 16_384), "16384x16384"),
    ],
    ids=["jpeg-3.6G", "jpeg-just-over", "webp-268M"],
)
def test_pixel_bombs_in_jpeg_and_webp_headers_are_refused(
    store: EvidenceStore, data: bytes, pixels: str
) -> None:
    with pytest.raises(EvidenceRejected) as refused:
        store.put_stream([data], declared_kind="photo")
    assert refused.value.reason_code == "image_too_large"
    assert refused.value.field == "content"
    assert pixels in refused.value.message or "decompression bomb" in refused.value.message
    assert stored_files(store.root) == []


@pytest.mark.parametrize(
    "markup",
    [b"<!DOCTYPE html><title>x</title>", b"<iframe src=//evil>", b"<svg/onload=alert(1)>"],
)
def test_a_jpeg_that_is_also_an_html_document_is_refused(
    store: EvidenceStore, markup: bytes
) -> None:
    data = jpeg(comment=markup)  # a JPEG comment segment: browsers sniffing HTML find it
    assert data[:3] == b"\xff\xd8\xff"
    with pytest.raises(EvidenceRejected) as refused:
        store.put_stream([data], declared_kind="photo")
    assert refused.value.reason_code == "polyglot" and refused.value.field == "content"
    assert "markup" in refused.value.message


# --- imports: decompression bombs ----------------------------------------------------------


@pytest.fixture
def small_expansion_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The bomb limit at 256 KiB, so a bomb need not really fill memory in a test."""
    monkeypatch.setattr(readers, "MAX_EXPANDED_BYTES", 256 * 1024)
    yield 256 * 1024


def test_a_gzip_bomb_is_refused_without_expanding_it(
    tmp_path: Path, small_expansion_limit: int
) -> None:
    bomb = tmp_path / "enterprises.csv.gz"
    header = b"uscc,name\n"
    bomb.write_bytes(gzip.compress(header + b"0" * (small_expansion_limit * 40)))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(ImportFileError) as refused:
        open_source(bomb)
    assert "enterprises.csv.gz" in str(refused.value)
    assert "decompression bomb" in str(refused.value)
    # Within the limit the same format reads normally.
    fine = tmp_path / "ok.csv.gz"
    fine.write_bytes(gzip.compress(b"uscc,name\n91330783MA2EXAMPLE,x\n"))
    assert open_source(fine).headers == ["uscc", "name"]


def test_an_xlsx_whose_parts_expand_too_far_is_refused(
    tmp_path: Path, small_expansion_limit: int
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["uscc", "name"])
    for n in range(20_000):  # compresses ~20:1; expands beyond the lowered limit
        sheet.append(["0" * 18, f"企业{n}"])
    bomb = tmp_path / "bomb.xlsx"
    book.save(bomb)
    assert bomb.stat().st_size < small_expansion_limit
    with pytest.raises(ImportFileError) as refused:
        open_source(bomb)
    assert "bomb.xlsx" in str(refused.value) and "decompression bomb" in str(refused.value)


def test_a_zip_that_is_not_a_workbook_is_refused_with_a_reason(tmp_path: Path) -> None:
    fake = tmp_path / "list.xlsx"
    fake.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ImportFileError) as refused:
        open_source(fake)
    assert "list.xlsx" in str(refused.value)
