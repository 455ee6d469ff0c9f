"""A draw's input arrays as one self-contained, byte-reproducible file (a NumPy ``.npz``).

The system of record stores this archive with every draw, so the draw can be re-run,
published and verified later exactly as it was, however the registry has changed since; the
parts of a distributed draw read their strata from it. Same arrays and metadata, same bytes:
entries are written in a fixed order with a fixed timestamp, so the SHA-256 of the archive is
a content address.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from random_sampler.draw import INSPECTOR_FIELDS, TARGET_FIELDS, InspectorArrays, TargetArrays

ARCHIVE_FORMAT = "suijian-snapshot/1"
_META = "meta.json"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip file can hold: no wall clock in bytes
_TARGET_ARRAYS = tuple(name for name, _ in TARGET_FIELDS if name != "stratum_labels")
_INSPECTOR_ARRAYS = (
    *(name for name, _ in INSPECTOR_FIELDS if name != "conflicts"),
    "conflict_inspector",
    "conflict_target",
)


class ArchiveError(ValueError):
    """An archive that cannot be read: not a zip, another format, a missing array."""


@dataclass(frozen=True, eq=False)
class SnapshotArchive:
    """The arrays of a draw and the metadata that maps their columns back to records."""

    targets: TargetArrays
    inspectors: InspectorArrays
    meta: Mapping[str, Any]

    def to_bytes(self) -> bytes:
        """The archive (deflated zip of ``.npy`` entries plus ``meta.json``)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            meta = {
                "format": ARCHIVE_FORMAT,
                "stratum_labels": list(self.targets.stratum_labels),
                **self.meta,
            }
            _write(archive, _META, json.dumps(meta, ensure_ascii=False, sort_keys=True).encode())
            for prefix, arrays, names in (
                ("targets", self.targets, _TARGET_ARRAYS),
                ("inspectors", self.inspectors, _INSPECTOR_ARRAYS),
            ):
                for name in names:
                    value = getattr(arrays, name)
                    if value is not None:
                        _write(archive, f"{prefix}.{name}.npy", _npy(value))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SnapshotArchive:
        """Read an archive written by ``to_bytes``; ``ArchiveError`` says what is wrong."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise ArchiveError(f"not a snapshot archive: {exc}") from exc
        with archive:
            names = set(archive.namelist())
            if _META not in names:
                raise ArchiveError(f"not a snapshot archive: no {_META}")
            meta = json.loads(archive.read(_META))
            if meta.get("format") != ARCHIVE_FORMAT:
                raise ArchiveError(
                    f"archive format {meta.get('format')!r} is not {ARCHIVE_FORMAT!r}"
                )

            def arrays(prefix: str, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
                out = {}
                for name in fields:
                    entry = f"{prefix}.{name}.npy"
                    if entry in names:
                        out[name] = np.load(io.BytesIO(archive.read(entry)), allow_pickle=False)
                return out

            target_values = arrays("targets", _TARGET_ARRAYS)
            inspector_values = arrays("inspectors", _INSPECTOR_ARRAYS)
        labels = tuple(meta.pop("stratum_labels"))
        meta.pop("format")
        try:
            targets = TargetArrays(stratum_labels=labels, **target_values)
            inspectors = InspectorArrays(**inspector_values)
        except TypeError as exc:  # a required array is missing
            raise ArchiveError(f"incomplete snapshot archive: {exc}") from exc
        return cls(targets=targets, inspectors=inspectors, meta=meta)


def archive_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy(value: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(value), allow_pickle=False)
    return buffer.getvalue()


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=6)


__all__ = ["ARCHIVE_FORMAT", "ArchiveError", "SnapshotArchive", "archive_sha256"]
