"""Enterprise → jurisdiction by point in polygon (gis.JurisdictionIndex) agrees with the database.

Runs on both engines: the spatial SQL of PostGIS and of SpatiaLite (ST_Contains / ST_Covers)
is the reference. Inside points must match ST_Contains exactly; points on a border follow the
documented rule (covered → smallest adcode); points outside every county get no jurisdiction.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from enforcement.models import Enterprise, EntityType, Jurisdiction, JurisdictionLevel
from enforcement.services.jurisdictions import reassign_enterprises


def _load_counties(session: Session, shared_data) -> dict[int, shapely.Geometry]:  # type: ignore[no-untyped-def]
    features = json.loads((shared_data / "china" / "seed_city_counties.geojson").read_text())
    polygons = {}
    for feature in features["features"]:
        geometry = shapely.geometry.shape(feature["geometry"])
        if geometry.geom_type == "Polygon":
            geometry = shapely.MultiPolygon([geometry])
        row = Jurisdiction(
            adcode=feature["properties"]["adcode"],
            name=feature["properties"]["district"],
            level=JurisdictionLevel.COUNTY,
            polygon=from_shape(geometry, srid=4326),
        )
        session.add(row)
        session.flush()
        polygons[row.id] = geometry
    return polygons


def _test_points(polygons: dict[int, shapely.Geometry]) -> np.ndarray:
    rng = np.random.default_rng(20261122)
    # Random points in each county's bounding box: inside it, in a neighbour, or outside all.
    random_points = np.vstack(
        [
            np.column_stack([rng.uniform(b[0], b[2], 60), rng.uniform(b[1], b[3], 60)])
            for b in (g.bounds for g in polygons.values())
        ]
    )
    # Vertices of every county ring: on a border by construction (often a shared one).
    vertices = np.vstack(
        [shapely.get_coordinates(shapely.boundary(g))[::97] for g in polygons.values()]
    )
    interior = np.array(
        [shapely.get_coordinates(g.representative_point())[0] for g in polygons.values()]
    )
    far_away = np.array([[0.1276, 51.5072], [151.2, -33.9], [116.4, 39.9]])
    return np.vstack([random_points, vertices, interior, far_away])


def test_assignment_agrees_with_spatial_sql(db_session: Session, shared_data) -> None:  # type: ignore[no-untyped-def]
    polygons = _load_counties(db_session, shared_data)
    points = _test_points(polygons)
    db_session.execute(
        insert(Enterprise),
        [
            {
                "natural_key": f"TEST:{i}",
                "name": f"点{i}",
                "entity_type": EntityType.COMPANY,
                "location": from_shape(shapely.Point(x, y), srid=4326),
                "extra": {},
            }
            for i, (x, y) in enumerate(points)
        ],
    )
    counts = reassign_enterprises(db_session)
    assert counts["located"] == len(points)

    contains: dict[int, set[int]] = defaultdict(set)
    covers: dict[int, set[int]] = defaultdict(set)
    for predicate, found in ((func.ST_Contains, contains), (func.ST_Covers, covers)):
        pairs = db_session.execute(
            select(Enterprise.id, Jurisdiction.id).join(
                Jurisdiction, predicate(Jurisdiction.polygon, Enterprise.location)
            )
        )
        for enterprise_id, jurisdiction_id in pairs:
            found[enterprise_id].add(jurisdiction_id)
    adcode = dict(db_session.execute(select(Jurisdiction.id, Jurisdiction.adcode)).all())
    assigned = dict(db_session.execute(select(Enterprise.id, Enterprise.jurisdiction_id)).all())

    inside = boundary = outside = 0
    for enterprise_id, jurisdiction_id in assigned.items():
        if len(contains[enterprise_id]) == 1 and covers[enterprise_id] == contains[enterprise_id]:
            inside += 1
            assert jurisdiction_id == next(iter(contains[enterprise_id]))
        elif covers[enterprise_id]:
            boundary += 1
            assert jurisdiction_id == min(covers[enterprise_id], key=adcode.__getitem__)
        else:
            outside += 1
            assert jurisdiction_id is None
    # The sample must exercise all three cases for the test to mean anything.
    assert inside > 500
    assert boundary > 50
    assert outside > 3
    assert counts["outside"] == outside


def test_reassignment_writes_only_changes(db_session: Session, shared_data) -> None:  # type: ignore[no-untyped-def]
    polygons = _load_counties(db_session, shared_data)
    jurisdiction_id, polygon = next(iter(polygons.items()))
    point = polygon.representative_point()
    enterprise = Enterprise(
        natural_key="TEST:one",
        name="东阳市测试商行",
        entity_type=EntityType.INDIVIDUAL,
        location=from_shape(point, srid=4326),
        extra={},
    )
    db_session.add(enterprise)
    db_session.flush()

    first = reassign_enterprises(db_session)
    second = reassign_enterprises(db_session)
    db_session.refresh(enterprise)
    assert enterprise.jurisdiction_id == jurisdiction_id
    assert (first["changed"], second["changed"]) == (1, 0)
