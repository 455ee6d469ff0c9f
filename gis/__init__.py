"""Pure geometry core of Suijian: jurisdiction assignment, datum shifts, distances.

Depends on NumPy and Shapely 2 only (no database, web or task-queue imports),
so it can be used from the web app, Celery workers and offline scripts alike.
"""

from gis.assign import UNASSIGNED, JurisdictionIndex
from gis.coords import (
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
from gis.distance import EARTH_RADIUS_M, haversine_m
from gis.geofence import geofence

__all__ = [
    "EARTH_RADIUS_M",
    "UNASSIGNED",
    "JurisdictionIndex",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geofence",
    "haversine_m",
    "out_of_china",
    "to_wgs84",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]
