"""What is this upload, and may it be kept as evidence? Content sniffing and content checks.

The client's file name, extension and ``Content-Type`` are never trusted: the type is read
from the first bytes (:func:`sniff`), compared with what the client declared
(:func:`check_declared`), and the complete file is then checked (:func:`inspect_content`).

Allow-list (mime → kind)::

    photo  image/jpeg, image/png, image/heic (HEIC brands heic/heix/heim/heis, or mif1 with
           a heic compatible brand), image/heif (mif1 still images), image/webp
    video  video/mp4 (isom/iso2-9/mp41/mp42/avc1/… brands), video/quicktime (brand "qt  "),
           video/webm, video/3gpp (3gp*/3gg*/3gs*/3ge*/3gr*/3gh* brands)
    audio  audio/mp4 (M4A/M4B brands, or an MP4/3GP/WebM container declared as audio),
           audio/aac (ADTS), audio/mpeg (MP3: ID3 tag or MPEG-1/2/2.5 layer III frame),
           audio/wav (RIFF/WAVE), audio/amr, audio/amr-wb, audio/ogg (Ogg with Opus or
           Vorbis in the first page), audio/webm, audio/3gpp

MP4, 3GP and WebM containers carry either video or audio: the first bytes do not say which,
so those sniff as video with an audio alternative, and the declared kind chooses.

Gaps of ``filetype`` 1.2 that made us match the allow-list ourselves (it is still used to
name a refused type, e.g. "application/zip is not allowed"), pinned by tests:

* 3GP: its matcher looks for ``ftyp3gp`` at offset 0 instead of 4, so real 3GP files are
  never detected (they come out as video/mp4 when ``isom`` is a compatible brand);
* HEIF: only brand ``heic`` (or mif1/msf1 + heic) is recognised; ``heix`` (10-bit HEIC)
  and plain ``mif1`` HEIF are not; AVIF is recognised (and refused here);
* MP4: only mp41/mp42/isom brands; ``iso2``…``iso9``, ``avc1``, ``dash`` files are missed;
* AMR-WB (``#!AMR-WB``) is not recognised, only AMR-NB;
* MP3: frames starting FF FA / FF E3 (with CRC, MPEG-2.5) are missed;
* Ogg: any Ogg stream is audio/ogg, including Theora video; WebM audio is video/webm.

Polyglot checks (cheap, on the first and last :data:`SCAN_WINDOW` bytes), refused with
reason ``polyglot``:

* ZIP (also JAR, DOCX, APK, PHAR-zip): an end-of-central-directory record (``PK\\x05\\x06``)
  whose comment length ends exactly at the end of the file, i.e. what unzip, Java and PHP
  look for (they only search the last 64 KiB + 22 bytes);
* PDF: ``%PDF-`` in the first 1024 bytes (PDF readers accept a header anywhere there);
* markup/script, case-insensitive, in the head and tail windows: ``<?php``, ``<script``,
  ``<html``, ``<body``, ``<iframe``, ``<!doctype html``, and ``<svg`` followed by a space,
  ``/`` or ``>``. Not checked: markup in the middle of large files, ``<?=`` short tags (too
  short to tell from compressed data), data appended after a JPEG's EOI marker (phones
  append Motion Photo videos and vendor trailers there, so trailing data alone is legal).

Structure checks: JPEG is decoded at 1/8 scale (libjpeg DCT scaling: the whole entropy-coded
stream is read, memory is about pixels*3/64) so truncation is caught; PNG ``verify()`` checks
every chunk CRC up to IEND without inflating pixels; WebP is opened by libwebp, which rejects
truncated RIFF chunks. Pixel counts are read from the header before any decode (Pillow's own
``DecompressionBombError`` is mapped to the same reason). HEIC/HEIF cannot be decoded by
Pillow here: their size comes from the ``ispe`` properties in the head and their structure
from the top-level box walk, like MP4/MOV/3GP/M4A (boxes must tile the file exactly, no
truncation, ``moov`` present for audio/video, ``meta`` for images). WAV: the RIFF length
must not exceed the file. WebM, Ogg, MP3, AAC and AMR are checked by signature only.
"""

from __future__ import annotations

