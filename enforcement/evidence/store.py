"""Content-addressed evidence store on the file system.

Layout under ``root``::

    root/.tmp/upload-*.part      being written (same file system, so the final rename is atomic)
    root/ab/cd/abcd…(64 hex)     an object, named by the SHA-256 of its bytes, read-only

An object appears under its name only complete, fsynced and checked: bytes are streamed to a
temporary file while hashing, the type is sniffed from the first bytes (a wrong type stops the
upload early), the limit is enforced as bytes arrive, and only then is the file renamed into
place. On any error the temporary file is removed, so a full disk or a refused upload leaves
nothing behind. The same content stored twice is one object.

Paths are derived from validated hashes only; client file names are metadata
(:func:`safe_display_name`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from enforcement.evidence.sniff import (
    DEFAULT_MAX_PIXELS,
    SNIFF_BYTES,
    EvidenceNotFound,
    EvidenceRejected,
    EvidenceStorageError,
    Kind,
    check_declared,
    inspect_content,
    sniff,
    validate_kind,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EvidenceStore",
    "StoredEvidence",
    "safe_display_name",
    "storage_error",
    "validate_sha256",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_READ_SIZE = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TMP_DIR = ".tmp"


@dataclass(frozen=True)
class StoredEvidence:
    sha256: str
    size: int
    mime: str
    kind: Kind
    path: Path
    extension: str = ""
    created: bool = True  # False when the same content was already stored (deduplicated)


def validate_sha256(value: object, field: str = "sha256") -> str:
    """``value`` if it is 64 lowercase hex digits, else :class:`EvidenceRejected`."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        shown = repr(value)[:80]
        raise EvidenceRejected(
            "sha256_invalid", f"must be 64 lowercase hexadecimal digits, got {shown}", field
        )
    return value


