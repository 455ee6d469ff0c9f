"""Tests for gis.distance.haversine_m."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis import EARTH_RADIUS_M, haversine_m

TIANANMEN = (116.397128, 39.916527)
PEOPLES_SQUARE_SHANGHAI = (121.4737, 31.2304)


def test_one_degree_of_latitude_and_of_equatorial_longitude() -> None:
    one_degree = EARTH_RADIUS_M * math.pi / 180.0  # 111,195.08 m
    assert one_degree == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(one_degree, rel=1e-12)
    assert haversine_m(116.0, 39.0, 116.0, 40.0) == pytest.approx(one_degree, rel=1e-12)
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(one_degree, rel=1e-12)


def test_beijing_shanghai() -> None:
    d = haversine_m(*TIANANMEN, *PEOPLES_SQUARE_SHANGHAI)
    # Same spherical model: PyPI haversine 2.9.0 (radius 6371.0088 km) gives 1,068,930.52 m.
    assert d == pytest.approx(1_068_930.52, abs=0.05)
    # Ellipsoidal WGS-84 geodesic (geographiclib 2.1): 1,067,464.85 m; the sphere is
    # within 0.5 % of it.
    assert d == pytest.approx(1_067_464.85, rel=0.005)


def test_symmetry_zero_and_antipodes() -> None:
    assert haversine_m(*TIANANMEN, *TIANANMEN) == 0.0
    assert haversine_m(*TIANANMEN, *PEOPLES_SQUARE_SHANGHAI) == pytest.approx(
        haversine_m(*PEOPLES_SQUARE_SHANGHAI, *TIANANMEN), rel=1e-15
    )
    # Antipodal points: half the circumference, not NaN from rounding.
    assert haversine_m(10.0, 20.0, -170.0, -20.0) == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_vectorised_broadcast_and_nan() -> None:
    lon2 = np.array([116.397128, 121.4737, np.nan])
    lat2 = np.array([39.916527, 31.2304, 31.0])
    d = haversine_m(*TIANANMEN, lon2, lat2)
    assert isinstance(d, np.ndarray) and d.shape == (3,)
    assert d[0] == 0.0
    assert d[1] == pytest.approx(1_068_930.52, abs=0.05)
    assert np.isnan(d[2])
    # Scalars give a scalar float.
    scalar = haversine_m(0, 0, 0, 1)
    assert isinstance(scalar, float) and np.ndim(scalar) == 0
