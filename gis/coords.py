"""WGS-84 / GCJ-02 / BD-09 coordinate conversion, vectorised over NumPy arrays.

GCJ-02 ("Mars" coordinates, used by Amap and Tencent maps) is WGS-84 plus a
deliberately obfuscating, position-dependent offset of a few hundred metres;
BD-09 (Baidu) adds a second obfuscation on top of GCJ-02. Mobile clients report
positions in whatever system their map SDK uses, while the jurisdiction polygons
are WGS-84, so everything is normalised with :func:`to_wgs84` before assignment.

The forward formulas are the widely published ones (the same as in the
``coordTransform`` and ``eviltransform`` packages). Neither obfuscation has a
closed-form inverse: the usual one-step approximations are off by up to ~5e-5
degrees (GCJ-02) and ~2e-6 degrees (BD-09), so the inverses here refine by
fixed-point iteration until they reproduce the input to better than 1e-9 degrees.

Every function accepts scalars or array-likes (broadcast together) and returns a
``(lon, lat)`` pair of float64 arrays, or of NumPy float scalars for scalar input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Standard published constants: Krasovsky 1940 ellipsoid, as used by GCJ-02.
A = 6378245.0
EE = 0.00669342162296594323
X_PI = np.pi * 3000.0 / 180.0

# Rough mainland-China bounding box; GCJ-02 leaves points outside it unshifted.
LON_MIN, LON_MAX = 72.004, 137.8347
LAT_MIN, LAT_MAX = 0.8293, 55.8271

# Fixed-point inverses contract by a factor of ~1e-3 per step, so a handful of
# iterations reaches machine precision; the cap only guards against NaN/inf.
_TOL = 1e-12
_MAX_ITER = 20

ArrayLike = npt.ArrayLike
# (lon, lat) in, (lon, lat) out; scalars give NumPy float scalars.
LonLat = tuple[Any, Any]
LonLatFunc = Callable[[Any, Any], LonLat]


def _prepare(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast to float64 arrays we own (so callers' arrays are never mutated)."""
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon_a.copy(), lat_a.copy()


def _finish(lon: np.ndarray, lat: np.ndarray) -> LonLat:
    # ``a[()]`` is a NumPy scalar for 0-d arrays and the array itself otherwise.
    return lon[()], lat[()]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> Any:
    """True where a point lies outside the rough China box (NaN counts as outside)."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    inside = (lon_a >= LON_MIN) & (lon_a <= LON_MAX) & (lat_a >= LAT_MIN) & (lat_a <= LAT_MAX)
    return (~inside)[()]


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS-84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0

    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    # Metres-ish offsets to degrees on the Krasovsky ellipsoid.
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """WGS-84 -> GCJ-02. Points outside China (and NaN) are returned unchanged."""
    lon_a, lat_a = _prepare(lon, lat)
    m = ~np.asarray(out_of_china(lon_a, lat_a))
    if m.any():
        dlon, dlat = _gcj_offset(lon_a[m], lat_a[m])
        lon_a[m] += dlon
        lat_a[m] += dlat
    return _finish(lon_a, lat_a)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """GCJ-02 -> WGS-84 by fixed-point iteration (error < 1e-9 degrees).

    Solves ``w + offset(w) = g`` via ``w <- g - offset(w)``. Whether a point is
    "in China" is decided on the GCJ-02 input; the iteration itself uses the
    unmasked offset so it stays smooth near the edge of the box.
    """
    lon_a, lat_a = _prepare(lon, lat)
    m = ~np.asarray(out_of_china(lon_a, lat_a))
    if m.any():
        g_lon, g_lat = lon_a[m], lat_a[m]
        w_lon, w_lat = g_lon.copy(), g_lat.copy()
        for _ in range(_MAX_ITER):
            dlon, dlat = _gcj_offset(w_lon, w_lat)
            n_lon, n_lat = g_lon - dlon, g_lat - dlat
            step = max(np.max(np.abs(n_lon - w_lon)), np.max(np.abs(n_lat - w_lat)))
            w_lon, w_lat = n_lon, n_lat
            if step < _TOL:
                break
        lon_a[m], lat_a[m] = w_lon, w_lat
    return _finish(lon_a, lat_a)


def _bd_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """GCJ-02 -> BD-09 (Baidu's published formula, applied everywhere)."""
    lon_a, lat_a = _prepare(lon, lat)
    return _finish(*_bd_forward(lon_a, lat_a))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """BD-09 -> GCJ-02: published one-step inverse, then refined to < 1e-9 degrees."""
    b_lon, b_lat = _prepare(lon, lat)
    x = b_lon - 0.0065
    y = b_lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    g_lon, g_lat = np.asarray(z * np.cos(theta)), np.asarray(z * np.sin(theta))
    # The one-step formula is only good to ~2e-6 degrees: subtract the forward
    # residual until it vanishes (finite points only, so NaN cannot stall the loop).
    m = np.isfinite(g_lon) & np.isfinite(g_lat)
    if m.any():
        t_lon, t_lat = b_lon[m], b_lat[m]
        c_lon, c_lat = g_lon[m], g_lat[m]
        for _ in range(_MAX_ITER):
            f_lon, f_lat = _bd_forward(c_lon, c_lat)
            r_lon, r_lat = f_lon - t_lon, f_lat - t_lat
            c_lon, c_lat = c_lon - r_lon, c_lat - r_lat
            if max(np.max(np.abs(r_lon)), np.max(np.abs(r_lat))) < _TOL:
                break
        g_lon[m], g_lat[m] = c_lon, c_lat
    return _finish(g_lon, g_lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """WGS-84 -> BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """BD-09 -> WGS-84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _wgs84_identity(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    return _finish(*_prepare(lon, lat))


_TO_WGS84: dict[str, LonLatFunc] = {
    "wgs84": _wgs84_identity,
    "wgs-84": _wgs84_identity,
    "epsg:4326": _wgs84_identity,
    "gcj02": gcj02_to_wgs84,
    "gcj-02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
    "bd-09": bd09_to_wgs84,
}


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> LonLat:
    """Convert from ``crs`` ("wgs84"/"EPSG:4326", "gcj02" or "bd09", any case) to WGS-84.

    Raises ValueError naming ``crs`` when it is not one of those.
    """
    func = _TO_WGS84.get(crs.strip().lower()) if isinstance(crs, str) else None
    if func is None:
        raise ValueError(
            f"unsupported coordinate system {crs!r}; expected 'wgs84' (EPSG:4326), "
            "'gcj02' or 'bd09'"
        )
    return func(lon, lat)


def transform_geometry(geom: Any, func: LonLatFunc) -> Any:
    """Apply a lon/lat conversion (e.g. :func:`gcj02_to_wgs84`) to every coordinate.

    ``geom`` may be a shapely geometry or an array of them; Z values are dropped.
    """

    def _xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        new_x, new_y = func(x, y)
        return np.asarray(new_x, dtype=np.float64), np.asarray(new_y, dtype=np.float64)

    return shapely.transform(geom, _xy, interleaved=False)
