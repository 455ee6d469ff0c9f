"""The check-in geofence verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis import coords
from gis.geofence import INSIDE, OUTSIDE, UNCERTAIN, geofence

# 东阳市人民政府 (WGS-84), and points about 1 m per 1e-5 degree of latitude to the north.
LON, LAT = 120.2418, 29.2894
METRES_PER_DEGREE_LAT = 111_195.0


def _north(metres: float) -> float:
    return LAT + metres / METRES_PER_DEGREE_LAT


@pytest.mark.parametrize(
    ("metres", "accuracy", "expected"),
    [
        (50, 10, INSIDE),
        (185, 10, INSIDE),  # 185 + 10 <= 200
        (195, 10, UNCERTAIN),  # the accuracy circle crosses the fence
        (215, 10, OUTSIDE),  # 215 - 10 > 200
        (800, 50, OUTSIDE),
        (50, math.nan, UNCERTAIN),  # accuracy unknown
        (50, 900, UNCERTAIN),  # too coarse to decide
    ],
)
def test_verdicts(metres: float, accuracy: float, expected: int) -> None:
    verdict, distance = geofence(LON, _north(metres), accuracy, LON, LAT, radius_m=200)
    assert verdict == expected
    assert distance == pytest.approx(metres, rel=2e-3)


def test_a_gcj02_fix_must_be_converted_first() -> None:
    """A map app's GCJ-02 position of the very spot is hundreds of metres off in WGS-84."""
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(LON, LAT)
    raw, offset = geofence(gcj_lon, gcj_lat, 10, LON, LAT)
    assert raw == OUTSIDE and offset > 300
    wgs_lon, wgs_lat = coords.to_wgs84(gcj_lon, gcj_lat, "gcj02")
    converted, distance = geofence(wgs_lon, wgs_lat, 10, LON, LAT)
    assert converted == INSIDE and distance < 2


def test_arrays_and_a_missing_target() -> None:
    verdict, distance = geofence(
        [LON, LON], [_north(10), _north(10)], [5, 5], [LON, np.nan], [LAT, np.nan]
    )
    assert verdict.tolist() == [INSIDE, UNCERTAIN] and math.isnan(distance[1])
    with pytest.raises(ValueError, match="radius_m"):
        geofence(LON, LAT, 5, LON, LAT, radius_m=0)
    with pytest.raises(ValueError, match="accuracy_m"):
        geofence(LON, LAT, -1, LON, LAT)


@given(metres=st.floats(0, 5000), accuracy=st.floats(0, 400), radius=st.floats(10, 2000))
def test_inside_and_outside_are_never_wrong_by_more_than_the_accuracy(
    metres: float, accuracy: float, radius: float
) -> None:
    verdict, distance = geofence(LON, _north(metres), accuracy, LON, LAT, radius_m=radius)
    if verdict == INSIDE:
        assert distance + accuracy <= radius
    elif verdict == OUTSIDE:
        assert distance - accuracy > radius
    else:
        assert distance - accuracy <= radius < distance + accuracy
