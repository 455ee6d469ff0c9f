"""The check-in geofence: is the inspector at the enterprise?

A device reports a position and its accuracy (the radius, in metres, within which the true
position probably lies). The verdict compares that circle with the fence, a circle of
``radius_m`` around the enterprise:

* ``inside``: the whole accuracy circle is within the fence (distance + accuracy <= radius);
* ``outside``: the whole accuracy circle is beyond it (distance - accuracy > radius);
* ``uncertain``: the circles overlap, or the accuracy is unknown or too poor to decide
  (over ``max_accuracy_m``).

Positions are WGS-84; convert GCJ-02 or BD-09 first (``gis.coords.to_wgs84``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from gis.distance import haversine_m

INSIDE, OUTSIDE, UNCERTAIN = 0, 1, 2
VERDICTS = ("inside", "outside", "uncertain")
DEFAULT_RADIUS_M = 200.0
DEFAULT_MAX_ACCURACY_M = 500.0  # a worse fix says nothing about a 200 m fence

__all__ = [
    "DEFAULT_MAX_ACCURACY_M",
    "DEFAULT_RADIUS_M",
    "INSIDE",
    "OUTSIDE",
    "UNCERTAIN",
    "VERDICTS",
    "geofence",
]


def geofence(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    accuracy_m: npt.ArrayLike,
    target_lon: npt.ArrayLike,
    target_lat: npt.ArrayLike,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    max_accuracy_m: float = DEFAULT_MAX_ACCURACY_M,
) -> tuple[Any, Any]:
    """(verdict codes INSIDE/OUTSIDE/UNCERTAIN, distance in metres) for each check-in.

    Arguments broadcast; NaN accuracy means unknown. A missing target position (NaN) gives
    UNCERTAIN with a NaN distance: there is nothing to measure against.
    """
    if not radius_m > 0:
        raise ValueError(f"radius_m must be positive, got {radius_m}")
    distance = np.asarray(haversine_m(lon, lat, target_lon, target_lat), dtype=np.float64)
    accuracy = np.asarray(accuracy_m, dtype=np.float64)
    if np.any(accuracy < 0):
        raise ValueError("accuracy_m must not be negative")
    known = np.isfinite(distance) & np.isfinite(accuracy) & (accuracy <= max_accuracy_m)
    verdict = np.full(np.broadcast(distance, accuracy).shape, UNCERTAIN, dtype=np.int8)
    verdict[known & (distance + accuracy <= radius_m)] = INSIDE
    verdict[known & (distance - accuracy > radius_m)] = OUTSIDE
    return verdict[()], distance[()]