import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import filetype
from PIL import Image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "KINDS",
    "REASON_HTTP_STATUS",
    "SCAN_WINDOW",
    "SNIFF_BYTES",
    "EvidenceError",
    "EvidenceNotFound",
    "EvidenceRejected",
    "EvidenceStorageError",
    "Kind",
    "SniffedType",
    "check_declared",
    "find_polyglot",
    "inspect_content",
    "normalize_content_type",
    "sniff",
    "validate_kind",
]

Kind = Literal["photo", "video", "audio"]
KINDS: tuple[Kind, ...] = ("photo", "video", "audio")

# Enough for every signature below (ftyp boxes, Ogg codec id, EBML doctype, ID3 + frame).
SNIFF_BYTES = 8192
# Head and tail windows scanned for polyglots; also the ZIP EOCD search range (65535 + 22).
SCAN_WINDOW = 65557
# 108 MP phone sensors (12000x9000) fit; 200 MP modes need a higher limit. Pillow refuses
# more than 2 * Image.MAX_IMAGE_PIXELS (~179 MP) on its own unless that global is raised.
DEFAULT_MAX_PIXELS = 120_000_000

# What an API should answer for each reason code (client faults 4xx, ours 5xx).
REASON_HTTP_STATUS: dict[str, int] = {
    "empty": 400,
    "too_large": 413,
    "type_unknown": 415,
    "type_not_allowed": 415,
    "kind_invalid": 422,
    "kind_mismatch": 415,
    "type_mismatch": 415,
    "polyglot": 422,
    "image_too_large": 422,
    "image_corrupt": 422,
    "media_corrupt": 422,
    "hash_mismatch": 422,
    "sha256_invalid": 422,
    "upload_id_invalid": 422,
    "size_invalid": 422,
    "offset_invalid": 422,
    "chunk_empty": 422,
    "chunk_out_of_range": 416,
    "chunk_conflict": 409,
    "upload_exists": 409,
    "upload_incomplete": 409,
    "not_found": 404,
    "upload_not_found": 404,
    "disk_full": 507,
    "storage_error": 500,
    "state_corrupt": 500,
}


class EvidenceError(Exception):
    """Base error: a stable ``reason_code``, a human message and the field at fault."""

    def __init__(self, reason_code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.reason_code = reason_code
        self.message = message
        self.field = field

    @property
    def http_status(self) -> int:
        return REASON_HTTP_STATUS.get(self.reason_code, 500)


class EvidenceRejected(EvidenceError):  # noqa: N818 (name fixed by the issue)
    """The client's fault: the upload is refused and will not succeed if sent again as is."""


class EvidenceNotFound(EvidenceError):  # noqa: N818 (pairs with EvidenceRejected)
    """No such evidence object or upload."""


class EvidenceStorageError(EvidenceError):
    """Our fault (disk full, I/O error): nothing was kept; the client may retry later."""


@dataclass(frozen=True)
class SniffedType:
    """A type read from content. ``alternatives``: other readings of the same container."""

    mime: str
    extension: str
    kind: Kind
    alternatives: tuple[SniffedType, ...] = field(default=(), compare=False)

    def as_kind(self, kind: str) -> SniffedType | None:
        """This type read as ``kind`` (e.g. an MP4 container declared as audio), or None."""
        if kind == self.kind:
            return self
        return next((alt for alt in self.alternatives if alt.kind == kind), None)

    @property
    def container_mimes(self) -> frozenset[str]:
        return frozenset({self.mime, *(alt.mime for alt in self.alternatives)})


def _t(mime: str, ext: str, kind: Kind, *alts: SniffedType) -> SniffedType:
    return SniffedType(mime, ext, kind, tuple(alts))


JPEG = _t("image/jpeg", "jpg", "photo")
PNG = _t("image/png", "png", "photo")
WEBP = _t("image/webp", "webp", "photo")
HEIC = _t("image/heic", "heic", "photo")
HEIF = _t("image/heif", "heif", "photo")
MP4 = _t("video/mp4", "mp4", "video", _t("audio/mp4", "m4a", "audio"))
MOV = _t("video/quicktime", "mov", "video")
GP3 = _t("video/3gpp", "3gp", "video", _t("audio/3gpp", "3gp", "audio"))
WEBM = _t("video/webm", "webm", "video", _t("audio/webm", "weba", "audio"))
M4A = _t("audio/mp4", "m4a", "audio")
AAC = _t("audio/aac", "aac", "audio")
MP3 = _t("audio/mpeg", "mp3", "audio")
WAV = _t("audio/wav", "wav", "audio")
AMR = _t("audio/amr", "amr", "audio")
AMR_WB = _t("audio/amr-wb", "awb", "audio")
OGG_OPUS = _t("audio/ogg", "opus", "audio")
OGG_VORBIS = _t("audio/ogg", "ogg", "audio")

# Declared content types that mean the same thing as ours (browsers and Android disagree).
_MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/heic-sequence": "image/heic",
    "video/x-m4v": "video/mp4",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-aac": "audio/aac",
    "audio/aacp": "audio/aac",
    "audio/mp3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/opus": "audio/ogg",
    "application/ogg": "audio/ogg",
    "audio/3gp": "audio/3gpp",
    "video/3gp": "video/3gpp",
    "audio/amr-nb": "audio/amr",
    "audio/x-amr": "audio/amr",
}
# A HEIC file is a HEIF file: either name is accepted for either.
_EQUIVALENT = {"image/heic": {"image/heif"}, "image/heif": {"image/heic"}}
# Declared types that claim nothing (chunked uploads often send these).
_NO_CLAIM = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}


