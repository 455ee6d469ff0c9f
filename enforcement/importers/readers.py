"""Read CSV, XLSX and GeoJSON files (optionally gzip-compressed) as chunks of columns.

Values stay as the file gives them: strings for CSV, typed cells (numbers, dates, booleans) for
XLSX, JSON values for GeoJSON properties. Rows are numbered from 1 for the first data row
(under the header; the first GeoJSON feature), counting blank rows, which are skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
from collections.abc import Callable, Iterator
from collections.abc import Mapping as AbstractMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enforcement.reasons import reason

GZIP_MAGIC = b"\x1f\x8b"
# Decompression bombs: what a gzip file, or an XLSX workbook's parts, may expand to.
MAX_EXPANDED_BYTES = 1024 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
_SUFFIX_FORMAT = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".geojson": "geojson",
    ".json": "geojson",
}
DEFAULT_CHUNK = 25_000


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, header)."""


@dataclass
class Chunk:
    rows: list[int]  # 1-based data row numbers
    columns: AbstractMapping[str, Any]  # source column -> sequence of values, one per row
    geometries: list[Any] | None = None  # GeoJSON geometry objects (dicts) or None
    text_only: bool = False  # every cell is a str (CSV): parsers take their fast paths
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, reason, reason_zh)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class Source:
    path: Path
    format: str
    compressed: bool
    headers: list[str]
    meta: dict[str, Any]
    _chunks: Callable[[int], Iterator[Chunk]]
    size_hint: int | None = None  # characters of CSV text, to estimate the row count

    def chunks(self, size: int = DEFAULT_CHUNK) -> Iterator[Chunk]:
        return self._chunks(size)


def _read_bytes(path: Path) -> tuple[bytes, bool]:
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                expanded = stream.read(MAX_EXPANDED_BYTES + 1)  # never more than the limit
        except (OSError, EOFError) as exc:
            raise ImportFileError(f"{path.name}: not a valid gzip file ({exc})") from exc
        if len(expanded) > MAX_EXPANDED_BYTES:
            raise ImportFileError(_too_expanded(path))
        return expanded, True
    return data, False


def _too_expanded(path: Path) -> str:
    return f"{path.name}: expands to more than {MAX_EXPANDED_BYTES} bytes (decompression bomb?)"


def _check_zip_expansion(path: Path, data: bytes) -> None:
    """An XLSX whose parts declare more than the limit is refused before any is inflated
    (``zipfile`` never inflates an entry beyond its declared size)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable ZIP: the workbook reader says what is wrong with it
    if declared > MAX_EXPANDED_BYTES:
        raise ImportFileError(_too_expanded(path))


def detect_format(path: Path, head: bytes) -> str:
    """By suffix (ignoring .gz), else by content."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _SUFFIX_FORMAT:
        return _SUFFIX_FORMAT[suffixes[-1]]
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.lstrip()[:1] == b"{":
        return "geojson"
    return "csv"


