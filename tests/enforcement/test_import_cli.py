"""``suijian import`` and ``suijian bench import`` through click's runner, on SpatiaLite."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.cli import main
from enforcement.cli.imports import default_rejects_path
from enforcement.db import make_engine
from enforcement.models import Enterprise

DATA = Path(__file__).with_name("data")


@pytest.fixture
def cli_db(new_database_url, tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh, migrated SpatiaLite database and an ini file pointing at it."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = new_database_url("spatialite")
    engine = make_engine(url)
    migrate.upgrade(engine)
    ini = tmp_path / "test.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url}\n"
        f"suijian.var_dir = {tmp_path / 'var'}\n"
    )
    yield str(ini), engine
    engine.dispose()


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Enterprise)) or 0


def _copy(name: str, directory: Path) -> Path:
    directory.mkdir(exist_ok=True)
    return Path(shutil.copy(DATA / name, directory / name))


def test_import_prints_counts_and_commits(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini, engine = cli_db
    source = _copy("enterprises.csv", tmp_path / "in")
    runner = CliRunner()

    result = runner.invoke(main, ["-c", ini, "import", "enterprises", str(source)])
    assert result.exit_code == 0, result.output
    assert "enterprises from enterprises.csv: 5 rows" in result.output
    assert "inserted 新增" in result.output
    lines = {line.split()[0]: line.split()[-1] for line in result.output.splitlines()[1:5]}
    assert lines == {"inserted": "5", "updated": "0", "unchanged": "0", "rejected": "0"}
    assert _count(engine) == 5

    again = runner.invoke(main, ["-c", ini, "import", "enterprises", str(source), "--json"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 5)
    assert not (source.parent / "enterprises.rejects.csv").exists()


def test_rejected_rows_fail_and_write_rejects_next_to_the_file(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini, engine = cli_db
    source = _copy("enterprises_bad.csv", tmp_path / "in")
    runner = CliRunner()

    result = runner.invoke(main, ["-c", ini, "import", "enterprises", str(source)])

    assert result.exit_code == 1
    assert "5 of 7 rows rejected; nothing was imported" in result.output
    rejects = source.parent / "enterprises_bad.rejects.csv"
    assert str(rejects) in result.output
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["row"], r["field"]) for r in rows} >= {("2", "uscc"), ("3", "name")}
    assert _count(engine) == 0

    skipped = runner.invoke(
        main, ["-c", ini, "import", "enterprises", str(source), "--skip-invalid"]
    )
    assert skipped.exit_code == 0, skipped.output
    assert _count(engine) == 2


def test_rejects_option_dry_run_and_mapping(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini, engine = cli_db
    source = _copy("enterprises_bad.csv", tmp_path / "in")
    target = tmp_path / "elsewhere" / "bad.csv"
    runner = CliRunner()

    result = runner.invoke(
        main,
        [
            "-c",
            ini,
            "import",
            "enterprises",
            str(source),
            "--skip-invalid",
            "--dry-run",
            "--rejects",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was written" in result.output
    assert target.is_file()
    assert _count(engine) == 0

    wrong = runner.invoke(main, ["-c", ini, "import", "enterprises", str(source), "-m", "nope"])
    assert wrong.exit_code == 1
    assert "mapping not found: nope (bundled mappings: fsa)" in wrong.output


def test_inspectors_need_departments(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini, _ = cli_db
    source = _copy("inspectors.csv", tmp_path / "in")
    result = CliRunner().invoke(main, ["-c", ini, "import", "inspectors", str(source)])
    assert result.exit_code == 1
    assert "3 of 3 rows rejected" in result.output
    with (source.parent / "inspectors.rejects.csv").open(encoding="utf-8-sig") as handle:
        fields = {row["field"] for row in csv.DictReader(handle)}
    assert "department" in fields


def test_inspectors_print_their_declared_conflicts(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini, _ = cli_db
    runner = CliRunner()
    enterprises = _copy("enterprises.csv", tmp_path / "in")
    assert (
        runner.invoke(main, ["-c", ini, "import", "enterprises", str(enterprises)]).exit_code == 0
    )
    source = tmp_path / "in" / "officers.csv"
    source.write_text(
        "credential_no,name,department,department_name,conflicts\n"
        "33078300001,赵敏,SJJ-DY,东阳市市场监督管理局,person:钱大海（父子）\n"
        "33078300002,钱进,SJJ-DY,东阳市市场监督管理局,\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["-c", ini, "import", "inspectors", str(source)])
    assert result.exit_code == 0, result.output
    assert "declared conflicts 回避申报: inserted 1" in result.output


def test_jurisdictions_with_crs(cli_db, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini, _ = cli_db
    source = shared_data / "china" / "seed_city_counties.geojson"
    result = CliRunner().invoke(
        main, ["-c", ini, "import", "jurisdictions", str(source), "--crs", "gcj02"]
    )
    assert result.exit_code == 0, result.output
    assert "jurisdictions from seed_city_counties.geojson: 34 rows" in result.output
    assert "enterprises reassigned" in result.output


def test_unreadable_file_is_a_clear_error(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini, _ = cli_db
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    result = CliRunner().invoke(main, ["-c", ini, "import", "jurisdictions", str(broken)])
    assert result.exit_code == 1
    assert "broken.geojson: not valid JSON" in result.output


def test_rejects_go_to_var_when_the_input_directory_is_read_only(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    source = shared / "firms.csv.gz"
    source.write_bytes(b"")
    settings = {"suijian.var_dir": str(tmp_path / "var")}
    assert default_rejects_path(source, settings) == shared / "firms.rejects.csv"
    shared.chmod(0o555)
    try:
        target = default_rejects_path(source, settings)
    finally:
        shared.chmod(0o755)
    assert target.parent == tmp_path / "var" / "rejects"
    assert target.name.startswith("firms-") and target.suffix == ".csv"


def test_bench_import_prints_one_json_object(postgres, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import gzip
    import itertools

    with gzip.open(shared_data / "fsa" / "fhrs_uk_snapshot_2020-11-15.csv.gz", "rt") as handle:
        head = "".join(itertools.islice(handle, 501))
    sample = tmp_path / "fsa500.csv.gz"
    sample.write_bytes(gzip.compress(head.encode()))
    url = postgres.create_database("suijian_bench_cli")
    migrate.upgrade(make_engine(url))

    result = CliRunner().invoke(
        main,
        [
            "bench",
            "import",
            "--json",
            "--database-url",
            url,
            "--sample",
            "50",
            "--file",
            str(sample),
        ],
    )

    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["rows"] == 500
    assert figures["baseline_rows"] == 50
    assert figures["rows_per_s"] > 0 and figures["baseline_rows_per_s"] > 0
    assert figures["reimport_updated"] == 0
    assert figures["database"].startswith("PostgreSQL")
    assert figures["enterprises_before"] == 0
    with Session(make_engine(url)) as session:  # the benchmark rolls back
        assert session.scalar(select(func.count()).select_from(Enterprise)) == 0
