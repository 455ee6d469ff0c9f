"""EXIF capture time and position, compared with the inspector's check-in."""

from __future__ import annotations

import datetime as dt
import io
import struct
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from enforcement.evidence import (
    CaptureMetadata,
    compare_with_checkin,
    read_capture_metadata,
)
from enforcement.evidence.exif import SHANGHAI
from gis import haversine_m, wgs84_to_gcj02

# West Lake, Hangzhou (WGS-84): the enterprise and the inspector's check-in.
SITE_LON, SITE_LAT = 120.1551, 30.2741
CHECKIN = dt.datetime(2024, 5, 6, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    return float(degrees), float(minutes), round((minutes_full - minutes) * 60, 4)


def make_exif(
    taken: str | None = "2024:05:06 10:15:00",
    offset: str | None = "+08:00",
    lat: float | None = SITE_LAT,
    lon: float | None = SITE_LON,
    subsec: str | None = None,
    gps_extra: dict[int, object] | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    if subsec is not None:
        sub[ExifTags.Base.SubsecTimeOriginal] = subsec
    if lat is not None and lon is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[ExifTags.GPS.GPSLatitude] = dms(abs(lat))
        gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[ExifTags.GPS.GPSLongitude] = dms(abs(lon))
        gps[ExifTags.GPS.GPSMapDatum] = "WGS-84"
        gps.update(gps_extra or {})
    return exif


def make_jpeg(exif: Image.Exif | None = None, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    im = Image.effect_noise((320, 240), 40).convert("RGB")
    if exif is None:
        im.save(buf, fmt)
    else:
        im.save(buf, fmt, exif=exif)
    return buf.getvalue()


def test_read_time_and_position(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(make_jpeg(make_exif(subsec="25")))
    for source in (path, str(path), path.read_bytes()):
        meta = read_capture_metadata(source)
        assert meta.taken_at == dt.datetime(2024, 5, 6, 2, 15, 0, 250_000, tzinfo=dt.UTC)
        assert meta.taken_at.utcoffset() == dt.timedelta(hours=8)
        assert meta.has_gps
        assert meta.latitude == pytest.approx(SITE_LAT, abs=1e-6)
        assert meta.longitude == pytest.approx(SITE_LON, abs=1e-6)
        assert meta.flags == frozenset()


def test_consistent() -> None:
    # Taken 50 m north of the check-in, 15 minutes after it.
    meta = read_capture_metadata(make_jpeg(make_exif(lat=SITE_LAT + 50 / 111_195.08)))
    check = compare_with_checkin(meta, CHECKIN, SITE_LAT, SITE_LON)
    assert check.verdict == "consistent"
    assert check.distance_m == pytest.approx(50.0, abs=0.5)
    assert check.minutes_apart == pytest.approx(15.0)
    assert check.notes == ()


def test_far() -> None:
    lon_1km = SITE_LON + 1000 / (111_195.08 * 0.8636)  # cos(30.27°) ≈ 0.8636
    meta = read_capture_metadata(make_jpeg(make_exif(lon=lon_1km)))
    check = compare_with_checkin(meta, CHECKIN, SITE_LAT, SITE_LON)
    assert check.verdict == "far"
    assert check.distance_m == pytest.approx(
        float(haversine_m(SITE_LON, SITE_LAT, meta.longitude, meta.latitude))
    )
    assert 990 < check.distance_m < 1010
    assert compare_with_checkin(meta, CHECKIN, SITE_LAT, SITE_LON, max_distance_m=2000).verdict == (
        "consistent"
    )


def test_time_mismatch() -> None:
    meta = read_capture_metadata(make_jpeg(make_exif(taken="2024:05:05 16:00:00")))
    check = compare_with_checkin(meta, CHECKIN, SITE_LAT, SITE_LON)
    assert check.verdict == "time_mismatch"
    assert check.minutes_apart == pytest.approx(18 * 60)
    assert check.distance_m == pytest.approx(0.0, abs=0.1)


def test_missing_metadata() -> None:
    meta = read_capture_metadata(make_jpeg())
    assert meta == CaptureMetadata(None, None, None, False, frozenset({"no_exif"}))
    check = compare_with_checkin(meta, CHECKIN, SITE_LAT, SITE_LON)
    assert (check.verdict, check.distance_m, check.minutes_apart) == ("no_metadata", None, None)
    assert check.notes == ("no_exif", "no_gps", "no_time")
    # Time only (GPS off in the camera): consistent on what could be checked, and it says so.
    time_only = read_capture_metadata(make_jpeg(make_exif(lat=None, lon=None)))
    check = compare_with_checkin(time_only, CHECKIN, SITE_LAT, SITE_LON)
    assert (check.verdict, check.distance_m, check.notes) == ("consistent", None, ("no_gps",))


def test_no_offset_is_read_as_shanghai_and_flagged() -> None:
    meta = read_capture_metadata(make_jpeg(make_exif(offset=None)))
    assert meta.taken_at == dt.datetime(2024, 5, 6, 10, 15, tzinfo=SHANGHAI)
    assert "timezone_assumed" in meta.flags
    check = compare_with_checkin(meta, CHECKIN, SITE_LAT, SITE_LON)
    assert check.verdict == "consistent" and check.minutes_apart == pytest.approx(15.0)
    assert "timezone_assumed" in check.notes


def test_other_offsets_and_hemispheres() -> None:
    meta = read_capture_metadata(
        make_jpeg(make_exif(taken="2024:05:05 22:00:00", offset="-04:00", lat=-33.8568, lon=-70.6))
    )
    assert meta.taken_at == dt.datetime(2024, 5, 6, 2, 0, tzinfo=dt.UTC)
    assert (meta.latitude, meta.longitude) == (pytest.approx(-33.8568), pytest.approx(-70.6))


@pytest.mark.parametrize(
    ("exif", "flag"),
    [
        (make_exif(gps_extra={ExifTags.GPS.GPSLatitudeRef: "X"}), "gps_invalid"),
        (make_exif(lat=0.0, lon=0.0), "gps_invalid"),
        (make_exif(gps_extra={ExifTags.GPS.GPSMapDatum: "TOKYO"}), "gps_datum:TOKYO"),
        (make_exif(taken="0000:00:00 00:00:00"), "time_invalid"),
        (make_exif(offset="+99:00"), "offset_invalid"),
    ],
)
def test_unusable_values_are_flagged(exif: Image.Exif, flag: str) -> None:
    meta = read_capture_metadata(make_jpeg(exif))
    assert flag in meta.flags
    if flag == "gps_invalid":
        assert not meta.has_gps and meta.latitude is None
    if flag == "time_invalid":
        assert meta.taken_at is None


def test_png_exif_and_heic_raw_exif_block() -> None:
    meta = read_capture_metadata(make_jpeg(make_exif(), fmt="PNG"))
    assert meta.has_gps and meta.taken_at is not None
    # HEIC (Pillow cannot open it here) keeps "Exif\0\0" + TIFF inside its mdat box.
    raw = make_exif().tobytes()
    assert raw.startswith(b"Exif\x00\x00")

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    heic = (
        box(b"ftyp", b"heic" + bytes(4) + b"mif1heic")
        + box(b"meta", bytes(200))
        + box(b"mdat", bytes(4) + raw + bytes(500))
    )
    meta = read_capture_metadata(heic)
    assert meta.latitude == pytest.approx(SITE_LAT, abs=1e-6)
    assert meta.taken_at == dt.datetime(2024, 5, 6, 2, 15, tzinfo=dt.UTC)


def test_unreadable_content_never_raises() -> None:
    for data in (b"", b"not an image at all", make_jpeg()[:100]):
        meta = read_capture_metadata(data)
        assert meta.taken_at is None and not meta.has_gps


def test_checkin_in_gcj02_is_converted_before_comparing() -> None:
    """Mixing datums is the classic geofence bug: ~520 m off in Hangzhou."""
    meta = read_capture_metadata(make_jpeg(make_exif()))
    gcj_lon, gcj_lat = wgs84_to_gcj02(SITE_LON, SITE_LAT)
    wrong = compare_with_checkin(meta, CHECKIN, float(gcj_lat), float(gcj_lon))
    assert wrong.verdict == "far" and 400 < wrong.distance_m < 700
    right = compare_with_checkin(meta, CHECKIN, float(gcj_lat), float(gcj_lon), checkin_crs="gcj02")
    assert right.verdict == "consistent" and right.distance_m < 1.0


def test_bad_checkin_arguments_name_the_field() -> None:
    meta = read_capture_metadata(make_jpeg(make_exif()))
    with pytest.raises(ValueError, match="checkin_time"):
        compare_with_checkin(meta, dt.datetime(2024, 5, 6, 10), SITE_LAT, SITE_LON)
    with pytest.raises(ValueError, match="checkin_lat"):
        compare_with_checkin(meta, CHECKIN, 95.0, SITE_LON)
    with pytest.raises(ValueError, match="checkin_lon"):
        compare_with_checkin(meta, CHECKIN, SITE_LAT, float("nan"))
    with pytest.raises(ValueError, match="coordinate system"):
        compare_with_checkin(meta, CHECKIN, SITE_LAT, SITE_LON, checkin_crs="utm")
