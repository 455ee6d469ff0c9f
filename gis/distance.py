"""Great-circle distances on a spherical earth."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_M", "haversine_m"]

# IUGG mean earth radius (2a + b) / 3: the sphere that minimises the overall
# error against the WGS-84 ellipsoid (worst case ~0.5 %).
EARTH_RADIUS_M = 6371008.8


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> Any:
    """Great-circle distance in metres between WGS-84 degree coordinates.

    Arguments broadcast together; returns a float64 array, or a NumPy float for
    scalar input. NaN in any coordinate gives NaN.
    """
    lon1_r, lat1_r, lon2_r, lat2_r = (
        np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((lat2_r - lat1_r) / 2.0) ** 2
        + np.cos(lat1_r) * np.cos(lat2_r) * np.sin((lon2_r - lon1_r) / 2.0) ** 2
    )
    # Rounding can push h a hair above 1 for antipodal points; arcsin would give NaN.
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    return np.asarray(d)[()]
