"""Tests for gis.coords: WGS-84 / GCJ-02 / BD-09 conversions."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon

from gis import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    transform_geometry,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (wgs_lon, wgs_lat, gcj_lon, gcj_lat, bd_lon, bd_lat)
# Provenance: GCJ-02 and BD-09 columns computed with the PyPI package
# coordTransform 0.2.1 (wgs84_to_gcj02 / wgs84_to_bd09; standard constants
# a = 6378245.0, ee = 0.00669342162296594323), rounded to 1e-9 degrees.
# Cross-checked with the independent PyPI package eviltransform 0.1.1
# (wgs2gcj / wgs2bd): agrees to within 1.1e-7 degrees (about 1 cm; it uses
# a = 6378137.0 for the offset scaling, hence the tiny difference).
REFERENCE = [
    (116.397128, 39.916527, 116.403372494, 39.917930749, 116.409739337, 39.924269294),  # Tiananmen
    (121.490317, 31.236305, 121.494783558, 31.234317852, 121.501392664, 31.239971731),  # the Bund
    (113.264385, 23.129112, 113.269714583, 23.126435337, 113.276135768, 23.132723116),  # Guangzhou
    (87.617733, 43.792818, 87.620582260, 43.794042573, 87.627014578, 43.800164260),  # Urumqi
    (126.642464, 45.756967, 126.648434010, 45.758918131, 126.655063670, 45.764611822),  # Harbin
    (119.647444, 29.079059, 119.652148987, 29.076082869, 119.658597277, 29.082376101),  # Jinhua
]
REF = np.array(REFERENCE)
WGS_LON, WGS_LAT, GCJ_LON, GCJ_LAT, BD_LON, BD_LAT = REF.T

LONDON = (0.1276, 51.5072)


def _grid_across_china() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(73.5, 134.5, 62), np.linspace(18.5, 53.5, 36))
    return lon.ravel(), lat.ravel()


@pytest.mark.parametrize("row", REFERENCE, ids=lambda r: f"{r[0]},{r[1]}")
def test_forward_reference_values(row: tuple[float, ...]) -> None:
    wgs_lon, wgs_lat, gcj_lon, gcj_lat, bd_lon, bd_lat = row
    assert wgs84_to_gcj02(wgs_lon, wgs_lat) == pytest.approx((gcj_lon, gcj_lat), abs=1e-8)
    assert wgs84_to_bd09(wgs_lon, wgs_lat) == pytest.approx((bd_lon, bd_lat), abs=1e-8)
    assert gcj02_to_bd09(gcj_lon, gcj_lat) == pytest.approx((bd_lon, bd_lat), abs=1e-8)


@pytest.mark.parametrize("row", REFERENCE, ids=lambda r: f"{r[0]},{r[1]}")
def test_inverse_reference_values(row: tuple[float, ...]) -> None:
    wgs_lon, wgs_lat, gcj_lon, gcj_lat, bd_lon, bd_lat = row
    # 1e-8 is far tighter than the one-step inverses (~5e-5 GCJ, ~2e-6 BD) allow.
    assert gcj02_to_wgs84(gcj_lon, gcj_lat) == pytest.approx((wgs_lon, wgs_lat), abs=1e-8)
    assert bd09_to_gcj02(bd_lon, bd_lat) == pytest.approx((gcj_lon, gcj_lat), abs=1e-8)
    assert bd09_to_wgs84(bd_lon, bd_lat) == pytest.approx((wgs_lon, wgs_lat), abs=1e-8)


def test_tiananmen_commonly_quoted_value() -> None:
    lon, lat = wgs84_to_gcj02(116.397128, 39.916527)
    assert lon == pytest.approx(116.403370, abs=1e-5)
    assert lat == pytest.approx(39.917929, abs=1e-5)


def test_vectorised_matches_reference_and_scalars() -> None:
    gcj_lon, gcj_lat = wgs84_to_gcj02(WGS_LON, WGS_LAT)
    assert isinstance(gcj_lon, np.ndarray) and gcj_lon.shape == WGS_LON.shape
    np.testing.assert_allclose(gcj_lon, GCJ_LON, atol=1e-8, rtol=0)
    np.testing.assert_allclose(gcj_lat, GCJ_LAT, atol=1e-8, rtol=0)
    bd_lon, bd_lat = wgs84_to_bd09(WGS_LON, WGS_LAT)
    np.testing.assert_allclose(bd_lon, BD_LON, atol=1e-8, rtol=0)
    np.testing.assert_allclose(bd_lat, BD_LAT, atol=1e-8, rtol=0)

    lon, lat = wgs84_to_gcj02(116.397128, 39.916527)
    assert isinstance(lon, float) and isinstance(lat, float)
    assert np.ndim(lon) == 0
    # 2-D input keeps its shape; scalar lat broadcasts.
    lon2d, lat2d = gcj02_to_wgs84(GCJ_LON.reshape(2, 3), 30.0)
    assert lon2d.shape == lat2d.shape == (2, 3)


def test_inputs_are_not_mutated() -> None:
    lon, lat = WGS_LON.copy(), WGS_LAT.copy()
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        func(lon, lat)
    np.testing.assert_array_equal(lon, WGS_LON)
    np.testing.assert_array_equal(lat, WGS_LAT)


def test_round_trip_gcj02_over_china() -> None:
    lon, lat = _grid_across_china()
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    assert np.all(np.hypot(gcj_lon - lon, gcj_lat - lat) > 1e-4)  # really shifted
    back_lon, back_lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert np.max(np.abs(back_lon - lon)) < 1e-9
    assert np.max(np.abs(back_lat - lat)) < 1e-9


def test_round_trip_bd09_over_china() -> None:
    lon, lat = _grid_across_china()
    back_lon, back_lat = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert np.max(np.abs(back_lon - lon)) < 1e-9
    assert np.max(np.abs(back_lat - lat)) < 1e-9
    g_lon, g_lat = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert np.max(np.abs(g_lon - lon)) < 1e-9
    assert np.max(np.abs(g_lat - lat)) < 1e-9


def test_outside_china_not_shifted_by_gcj02() -> None:
    assert out_of_china(*LONDON)
    assert not out_of_china(116.397128, 39.916527)
    assert wgs84_to_gcj02(*LONDON) == LONDON
    assert gcj02_to_wgs84(*LONDON) == LONDON
    assert to_wgs84(*LONDON, "gcj02") == LONDON
    # Mixed arrays: only the Chinese point moves.
    lon, lat = wgs84_to_gcj02([LONDON[0], 116.397128], [LONDON[1], 39.916527])
    assert (lon[0], lat[0]) == LONDON
    assert (lon[1], lat[1]) == pytest.approx((GCJ_LON[0], GCJ_LAT[0]), abs=1e-8)
    # Just outside the box edges.
    assert out_of_china([72.0, 137.9, 100.0, 100.0], [30.0, 30.0, 0.8, 55.9]).all()


def test_nan_passes_through() -> None:
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        lon, lat = func([np.nan, 116.397128], [39.9, 39.916527])
        assert np.isnan(lon[0])
        assert np.isfinite(lon[1]) and np.isfinite(lat[1])


@pytest.mark.parametrize(
    ("crs", "expected"),
    [
        ("wgs84", (WGS_LON[0], WGS_LAT[0])),
        ("WGS84", (WGS_LON[0], WGS_LAT[0])),
        ("EPSG:4326", (WGS_LON[0], WGS_LAT[0])),
        ("epsg:4326", (WGS_LON[0], WGS_LAT[0])),
        ("gcj02", (GCJ_LON[0], GCJ_LAT[0])),
        ("GCJ02", (GCJ_LON[0], GCJ_LAT[0])),
        ("bd09", (BD_LON[0], BD_LAT[0])),
        ("BD09", (BD_LON[0], BD_LAT[0])),
    ],
)
def test_to_wgs84(crs: str, expected: tuple[float, float]) -> None:
    assert to_wgs84(*expected, crs) == pytest.approx((WGS_LON[0], WGS_LAT[0]), abs=1e-8)


def test_to_wgs84_vectorised() -> None:
    lon, lat = to_wgs84(BD_LON, BD_LAT, "bd09")
    np.testing.assert_allclose(lon, WGS_LON, atol=1e-8, rtol=0)
    np.testing.assert_allclose(lat, WGS_LAT, atol=1e-8, rtol=0)


@pytest.mark.parametrize("bad", ["utm50n", "EPSG:3857", "", "cgcs2000"])
def test_to_wgs84_rejects_unknown_crs(bad: str) -> None:
    with pytest.raises(ValueError, match="unsupported coordinate system") as exc:
        to_wgs84(116.0, 39.0, bad)
    assert repr(bad) in str(exc.value)


def test_transform_geometry_polygon_gcj02_to_wgs84() -> None:
    wgs = Polygon(
        [(119.60, 29.05), (119.70, 29.05), (119.70, 29.12), (119.60, 29.12)],
        holes=[[(119.63, 29.07), (119.66, 29.07), (119.66, 29.09), (119.63, 29.09)]],
    )
    # Build the GCJ-02 polygon coordinate by coordinate, independently of transform_geometry.
    exterior = [wgs84_to_gcj02(x, y) for x, y in wgs.exterior.coords]
    hole = [wgs84_to_gcj02(x, y) for x, y in wgs.interiors[0].coords]
    gcj = Polygon(exterior, holes=[hole])
    assert shapely.hausdorff_distance(gcj, wgs) > 1e-3  # a few hundred metres apart

    back = transform_geometry(gcj, gcj02_to_wgs84)
    assert isinstance(back, Polygon)
    assert len(back.interiors) == 1
    np.testing.assert_allclose(
        shapely.get_coordinates(back), shapely.get_coordinates(wgs), atol=1e-9, rtol=0
    )
    # And forward through transform_geometry reproduces the hand-built polygon.
    np.testing.assert_allclose(
        shapely.get_coordinates(transform_geometry(wgs, wgs84_to_gcj02)),
        shapely.get_coordinates(gcj),
        atol=1e-12,
        rtol=0,
    )


def test_transform_geometry_point_and_array() -> None:
    pt = transform_geometry(Point(WGS_LON[0], WGS_LAT[0]), wgs84_to_bd09)
    assert (pt.x, pt.y) == pytest.approx((BD_LON[0], BD_LAT[0]), abs=1e-8)
    pts = transform_geometry(shapely.points(BD_LON, BD_LAT), bd09_to_wgs84)
    np.testing.assert_allclose(shapely.get_x(pts), WGS_LON, atol=1e-8, rtol=0)
    np.testing.assert_allclose(shapely.get_y(pts), WGS_LAT, atol=1e-8, rtol=0)
