"""``suijian import {jurisdictions,enterprises,inspectors,items} FILE``: load registry files."""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import click

from enforcement.cli.context import AppContext, pass_app
from enforcement.importers import (
    CRS_CHOICES,
    ImportFileError,
    ImportReport,
    MappingError,
    bundled_mappings,
    import_file,
)

KIND_HELP = {
    "jurisdictions": "Jurisdictions (辖区): GeoJSON polygons or CSV/XLSX with a WKT column.",
    "enterprises": "Enterprises (检查对象名录库), upserted on USCC or <SCHEME>:<id>.",
    "inspectors": "Inspectors (执法检查人员名录库) and their declared conflicts (回避).",
    "items": "Inspection items (随机抽查事项清单).",
}
_COMPRESSED = (".gz",)
_FORMATS = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".geojson", ".json")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (*_COMPRESSED, *_FORMATS):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "import"


def _writable(directory: Path) -> bool:
    # The mode bits too: root may write anywhere, but a directory marked read-only (such as
    # the shared data sets) is not ours to write into.
    return os.access(directory, os.W_OK) and bool(directory.stat().st_mode & 0o222)


def default_rejects_path(source: Path, settings: dict[str, Any]) -> Path:
    """Next to the input when its directory is writable, else var/rejects/<name>-<time>.csv."""
    directory = source.resolve().parent
    if _writable(directory):
        return directory / f"{_stem(source)}.rejects.csv"
    var_dir = Path(str(settings.get("suijian.var_dir") or "var"))
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return var_dir / "rejects" / f"{_stem(source)}-{stamp}.csv"


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _line(label: str, value: int) -> str:
    return f"  {label}{' ' * max(1, 36 - _width(label))}{value:>12,}"


def summary(report: ImportReport, source: Path) -> list[str]:
    lines = [f"{report.kind} from {source.name}: {report.total:,} rows 行"]
    lines.append(_line("inserted 新增", report.inserted))
    lines.append(_line("updated 更新", report.updated))
    lines.append(_line("unchanged 未变", report.unchanged))
    lines.append(_line("rejected 拒绝", report.rejected))
    if report.duplicates:
        lines.append(_line("duplicates (first kept) 重复", report.duplicates))
    if report.kind == "enterprises":
        lines.append(_line("without location 无坐标", report.without_location))
        lines.append(_line("outside jurisdictions 辖区外", report.outside_jurisdictions))
    if report.reassigned is not None:
        lines.append(_line("enterprises reassigned 重新划分辖区", report.reassigned))
    if report.conflicts is not None:
        changes = ", ".join(f"{name} {count:,}" for name, count in report.conflicts.items())
        lines.append(f"  declared conflicts 回避申报: {changes}")
    if report.departments_created:
        lines.append(_line("departments created 新建部门", report.departments_created))
    lines += [f"warning: {w}" for w in report.warnings]
    if report.rejects_path:
        lines.append(f"rejects 拒绝明细: {report.rejects_path}")
    if report.dry_run:
        lines.append("dry run: nothing was written 试运行，未写入")
    return lines


def _import_command(kind: str) -> click.Command:
    @click.command(kind, help=KIND_HELP[kind])
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--mapping",
        "-m",
        help=f"Mapping JSON file, or a bundled mapping's name ({', '.join(bundled_mappings())}).",
    )
    @click.option("--skip-invalid", is_flag=True, help="Write the valid rows, report the others.")
    @click.option(
        "--crs",
        type=click.Choice(CRS_CHOICES),
        default="wgs84",
        show_default=True,
        help="Coordinate system of the file's coordinates (converted to WGS-84).",
    )
    @click.option(
        "--rejects",
        "rejects_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where to write the rejects CSV (default: next to FILE, or var/rejects/).",
    )
    @click.option("--dry-run", is_flag=True, help="Validate and count, then roll back.")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @pass_app
    def command(
        app: AppContext,
        file: Path,
        mapping: str | None,
        skip_invalid: bool,
        crs: str,
        rejects_path: Path | None,
        dry_run: bool,
        as_json: bool,
    ) -> None:
        target = rejects_path or default_rejects_path(file, app.settings)
        session = app.sessions()
        try:
            report = import_file(
                session,
                kind,
                file,
                mapping=mapping,
                skip_invalid=skip_invalid,
                crs=crs,
                rejects_path=target,
                dry_run=dry_run,
            )
            if report.applied:
                session.commit()
            else:
                session.rollback()
        except (ImportFileError, MappingError) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if as_json:
            data = report.as_dict()
            data["rejects"] = data["rejects"][:100]  # the file has them all
            click.echo(json.dumps(data, ensure_ascii=False))
        else:
            for line in summary(report, file):
                click.echo(line)
        if report.rejected and not skip_invalid:
            raise click.ClickException(
                f"{report.rejected:,} of {report.total:,} rows rejected; nothing was imported "
                f"(rejects: {report.rejects_path}). Fix them, or pass --skip-invalid to import "
                "the valid rows. 有无效行，未导入任何数据。"
            )

    return command


@click.group("import")
def import_group() -> None:
    """Import registry files: CSV, XLSX or GeoJSON, optionally gzip-compressed.

    Every row is validated; without --skip-invalid one bad row means nothing is written.
    Importing the same file again changes nothing. See docs/importing.md.
    """


for _kind in KIND_HELP:
    import_group.add_command(_import_command(_kind))

COMMANDS = [import_group]