def validate_kind(kind: object, field: str = "declared_kind") -> Kind:
    if kind not in KINDS:
        raise EvidenceRejected(
            "kind_invalid", f"must be one of {', '.join(KINDS)}, not {kind!r}", field
        )
    return kind  # type: ignore[return-value]


def normalize_content_type(value: str | None) -> str | None:
    """Lower-case media type without parameters, aliases resolved; None if it claims nothing."""
    if value is None:
        return None
    mime = value.split(";", 1)[0].strip().lower()
    if mime in _NO_CLAIM:
        return None
    return _MIME_ALIASES.get(mime, mime)


# --- sniffing ---------------------------------------------------------------------------

_HEIC_BRANDS = {"heic", "heix", "heim", "heis"}
_MP4_BRANDS = {
    *(f"iso{n}" for n in "m23456789"),
    *("mp41", "mp42", "mp71", "avc1", "dash", "MSNV", "M4V ", "M4VH", "M4VP", "f4v ", "XAVC"),
}
_M4A_BRANDS = {"M4A ", "M4B ", "F4A "}
_3GP_PREFIXES = ("3gp", "3gg", "3gs", "3ge", "3gr", "3gh")
_REFUSED_BRANDS = {
    "avif": "image/avif",
    "avis": "image/avif",
    "msf1": "image/heif-sequence",
    "hevc": "image/heic-sequence",
    "hevx": "image/heic-sequence",
    "crx ": "image/x-canon-cr3",
    "jp2 ": "image/jp2",
}
_PRINTABLE_BRAND = re.compile(rb"[\x20-\x7e]{4}")


def _refuse(mime: str) -> EvidenceRejected:
    return EvidenceRejected(
        "type_not_allowed",
        f"content is {mime}, which is not an allowed evidence type "
        "(photo: JPEG, PNG, HEIC/HEIF, WebP; video: MP4, MOV, WebM, 3GP; "
        "audio: M4A, AAC, MP3, WAV, AMR, Ogg Opus/Vorbis, WebM)",
        "content",
    )


def _unknown(detail: str = "") -> EvidenceRejected:
    return EvidenceRejected(
        "type_unknown", f"content type not recognised from its first bytes{detail}", "content"
    )


def _brand_type(brand: str) -> SniffedType | None:
    if brand in _HEIC_BRANDS:
        return HEIC
    if brand == "qt  ":
        return MOV
    if brand.startswith(_3GP_PREFIXES):
        return GP3
    if brand in _M4A_BRANDS:
        return M4A
    if brand in _MP4_BRANDS:
        return MP4
    return None


