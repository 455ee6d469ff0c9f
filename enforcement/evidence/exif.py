"""When and where was a photo taken, and does that fit the inspector's check-in?

Time: EXIF ``DateTimeOriginal`` (+ ``SubSecTimeOriginal``) with ``OffsetTimeOriginal``. Many
cameras write no offset; the time is then read as Asia/Shanghai and the flag
``timezone_assumed`` says so. Without ``DateTimeOriginal``, ``DateTimeDigitized`` is used
(flag ``time_from_digitized``); ``DateTime`` is not, as editors rewrite it.

Position: the GPS IFD. Phones write WGS-84 there (the GCJ-02 shift of Chinese map apps is
applied for display, not written into EXIF), which is what :mod:`gis` expects; a
``GPSMapDatum`` other than WGS-84 is reported in the flags (``gps_datum:<value>``) and not
converted. Unusable GPS (missing N/S/E/W reference, zero denominators, out of range, 0/0) is
ignored with the flag ``gps_invalid``.

Readable: what Pillow opens (JPEG, PNG eXIf, WebP). Other files (HEIC, which Pillow cannot
open here) are searched for a raw ``Exif\\0\\0`` + TIFF block in their first 4 MiB, which is
where HEIC from phones keep it. Video and audio metadata (MP4 ``mvhd``/``©xyz``) are not read.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image

from gis import haversine_m, to_wgs84

__all__ = [
    "SHANGHAI",
    "CaptureMetadata",
    "EvidenceCheck",
    "Verdict",
    "compare_with_checkin",
    "read_capture_metadata",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
Verdict = Literal["consistent", "far", "time_mismatch", "no_metadata"]

_RAW_EXIF_SCAN = 4 * 1024 * 1024
# What malformed files make Pillow's parsers raise.
_BAD_CONTENT = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)
_RAW_EXIF = re.compile(rb"Exif\x00\x00(?:MM\x00\x2a|II\x2a\x00)")
_EXIF_TIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")

# EXIF tag numbers (ExifTags.Base / ExifTags.GPS).
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_OFFSET_ORIGINAL = 0x9011
_OFFSET_DIGITIZED = 0x9012
_SUBSEC_ORIGINAL = 0x9291
_SUBSEC_DIGITIZED = 0x9292
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_MAP_DATUM = 18


@dataclass(frozen=True)
class CaptureMetadata:
    taken_at: dt.datetime | None  # timezone-aware
    latitude: float | None  # WGS-84 decimal degrees
    longitude: float | None
    has_gps: bool
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EvidenceCheck:
    verdict: Verdict
    distance_m: float | None  # None: the photo has no usable position
    minutes_apart: float | None  # None: the photo has no usable time
    notes: tuple[str, ...] = ()  # metadata flags and what could not be checked


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ").strip() or None


def _parse_time(stamp: Any, subsec: Any, offset: Any, flags: set[str]) -> dt.datetime | None:
    text = _text(stamp)
    match = _EXIF_TIME.fullmatch(text or "")
    if not match:
        if text is not None:
            flags.add("time_invalid")
        return None
    try:
        naive = dt.datetime(*(int(g) for g in match.groups()))
    except ValueError:  # "0000:00:00 00:00:00" and the like
        flags.add("time_invalid")
        return None
    digits = re.sub(r"\D", "", _text(subsec) or "")
    if digits:
        naive = naive.replace(microsecond=int(digits[:6].ljust(6, "0")))
    offset_match = _EXIF_OFFSET.fullmatch(_text(offset) or "")
    if offset_match:
        sign, hours, minutes = offset_match.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if delta <= dt.timedelta(hours=14):
            return naive.replace(tzinfo=dt.timezone(-delta if sign == "-" else delta))
        flags.add("offset_invalid")
    elif _text(offset) is not None:
        flags.add("offset_invalid")
    flags.add("timezone_assumed")
    return naive.replace(tzinfo=SHANGHAI)


def _degrees(value: Any, ref: Any, positive: str, negative: str) -> float | None:
    ref_text = (_text(ref) or "").upper()
    if ref_text not in (positive, negative):
        return None
    try:
        parts = [float(v) for v in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    degrees = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0
    return -degrees if ref_text == negative else degrees


def _from_exif(exif: Image.Exif) -> CaptureMetadata:
    flags: set[str] = set()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    taken_at = None
    if sub.get(_DATETIME_ORIGINAL) is not None:
        taken_at = _parse_time(
            sub.get(_DATETIME_ORIGINAL),
            sub.get(_SUBSEC_ORIGINAL),
            sub.get(_OFFSET_ORIGINAL),
            flags,
        )
    elif sub.get(_DATETIME_DIGITIZED) is not None:
        taken_at = _parse_time(
            sub.get(_DATETIME_DIGITIZED),
            sub.get(_SUBSEC_DIGITIZED),
            sub.get(_OFFSET_DIGITIZED),
            flags,
        )
        if taken_at is not None:
            flags.add("time_from_digitized")
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = lon = None
    if gps:
        lat = _degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "N", "S")
        lon = _degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "E", "W")
        valid = (
            lat is not None
            and lon is not None
            and -90.0 <= lat <= 90.0
            and -180.0 <= lon <= 180.0
            and (lat, lon) != (0.0, 0.0)  # what some phones write without a fix
        )
        if not valid:
            flags.add("gps_invalid")
            lat = lon = None
        datum = _text(gps.get(_GPS_MAP_DATUM))
        if datum and re.sub(r"[\s_-]", "", datum).upper() != "WGS84":
            flags.add(f"gps_datum:{datum}")
    if not exif:
        flags.add("no_exif")
    return CaptureMetadata(taken_at, lat, lon, lat is not None, frozenset(flags))


def _raw_exif(f: BinaryIO) -> Image.Exif | None:
    f.seek(0)
    match = _RAW_EXIF.search(f.read(_RAW_EXIF_SCAN))
    if match is None:
        return None
    f.seek(match.start())
    exif = Image.Exif()
    exif.load(f.read(_RAW_EXIF_SCAN))
    return exif


def read_capture_metadata(source: Path | str | bytes) -> CaptureMetadata:
    """Capture time and WGS-84 position from a photo's EXIF; fields are None when absent.

    Never raises for bad content: unreadable files give empty metadata with the flag
    ``unreadable``.
    """
    with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as f:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # metadata only: no pixels are decoded
                with Image.open(f) as im:
                    return _from_exif(im.getexif())
        except _BAD_CONTENT:
            pass
        try:
            exif = _raw_exif(f)
            if exif is not None:
                return _from_exif(exif)
        except _BAD_CONTENT:
            pass
    return CaptureMetadata(None, None, None, False, frozenset({"unreadable"}))


def _check_number(value: float, low: float, high: float, field: str) -> float:
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{field}: must be a number in [{low}, {high}], got {value!r}")
    return number


def compare_with_checkin(
    meta: CaptureMetadata,
    checkin_time: dt.datetime,
    checkin_lat: float,
    checkin_lon: float,
    *,
    max_distance_m: float = 200.0,
    max_minutes: float = 120.0,
    checkin_crs: str = "wgs84",
) -> EvidenceCheck:
    """Does the photo's time and place fit the check-in?

    ``far`` when the distance exceeds ``max_distance_m``, else ``time_mismatch`` when the
    times differ by more than ``max_minutes`` (either direction), else ``consistent`` when
    at least one of them could be checked, else ``no_metadata``. ``distance_m`` and
    ``minutes_apart`` are None for what the photo lacks, so a caller can tell a full match
    from a partial one. The check-in position is converted from ``checkin_crs`` ("wgs84",
    "gcj02", "bd09") to WGS-84 first: comparing GCJ-02 with EXIF WGS-84 would be off by
    hundreds of metres.
    """
    if not isinstance(checkin_time, dt.datetime) or checkin_time.utcoffset() is None:
        raise ValueError(f"checkin_time: must be a timezone-aware datetime, got {checkin_time!r}")
    lat = _check_number(checkin_lat, -90.0, 90.0, "checkin_lat")
    lon = _check_number(checkin_lon, -180.0, 180.0, "checkin_lon")
    if max_distance_m <= 0 or max_minutes <= 0:
        raise ValueError("max_distance_m and max_minutes must be positive")
    wgs_lon, wgs_lat = to_wgs84(lon, lat, checkin_crs)
    notes = set(meta.flags)
    distance = minutes = None
    if meta.has_gps and meta.latitude is not None and meta.longitude is not None:
        distance = float(haversine_m(float(wgs_lon), float(wgs_lat), meta.longitude, meta.latitude))
    else:
        notes.add("no_gps")
    if meta.taken_at is not None:
        minutes = abs((meta.taken_at - checkin_time).total_seconds()) / 60.0
    else:
        notes.add("no_time")
    if distance is not None and distance > max_distance_m:
        verdict: Verdict = "far"
    elif minutes is not None and minutes > max_minutes:
        verdict = "time_mismatch"
    elif distance is None and minutes is None:
        verdict = "no_metadata"
    else:
        verdict = "consistent"
    return EvidenceCheck(verdict, distance, minutes, tuple(sorted(notes)))
