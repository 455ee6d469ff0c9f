"""Vectorised point-in-polygon assignment of points to jurisdictions.

Rules (documented because inspection records are legal facts and must not
depend on floating-point luck or input order):

* A point is covered by a polygon when it lies in its interior **or on its
  boundary** (shapely "covers" semantics), so a point on a border or a vertex
  is never lost between two neighbours.
* When several polygons cover a point (shared border, overlapping data, or
  nested administrative levels) the highest ``rank`` wins, then the smallest
  ``tie_key``, then the earliest polygon passed in: the result is deterministic.
* Points outside every polygon, and points with NaN/inf coordinates, get -1.

How: an ``STRtree`` over the (prepared) polygons yields bounding-box candidate
pairs for all points in one bulk query; the exact test is then one vectorised
``shapely.intersects_xy`` call over all pairs. For a point, "intersects" is
exactly "covered by", and unlike ``tree.query(points, predicate="covered_by")``
(whose predicate is evaluated on the unprepared tree polygons) it uses the
prepared polygons' indexed point locators: ~0.5 s instead of ~2 s for 500k
points against the 34 seed counties. Tie-breaking is a precomputed priority per
polygon reduced per point with ``np.minimum.at``: no Python loop per point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["UNASSIGNED", "JurisdictionIndex"]

#: Key returned for points that no polygon covers (or with invalid coordinates).
UNASSIGNED = -1

_POLYGONAL_TYPE_IDS = (3, 6)  # shapely type ids of Polygon and MultiPolygon
_POINT_TYPE_ID = 0
# Points handled per bulk query; bounds the memory of the candidate-pair arrays.
_CHUNK = 1 << 20


def _object_array(items: Sequence[Any]) -> np.ndarray:
    # Filling an empty object array avoids NumPy trying to iterate into elements.
    arr = np.empty(len(items), dtype=object)
    arr[:] = list(items)
    return arr


class JurisdictionIndex:
    """Assigns lon/lat points to the jurisdiction polygon that covers them.

    Args:
        polygons: Polygon/MultiPolygon geometries in the points' coordinate system.
        keys: jurisdiction id per polygon, returned by :meth:`assign` (-1 is reserved).
        ranks: administrative level per polygon; higher is more specific
            (e.g. province 1 < city 2 < county 3) and wins. Default: all 0.
        tie_keys: mutually comparable values (e.g. adcode strings) ordering
            polygons of equal rank; the smallest wins. Default: ``keys``.
    """

    def __init__(
        self,
        polygons: Sequence[Any],
        keys: Sequence[int],
        ranks: Sequence[int] | None = None,
        tie_keys: Sequence[Any] | None = None,
    ) -> None:
        geoms = _object_array(polygons)
        n = len(geoms)
        type_ids = shapely.get_type_id(geoms)
        bad = np.flatnonzero(~np.isin(type_ids, _POLYGONAL_TYPE_IDS))
        if bad.size:
            raise TypeError(
                f"polygons must be Polygon or MultiPolygon; item {int(bad[0])} is "
                f"{geoms[bad[0]]!r:.60}"
            )

        key_arr = np.asarray(keys)
        if key_arr.shape != (n,):
            raise ValueError(f"expected {n} keys, got shape {key_arr.shape}")
        if n and not np.issubdtype(key_arr.dtype, np.integer):
            raise TypeError(f"keys must be integers, got dtype {key_arr.dtype}")
        key_arr = key_arr.astype(np.int64)
        if np.any(key_arr == UNASSIGNED):
            raise ValueError(f"key {UNASSIGNED} is reserved for unassigned points")

        rank_arr = np.zeros(n, dtype=np.int64) if ranks is None else np.asarray(ranks)
        if rank_arr.shape != (n,):
            raise ValueError(f"expected {n} ranks, got shape {rank_arr.shape}")
        rank_arr = rank_arr.astype(np.int64)

        tie_arr = key_arr if tie_keys is None else np.asarray(tie_keys)
        if tie_arr.shape != (n,):
            raise ValueError(f"expected {n} tie_keys, got shape {tie_arr.shape}")
        # Dense codes make any sortable tie key (str adcodes, ints) usable in lexsort.
        _, tie_codes = np.unique(tie_arr, return_inverse=True)

        # Priority 0 is the best polygon: rank descending, then tie key ascending;
        # lexsort is stable, so full ties fall back to input order.
        order = np.lexsort((tie_codes.reshape(-1), -rank_arr))
        priority = np.empty(n, dtype=np.int64)
        priority[order] = np.arange(n, dtype=np.int64)

        shapely.prepare(geoms)
        self._geoms = geoms
        self._tree = shapely.STRtree(geoms)
        self._keys = key_arr
        self._priority = priority
        self._key_by_priority = key_arr[order]

    def __len__(self) -> int:
        return len(self._geoms)

    @property
    def keys(self) -> np.ndarray:
        """Jurisdiction ids, in the order the polygons were given."""
        return self._keys.copy()

    def assign(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> np.ndarray:
        """Key of the covering jurisdiction per point, -1 where none (or NaN).

        ``lon``/``lat`` broadcast together; the result has their broadcast shape
        and dtype int64.
        """
        x, y = np.broadcast_arrays(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
        out = self._assign_flat(x.ravel(), y.ravel(), None)
        return out.reshape(x.shape)

    def assign_points(self, points: npt.ArrayLike) -> np.ndarray:
        """Like :meth:`assign` for an array of shapely Points (None/empty give -1)."""
        pts = np.asarray(points, dtype=object)
        type_ids = shapely.get_type_id(pts)
        bad = (type_ids != _POINT_TYPE_ID) & (type_ids != -1)  # -1: missing value
        if np.any(bad):
            raise TypeError("assign_points expects shapely Points (or None)")
        flat = pts.ravel()
        # get_x raises on empty points; missing and empty points keep NaN (-> -1).
        present = (type_ids.ravel() == _POINT_TYPE_ID) & ~shapely.is_empty(flat)
        x = np.full(flat.shape[0], np.nan)
        y = np.full(flat.shape[0], np.nan)
        x[present] = shapely.get_x(flat[present])
        y[present] = shapely.get_y(flat[present])
        out = self._assign_flat(x, y, flat)
        return out.reshape(pts.shape)

    def _assign_flat(self, x: np.ndarray, y: np.ndarray, points: np.ndarray | None) -> np.ndarray:
        out = np.full(x.shape[0], UNASSIGNED, dtype=np.int64)
        for start in range(0, x.shape[0], _CHUNK):
            stop = start + _CHUNK
            pts = None if points is None else points[start:stop]
            out[start:stop] = self._assign_chunk(x[start:stop], y[start:stop], pts)
        return out

    def _assign_chunk(self, x: np.ndarray, y: np.ndarray, points: np.ndarray | None) -> np.ndarray:
        out = np.full(x.shape[0], UNASSIGNED, dtype=np.int64)
        valid = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if valid.size == 0 or len(self._geoms) == 0:
            return out
        vx, vy = x[valid], y[valid]
        pts = shapely.points(vx, vy) if points is None else points[valid]

        # Bulk bounding-box candidates, then the exact (boundary-inclusive) test.
        pt_idx, poly_idx = self._tree.query(pts)
        hit = shapely.intersects_xy(self._geoms[poly_idx], vx[pt_idx], vy[pt_idx])
        pt_idx, poly_idx = pt_idx[hit], poly_idx[hit]

        # Best (lowest) priority per point; len(self) marks "no polygon".
        best = np.full(valid.size, len(self._geoms), dtype=np.int64)
        np.minimum.at(best, pt_idx, self._priority[poly_idx])
        found = best < len(self._geoms)
        out[valid[found]] = self._key_by_priority[best[found]]
        return out
