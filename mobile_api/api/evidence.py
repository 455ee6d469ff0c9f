"""Evidence over the API: uploads (whole or resumable), fetching a file, attaching it to an
inspection, and the inspection's on-site record PDF.

Raw-body routes (``POST /evidence``, ``PUT /uploads/{id}``) are registered with
``openapi=False``: pyramid_openapi3 would read the whole body into memory to validate it, and
these bodies are streamed to disk with the size limit enforced as bytes arrive. They are
still described in ``openapi.yaml``; their headers are checked here, with the same error
envelope. The binary responses (a file, the PDF) are likewise not validated against the
document (openapi-core validates JSON bodies), their routes are ``openapi=False`` too.

Evidence refusals carry the store's stable reason code as the envelope's ``code``
(``too_large`` 413, ``type_not_allowed``/``type_unknown``/``type_mismatch`` 415, ``polyglot``
422, ``disk_full`` 507…) and name the offending request field.
"""

from __future__ import annotations

import itertools
import json
import logging
import mimetypes
import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import FileIter, Response
from pyramid.view import exception_view_config, view_config

from enforcement.evidence import (
    EvidenceError,
    EvidenceNotFound,
    EvidenceRejected,
    StoredEvidence,
    UploadManager,
    UploadState,
    sniff,
)
from enforcement.evidence.sniff import SNIFF_BYTES, validate_kind
from enforcement.models import EvidenceFile, InspectionStatus
from enforcement.reasons import reason_of
from enforcement.services.evidence import (
    AttachmentConflictError,
    EvidenceService,
    attachment_document,
    evidence_document,
    evidence_store,
    upload_manager,
)
from enforcement.services.onsite_record import PDF_MEDIA_TYPE, RecordIncompleteError, ensure_record
from mobile_api.api import api_view
from mobile_api.api_errors import API_PATHS, ValidationError, envelope
from mobile_api.i18n import localize
from mobile_api.security import Permission

log = logging.getLogger(__name__)

READ_BLOCK = 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_FIELDS_KEY = "suijian.evidence_fields"
_KIND_BY_MAJOR = {"image": "photo", "video": "video", "audio": "audio"}

#: Messages of the evidence reason codes (zh_CN, en); the envelope's ``fields`` and
#: ``detail`` keep the store's precise English explanation.
MESSAGES: dict[str, tuple[str, str]] = {
    "empty": ("没有收到文件内容。", "No file content was received."),
    "too_large": ("文件超过允许的大小。", "The file is larger than allowed."),
    "type_unknown": ("无法识别文件类型。", "The file type is not recognised."),
    "type_not_allowed": (
        "不接受此类文件：只接受照片、视频和录音。",
        "This type of file is not accepted: only photos, video and audio.",
    ),
    "kind_invalid": ("证据类别无效。", "The evidence kind is not valid."),
    "kind_mismatch": (
        "文件内容与声明的证据类别不符。",
        "The content does not match the declared kind of evidence.",
    ),
    "type_mismatch": (
        "文件内容与声明的类型不符。",
        "The content does not match the declared content type.",
    ),
    "polyglot": (
        "文件同时是另一种格式（可能含有隐藏内容），已拒收。",
        "The file is also another format (possibly hidden content) and was refused.",
    ),
    "image_too_large": ("图片像素过多，已拒收。", "The image has too many pixels."),
    "image_corrupt": ("图片文件已损坏或不完整。", "The image is damaged or incomplete."),
    "media_corrupt": ("音视频文件已损坏或不完整。", "The media file is damaged or incomplete."),
    "hash_mismatch": (
        "文件的 SHA-256 与声明的不一致。",
        "The file's SHA-256 differs from the one declared.",
    ),
    "sha256_invalid": ("SHA-256 格式无效。", "The SHA-256 is not valid."),
    "upload_id_invalid": ("上传编号无效。", "The upload id is not valid."),
    "size_invalid": ("文件大小无效。", "The size is not valid."),
    "offset_invalid": ("分片位置无效。", "The chunk position is not valid."),
    "chunk_empty": ("分片没有内容。", "The chunk is empty."),
    "chunk_out_of_range": ("分片超出文件范围。", "The chunk lies outside the file."),
    "chunk_conflict": (
        "分片与已收到的内容不一致。",
        "The chunk contradicts bytes already received.",
    ),
    "upload_exists": ("该上传已用其他参数开始。", "This upload was begun with other values."),
    "upload_incomplete": ("文件尚未全部上传。", "Parts of the file are still missing."),
    "not_found": ("没有这个证据文件。", "There is no such evidence file."),
    "upload_not_found": ("没有这个上传。", "There is no such upload."),
    "disk_full": (
        "证据存储空间已满，请稍后重试。",
        "Evidence storage is full; try again later.",
    ),
    "storage_error": ("证据存储出错，请稍后重试。", "Evidence storage failed; try again later."),
    "state_corrupt": ("上传状态无法读取。", "The upload's state cannot be read."),
}


