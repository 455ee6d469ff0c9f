"""The real UK FSA directory through the bundled ``fsa`` mapping."""

from __future__ import annotations

import csv
import gzip
import itertools
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.db import make_engine
from enforcement.importers import import_file, load_mapping
from enforcement.models import Enterprise

FSA = Path("fsa") / "fhrs_uk_snapshot_2020-11-15.csv.gz"
SLICE = 3_000


@pytest.fixture(scope="module")
def fsa_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3,000 establishments of the real file, gzip-compressed again."""
    with gzip.open(shared_data / FSA, "rt", encoding="utf-8", newline="") as handle:
        lines = list(itertools.islice(handle, SLICE + 1))
    path = tmp_path_factory.mktemp("fsa") / "fhrs_slice.csv.gz"
    path.write_bytes(gzip.compress("".join(lines).encode("utf-8")))
    return path


def _expected(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_fsa_slice(db_session: Session, fsa_slice: Path) -> None:
    rows = _expected(fsa_slice)
    first = {}
    for row in rows:
        first.setdefault(row["FHRSID"], row)
    without = sum(1 for row in first.values() if not row["Longitude"])
    assert 0 < without < len(first)  # the slice really has rows without coordinates

    report = import_file(db_session, "enterprises", fsa_slice, mapping="fsa")

    assert (report.total, report.rejected) == (SLICE, 0)
    assert report.inserted == len(first) and report.duplicates == SLICE - len(first)
    assert report.without_location == without
    assert report.outside_jurisdictions == len(first) - without  # no UK jurisdictions
    sample = rows[0]
    firm = db_session.scalars(
        select(Enterprise).where(Enterprise.natural_key == f"FHRS:{sample['FHRSID']}")
    ).one()
    assert firm.name == sample["BusinessName"]
    assert firm.registered_address == sample["PostCode"]
    assert (firm.entity_type, firm.status) == ("company", "in_business")
    table = load_mapping("fsa").lookups["industry_code"].table
    assert firm.industry_code == table[sample["BusinessType"]]
    assert firm.extra["LocalAuthorityName"] == sample["LocalAuthorityName"]
    assert firm.extra["RatingValue"] == sample["RatingValue"]
    assert set(firm.extra) == set(load_mapping("fsa").extra)
    located = db_session.scalar(
        select(func.count()).select_from(Enterprise).where(Enterprise.location.is_not(None))
    )
    assert located == len(first) - without

    again = import_file(db_session, "enterprises", fsa_slice, mapping="fsa")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(first))


def test_every_fsa_business_type_has_an_industry_code(shared_data: Path) -> None:
    """The mapping covers the file: no establishment is left without a GB/T 4754 code."""
    mapping = load_mapping("fsa")
    with gzip.open(shared_data / FSA, "rt", encoding="utf-8", newline="") as handle:
        types = {row["BusinessType"] for row in csv.DictReader(handle)}
    assert types <= set(mapping.lookups["industry_code"].table)


@pytest.mark.slow
def test_full_fsa_directory_on_postgis(postgres, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    """All 503,964 rows into a fresh PostGIS database (PostgreSQL only: the COPY path)."""
    engine = make_engine(postgres.create_database(f"suijian_fsa_{uuid.uuid4().hex[:8]}"))
    try:
        migrate.upgrade(engine)
        with Session(engine) as session:
            report = import_file(session, "enterprises", shared_data / FSA, mapping="fsa")
            session.commit()
            assert report.total == 503_964
            assert (report.inserted, report.duplicates, report.rejected) == (503_926, 38, 0)
            assert report.without_location == 75_953
            counts = session.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE location IS NULL), "
                    "count(DISTINCT extra->>'LocalAuthorityName') FROM enterprises"
                )
            ).one()
            assert tuple(counts) == (503_926, 75_953, 370)
            # The secondary indexes dropped for the bulk load are back.
            indexes = set(
                session.execute(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = 'enterprises'")
                ).scalars()
            )
            assert {"idx_enterprises_location", "ix_enterprises_industry_code"} <= indexes
    finally:
        engine.dispose()
