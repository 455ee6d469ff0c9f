"""Evidence store and content sniffing: real files built here, a real tmpfs for a full disk."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import random
import resource
import struct
import subprocess
import sys
import uuid
import wave
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import filetype
import pytest
from PIL import Image

from enforcement.evidence import (
    DEFAULT_MAX_BYTES,
    EvidenceNotFound,
    EvidenceRejected,
    EvidenceStorageError,
    EvidenceStore,
    UploadManager,
    check_declared,
    safe_display_name,
    sniff,
)
from enforcement.evidence.sniff import SNIFF_BYTES

# --- sample files ---------------------------------------------------------------------------


def make_jpeg(size: tuple[int, int] = (640, 480), **save: object) -> bytes:
    im = Image.effect_noise(size, 48).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85, **save)
    return buf.getvalue()


def make_image(fmt: str, size: tuple[int, int] = (320, 240), **save: object) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 48).convert("RGB").save(buf, fmt, **save)
    return buf.getvalue()


def make_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    rng = random.Random(7)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", rng.randint(-2000, 2000)) for _ in range(int(rate * seconds))
            )
        )
    return buf.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + struct.pack(">I", 0) + b"".join(compatible))


def make_isobmff(major: bytes, *compatible: bytes, payload: int = 4000, moov: bool = True) -> bytes:
    """ftyp + moov(mvhd) + mdat: a structurally valid MP4/MOV/3GP/M4A file (no real codec)."""
    rng = random.Random(major)
    parts = [ftyp(major, *compatible)]
    if moov:
        parts.append(box(b"moov", box(b"mvhd", bytes(100))))
    parts.append(box(b"mdat", rng.randbytes(payload)))
    return b"".join(parts)


def make_heic(width: int = 4032, height: int = 3024, major: bytes = b"heic") -> bytes:
    ispe = box(b"ispe", bytes(4) + struct.pack(">II", width, height))
    meta = box(b"meta", bytes(4) + box(b"hdlr", bytes(24)) + box(b"iprp", box(b"ipco", ispe)))
    mdat = box(b"mdat", random.Random(3).randbytes(2000))
    return ftyp(major, b"mif1", b"heic") + meta + mdat


def make_webm(payload: int = 3000) -> bytes:
    header = (
        b"\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
        b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02"
    )
    ebml = b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header
    segment = b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"
    return ebml + segment + random.Random(5).randbytes(payload)


def make_ogg(codec: bytes = b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00") -> bytes:
    page = b"OggS\x00\x02" + bytes(8) + b"\x01\x00\x00\x00" + bytes(8) + b"\x01"
    page += bytes([len(codec)]) + codec
    return page + random.Random(9).randbytes(2000)


def make_mp3(frames: int = 20) -> bytes:
    # ID3v2.4 tag (no frames, 16 bytes padding), then MPEG-1 layer III 128 kbit/s 44.1 kHz.
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 16]) + bytes(16)
    frame = b"\xff\xfb\x90\x64" + bytes(413)
    return tag + frame * frames


def make_adts(frames: int = 20) -> bytes:
    payload = bytes(200)
    length = 7 + len(payload)
    header = bytes(
        [
            0xFF,
            0xF1,
            0x50,
            0x80 | (length >> 11),
            (length >> 3) & 0xFF,
            ((length & 7) << 5) | 0x1F,
            0xFC,
        ]
    )
    return (header + payload) * frames


def make_amr(wideband: bool = False) -> bytes:
    magic = b"#!AMR-WB\n" if wideband else b"#!AMR\n"
    return magic + (b"\x3c" + random.Random(1).randbytes(31)) * 50


def make_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("shell.php", "<?php system($_GET['c']); ?>")
    return buf.getvalue()


def png_with_header(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def chunked(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


def rejected(excinfo: pytest.ExceptionInfo[EvidenceRejected]) -> tuple[str, str | None]:
    return excinfo.value.reason_code, excinfo.value.field


# --- sniffing -------------------------------------------------------------------------------

SAMPLES = {
    "jpeg": (lambda: make_jpeg(), "image/jpeg", "photo"),
    "png": (lambda: make_image("PNG"), "image/png", "photo"),
    "webp": (lambda: make_image("WEBP"), "image/webp", "photo"),
    "heic": (lambda: make_heic(), "image/heic", "photo"),
    "heix": (lambda: make_heic(major=b"heix"), "image/heic", "photo"),
    "mp4": (
        lambda: make_isobmff(b"isom", b"isom", b"iso2", b"avc1", b"mp41"),
        "video/mp4",
        "video",
    ),
    "mp4-iso5": (lambda: make_isobmff(b"iso5", b"iso5", b"dash"), "video/mp4", "video"),
    "mov": (lambda: make_isobmff(b"qt  ", b"qt  "), "video/quicktime", "video"),
    "3gp": (lambda: make_isobmff(b"3gp4", b"isom", b"3gp4"), "video/3gpp", "video"),
    "webm": (make_webm, "video/webm", "video"),
    "m4a": (lambda: make_isobmff(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4", "audio"),
    "aac": (make_adts, "audio/aac", "audio"),
    "mp3": (make_mp3, "audio/mpeg", "audio"),
    "wav": (make_wav, "audio/wav", "audio"),
    "amr": (make_amr, "audio/amr", "audio"),
    "amr-wb": (lambda: make_amr(wideband=True), "audio/amr-wb", "audio"),
    "ogg-opus": (make_ogg, "audio/ogg", "audio"),
    "ogg-vorbis": (lambda: make_ogg(b"\x01vorbis" + bytes(22)), "audio/ogg", "audio"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sniff_allowed_types(name: str) -> None:
    build, mime, kind = SAMPLES[name]
    found = sniff(build()[:SNIFF_BYTES])
    assert (found.mime, found.kind) == (mime, kind)


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        (make_image("GIF"), "type_not_allowed", "image/gif"),
        (make_image("BMP"), "type_not_allowed", "image/bmp"),
        (make_zip(), "type_not_allowed", "application/zip"),
        (b"%PDF-1.7\n" + bytes(100), "type_not_allowed", "application/pdf"),
        (make_isobmff(b"avif", b"avif", b"mif1"), "type_not_allowed", "image/avif"),
        (make_ogg(b"\x80theora" + bytes(30)), "type_not_allowed", "video/ogg"),
        (b"\x1a\x45\xdf\xa3\x93\x42\x82\x88matroska" + bytes(40), "type_not_allowed", "matroska"),
        (b"<html><body>hello</body></html>", "type_unknown", None),
        (b"plain text notes", "type_unknown", None),
        (
            b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16) + b"PK\x03\x04" + bytes(40),
            "type_unknown",
            "ID3",
        ),
    ],
)
def test_sniff_refuses_other_types(data: bytes, code: str, named: str | None) -> None:
    with pytest.raises(EvidenceRejected) as excinfo:
        sniff(data)
    assert rejected(excinfo) == (code, "content")
    if named:
        assert named in excinfo.value.message
    assert excinfo.value.http_status == 415


def test_filetype_gaps_we_cover_ourselves() -> None:
    """Pins the filetype 1.2 gaps documented in enforcement/evidence/sniff.py."""
    gp3 = make_isobmff(b"3gp4", b"isom", b"3gp4")
    assert filetype.guess_mime(gp3) == "video/mp4"  # its 3GP matcher looks at the wrong offset
    assert filetype.guess_mime(make_isobmff(b"3gp5", b"3gp5")) is None
    assert filetype.guess_mime(make_heic(major=b"heix")) is None
    assert filetype.guess_mime(make_isobmff(b"iso5", b"iso5", b"dash")) is None
    assert filetype.guess_mime(make_amr(wideband=True)) is None
    assert filetype.guess_mime(make_ogg(b"\x80theora" + bytes(30))) == "audio/ogg"
    assert filetype.guess_mime(make_webm()) == "video/webm"
    mp3_with_crc = b"\xff\xfa\x90\x64" + bytes(413)
    assert filetype.guess_mime(mp3_with_crc) is None
    assert sniff(gp3).mime == "video/3gpp"
    assert sniff(mp3_with_crc).mime == "audio/mpeg"


def test_container_kinds_and_declared_types() -> None:
    mp4 = sniff(make_isobmff(b"mp42", b"isom", b"mp42"))
    assert check_declared(mp4, "video").mime == "video/mp4"
    assert check_declared(mp4, "audio", "audio/x-m4a").mime == "audio/mp4"  # alias
    assert (
        check_declared(sniff(make_webm()), "audio", "audio/webm;codecs=opus").mime == "audio/webm"
    )
    assert check_declared(sniff(make_jpeg()), "photo", "image/jpg").mime == "image/jpeg"
    assert (
        check_declared(sniff(make_jpeg()), "photo", "application/octet-stream").mime == "image/jpeg"
    )
    assert check_declared(sniff(make_heic()), "photo", "image/heif").mime == "image/heic"
    with pytest.raises(EvidenceRejected) as excinfo:
        check_declared(mp4, "photo")
    assert rejected(excinfo) == ("kind_mismatch", "declared_kind")
    with pytest.raises(EvidenceRejected) as excinfo:
        check_declared(sniff(make_isobmff(b"qt  ", b"qt  ")), "audio")
    assert rejected(excinfo) == ("kind_mismatch", "declared_kind")
    with pytest.raises(EvidenceRejected) as excinfo:
        check_declared(sniff(make_jpeg()), "photo", "image/png")
    assert rejected(excinfo) == ("type_mismatch", "declared_type")
    with pytest.raises(EvidenceRejected) as excinfo:
        check_declared(sniff(make_jpeg()), "document")
    assert rejected(excinfo) == ("kind_invalid", "declared_kind")


# --- store: round trip, dedupe, layout ----------------------------------------------------------


def test_round_trip_dedupe_and_atomic_layout(store: EvidenceStore) -> None:
    data = make_jpeg()
    digest = hashlib.sha256(data).hexdigest()
    first = store.put_stream(chunked(data), declared_kind="photo", declared_type="image/jpeg")
    assert (first.sha256, first.size, first.mime, first.kind, first.extension) == (
        digest,
        len(data),
        "image/jpeg",
        "photo",
        "jpg",
    )
    assert first.created
    assert first.path == store.root / digest[:2] / digest[2:4] / digest
    with store.open(digest) as f:
        assert f.read() == data
    assert store.exists(digest) and store.verify(digest)
    # Same bytes again, in other chunk sizes and with the hash announced: the same object.
    again = store.put_stream(chunked(data, 1000), declared_kind="photo", expected_sha256=digest)
    assert (again.sha256, again.path, again.created) == (digest, first.path, False)
    assert files_under(store.root) == [first.path]  # no duplicate, no temporary file
    assert first.path.stat().st_mode & 0o777 == 0o444


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_allowed_type_is_stored(store: EvidenceStore, name: str) -> None:
    build, mime, kind = SAMPLES[name]
    stored = store.put_stream(chunked(build()), declared_kind=kind)
    assert (stored.mime, stored.kind) == (mime, kind)
    assert store.verify(stored.sha256)


def test_mp4_declared_as_audio_is_stored_as_audio(store: EvidenceStore) -> None:
    data = make_isobmff(b"mp42", b"isom", b"mp42")
    stored = store.put_stream([data], declared_kind="audio", declared_type="audio/mp4")
    assert (stored.mime, stored.kind, stored.extension) == ("audio/mp4", "audio", "m4a")


def test_verify_detects_bit_rot(store: EvidenceStore) -> None:
    stored = store.put_stream([make_wav()], declared_kind="audio")
    stored.path.chmod(0o644)
    with open(stored.path, "r+b") as f:
        f.seek(100)
        f.write(b"\xff\xfe")
    assert not store.verify(stored.sha256)


# --- store: refusals leave nothing behind -------------------------------------------------------


def test_limit_exceeded_mid_stream_stops_reading_and_leaves_no_file(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "ev", max_bytes=100_000)
    wav = make_wav(seconds=20)
    pulled = []
    closed = []

    def endless() -> Iterator[bytes]:
        try:
            for block in chunked(wav, 16_384):
                pulled.append(len(block))
                yield block
        finally:
            closed.append(True)

    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream(endless(), declared_kind="audio")
    assert rejected(excinfo) == ("too_large", "content")
    assert excinfo.value.http_status == 413
    assert "100000" in excinfo.value.message
    assert sum(pulled) == 16_384 * 7  # six chunks fit, the seventh would pass the limit
    assert closed == [True]  # the generator was closed: nothing more read
    assert files_under(store.root) == []
    assert EvidenceStore(tmp_path / "default").max_bytes == DEFAULT_MAX_BYTES == 50 * 1024 * 1024


def test_wrong_declared_kind_refused_with_reason(store: EvidenceStore) -> None:
    pulled = []

    def stream() -> Iterator[bytes]:
        for block in chunked(make_wav(seconds=4), 4096):
            pulled.append(block)
            yield block

    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream(stream(), declared_kind="photo")
    assert rejected(excinfo) == ("kind_mismatch", "declared_kind")
    assert "audio/wav" in excinfo.value.message
    assert len(pulled) == SNIFF_BYTES // 4096  # refused as soon as the head was in
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([make_jpeg()], declared_kind="photo", declared_type="image/png")
    assert rejected(excinfo) == ("type_mismatch", "declared_type")
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([make_zip()], declared_kind="photo")
    assert rejected(excinfo) == ("type_not_allowed", "content")
    assert files_under(store.root) == []


def test_empty_and_hash_mismatch(store: EvidenceStore) -> None:
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([b"", b""], declared_kind="photo")
    assert rejected(excinfo) == ("empty", "content")
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([make_jpeg()], declared_kind="photo", expected_sha256="0" * 64)
    assert rejected(excinfo) == ("hash_mismatch", "expected_sha256")
    assert files_under(store.root) == []


def test_error_from_the_client_stream_propagates_and_cleans_up(store: EvidenceStore) -> None:
    def dropped() -> Iterator[bytes]:
        yield make_jpeg()[:20_000]
        raise ConnectionResetError("tablet went out of coverage")

    with pytest.raises(ConnectionResetError):
        store.put_stream(dropped(), declared_kind="photo")
    assert files_under(store.root) == []


def test_polyglot_jpeg_zip_refused(store: EvidenceStore) -> None:
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([make_jpeg() + make_zip()], declared_kind="photo")
    assert rejected(excinfo) == ("polyglot", "content")
    assert "ZIP" in excinfo.value.message
    # A ZIP comment does not hide the end-of-central-directory record.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x")
        z.comment = b"innocent comment" * 100
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([make_image("PNG") + buf.getvalue()], declared_kind="photo")
    assert excinfo.value.reason_code == "polyglot"
    assert files_under(store.root) == []


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_jpeg(comment=b"<?php system($_GET['c']); ?>"),
        lambda: make_jpeg() + b"<script>alert(1)</script>",
        lambda: make_image("PNG") + b"<!DOCTYPE html><html>",
        lambda: make_wav()[:44] + b"%PDF-1.4\n" + make_wav()[44:],
        lambda: make_isobmff(b"isom", b"isom") + b"<svg onload=alert(1)>",
    ],
    ids=["php-in-jpeg-comment", "script-after-jpeg", "html-after-png", "pdf-in-wav", "svg-mp4"],
)
def test_markup_and_pdf_polyglots_refused(store: EvidenceStore, build) -> None:  # type: ignore[no-untyped-def]
    data = build()
    kind = sniff(data).kind
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([data], declared_kind=kind)
    assert rejected(excinfo) == ("polyglot", "content")
    assert files_under(store.root) == []


def test_trailing_video_after_jpeg_is_legal(store: EvidenceStore) -> None:
    """Motion Photos append an MP4 after the JPEG's EOI: trailing data alone is no polyglot."""
    data = make_jpeg() + make_isobmff(b"isom", b"isom", b"mp42")
    assert store.put_stream([data], declared_kind="photo").mime == "image/jpeg"