# ------------------------------------------------------------------------------ errors


@exception_view_config(EvidenceError, path_info=API_PATHS)
def evidence_error_view(exc: EvidenceError, request: Request) -> Response:
    """The store's refusals: its HTTP status, its reason code, the request field at fault."""
    english = request.localizer.locale_name == "en"
    zh, en = MESSAGES.get(exc.reason_code, (exc.message, exc.message))
    names: Mapping[str, str] = request.environ.get(_FIELDS_KEY) or {}
    fields = {names.get(exc.field, exc.field): exc.message} if exc.field else {}
    response = envelope(request, exc.http_status, en if english else zh, exc.reason_code, fields)
    _add_detail(response, str(exc))
    return response


def _add_detail(response: Response, detail: str, **extra: Any) -> None:
    body = json.loads(response.text)
    body["error"]["detail"] = detail
    body.update(extra)
    response.text = json.dumps(body, ensure_ascii=False)


def _field_names(request: Request, **names: str) -> None:
    request.environ[_FIELDS_KEY] = names


# ------------------------------------------------------------------------------ helpers


def _service(request: Request) -> EvidenceService:
    settings = request.registry.settings
    return EvidenceService(request.dbsession, request.identity, evidence_store(settings), settings)


def _uploads(request: Request) -> UploadManager:
    return upload_manager(request.registry.settings, request.identity.id)


def _kind_of(content_type: str | None) -> str | None:
    major = (content_type or "").split("/", 1)[0].strip().lower()
    return _KIND_BY_MAJOR.get(major)


def _body_chunks(request: Request) -> Iterator[bytes]:
    body = request.body_file
    while block := body.read(READ_BLOCK):
        yield block


def _stored_response(request: Request, stored: StoredEvidence) -> dict[str, Any]:
    row, created = _service(request).register(stored)
    request.response.status_int = 201 if created else 200
    request.response.location = request.route_url("api.evidence.item", sha256=row.sha256)
    return evidence_document(row)


def _upload_document(state: UploadState) -> dict[str, Any]:
    return {
        "id": str(state.upload_id),
        "size": state.total_size,
        "received": state.received_bytes,
        "missing": [[start, end] for start, end in state.missing],
    }


def _done_marker(request: Request, upload_id: uuid.UUID) -> Path:
    """Where a completed upload's hash is remembered, so a retried ``complete`` (its answer
    lost on a bad connection) answers like the first one."""
    root = evidence_store(request.registry.settings).root / ".uploads-done"
    return root / str(int(request.identity.id)) / str(upload_id)


def _upload_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.matchdict["upload_id"])
    except ValueError:
        raise HTTPNotFound() from None


# ------------------------------------------------------------------------------ uploads


