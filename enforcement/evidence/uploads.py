"""Resumable chunked uploads on the file system, for tablets on poor connections.

One directory per upload, named by the canonical form of its UUID (never a client string)::

    root/<uuid>/lock        fcntl lock: one request at a time changes an upload
    root/<uuid>/data        the file, preallocated to total_size, chunks written at offsets
    root/<uuid>/state.json  parameters and received byte ranges, replaced atomically

``begin`` preallocates the whole size, so a full disk is reported before any byte is sent.
Chunks may arrive in any order and more than once: a chunk that repeats bytes already
received is accepted if (and only if) the bytes are identical. ``status`` tells a tablet what
is missing after a lost connection. ``complete`` streams the file into the
:class:`~enforcement.evidence.store.EvidenceStore` (type sniffing, checks and the SHA-256
announced at ``begin``) and removes the upload. The first bytes are sniffed as soon as they
arrive, so a wrong type is refused long before the last chunk.

Data are fsynced before the state that records them, so after a crash the state never claims
bytes that are not on disk. Needs twice the file size while completing (upload + object).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from enforcement.evidence.sniff import (
    SNIFF_BYTES,
    EvidenceNotFound,
    EvidenceRejected,
    EvidenceStorageError,
    check_declared,
    normalize_content_type,
    sniff,
    validate_kind,
)
from enforcement.evidence.store import (
    EvidenceStore,
    StoredEvidence,
    storage_error,
    validate_sha256,
)

__all__ = ["UploadManager", "UploadState"]

Range = tuple[int, int]  # half-open [start, end)
_STATE_VERSION = 1
_READ_SIZE = 1024 * 1024


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class UploadState:
    upload_id: uuid.UUID
    total_size: int
    declared_kind: str
    declared_type: str | None
    expected_sha256: str
    received: tuple[Range, ...]  # sorted, merged, half-open byte ranges
    created_at: dt.datetime
    updated_at: dt.datetime
    sniffed_mime: str | None = None  # set once the first bytes have been checked

    @property
    def received_bytes(self) -> int:
        return sum(end - start for start, end in self.received)

    @property
    def missing(self) -> tuple[Range, ...]:
        gaps, pos = [], 0
        for start, end in self.received:
            if start > pos:
                gaps.append((pos, start))
            pos = end
        if pos < self.total_size:
            gaps.append((pos, self.total_size))
        return tuple(gaps)

    @property
    def is_complete(self) -> bool:
        return self.received == ((0, self.total_size),)

    def to_json(self) -> dict[str, object]:
        return {
            "version": _STATE_VERSION,
            "upload_id": str(self.upload_id),
            "total_size": self.total_size,
            "declared_kind": self.declared_kind,
            "declared_type": self.declared_type,
            "expected_sha256": self.expected_sha256,
            "received": [list(r) for r in self.received],
            "sniffed_mime": self.sniffed_mime,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadState:
        return cls(
            upload_id=uuid.UUID(data["upload_id"]),
            total_size=int(data["total_size"]),
            declared_kind=data["declared_kind"],
            declared_type=data["declared_type"],
            expected_sha256=data["expected_sha256"],
            received=tuple((int(s), int(e)) for s, e in data["received"]),
            created_at=dt.datetime.fromisoformat(data["created_at"]),
            updated_at=dt.datetime.fromisoformat(data["updated_at"]),
            sniffed_mime=data.get("sniffed_mime"),
        )

    def _same_request(self, other: UploadState) -> bool:
        return (
            self.total_size,
            self.declared_kind,
            self.declared_type,
            self.expected_sha256,
        ) == (other.total_size, other.declared_kind, other.declared_type, other.expected_sha256)


def _add_range(ranges: tuple[Range, ...], new: Range) -> tuple[Range, ...]:
    merged: list[Range] = []
    start, end = new
    for s, e in ranges:
        if e < start or s > end:  # disjoint and not adjacent
            merged.append((s, e))
        else:
            start, end = min(s, start), max(e, end)
    merged.append((start, end))
    return tuple(sorted(merged))


def _overlaps(ranges: tuple[Range, ...], start: int, end: int) -> list[Range]:
    return [(max(s, start), min(e, end)) for s, e in ranges if s < end and e > start]


def _as_uuid(value: object) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise EvidenceRejected(
            "upload_id_invalid", f"must be a UUID, got {str(value)[:60]!r}", "upload_id"
        ) from None


def _not_found(upload_id: uuid.UUID) -> EvidenceNotFound:
    return EvidenceNotFound(
        "upload_not_found",
        f"no upload {upload_id} (never begun, completed or aborted)",
        "upload_id",
    )


def _pread_exact(fd: int, size: int, offset: int) -> bytes:
    parts, done = [], 0
    while done < size:
        block = os.pread(fd, size - done, offset + done)
        if not block:
            break
        parts.append(block)
        done += len(block)
    return b"".join(parts)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(payload, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class UploadManager:
    """Resumable uploads under ``root`` that end up in ``store``; see the module docstring."""

    def __init__(self, root: Path | str, store: EvidenceStore) -> None:
        self.root = Path(root)
        self.store = store
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a user's first upload on a full disk: 507, not a crash
            raise storage_error(exc, "creating the uploads directory") from exc

    # -- public API ------------------------------------------------------------------------

    def begin(
        self,
        upload_id: uuid.UUID | str,
        total_size: int,
        declared_kind: str,
        declared_type: str | None,
        expected_sha256: str,
    ) -> UploadState:
        """Start an upload, or return it unchanged when begun before with the same values.

        The same id with other values is refused (``upload_exists``).
        """
        uid = _as_uuid(upload_id)
        if isinstance(total_size, bool) or not isinstance(total_size, int) or total_size <= 0:
            raise EvidenceRejected(
                "size_invalid", f"must be a positive integer, got {total_size!r}", "total_size"
            )
        if total_size > self.store.max_bytes:
            raise EvidenceRejected(
                "too_large",
                f"{total_size} bytes is more than the limit of {self.store.max_bytes}",
                "total_size",
            )
        validate_kind(declared_kind)
        validate_sha256(expected_sha256, "expected_sha256")
        now = _utcnow()
        wanted = UploadState(
            upload_id=uid,
            total_size=total_size,
            declared_kind=declared_kind,
            declared_type=normalize_content_type(declared_type),
            expected_sha256=expected_sha256,
            received=(),
            created_at=now,
            updated_at=now,
        )
        if not self._dir(uid).exists():
            try:
                if self._create(wanted):
                    return wanted
            except OSError as exc:
                raise storage_error(exc, "reserving space for the upload") from exc
        with self._locked(uid) as current:  # begun before (a retry, or a concurrent begin)
            if not current._same_request(wanted):
                raise EvidenceRejected(
                    "upload_exists",
                    f"upload {uid} was begun with other size, kind, type or hash",
                    "upload_id",
                )
            return current

    def put_chunk(self, upload_id: uuid.UUID | str, offset: int, data: bytes) -> UploadState:
        """Write ``data`` at ``offset``; idempotent; refuses bytes that contradict earlier ones."""
        uid = _as_uuid(upload_id)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise EvidenceRejected(
                "offset_invalid", f"must be a non-negative integer, got {offset!r}", "offset"
            )
        if not data:
            raise EvidenceRejected("chunk_empty", "chunk has no bytes", "data")
        data = bytes(data)
        end = offset + len(data)
        with self._locked(uid) as state:
            if end > state.total_size:
                raise EvidenceRejected(
                    "chunk_out_of_range",
                    f"chunk [{offset}, {end}) goes past the declared size {state.total_size}",
                    "offset",
                )
            path = self._dir(uid) / "data"
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError as exc:
                raise storage_error(exc, "opening the upload") from exc
            try:
                for start, stop in _overlaps(state.received, offset, end):
                    if (
                        _pread_exact(fd, stop - start, start)
                        != data[start - offset : stop - offset]
                    ):
                        raise EvidenceRejected(
                            "chunk_conflict",
                            f"bytes [{start}, {stop}) were already received with other content",
                            "data",
                        )
                if sum(e - s for s, e in _overlaps(state.received, offset, end)) == len(data):
                    return state  # a resend of what we have: nothing to do
                try:
                    _pwrite_all(fd, data, offset)
                    os.fsync(fd)
                except OSError as exc:
                    raise storage_error(exc, "writing the chunk") from exc
            finally:
                os.close(fd)
            state = replace(
                state, received=_add_range(state.received, (offset, end)), updated_at=_utcnow()
            )
            self._save(state)
            if state.sniffed_mime is None:
                state = self._sniff_early(state)
            return state

    def status(self, upload_id: uuid.UUID | str) -> UploadState:
        """Current state (received and missing ranges); reads need no lock."""
        uid = _as_uuid(upload_id)
        return self._load(uid)

    def complete(self, upload_id: uuid.UUID | str) -> StoredEvidence:
        """Move a fully received upload into the store; the upload is then gone.

        Refused content (wrong type, hash mismatch…) also removes the upload: sending the
        same bytes again cannot succeed. A storage error keeps it so ``complete`` can be
        retried. A retried ``complete`` after success gets ``upload_not_found``: look the
        expected hash up in the store instead.
        """
        uid = _as_uuid(upload_id)
        with self._locked(uid) as state:
            if not state.is_complete:
                shown = ", ".join(f"[{s}, {e})" for s, e in state.missing[:5])
                raise EvidenceRejected(
                    "upload_incomplete",
                    f"{state.total_size - state.received_bytes} bytes missing: {shown}",
                    "upload_id",
                )
            try:
                stored = self.store.put_stream(
                    self._read_data(uid, state.total_size),
                    declared_kind=state.declared_kind,
                    declared_type=state.declared_type,
                    expected_sha256=state.expected_sha256,
                )
            except EvidenceRejected:
                self._remove(uid)
                raise
            except OSError as exc:  # reading our own upload file failed
                raise storage_error(exc, "reading the upload") from exc
            self._remove(uid)
            return stored

    def abort(self, upload_id: uuid.UUID | str) -> bool:
        """Discard an upload; False if there was none."""
        uid = _as_uuid(upload_id)
        try:
            with self._locked(uid):
                self._remove(uid)
        except EvidenceNotFound:
            return False
        return True

    def purge_stale(self, max_age: dt.timedelta, now: dt.datetime | None = None) -> list[uuid.UUID]:
        """Abort uploads untouched for ``max_age`` (for a periodic task); their ids."""
        cutoff = (now or _utcnow()) - max_age
        purged = []
        for entry in self.root.iterdir():
            if entry.name.startswith(".staging-"):
                if dt.datetime.fromtimestamp(entry.stat().st_mtime, dt.UTC) < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
                continue
            try:
                uid = uuid.UUID(entry.name)
                with self._locked(uid) as state:
                    if state.updated_at < cutoff:  # checked under the lock: no live upload lost
                        self._remove(uid)
                        purged.append(uid)
            except (ValueError, EvidenceNotFound):
                continue
        return purged

    # -- internals -------------------------------------------------------------------------

    def _dir(self, uid: uuid.UUID) -> Path:
        return self.root / str(uid)

    def _create(self, state: UploadState) -> bool:
        """Build the upload in a staging directory, then rename it into place atomically.

        False if another request created the same upload first.
        """
        staging = self.root / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            (staging / "lock").touch()
            fd = os.open(staging / "data", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.posix_fallocate(fd, 0, state.total_size)  # ENOSPC now, not mid-upload
                os.fsync(fd)
            finally:
                os.close(fd)
            _write_json_atomic(staging / "state.json", state.to_json())
            try:
                staging.rename(self._dir(state.upload_id))
            except OSError:
                if self._dir(state.upload_id).exists():
                    return False
                raise
            _fsync_path(self.root)
            return True
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @contextlib.contextmanager
    def _locked(self, uid: uuid.UUID) -> Iterator[UploadState]:
        """Hold the upload's lock and yield its state; EvidenceNotFound if it is gone."""
        lock_path = self._dir(uid) / "lock"
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR)
            except FileNotFoundError:
                raise _not_found(uid) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    same = lock_path.stat().st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:  # not removed (and perhaps re-created) while we waited
                    yield self._load(uid)
                    return
            finally:
                os.close(fd)  # also releases the lock

    def _load(self, uid: uuid.UUID) -> UploadState:
        try:
            with open(self._dir(uid) / "state.json", encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise _not_found(uid) from None
        except (OSError, ValueError) as exc:
            raise EvidenceStorageError(
                "state_corrupt", f"upload {uid} state cannot be read: {exc}", "upload_id"
            ) from exc
        return UploadState.from_json(data)

    def _save(self, state: UploadState) -> None:
        try:
            _write_json_atomic(self._dir(state.upload_id) / "state.json", state.to_json())
        except OSError as exc:
            raise storage_error(exc, "saving the upload state") from exc

    def _sniff_early(self, state: UploadState) -> UploadState:
        """Check the type once the first bytes are in, so a wrong file stops early."""
        need = min(SNIFF_BYTES, state.total_size)
        if not state.received or state.received[0][0] != 0 or state.received[0][1] < need:
            return state
        try:
            with open(self._dir(state.upload_id) / "data", "rb") as f:
                head = f.read(need)
        except OSError as exc:
            raise storage_error(exc, "reading the upload") from exc
        try:
            resolved = check_declared(sniff(head), state.declared_kind, state.declared_type)
        except EvidenceRejected as exc:
            self._remove(state.upload_id)
            raise EvidenceRejected(
                exc.reason_code, f"{exc.message}; upload discarded", exc.field
            ) from exc
        state = replace(state, sniffed_mime=resolved.mime)
        self._save(state)
        return state

    def _read_data(self, uid: uuid.UUID, total_size: int) -> Iterator[bytes]:
        with open(self._dir(uid) / "data", "rb") as f:
            left = total_size
            while left > 0:
                block = f.read(min(_READ_SIZE, left))
                if not block:
                    raise OSError(f"upload {uid} data file is shorter than {total_size} bytes")
                left -= len(block)
                yield block

    def _remove(self, uid: uuid.UUID) -> None:
        """Delete an upload while holding its lock: state first, so readers see it gone."""
        d = self._dir(uid)
        for name in ("state.json", "data", "lock"):
            with contextlib.suppress(FileNotFoundError):
                (d / name).unlink()
        shutil.rmtree(d, ignore_errors=True)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