def test_bomb_png_refused_from_its_header_without_decoding(store: EvidenceStore) -> None:
    bomb = png_with_header(100_000, 100_000)  # 10^10 pixels: 30 GB if it were decoded
    assert len(bomb) < 200
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([bomb], declared_kind="photo")
    assert rejected(excinfo) == ("image_too_large", "content")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024
    # Below Pillow's own threshold, our configurable limit applies.
    small_limit = EvidenceStore(store.root, max_pixels=1_000_000)
    with pytest.raises(EvidenceRejected) as excinfo:
        small_limit.put_stream([png_with_header(3000, 3000)], declared_kind="photo")
    assert excinfo.value.reason_code == "image_too_large"
    assert "3000x3000 = 9000000 pixels" in excinfo.value.message
    with pytest.raises(EvidenceRejected) as excinfo:
        small_limit.put_stream([make_heic(4032, 3024)], declared_kind="photo")
    assert excinfo.value.reason_code == "image_too_large"
    assert files_under(store.root) == []


@pytest.mark.parametrize(
    ("data", "kind", "code"),
    [
        (make_jpeg()[:30_000], "photo", "image_corrupt"),
        (make_jpeg()[:-2], "photo", "image_corrupt"),
        (make_image("PNG")[:-40], "photo", "image_corrupt"),
        (make_image("WEBP")[:-10], "photo", "image_corrupt"),
        (make_isobmff(b"isom", b"isom")[:-100], "video", "media_corrupt"),
        (make_isobmff(b"isom", b"isom", moov=False), "video", "media_corrupt"),
        (make_wav()[:-1000], "audio", "media_corrupt"),
        (make_heic()[:-50], "photo", "image_corrupt"),
    ],
    ids=[
        "jpeg-half",
        "jpeg-no-eoi",
        "png-cut",
        "webp-cut",
        "mp4-cut",
        "mp4-no-moov",
        "wav-cut",
        "heic-cut",
    ],
)
def test_truncated_or_corrupt_refused(
    store: EvidenceStore, data: bytes, kind: str, code: str
) -> None:
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream(chunked(data), declared_kind=kind)
    assert rejected(excinfo) == (code, "content")
    assert files_under(store.root) == []


