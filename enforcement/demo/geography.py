"""The bundled jurisdictions of the five seed cities, and points sampled inside them."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from enforcement.models import JurisdictionLevel
from gis import JurisdictionIndex, gcj02_to_wgs84, transform_geometry

DATA_DIR = Path(__file__).resolve().parent / "data"
JURISDICTIONS_FILE = DATA_DIR / "jurisdictions.geojson"

# Stored coordinates of enterprises: 6 decimals (about 0.1 m), like a geocoder's output.
POINT_DECIMALS = 6


@dataclass(frozen=True)
class Area:
    """A bundled jurisdiction; ``polygon`` is already WGS-84."""

    adcode: str
    name: str
    level: JurisdictionLevel
    parent_adcode: str | None
    polygon: shapely.MultiPolygon


@functools.cache
def bundled_areas() -> tuple[Area, ...]:
    """Provinces, cities and counties from the bundled GCJ-02 file, converted to WGS-84.

    Ordered parents first (province, city, county), then by adcode.
    """
    collection = json.loads(JURISDICTIONS_FILE.read_text(encoding="utf-8"))
    areas = []
    for feature in collection["features"]:
        props = feature["properties"]
        polygon = transform_geometry(shape(feature["geometry"]), gcj02_to_wgs84)
        if not polygon.is_valid:  # the shift is smooth, so this is only a safety net
            polygon = shapely.make_valid(polygon)
        if polygon.geom_type == "Polygon":
            polygon = shapely.MultiPolygon([polygon])
        if polygon.geom_type != "MultiPolygon":
            raise ValueError(f"{props['adcode']}: unusable polygon ({polygon.geom_type})")
        areas.append(
            Area(
                adcode=props["adcode"],
                name=props["name"],
                level=JurisdictionLevel(props["level"]),
                parent_adcode=props["parent_adcode"],
                polygon=polygon,
            )
        )
    areas.sort(key=lambda a: (a.level.rank, a.adcode))
    return tuple(areas)


def counties() -> tuple[Area, ...]:
    return tuple(a for a in bundled_areas() if a.level is JurisdictionLevel.COUNTY)


def area_by_adcode() -> dict[str, Area]:
    return {a.adcode: a for a in bundled_areas()}


@functools.cache
def _index() -> JurisdictionIndex:
    """The same assignment rules as the database side, over the bundled polygons."""
    areas = bundled_areas()
    return JurisdictionIndex(
        [a.polygon for a in areas],
        keys=list(range(len(areas))),
        ranks=[a.level.rank for a in areas],
        tie_keys=[a.adcode for a in areas],
    )


def area_km2(polygon: shapely.Geometry) -> float:
    """Approximate area in km² (equirectangular at the centroid latitude; enough for weights)."""
    lat = shapely.centroid(polygon).y
    return float(polygon.area) * 111.32**2 * np.cos(np.radians(lat))


def sample_points(
    rng: np.random.Generator, county: Area, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points uniformly inside ``county``, rounded to storage precision.

    Rejection sampling in the bounding box, vectorised. A point is kept only when, after
    rounding, the jurisdiction rules (innermost level, then smallest adcode on shared or
    overlapping borders) assign it to ``county``, so the database assignment agrees.
    """
    if count <= 0:
        return np.empty(0), np.empty(0)
    areas = bundled_areas()
    target = next(i for i, a in enumerate(areas) if a.adcode == county.adcode)
    minx, miny, maxx, maxy = county.polygon.bounds
    fill = max(county.polygon.area / ((maxx - minx) * (maxy - miny)), 0.05)
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    found = 0
    while found < count:
        batch = int((count - found) / fill * 1.3) + 16
        lon = np.round(rng.uniform(minx, maxx, batch), POINT_DECIMALS)
        lat = np.round(rng.uniform(miny, maxy, batch), POINT_DECIMALS)
        keep = _index().assign(lon, lat) == target
        lons.append(lon[keep])
        lats.append(lat[keep])
        found += int(keep.sum())
    return np.concatenate(lons)[:count], np.concatenate(lats)[:count]