@view_config(
    route_name="api.evidence",
    request_method="POST",
    permission=Permission.RECORD_INSPECTIONS,
    renderer="json",
    require_csrf=False,
    openapi=False,
)
def evidence_upload(request: Request) -> dict[str, Any]:
    """One request, the whole file as the body. The type is sniffed from the content; a
    declared ``Content-Type`` (other than application/octet-stream) must agree with it."""
    _field_names(
        request,
        content="body",
        declared_type="Content-Type",
        declared_kind="X-Evidence-Kind",
        expected_sha256="X-Content-SHA256",
    )
    store = evidence_store(request.registry.settings)
    length = request.content_length
    if length is not None and length > store.max_bytes:
        raise EvidenceRejected(
            "too_large",
            f"{length} bytes is more than the limit of {store.max_bytes} bytes",
            "content",
        )
    declared_type = request.headers.get("Content-Type")
    kind = request.headers.get("X-Evidence-Kind") or _kind_of(declared_type)
    if kind is not None:
        validate_kind(kind)
    expected = (request.headers.get("X-Content-SHA256") or "").strip().lower() or None
    chunks = _body_chunks(request)
    head = b""
    for block in chunks:  # enough bytes to tell the kind when nothing declared it
        head += block
        if len(head) >= SNIFF_BYTES:
            break
    if kind is None and head:
        kind = sniff(head).kind
    stored = store.put_stream(
        itertools.chain([head], chunks),
        declared_kind=kind or "photo",
        declared_type=declared_type,
        expected_sha256=expected,
    )
    return _stored_response(request, stored)


@api_view(route_name="api.uploads", request_method="POST", permission=Permission.RECORD_INSPECTIONS)
def upload_begin(request: Request) -> dict[str, Any]:
    """Begin a resumable upload: the size and SHA-256 of the whole file, and its kind (or a
    content type or file name that tells it)."""
    _field_names(
        request,
        total_size="size",
        expected_sha256="sha256",
        declared_kind="kind",
        declared_type="content_type",
        data="body",
    )
    body = request.openapi_validated.body
    content_type = body.get("content_type")
    filename = body.get("filename") or ""
    kind = body.get("kind") or _kind_of(content_type) or _kind_of(mimetypes.guess_type(filename)[0])
    if kind is None:
        raise ValidationError(
            {"kind": "say the kind (photo, video, audio), or give a content_type or file name"}
        )
    state = _uploads(request).begin(
        uuid.uuid4(), body["size"], kind, content_type, body["sha256"].lower()
    )
    request.response.status_int = 201
    request.response.location = request.route_url("api.upload", upload_id=str(state.upload_id))
    return _upload_document(state)


@view_config(
    route_name="api.upload",
    request_method="PUT",
    permission=Permission.RECORD_INSPECTIONS,
    renderer="json",
    require_csrf=False,
    openapi=False,
)
def upload_chunk(request: Request) -> dict[str, Any]:
    """One chunk at the place ``Content-Range: bytes start-end/total`` says (end inclusive).
    Chunks may come in any order and be sent again."""
    _field_names(request, offset="Content-Range", data="body", upload_id="id")
    upload_id = _upload_id(request)
    manager = _uploads(request)
    state = manager.status(upload_id)  # 404 before reading a body for nothing
    match = _CONTENT_RANGE.fullmatch((request.headers.get("Content-Range") or "").strip())
    if match is None:
        raise ValidationError({"Content-Range": "required: bytes <start>-<end>/<total>"})
    start, end, total = int(match[1]), int(match[2]), match[3]
    if end < start:
        raise ValidationError({"Content-Range": "the end is before the start"})
    if total != "*" and int(total) != state.total_size:
        raise ValidationError(
            {"Content-Range": f"the total must be the upload's size, {state.total_size}"}
        )
    if end >= state.total_size:
        raise EvidenceRejected(
            "chunk_out_of_range",
            f"bytes {start}-{end} go past the declared size {state.total_size}",
            "offset",
        )
    expected = end - start + 1
    if request.content_length is not None and request.content_length != expected:
        raise ValidationError(
            {"body": f"has {request.content_length} bytes, Content-Range says {expected}"}
        )
    data = request.body_file.read(expected + 1)
    if len(data) != expected:
        raise ValidationError({"body": f"has {len(data)} bytes, Content-Range says {expected}"})
    return _upload_document(manager.put_chunk(upload_id, start, data))


@api_view(route_name="api.upload", request_method="GET", permission=Permission.RECORD_INSPECTIONS)
def upload_status(request: Request) -> dict[str, Any]:
    _field_names(request, upload_id="id")
    request.response.cache_control = "no-store"
    return _upload_document(_uploads(request).status(_upload_id(request)))