def test_png_with_flipped_pixel_byte_fails_its_crc(store: EvidenceStore) -> None:
    data = bytearray(make_image("PNG"))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(EvidenceRejected) as excinfo:
        store.put_stream([bytes(data)], declared_kind="photo")
    assert excinfo.value.reason_code == "image_corrupt"


# --- paths and names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "../" * 20 + "etc/passwd",
        "A" * 64,
        "0" * 63,
        "0" * 64 + "\n",
        "0" * 62 + "/.",
        "",
        None,
    ],
)
def test_path_tricks_as_sha256_refused(store: EvidenceStore, bad: object) -> None:
    for call in (store.open, store.exists, store.verify, store.path_for):
        with pytest.raises(EvidenceRejected) as excinfo:
            call(bad)  # type: ignore[arg-type]
        assert rejected(excinfo) == ("sha256_invalid", "sha256")
    if bad is not None:  # None means "no hash announced"
        with pytest.raises(EvidenceRejected) as excinfo:
            store.put_stream([make_jpeg()], declared_kind="photo", expected_sha256=bad)  # type: ignore[arg-type]
        assert rejected(excinfo) == ("sha256_invalid", "expected_sha256")
    assert files_under(store.root) == []


def test_missing_object_is_not_found(store: EvidenceStore) -> None:
    assert not store.exists("a" * 64)
    with pytest.raises(EvidenceNotFound) as excinfo:
        store.open("a" * 64)
    assert excinfo.value.http_status == 404


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\inspector\\DCIM\\IMG_0001.JPG", "IMG_0001.JPG"),
        ("..", "unnamed"),
        ("", "unnamed"),
        (None, "unnamed"),
        (".htaccess", "htaccess"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # right-to-left override removed
        ("a\x00b\r\nc\t.jpg", "ab c .jpg"),
        ('现场 照片<script>"?.jpg', "现场 照片_script___.jpg"),
        ("CON.jpg", "_CON.jpg"),
        ("x" * 300 + ".jpeg", "x" * 115 + ".jpeg"),
    ],
)
def test_safe_display_name(name: object, shown: str) -> None:
    assert safe_display_name(name) == shown
    assert len(safe_display_name(name)) <= 120