def open_source(path: str | Path, *, sheet: str | None = None) -> Source:
    """Open a file for reading; raises ImportFileError naming what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"file not found: {path}")
    data, compressed = _read_bytes(path)
    fmt = detect_format(path, data[:64])
    if fmt == "xlsx":
        return _xlsx_source(path, data, compressed, sheet)
    if fmt == "geojson":
        return _geojson_source(path, data, compressed)
    return _csv_source(path, data, compressed)


# --------------------------------------------------------------------------- CSV


def _decode(path: Path, data: bytes) -> str:
    # UTF-8 (with or without BOM) first; Chinese Excel exports are often GB18030/GBK.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{path.name}: text is neither UTF-8 nor GB18030 (byte {exc.start})"
            ) from exc


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _headers(raw: list[Any], path: Path) -> list[str]:
    headers = []
    for i, value in enumerate(raw, start=1):
        name = "" if value is None else str(value).strip().lstrip("\ufeff")
        headers.append(name or f"column_{i}")
    seen: set[str] = set()
    for name in headers:
        if name in seen:
            raise ImportFileError(f"{path.name}: column {name!r} appears twice in the header")
        seen.add(name)
    return headers


def _fix_widths(rows: list[Any], numbers: list[int], width: int, errors: list) -> None:
    """Pad short rows; a row with more non-empty fields than the header is an error."""
    for i, row in enumerate(rows):
        n = len(row)
        if n == width:
            continue
        if n < width:
            rows[i] = list(row) + [""] * (width - n)
            continue
        if any(v not in ("", None) for v in row[width:]):
            errors.append(
                (
                    numbers[i],
                    reason(
                        "row has ${count} fields but the header has ${width}", count=n, width=width
                    ),
                    f"该行有{n}个字段，表头只有{width}列",
                )
            )
        rows[i] = list(row[:width])


def _has_value(row: list[Any]) -> bool:
    return any(v not in ("", None) for v in row)


def _columnar(
    raw_rows: list[Any], first_row: int, headers: list[str], *, typed: bool = False
) -> Chunk:
    width = len(headers)
    errors: list[tuple[int, str, str]] = []
    numbers = list(range(first_row, first_row + len(raw_rows)))
    # Blank rows (nothing in any cell) are skipped, keeping the others' numbers. For CSV
    # every cell is a string, so the C-level any() is exact; typed cells may hold 0/False.
    has_value = _has_value if typed else any
    if not all(map(has_value, raw_rows)):
        kept = [(n, r) for n, r in zip(numbers, raw_rows, strict=True) if has_value(r)]
        numbers = [n for n, _ in kept]
        raw_rows = [r for _, r in kept]
    if raw_rows and (len(set(map(len, raw_rows))) != 1 or len(raw_rows[0]) != width):
        _fix_widths(raw_rows, numbers, width, errors)
    if raw_rows:
        # One C-level transposition beats extracting columns one by one (itemgetter).
        columns = dict(zip(headers, zip(*raw_rows, strict=True), strict=True))
    else:
        columns = dict.fromkeys(headers, ())
    return Chunk(rows=numbers, columns=columns, text_only=not typed, errors=errors)


def _split_lines(text: str, delimiter: str) -> tuple[list[str], dict[int, list[str]]] | None:
    """Lines and the pre-parsed quoted ones, when splitting on the delimiter is exact.

    The csv module costs about 3 µs a row; most rows of real exports hold no quote, and a
    line without a quote character is exactly its fields joined by the delimiter. Lines with
    quotes go through csv (strict, one line each); any that fails to parse on its own (a
    quoted field spanning lines, bad quoting), a lone CR or a NUL means None: use csv for all.
    """
    if "\x00" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    quoted = [i for i, line in enumerate(lines) if '"' in line]
    try:
        parsed = list(csv.reader([lines[i] for i in quoted], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    if len(parsed) != len(quoted):
        return None
    return lines, dict(zip(quoted, parsed, strict=True))


def _csv_source(path: Path, data: bytes, compressed: bool) -> Source:
    text = _decode(path, data)
    del data
    first_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = _delimiter(first_line)
    size_hint = len(text)
    fast = _split_lines(text, delimiter)
    if fast is not None:
        lines, quoted = fast
        if not lines:
            raise ImportFileError(f"{path.name}: the file is empty")
        headers = _headers(quoted.get(0) or lines[0].split(delimiter), path)

        def fast_chunks(size: int) -> Iterator[Chunk]:
            for start in range(1, len(lines), size):
                part = lines[start : start + size]
                rows = [line.split(delimiter) for line in part]
                for i in range(start, start + len(part)):
                    if i in quoted:
                        rows[i - start] = quoted[i]
                yield _columnar(rows, start, headers)

        return Source(
            path, "csv", compressed, headers, {"delimiter": delimiter}, fast_chunks, size_hint
        )

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(f"{path.name}: the file is empty") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path.name}: {exc}") from exc
    headers = _headers(header, path)

    def chunks(size: int) -> Iterator[Chunk]:
        first = 1
        while True:
            try:
                rows = list(itertools.islice(reader, size))
            except csv.Error as exc:
                raise ImportFileError(
                    f"{path.name}: CSV error near data row {first}: {exc}"
                ) from exc
            if not rows:
                return
            yield _columnar(rows, first, headers)
            first += len(rows)

    return Source(path, "csv", compressed, headers, {"delimiter": delimiter}, chunks, size_hint)


# --------------------------------------------------------------------------- XLSX


def _xlsx_source(path: Path, data: bytes, compressed: bool, sheet: str | None) -> Source:
    from openpyxl import load_workbook  # only needed for spreadsheets

    _check_zip_expansion(path, data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError(f"{path.name}: cannot read the workbook ({exc})") from exc
    if sheet is not None:
        if sheet not in book.sheetnames:
            raise ImportFileError(
                f"{path.name}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})"
            )
        worksheet = book[sheet]
    else:
        worksheet = book.worksheets[0]
    values = worksheet.iter_rows(values_only=True)
    header_row = None
    for row in values:
        if any(v not in (None, "") for v in row):
            header_row = row
            break
    if header_row is None:
        raise ImportFileError(f"{path.name}: the sheet {worksheet.title!r} is empty")
    # Trailing empty header cells are formatting, not columns.
    header_list = list(header_row)
    while header_list and header_list[-1] in (None, ""):
        header_list.pop()
    headers = _headers(header_list, path)

    def chunks(size: int) -> Iterator[Chunk]:
        first = 1
        while True:
            rows = [
                [v.strip() if isinstance(v, str) else ("" if v is None else v) for v in row]
                for row in itertools.islice(values, size)
            ]
            if not rows:
                book.close()
                return
            yield _columnar(rows, first, headers, typed=True)
            first += len(rows)

    return Source(path, "xlsx", compressed, headers, {"sheet": worksheet.title}, chunks)


# --------------------------------------------------------------------------- GeoJSON


def _geojson_source(path: Path, data: bytes, compressed: bool) -> Source:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFileError(f"{path.name}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ImportFileError(f"{path.name}: GeoJSON must be an object")
    if document.get("type") == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise ImportFileError(f"{path.name}: FeatureCollection without a features list")
    elif document.get("type") == "Feature":
        features = [document]
    else:
        raise ImportFileError(
            f"{path.name}: expected a GeoJSON FeatureCollection or Feature, "
            f"got type {document.get('type')!r}"
        )
    headers: dict[str, None] = {}
    for feature in features:
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(properties, dict):
            headers.update(dict.fromkeys(str(k) for k in properties))
    meta = {k: document[k] for k in ("coordinate_system", "name") if k in document}

    def chunks(size: int) -> Iterator[Chunk]:
        names = list(headers)
        for start in range(0, len(features), size):
            part = features[start : start + size]
            errors = []
            columns: dict[str, list[Any]] = {name: [] for name in names}
            geometries = []
            for offset, feature in enumerate(part):
                if not isinstance(feature, dict) or feature.get("type") != "Feature":
                    errors.append(
                        (
                            start + offset + 1,
                            reason("not a GeoJSON Feature"),
                            "不是GeoJSON要素（Feature）",
                        )
                    )
                    feature = {}
                properties = feature.get("properties") or {}
                for name in names:
                    value = properties.get(name)
                    columns[name].append("" if value is None else value)
                geometries.append(feature.get("geometry"))
            yield Chunk(
                rows=list(range(start + 1, start + len(part) + 1)),
                columns=columns,
                geometries=geometries,
                errors=errors,
            )

    return Source(path, "geojson", compressed, list(headers), meta, chunks)