def _sniff_isobmff(head: bytes) -> SniffedType:
    box_size = struct.unpack(">I", head[:4])[0]
    if box_size < 16 or box_size > 4096 or box_size % 4 or len(head) < min(box_size, 64):
        raise _unknown(" (malformed ISO-BMFF ftyp box)")
    body = head[8:box_size]
    # Complete 4-byte groups only; index 4 is the minor version, not a brand.
    brands = [body[i : i + 4] for i in range(0, len(body) - 3, 4) if i != 4]
    if not brands or not all(_PRINTABLE_BRAND.fullmatch(b) for b in brands):
        raise _unknown(" (malformed ISO-BMFF brands)")
    major, *compatible = (b.decode("ascii") for b in brands)
    if major in _REFUSED_BRANDS:
        raise _refuse(_REFUSED_BRANDS[major])
    if major == "mif1":  # generic HEIF still image; HEIC if it says so
        return HEIC if _HEIC_BRANDS & set(compatible) else HEIF
    found = _brand_type(major)
    if found is not None:
        return found
    # Unknown major brand: the compatible brands still tell what a player may assume.
    for brand in compatible:
        found = _brand_type(brand)
        if found is not None:
            return found
    raise _refuse(f"ISO-BMFF with brand {major!r}")


def _adts_ok(buf: bytes, pos: int = 0) -> bool:
    if len(buf) < pos + 7 or buf[pos] != 0xFF or buf[pos + 1] not in (0xF0, 0xF1, 0xF8, 0xF9):
        return False
    if (buf[pos + 2] >> 2) & 0x0F > 12:  # sampling frequency index 13-15 are reserved
        return False
    frame_len = ((buf[pos + 3] & 0x03) << 11) | (buf[pos + 4] << 3) | (buf[pos + 5] >> 5)
    if frame_len < 7:
        return False
    nxt = pos + frame_len
    # When the next frame is in the head it must start with a sync word too.
    return len(buf) < nxt + 2 or (buf[nxt] == 0xFF and buf[nxt + 1] & 0xF6 == 0xF0)


def _mp3_frame_ok(buf: bytes, pos: int = 0) -> bool:
    if len(buf) < pos + 4 or buf[pos] != 0xFF or buf[pos + 1] & 0xE0 != 0xE0:
        return False
    version = (buf[pos + 1] >> 3) & 0x03
    layer = (buf[pos + 1] >> 1) & 0x03
    bitrate = buf[pos + 2] >> 4
    rate = (buf[pos + 2] >> 2) & 0x03
    return version != 1 and layer == 1 and bitrate != 15 and rate != 3  # 1 == layer III


def _sniff_id3(head: bytes) -> SniffedType:
    size_bytes = head[6:10]
    if len(head) < 10 or head[3] not in (2, 3, 4) or any(b & 0x80 for b in size_bytes):
        raise _unknown(" (malformed ID3 tag)")
    size = 0
    for b in size_bytes:  # "syncsafe" integer: 7 bits per byte
        size = (size << 7) | b
    end = 10 + size + (10 if head[5] & 0x10 else 0)
    if len(head) < end + 4:
        return MP3  # a large tag (cover art): the first frame is beyond the head
    while end < len(head) - 4 and head[end] == 0:  # padding some encoders leave
        end += 1
    if _mp3_frame_ok(head, end):
        return MP3
    if _adts_ok(head, end):
        return AAC
    raise _unknown(" (ID3 tag not followed by MPEG audio)")


def sniff(head: bytes) -> SniffedType:
    """The evidence type of content starting with ``head`` (:data:`SNIFF_BYTES` are enough).

    Raises :class:`EvidenceRejected` with ``type_not_allowed`` for a recognised type outside
    the allow-list and ``type_unknown`` when nothing matches.
    """
    head = bytes(head[:SNIFF_BYTES])
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if head[4:8] == b"ftyp":
        return _sniff_isobmff(head)
    if head[:4] == b"RIFF" and len(head) >= 12:
        if head[8:12] == b"WEBP":
            return WEBP
        if head[8:12] == b"WAVE":
            return WAV
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska family
        if b"\x42\x82\x84webm" in head[:256]:
            return WEBM
        raise _refuse("video/x-matroska")
    if head[:4] == b"OggS":
        codec = head[28:36]
        if codec == b"OpusHead":
            return OGG_OPUS
        if codec[:7] == b"\x01vorbis":
            return OGG_VORBIS
        raise _refuse("video/ogg" if codec[:7] == b"\x80theora" else "Ogg with another codec")
    if head[:9] == b"#!AMR-WB\n":
        return AMR_WB
    if head[:6] == b"#!AMR\n":
        return AMR
    if head[:3] == b"ID3":
        return _sniff_id3(head)
    if _adts_ok(head):
        return AAC
    if _mp3_frame_ok(head):
        return MP3
    other = filetype.guess(head) if head else None
    if other is not None:
        raise _refuse(other.mime)
    raise _unknown()


