"""Importers for the registry: jurisdictions, enterprises, inspectors and inspection items.

``import_file(session, kind, path, ...)`` reads a CSV, XLSX or GeoJSON file (gzip accepted),
validates every row, and upserts on natural keys with set-based SQL. See docs/importing.md.
"""

from enforcement.importers.core import CRS_CHOICES, KINDS, import_file
from enforcement.importers.mapping import Mapping, MappingError, bundled_mappings, load_mapping
from enforcement.importers.readers import ImportFileError
from enforcement.importers.report import ImportReport, Reject, stored_reason, write_rejects

__all__ = [
    "CRS_CHOICES",
    "KINDS",
    "ImportFileError",
    "ImportReport",
    "Mapping",
    "MappingError",
    "Reject",
    "bundled_mappings",
    "import_file",
    "load_mapping",
    "stored_reason",
    "write_rejects",
]
