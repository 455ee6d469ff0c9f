"""Which jurisdiction each enterprise belongs to: polygons from the database, maths in ``gis``."""

from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from enforcement.models import Enterprise, Jurisdiction, JurisdictionLevel
from gis import JurisdictionIndex


def jurisdiction_index(session: Session) -> JurisdictionIndex | None:
    """Build the point-in-polygon index from every jurisdiction that has a polygon."""
    rows = session.execute(
        select(
            Jurisdiction.id,
            Jurisdiction.adcode,
            Jurisdiction.level,
            func.ST_AsBinary(Jurisdiction.polygon),
        ).where(Jurisdiction.polygon.is_not(None))
    ).all()
    if not rows:
        return None
    ids, adcodes, levels, wkbs = zip(*rows, strict=True)
    polygons = shapely.from_wkb([bytes(w) for w in wkbs])
    return JurisdictionIndex(
        polygons,
        keys=ids,
        ranks=[JurisdictionLevel(level).rank for level in levels],
        tie_keys=adcodes,
    )


def assign_points(index: JurisdictionIndex | None, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Jurisdiction id per point, -1 where outside every polygon or without coordinates."""
    if index is None:
        return np.full(len(lon), -1, dtype=np.int64)
    return index.assign(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def reassign_enterprises(session: Session, batch_size: int = 50_000) -> dict[str, int]:
    """Recompute ``jurisdiction_id`` of every located enterprise; returns counts.

    Run after jurisdictions change. Only rows whose assignment changes are written.
    """
    index = jurisdiction_index(session)
    rows = session.execute(
        select(
            Enterprise.id,
            Enterprise.jurisdiction_id,
            func.ST_X(Enterprise.location),
            func.ST_Y(Enterprise.location),
        ).where(Enterprise.location.is_not(None))
    ).all()
    if not rows:
        return {"located": 0, "changed": 0, "outside": 0}
    ids, current, lon, lat = (np.array(column) for column in zip(*rows, strict=True))
    assigned = assign_points(index, lon.astype(float), lat.astype(float))
    current = np.array([-1 if c is None else c for c in current], dtype=np.int64)
    changed = np.flatnonzero(assigned != current)
    statement = (
        update(Enterprise.__table__)
        .where(Enterprise.__table__.c.id == bindparam("eid"))
        .values(jurisdiction_id=bindparam("jid"))
    )
    for start in range(0, len(changed), batch_size):
        chunk = changed[start : start + batch_size]
        session.connection().execute(
            statement,
            [
                {"eid": int(ids[i]), "jid": None if assigned[i] < 0 else int(assigned[i])}
                for i in chunk
            ],
        )
    return {
        "located": len(ids),
        "changed": len(changed),
        "outside": int((assigned < 0).sum()),
    }
