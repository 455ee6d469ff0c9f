"""Evidence of field inspections: photos, video and audio, kept apart from the record.

Plain Python on the file system (no database, no web): the API streams uploads into an
:class:`EvidenceStore` (content-addressed by SHA-256, type sniffed, size-limited) directly or
through an :class:`UploadManager` (resumable chunked uploads), and the on-site record lists
the returned hashes. :func:`read_capture_metadata` and :func:`compare_with_checkin` check a
photo's EXIF time and position against the inspector's check-in.

Errors carry a stable ``reason_code``, a message and the field at fault:
:class:`EvidenceRejected` (the client's fault), :class:`EvidenceNotFound`,
:class:`EvidenceStorageError` (ours, e.g. ``disk_full``); ``REASON_HTTP_STATUS`` maps codes
to HTTP statuses.
"""

from enforcement.evidence.exif import (
    CaptureMetadata,
    EvidenceCheck,
    compare_with_checkin,
    read_capture_metadata,
)
from enforcement.evidence.sniff import (
    DEFAULT_MAX_PIXELS,
    KINDS,
    REASON_HTTP_STATUS,
    EvidenceError,
    EvidenceNotFound,
    EvidenceRejected,
    EvidenceStorageError,
    SniffedType,
    check_declared,
    find_polyglot,
    inspect_content,
    normalize_content_type,
    sniff,
)
from enforcement.evidence.store import (
    DEFAULT_MAX_BYTES,
    EvidenceStore,
    StoredEvidence,
    safe_display_name,
    validate_sha256,
)
from enforcement.evidence.uploads import UploadManager, UploadState

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "KINDS",
    "REASON_HTTP_STATUS",
    "CaptureMetadata",
    "EvidenceCheck",
    "EvidenceError",
    "EvidenceNotFound",
    "EvidenceRejected",
    "EvidenceStorageError",
    "EvidenceStore",
    "SniffedType",
    "StoredEvidence",
    "UploadManager",
    "UploadState",
    "check_declared",
    "compare_with_checkin",
    "find_polyglot",
    "inspect_content",
    "normalize_content_type",
    "read_capture_metadata",
    "safe_display_name",
    "sniff",
    "validate_sha256",
]