def check_declared(
    sniffed: SniffedType, declared_kind: str, declared_type: str | None = None
) -> SniffedType:
    """The sniffed type as the declared kind; refuse when the client's claims disagree."""
    kind = validate_kind(declared_kind)
    resolved = sniffed.as_kind(kind)
    if resolved is None:
        raise EvidenceRejected(
            "kind_mismatch",
            f"declared as {kind} but the content is {sniffed.mime} ({sniffed.kind})",
            "declared_kind",
        )
    claimed = normalize_content_type(declared_type)
    if claimed is not None:
        accepted = set(sniffed.container_mimes)
        for mime in list(accepted):
            accepted |= _EQUIVALENT.get(mime, set())
        if claimed not in accepted:
            raise EvidenceRejected(
                "type_mismatch",
                f"declared as {declared_type!r} but the content is {resolved.mime}",
                "declared_type",
            )
    return resolved


# --- polyglots ----------------------------------------------------------------------------

_MARKUP = re.compile(
    rb"<\?php|<script|<html|<body|<iframe|<!doctype\s+html|<svg[\s/>]", re.IGNORECASE
)
_EOCD = b"PK\x05\x06"


def find_polyglot(head: bytes, tail: bytes, size: int) -> str | None:
    """What else the file is (a short description), or None; see the module docstring.

    ``head``/``tail``: the first and last :data:`SCAN_WINDOW` bytes (the same bytes for
    files shorter than that); ``size``: the file size.
    """
    pos = tail.rfind(_EOCD)
    while pos >= 0:
        if pos + 22 <= len(tail):
            comment_len = struct.unpack("<H", tail[pos + 20 : pos + 22])[0]
            if pos + 22 + comment_len == len(tail):
                return "a ZIP archive (end-of-central-directory record at the end of the file)"
        pos = tail.rfind(_EOCD, 0, pos)
    if b"%PDF-" in head[:1024]:
        return "a PDF document (%PDF- header in the first 1024 bytes)"
    for window, where in ((head, "start"), (tail, "end")):
        match = _MARKUP.search(window)
        if match:
            token = match.group().decode("ascii", "replace").strip()
            return f"markup or script ({token!r} near the {where} of the file)"
    return None


# --- structure and pixel checks -------------------------------------------------------------

_PILLOW_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def _read_windows(path: Path, size: int) -> tuple[bytes, bytes]:
    with open(path, "rb") as f:
        head = f.read(SCAN_WINDOW)
        if size <= SCAN_WINDOW:
            return head, head
        f.seek(size - SCAN_WINDOW)
        return head, f.read(SCAN_WINDOW)


def _image_corrupt(detail: str) -> EvidenceRejected:
    return EvidenceRejected("image_corrupt", f"image does not verify: {detail}", "content")


def _too_many_pixels(width: int, height: int, max_pixels: int) -> EvidenceRejected:
    return EvidenceRejected(
        "image_too_large",
        f"image is {width}x{height} = {width * height} pixels, more than the limit of "
        f"{max_pixels} (decompression bomb?)",
        "content",
    )


def _inspect_pillow(path: Path, mime: str, max_pixels: int) -> tuple[int, int]:
    expected = _PILLOW_FORMAT[mime]
    try:
        with warnings.catch_warnings():
            # Our own limit applies; Pillow's warning threshold would only add noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # lazy: reads the header, no pixel data
                width, height = im.size
                if im.format != expected:
                    raise _image_corrupt(f"Pillow reads it as {im.format}, not {expected}")
                if width * height > max_pixels:
                    raise _too_many_pixels(width, height, max_pixels)
                if expected == "PNG":
                    im.verify()  # every chunk CRC up to IEND, without inflating pixels
                elif expected == "JPEG":
                    im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                    im.load()  # reads the whole scan; "image file is truncated" if short
    except Image.DecompressionBombError as exc:
        raise EvidenceRejected(
            "image_too_large", f"image refused as a decompression bomb: {exc}", "content"
        ) from exc
    except EvidenceRejected:
        raise
    except (OSError, SyntaxError, ValueError, struct.error, Image.UnidentifiedImageError) as exc:
        raise _image_corrupt(str(exc) or type(exc).__name__) from exc
    return width, height