def storage_error(exc: OSError, action: str) -> EvidenceStorageError:
    """Our side failed: say plainly when the disk is full."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return EvidenceStorageError(
            "disk_full",
            f"evidence storage is full (disk full or quota exceeded) while {action}; "
            "nothing was kept, try again later",
        )
    return EvidenceStorageError(
        "storage_error", f"evidence storage failed while {action}: {exc}; nothing was kept"
    )


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10))} | {
    f"LPT{i}" for i in range(1, 10)
}


def safe_display_name(name: object, max_length: int = 120) -> str:
    """A client file name made safe to show and to offer as a download name.

    Keeps the last path component (``/`` and ``\\``), drops control and format characters
    (including bidi overrides such as U+202E that disguise extensions), replaces characters
    Windows forbids, strips leading dots and spaces, and shortens to ``max_length``
    characters keeping the extension. Never used to build a path. Empty → ``"unnamed"``.
    """
    if not isinstance(name, str):
        return "unnamed"
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn") or ch.isspace()
    )
    text = re.sub(r'[<>:"|?*]', "_", text)
    text = re.sub(r" +", " ", text).strip().lstrip(".").strip()
    if not text:
        return "unnamed"
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext) > 10:
        stem, dot, ext = text, "", ""
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    if len(stem) + len(dot) + len(ext) > max_length:
        stem = stem[: max(1, max_length - len(dot) - len(ext))].rstrip()
    return (stem + dot + ext)[:max_length] or "unnamed"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class EvidenceStore:
    """Evidence objects under ``root``, named by SHA-256; see the module docstring."""

    def __init__(
        self,
        root: Path | str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        if max_bytes <= 0 or max_pixels <= 0:
            raise ValueError("max_bytes and max_pixels must be positive")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self._tmp = self.root / _TMP_DIR
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a full disk (or no inode left) on first use: say so
            raise storage_error(exc, "creating the store's directories") from exc

    def path_for(self, sha256: str) -> Path:
        """Where the object named ``sha256`` lives (validated first; never a client name)."""
        digest = validate_sha256(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """The object's bytes for reading; :class:`EvidenceNotFound` if there is none."""
        path = self.path_for(sha256)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise EvidenceNotFound("not_found", f"no evidence {sha256}", "sha256") from None

    def verify(self, sha256: str) -> bool:
        """Re-hash the object: True when its bytes still match its name (bit rot check)."""
        digest = hashlib.sha256()
        with self.open(sha256) as f:
            while block := f.read(_READ_SIZE):
                digest.update(block)
        return digest.hexdigest() == sha256

    def purge_stale_temp(self, max_age: dt.timedelta) -> int:
        """Remove temporary files older than ``max_age`` (left by a crash); how many.

        ``max_age`` must exceed the longest upload, or a live upload loses its file.
        """
        cutoff = time.time() - max_age.total_seconds()
        removed = 0
        for part in self._tmp.glob("upload-*.part"):
            with contextlib.suppress(FileNotFoundError):
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
        return removed

    def put_stream(
        self,
        chunks: Iterable[bytes],
        *,
        declared_kind: str,
        declared_type: str | None = None,
        expected_sha256: str | None = None,
    ) -> StoredEvidence:
        """Store the bytes of ``chunks`` as one evidence object; see the module docstring.

        Raises :class:`EvidenceRejected` (client's fault: ``too_large``, ``empty``, type and
        content reasons, ``hash_mismatch``) or :class:`EvidenceStorageError` (ours:
        ``disk_full``, ``storage_error``). Errors raised by ``chunks`` itself (a dropped
        connection) propagate unchanged. In every case no temporary file is left.
        """
        validate_kind(declared_kind)
        if expected_sha256 is not None:
            validate_sha256(expected_sha256, "expected_sha256")
        try:
            fd, tmp_name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=self._tmp)
        except OSError as exc:
            raise storage_error(exc, "creating a temporary file") from exc
        tmp = Path(tmp_name)
        try:
            return self._receive(fd, tmp, chunks, declared_kind, declared_type, expected_sha256)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _receive(
        self,
        fd: int,
        tmp: Path,
        chunks: Iterable[bytes],
        declared_kind: str,
        declared_type: str | None,
        expected_sha256: str | None,
    ) -> StoredEvidence:
        digest = hashlib.sha256()
        size = 0
        head = bytearray()
        resolved = None
        iterator: Iterator[bytes] = iter(chunks)
        try:
            for chunk in iterator:
                if not chunk:
                    continue
                if size + len(chunk) > self.max_bytes:
                    raise EvidenceRejected(
                        "too_large",
                        f"more than the limit of {self.max_bytes} bytes; upload stopped",
                        "content",
                    )
                try:
                    _write_all(fd, chunk)
                except OSError as exc:
                    raise storage_error(exc, "writing the upload") from exc
                digest.update(chunk)
                size += len(chunk)
                if resolved is None and len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if len(head) >= SNIFF_BYTES:  # refuse a wrong type before the rest arrives
                        resolved = check_declared(sniff(head), declared_kind, declared_type)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # stop a generator from reading further
                close()
        if size == 0:
            raise EvidenceRejected("empty", "no bytes received", "content")
        if resolved is None:
            resolved = check_declared(sniff(head), declared_kind, declared_type)
        try:
            os.fsync(fd)
        except OSError as exc:
            raise storage_error(exc, "flushing the upload to disk") from exc
        sha256 = digest.hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise EvidenceRejected(
                "hash_mismatch",
                f"content hashes to {sha256}, not the expected {expected_sha256}",
                "expected_sha256",
            )
        try:
            inspect_content(tmp, size, resolved, max_pixels=self.max_pixels)
        except OSError as exc:  # reading our own temporary file back failed
            raise storage_error(exc, "checking the upload") from exc
        target = self.path_for(sha256)
        try:
            created = self._install(tmp, target)
        except OSError as exc:
            raise storage_error(exc, "moving the upload into place") from exc
        return StoredEvidence(
            sha256=sha256,
            size=size,
            mime=resolved.mime,
            kind=resolved.kind,
            path=target,
            extension=resolved.extension,
            created=created,
        )

    def _install(self, tmp: Path, target: Path) -> bool:
        """Rename ``tmp`` to ``target`` atomically; False if identical content was there."""
        with contextlib.suppress(FileNotFoundError):
            if target.stat().st_size == tmp.stat().st_size:
                tmp.unlink()  # same name, same bytes: keep the existing object
                return False
            # Same name, other size: the stored copy is damaged; the new one replaces it.
        new_dirs = [d for d in (target.parent.parent, target.parent) if not d.is_dir()]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o444)
        # A concurrent put of the same bytes may win the race: replacing it is harmless.
        tmp.replace(target)
        _fsync_dir(target.parent)
        for d in new_dirs:
            _fsync_dir(d.parent)
        return True
