"""Candidate snapshots kept in the database: a draw's inputs, content-addressed by SHA-256."""

from __future__ import annotations

from sqlalchemy.orm import Session

from enforcement.models import CandidateSnapshot
from random_sampler.archive import ARCHIVE_FORMAT, SnapshotArchive, archive_sha256
from random_sampler.draw import snapshot_hash


class SnapshotMissingError(LookupError):
    """No stored snapshot has this SHA-256."""


def store_snapshot(session: Session, archive: SnapshotArchive) -> CandidateSnapshot:
    """Store ``archive`` (once: the same bytes are the same row) and return its row."""
    data = archive.to_bytes()
    sha256 = archive_sha256(data)
    row = session.get(CandidateSnapshot, sha256)
    if row is None:
        row = CandidateSnapshot(
            sha256=sha256,
            format=ARCHIVE_FORMAT,
            snapshot_hash=snapshot_hash(archive.targets, archive.inspectors),
            targets=len(archive.targets),
            inspectors=len(archive.inspectors),
            size=len(data),
            data=data,
        )
        session.add(row)
        session.flush()
    return row


def load_snapshot(session: Session, sha256: str) -> SnapshotArchive:
    """The archive stored under ``sha256``; its bytes are checked against the address."""
    row = session.get(CandidateSnapshot, sha256)
    if row is None:
        raise SnapshotMissingError(f"no candidate snapshot {sha256}")
    data = bytes(row.data)
    if archive_sha256(data) != sha256:
        raise ValueError(f"candidate snapshot {sha256} is corrupt: its bytes hash differently")
    return SnapshotArchive.from_bytes(data)


__all__ = ["SnapshotMissingError", "load_snapshot", "store_snapshot"]