@api_view(
    route_name="api.upload.complete",
    request_method="POST",
    permission=Permission.RECORD_INSPECTIONS,
)
def upload_complete(request: Request) -> dict[str, Any]:
    """Check the whole file (type, content, the SHA-256 announced) and keep it as evidence."""
    _field_names(request, upload_id="id", expected_sha256="sha256", declared_type="content_type")
    upload_id = _upload_id(request)
    marker = _done_marker(request, upload_id)
    try:
        stored = _uploads(request).complete(upload_id)
    except EvidenceNotFound:
        if not marker.is_file():
            raise
        sha256 = marker.read_text(encoding="ascii").strip()
        row = request.dbsession.get(EvidenceFile, sha256)
        if row is None:
            raise
        request.response.status_int = 200
        return evidence_document(row)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(stored.sha256, encoding="ascii")
    except OSError as exc:
        # The file is stored and the upload gone: failing now (a full disk) would lose the
        # answer for nothing. Only a retry of this very request loses its shortcut.
        log.warning("cannot remember completed upload %s: %s", upload_id, exc)
    return _stored_response(request, stored)


# ------------------------------------------------------------------------------ reading


def _file_response(
    request: Request, path: Path, media_type: str, etag: str, filename: str
) -> Response:
    response = Response(content_type=media_type, conditional_response=True)
    if media_type.startswith("text/") or media_type.endswith("json"):
        response.charset = None
    response.etag = etag
    response.cache_control = "private, max-age=31536000, immutable"  # content-addressed
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.content_disposition = f"inline; filename*=UTF-8''{quote(filename)}"
    response.content_length = path.stat().st_size
    response.app_iter = FileIter(path.open("rb"), READ_BLOCK)  # closed by the WSGI server
    return response


@view_config(
    route_name="api.evidence.item",
    request_method="GET",
    permission=Permission.AUTHENTICATED,
    openapi=False,
)
def evidence_download(request: Request) -> Response:
    """The bytes, for the uploader and whoever may read an inspection that uses them."""
    sha256 = request.matchdict["sha256"]
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise HTTPNotFound()
    row = _service(request).file(sha256)
    store = evidence_store(request.registry.settings)
    path = store.path_for(sha256)
    if not path.is_file():
        raise EvidenceNotFound("not_found", f"evidence {sha256} is not in the store", "sha256")
    extension = mimetypes.guess_extension(row.media_type) or ""
    return _file_response(request, path, row.media_type, sha256, f"{sha256}{extension}")


# ------------------------------------------------------------------------------ inspections


def _inspection_uuid(request: Request, key: str = "inspection_uuid") -> uuid.UUID:
    try:
        return uuid.UUID(request.matchdict[key])
    except ValueError:
        raise HTTPNotFound() from None


@api_view(
    route_name="api.inspection.evidence",
    request_method="PUT",
    permission=Permission.RECORD_INSPECTIONS,
)
def attach_evidence(request: Request) -> dict[str, Any] | Response:
    """Attach an uploaded file: 201 new, 200 a replay, 409 with the stored version."""
    body = request.openapi_validated.body
    service = _service(request)
    try:
        attachment, created = service.attach(
            _inspection_uuid(request),
            _inspection_uuid(request, "attachment_uuid"),
            body["sha256"],
            body.get("caption"),
            body.get("captured_at"),
        )
    except AttachmentConflictError as exc:
        response = envelope(request, 409)
        extra = {} if exc.current is None else {"current": exc.current}
        _add_detail(response, localize(request, reason_of(exc)), **extra)
        return response
    request.response.status_int = 201 if created else 200
    request.response.etag = str(attachment.inspection.version)
    return attachment_document(attachment)


@view_config(
    route_name="api.inspection.record",
    request_method="GET",
    permission=Permission.AUTHENTICATED,
    openapi=False,
)
def inspection_record(request: Request) -> Response:
    """The on-site record of a finished inspection (rendered now if the worker has not yet)."""
    service = _service(request)
    inspection = service.readable_inspection(_inspection_uuid(request))
    if inspection.status != InspectionStatus.FINISHED:
        raise HTTPNotFound()
    store = service.store
    try:
        sha256, _ = ensure_record(request.dbsession, inspection, store)
    except RecordIncompleteError as exc:
        return envelope(request, 409, code="record_incomplete", detail=reason_of(exc))
    filename = f"现场检查笔录-{inspection.uuid}.pdf"
    return _file_response(request, store.path_for(sha256), PDF_MEDIA_TYPE, sha256, filename)