def _walk_boxes(path: Path, size: int) -> list[str]:
    """Top-level ISO-BMFF box types; raises ValueError when they do not tile the file."""
    types: list[str] = []
    pos = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            header = f.read(16)
            if len(header) < 8:
                raise ValueError(f"truncated box header at byte {pos}")
            box_size, raw_type = struct.unpack(">I4s", header[:8])
            if not re.fullmatch(rb"[\x20-\x7e\xa9]{4}", raw_type):
                raise ValueError(f"garbled box type {raw_type!r} at byte {pos}")
            if box_size == 1:
                if len(header) < 16:
                    raise ValueError(f"truncated 64-bit box size at byte {pos}")
                box_size = struct.unpack(">Q", header[8:16])[0]
                if box_size < 16:
                    raise ValueError(f"bad 64-bit box size at byte {pos}")
            elif box_size == 0:  # "extends to the end of the file"
                box_size = size - pos
            elif box_size < 8:
                raise ValueError(f"bad box size {box_size} at byte {pos}")
            if pos + box_size > size:
                raise ValueError(
                    f"box {raw_type.decode('latin-1')!r} at byte {pos} needs {box_size} bytes, "
                    f"only {size - pos} left (truncated)"
                )
            types.append(raw_type.decode("latin-1"))
            pos += box_size
    return types


def _heif_max_pixels(head: bytes) -> tuple[int, int] | None:
    """Largest ``ispe`` (image spatial extent) property in the head, if any."""
    best: tuple[int, int] | None = None
    for match in re.finditer(rb"ispe", head):
        start = match.end() + 4  # skip version and flags
        if start + 8 <= len(head):
            width, height = struct.unpack(">II", head[start : start + 8])
            if best is None or width * height > best[0] * best[1]:
                best = (width, height)
    return best


def inspect_content(
    path: Path, size: int, sniffed: SniffedType, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[int, int] | None:
    """Polyglot, structure and pixel checks on a complete file; image (width, height) or None.

    Raises :class:`EvidenceRejected` (``polyglot``, ``image_too_large``, ``image_corrupt``,
    ``media_corrupt``).
    """
    head, tail = _read_windows(path, size)
    other = find_polyglot(head, tail, size)
    if other is not None:
        raise EvidenceRejected("polyglot", f"the {sniffed.mime} content is also {other}", "content")
    if sniffed.mime in _PILLOW_FORMAT:
        return _inspect_pillow(path, sniffed.mime, max_pixels)
    if head[4:8] == b"ftyp":
        try:
            boxes = set(_walk_boxes(path, size))
        except ValueError as exc:
            code = "image_corrupt" if sniffed.kind == "photo" else "media_corrupt"
            raise EvidenceRejected(code, f"ISO-BMFF structure: {exc}", "content") from exc
        needed = "meta" if sniffed.kind == "photo" else "moov"
        if needed not in boxes:
            code = "image_corrupt" if sniffed.kind == "photo" else "media_corrupt"
            raise EvidenceRejected(code, f"no {needed!r} box (unfinished recording?)", "content")
        if sniffed.kind == "photo":
            dims = _heif_max_pixels(head)
            if dims is not None and dims[0] * dims[1] > max_pixels:
                raise _too_many_pixels(*dims, max_pixels)
            return dims
        return None
    if sniffed.mime == "audio/wav":
        riff_len = struct.unpack("<I", head[4:8])[0]
        # 0 and 0xFFFFFFFF: "unknown length" written by streaming recorders.
        if riff_len not in (0, 0xFFFFFFFF) and riff_len + 8 > size:
            raise EvidenceRejected(
                "media_corrupt",
                f"WAV header announces {riff_len + 8} bytes, the file has {size} (truncated)",
                "content",
            )
    return None
