"""Tests for gis.assign.JurisdictionIndex: coverage rules, tie-breaking, real counties."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, shape

from gis import UNASSIGNED, JurisdictionIndex

# --- synthetic geometry -----------------------------------------------------------

LEFT = box(0, 0, 1, 1)  # key 10
RIGHT = box(1, 0, 2, 1)  # key 20, shares the edge x == 1 with LEFT


@pytest.fixture
def squares() -> JurisdictionIndex:
    return JurisdictionIndex([LEFT, RIGHT], keys=[10, 20])


def test_points_inside(squares: JurisdictionIndex) -> None:
    out = squares.assign([0.5, 1.5, 0.001, 1.999], [0.5, 0.5, 0.999, 0.001])
    assert out.tolist() == [10, 20, 10, 20]
    assert out.dtype == np.int64


def test_shared_border_goes_to_smallest_tie_key(squares: JurisdictionIndex) -> None:
    # Both squares cover x == 1 (boundary counts); default tie key is the key itself.
    assert squares.assign([1.0, 1.0, 1.0], [0.5, 0.0, 1.0]).tolist() == [10, 10, 10]

    # Explicit tie keys override key order; input order does not matter.
    by_tie = JurisdictionIndex([LEFT, RIGHT], keys=[10, 20], tie_keys=["330703", "330702"])
    assert by_tie.assign(1.0, 0.5) == 20
    reversed_input = JurisdictionIndex([RIGHT, LEFT], keys=[20, 10])
    assert reversed_input.assign(1.0, 0.5) == 10


def test_outer_boundary_and_vertices_are_covered(squares: JurisdictionIndex) -> None:
    lon = [0.0, 2.0, 0.5, 1.5, 0.0, 2.0, 2.0]
    lat = [0.5, 0.5, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert squares.assign(lon, lat).tolist() == [10, 20, 10, 20, 10, 20, 20]


def test_outside_is_unassigned(squares: JurisdictionIndex) -> None:
    out = squares.assign([3.0, -1e-9, 1.0, 0.5], [3.0, 0.5, 1.0 + 1e-9, -0.5])
    assert UNASSIGNED == -1
    assert out.tolist() == [-1, -1, -1, -1]


def test_nan_and_inf_are_unassigned(squares: JurisdictionIndex) -> None:
    out = squares.assign([np.nan, 0.5, np.inf, 0.5, 0.5], [0.5, np.nan, 0.5, -np.inf, 0.5])
    assert out.tolist() == [-1, -1, -1, -1, 10]


def test_nested_levels_most_specific_rank_wins() -> None:
    province = box(0, 0, 10, 10)
    city = box(0, 0, 4, 4)
    county = box(1, 1, 2, 2)
    # Keys/tie keys deliberately favour the coarser levels, so only rank can pick.
    idx = JurisdictionIndex(
        [county, province, city], keys=[300, 1, 20], ranks=[3, 1, 2], tie_keys=[9, 1, 5]
    )
    lon = [1.5, 2.0, 3.0, 4.0, 8.0, 11.0]
    lat = [1.5, 1.5, 3.0, 2.0, 8.0, 5.0]
    # county interior, county border, city, city border, province only, outside
    assert idx.assign(lon, lat).tolist() == [300, 300, 20, 20, 1, -1]


def test_multipolygon_and_holes() -> None:
    two_parts = MultiPolygon([box(0, 0, 1, 1), box(5, 5, 6, 6)])
    ring = Polygon(
        [(10, 0), (14, 0), (14, 4), (10, 4)], holes=[[(11, 1), (13, 1), (13, 3), (11, 3)]]
    )
    idx = JurisdictionIndex([two_parts, ring], keys=[7, 8])
    lon = [0.5, 5.5, 6.0, 3.0, 10.5, 12.0, 11.0]
    lat = [0.5, 5.5, 6.0, 3.0, 2.0, 2.0, 2.0]
    # both parts, far vertex, gap between parts, ring, hole (outside), hole edge (covered)
    assert idx.assign(lon, lat).tolist() == [7, 7, 7, -1, 8, -1, 8]


def test_shape_is_preserved_and_scalars_work(squares: JurisdictionIndex) -> None:
    grid_lon, grid_lat = np.meshgrid([0.5, 1.5, 5.0], [0.5, 0.25])
    out = squares.assign(grid_lon, grid_lat)
    assert out.shape == (2, 3)
    assert out.tolist() == [[10, 20, -1], [10, 20, -1]]
    assert squares.assign(0.5, 0.5).shape == ()
    assert squares.assign([], []).shape == (0,)
    # lat broadcasts against an array of lon
    assert squares.assign([0.5, 1.5], 0.5).tolist() == [10, 20]


def test_assign_points_matches_assign(squares: JurisdictionIndex) -> None:
    pts = np.array([Point(0.5, 0.5), Point(1, 0.5), None, Point(), Point(9, 9)], dtype=object)
    assert squares.assign_points(pts).tolist() == [10, 10, -1, -1, -1]
    assert squares.assign_points([Point(1.5, 0.5)]).tolist() == [20]
    with pytest.raises(TypeError):
        squares.assign_points([box(0, 0, 1, 1)])


def test_empty_index_assigns_nothing() -> None:
    idx = JurisdictionIndex([], keys=[])
    assert len(idx) == 0
    assert idx.assign([0.0, 1.0], [0.0, 1.0]).tolist() == [-1, -1]


def test_invalid_construction() -> None:
    with pytest.raises(TypeError, match="Polygon"):
        JurisdictionIndex([LEFT, shapely.LineString([(0, 0), (1, 1)])], keys=[1, 2])
    with pytest.raises(TypeError, match="Polygon"):
        JurisdictionIndex([LEFT, None], keys=[1, 2])
    with pytest.raises(ValueError, match="keys"):
        JurisdictionIndex([LEFT, RIGHT], keys=[1])
    with pytest.raises(ValueError, match="reserved"):
        JurisdictionIndex([LEFT], keys=[-1])
    with pytest.raises(ValueError, match="ranks"):
        JurisdictionIndex([LEFT, RIGHT], keys=[1, 2], ranks=[1])
    with pytest.raises(ValueError, match="tie_keys"):
        JurisdictionIndex([LEFT, RIGHT], keys=[1, 2], tie_keys=["a"])
    with pytest.raises(TypeError, match="integers"):
        JurisdictionIndex([LEFT], keys=[1.5])


# --- real county polygons -----------------------------------------------------------


Counties = tuple[np.ndarray, list[str], JurisdictionIndex]


@pytest.fixture(scope="module")
def counties(shared_data: Path) -> Counties:
    path = shared_data / "china" / "seed_city_counties.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    polys = np.array([shape(f["geometry"]) for f in features], dtype=object)
    adcodes = [f["properties"]["adcode"] for f in features]
    idx = JurisdictionIndex(polys, keys=[int(a) for a in adcodes], tie_keys=adcodes)
    return polys, adcodes, idx


def _brute_force(
    polys: np.ndarray, adcodes: list[str], lon: np.ndarray, lat: np.ndarray
) -> list[int]:
    """Reference: plain shapely.covers per point, smallest adcode among the coverers."""
    result = []
    for x, y in zip(lon, lat, strict=True):
        covering = np.flatnonzero(shapely.covers(polys, Point(x, y)))
        result.append(int(min(adcodes[i] for i in covering)) if covering.size else -1)
    return result


def test_real_counties_representative_points(counties: Counties) -> None:
    polys, adcodes, idx = counties
    assert len(polys) == 34
    rep = np.array([p.representative_point() for p in polys], dtype=object)
    out = idx.assign(shapely.get_x(rep), shapely.get_y(rep))
    assert out.tolist() == [int(a) for a in adcodes]
    assert idx.assign_points(rep).tolist() == [int(a) for a in adcodes]


def test_real_counties_random_points_match_brute_force(counties: Counties) -> None:
    polys, adcodes, idx = counties
    rng = np.random.default_rng(20240611)
    # Half from per-county bounding boxes (mostly inside, many near borders),
    # half from the overall bounding box (mostly outside every county).
    bounds = shapely.bounds(polys)
    pick = rng.integers(0, len(polys), 1000)
    lon_a = rng.uniform(bounds[pick, 0], bounds[pick, 2])
    lat_a = rng.uniform(bounds[pick, 1], bounds[pick, 3])
    x0, y0, x1, y1 = shapely.total_bounds(polys)
    lon = np.concatenate([lon_a, rng.uniform(x0, x1, 1000)])
    lat = np.concatenate([lat_a, rng.uniform(y0, y1, 1000)])

    out = idx.assign(lon, lat)
    assert out.tolist() == _brute_force(polys, adcodes, lon, lat)
    assert 500 < np.count_nonzero(out >= 0) < 2000  # both branches are exercised


def test_real_county_vertices_match_brute_force(counties: Counties) -> None:
    # Vertices lie exactly on county borders, often shared by two or three
    # counties: this checks the boundary rule and tie-break on real data.
    polys, adcodes, idx = counties
    coords = shapely.get_coordinates(polys)
    rng = np.random.default_rng(7)
    sample = coords[rng.choice(len(coords), 600, replace=False)]
    out = idx.assign(sample[:, 0], sample[:, 1])
    assert np.all(out >= 0)
    assert out.tolist() == _brute_force(polys, adcodes, sample[:, 0], sample[:, 1])


def test_real_counties_large_batch_matches_per_point(counties: Counties) -> None:
    """A large vectorised batch gives the same answers as assigning points one at a time.

    Speed is measured by `suijian bench assign`, not here.
    """
    polys, _, idx = counties
    rng = np.random.default_rng(1)
    bounds = shapely.bounds(polys)
    pick = rng.integers(0, len(polys), 50_000)
    lon = rng.uniform(bounds[pick, 0], bounds[pick, 2])
    lat = rng.uniform(bounds[pick, 1], bounds[pick, 3])
    out = idx.assign(lon, lat)
    assert np.count_nonzero(out >= 0) > 30_000
    probe = rng.choice(len(lon), 300, replace=False)
    assert [int(idx.assign(lon[i : i + 1], lat[i : i + 1])[0]) for i in probe] == out[
        probe
    ].tolist()