# --- a full disk: a real tmpfs ------------------------------------------------------------------


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root): a disk that really fills up."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = f"cannot mount a tmpfs: {result.stderr.strip()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_disk_full_gives_clear_error_and_no_partial_file(tiny_tmpfs: Path) -> None:
    store = EvidenceStore(tiny_tmpfs / "evidence")
    free_before = os.statvfs(tiny_tmpfs).f_bfree
    big = make_wav(seconds=80)  # 1.28 MB of audio into a 1 MiB file system
    assert len(big) > 1024 * 1024
    with pytest.raises(EvidenceStorageError) as excinfo:
        store.put_stream(chunked(big, 65_536), declared_kind="audio")
    error = excinfo.value
    assert error.reason_code == "disk_full"
    assert "storage is full" in error.message and "nothing was kept" in error.message
    assert error.http_status == 507
    assert files_under(store.root) == []
    assert os.statvfs(tiny_tmpfs).f_bfree == free_before  # every block given back
    # Once space is there again, storing works.
    small = store.put_stream([make_jpeg((200, 150))], declared_kind="photo")
    assert store.verify(small.sha256)


def test_disk_full_when_beginning_a_resumable_upload(tiny_tmpfs: Path) -> None:
    store = EvidenceStore(tiny_tmpfs / "evidence")
    uploads = UploadManager(tiny_tmpfs / "uploads", store)
    with pytest.raises(EvidenceStorageError) as excinfo:
        uploads.begin(uuid.uuid4(), 2 * 1024 * 1024, "video", "video/mp4", "0" * 64)
    assert excinfo.value.reason_code == "disk_full"
    assert files_under(tiny_tmpfs) == []


def test_disk_full_while_completing_keeps_the_upload_for_a_retry(tiny_tmpfs: Path) -> None:
    store = EvidenceStore(tiny_tmpfs / "evidence")
    uploads = UploadManager(tiny_tmpfs / "uploads", store)
    ballast = tiny_tmpfs / "ballast"
    ballast.write_bytes(bytes(300_000))
    data = make_wav(seconds=25)  # 400 kB: fits once, not twice next to the ballast
    upload_id = uuid.uuid4()
    uploads.begin(upload_id, len(data), "audio", "audio/wav", hashlib.sha256(data).hexdigest())
    for offset in range(0, len(data), 65_536):
        uploads.put_chunk(upload_id, offset, data[offset : offset + 65_536])
    with pytest.raises(EvidenceStorageError) as excinfo:
        uploads.complete(upload_id)
    assert excinfo.value.reason_code == "disk_full"
    assert files_under(store.root) == []  # no partial object, no temporary file
    assert uploads.status(upload_id).is_complete  # nothing lost on the upload side
    ballast.unlink()
    stored = uploads.complete(upload_id)
    assert store.verify(stored.sha256)
    assert files_under(uploads.root) == []


_FSIZE_SCRIPT = """
import json, resource, sys
from pathlib import Path
from enforcement.evidence import EvidenceStorageError, EvidenceStore
store = EvidenceStore(Path(sys.argv[1]))
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # Python ignores SIGXFSZ
data = Path(sys.argv[2]).read_bytes()
try:
    store.put_stream([data[i : i + 65536] for i in range(0, len(data), 65536)],
                     declared_kind="audio")
    print(json.dumps({"code": None}))
except EvidenceStorageError as exc:
    print(json.dumps({"code": exc.reason_code, "message": exc.message}))
"""


def test_write_failure_from_the_kernel_leaves_no_partial_file(tmp_path: Path) -> None:
    """A second real I/O failure (EFBIG from RLIMIT_FSIZE, in a child process)."""
    sample = tmp_path / "big.wav"
    sample.write_bytes(make_wav(seconds=30))
    root = tmp_path / "evidence"
    result = subprocess.run(
        [sys.executable, "-c", _FSIZE_SCRIPT, str(root), str(sample)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    outcome = json.loads(result.stdout)
    assert outcome["code"] == "storage_error"
    assert "File too large" in outcome["message"]
    assert files_under(root) == []


def test_concurrent_puts_of_the_same_content_give_one_object(store: EvidenceStore) -> None:
    data = make_image("PNG", (400, 300))
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: store.put_stream(chunked(data), declared_kind="photo"), range(16))
        )
    assert len({r.path for r in results}) == 1
    assert files_under(store.root) == [results[0].path]
    assert store.verify(results[0].sha256)


def test_damaged_object_is_replaced_by_a_new_upload(store: EvidenceStore) -> None:
    data = make_wav()
    stored = store.put_stream([data], declared_kind="audio")
    stored.path.chmod(0o644)
    stored.path.write_bytes(data[:1000])  # lost its end (a bad disk, an interrupted restore)
    assert not store.verify(stored.sha256)
    again = store.put_stream([data], declared_kind="audio")
    assert again.created and store.verify(stored.sha256)


def test_purge_stale_temp_files(store: EvidenceStore) -> None:
    crashed = store.root / ".tmp" / "upload-crashed.part"
    crashed.write_bytes(b"half an upload")
    old = crashed.stat().st_mtime - 7200
    os.utime(crashed, (old, old))
    fresh = store.root / ".tmp" / "upload-live.part"
    fresh.write_bytes(b"being written")
    assert store.purge_stale_temp(dt.timedelta(hours=1)) == 1
    assert files_under(store.root) == [fresh]
