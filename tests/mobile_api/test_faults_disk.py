"""Fault test: the evidence store on a full disk.

The store lives on a small tmpfs mounted for this module (we run as root; it is unmounted
afterwards), and files larger than the space left are uploaded through the API, whole and
resumable. Checked: a clear 507 in the envelope naming the full storage; no object, no
temporary file and no half-made upload left behind; the inspection unchanged (same version,
no attachment, no file row); and once space is freed the same upload goes through. A tmpfs
with few inodes also makes a directory impossible to create (``ENOSPC`` from ``mkdir``).

Each scenario prints what it did and what it found (``pytest -s`` shows it).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from PIL import Image
from pyramid.router import Router
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from enforcement.models import EvidenceFile, FieldInspection, InspectionEvidence
from tests.field_work import PASSWORD, FieldWork, drawn_field_work

DEVICE_TIME = "2025-04-02T01:30:00Z"
DISK_BYTES = 4 * 1024 * 1024
INODES = 64


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required for this test under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def small_disk() -> Iterator[Path]:
    """A 4 MiB tmpfs with 64 inodes, unmounted afterwards."""
    mountpoint = Path(tempfile.mkdtemp(prefix="suijian-small-disk-"))
    options = f"size={DISK_BYTES},nr_inodes={INODES},mode=0755"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        mountpoint.rmdir()
        _unavailable(f"cannot mount a tmpfs (root needed): {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)
        mountpoint.rmdir()


@pytest.fixture(scope="module")
def disk_app(web_engine: Engine, build_app: Callable[..., Router], small_disk: Path) -> Router:
    return build_app(web_engine, **{"suijian.evidence_dir": str(small_disk / "evidence")})


@pytest.fixture
def app(disk_app: Router, data: Session, small_disk: Path) -> Iterator[webtest.TestApp]:
    yield webtest.TestApp(disk_app)
    for entry in small_disk.iterdir():  # each test starts from an empty disk
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def token(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


def noisy_png(size: int, seed: int) -> bytes:
    """A real PNG of about ``size`` bytes (noise does not compress)."""
    side = int((size / 3) ** 0.5) + 1
    pixels = random.Random(seed).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, format="PNG", compress_level=0)
    return out.getvalue()


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def files_under(root: Path) -> list[str]:
    """Every file below ``root`` (relative), temporary files included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def snapshot(data: Session, inspection_uuid: uuid.UUID) -> dict[str, Any]:
    data.commit()  # see what the app committed
    inspection = data.scalar(select(FieldInspection).where(FieldInspection.uuid == inspection_uuid))
    assert inspection is not None
    data.refresh(inspection)
    return {
        "version": inspection.version,
        "attachments": data.scalar(
            select(func.count())
            .select_from(InspectionEvidence)
            .where(InspectionEvidence.inspection_id == inspection.id)
        ),
        "files": data.scalar(select(func.count()).select_from(EvidenceFile)),
    }


def check_in(app: webtest.TestApp, field: FieldWork, headers: dict[str, str]) -> uuid.UUID:
    inspection = uuid.uuid4()
    body = {
        "task": str(field.task.uuid),
        "checkin": {"lon": field.lon, "lat": field.lat, "accuracy_m": 10,
                    "device_time": DEVICE_TIME},
    }  # fmt: skip
    app.put_json(f"/api/v1/inspections/{inspection}", body, headers=headers, status=201)
    return inspection


def assert_disk_full(answer: webtest.TestResponse) -> dict[str, Any]:
    assert answer.status_int == 507, answer.text[:300]
    error = answer.json["error"]
    assert error["code"] == "disk_full"
    assert "full" in error["detail"] and "nothing was kept" in error["detail"]
    return error


def test_an_upload_larger_than_the_free_space(
    app: webtest.TestApp, data: Session, small_disk: Path
) -> None:
    field = drawn_field_work(data)
    lead = token(app, "field-lead")
    store = small_disk / "evidence"
    inspection = check_in(app, field, lead)

    small = noisy_png(20_000, seed=1)
    upload = {**lead, "Content-Type": "image/png", "X-Evidence-Kind": "photo"}
    app.post("/api/v1/evidence", small, headers=upload, status=201)
    attach = {"sha256": hashlib.sha256(small).hexdigest(), "caption": "门头"}
    app.put_json(f"/api/v1/inspections/{inspection}/evidence/{uuid.uuid4()}", attach, headers=lead)
    before, files_before = snapshot(data, inspection), files_under(store)
    print(f"\n[disk-fault] a 4 MiB tmpfs; one photo stored and attached: {before}")

    # 1. One request, the whole file: bigger than the space left.
    big = noisy_png(int(free_bytes(small_disk) * 1.5), seed=2)
    free = free_bytes(small_disk)
    answer = app.post("/api/v1/evidence", big, headers=upload, expect_errors=True)
    error = assert_disk_full(answer)
    print(f"[disk-fault] POST /evidence of {len(big)} bytes with {free} free: "
          f"{answer.status_int} {error['code']}: {error['detail']}")  # fmt: skip
    assert files_under(store) == files_before  # no object, nothing in .tmp
    assert free_bytes(small_disk) == free  # the partial temporary file is gone
    refused = app.put_json(
        f"/api/v1/inspections/{inspection}/evidence/{uuid.uuid4()}",
        {"sha256": hashlib.sha256(big).hexdigest()},
        headers=lead,
        status=422,
    )
    assert "upload it first" in str(refused.json["error"]["fields"]["sha256"])
    assert snapshot(data, inspection) == before
    print("[disk-fault]   store, temp dir and inspection unchanged; attaching it is refused (422)")

    # 2. Resumable, larger than the space: refused at begin (the whole size is reserved).
    begin = {"size": len(big), "sha256": hashlib.sha256(big).hexdigest(), "kind": "photo"}
    answer = app.post_json("/api/v1/uploads", begin, headers=lead, expect_errors=True)
    error = assert_disk_full(answer)
    print(f"[disk-fault] POST /uploads for {len(big)} bytes: {answer.status_int} {error['code']}")
    assert files_under(store) == files_before and free_bytes(small_disk) == free
    print("[disk-fault]   nothing reserved is left behind (no upload, no staging directory)")

    # 3. Resumable that fits, but completing needs the space twice (upload + object).
    filler = small_disk / "filler"  # other data on the same disk, deleted below
    filler.write_bytes(b"\0" * int(free_bytes(small_disk) * 0.3))
    medium = noisy_png(int(free_bytes(small_disk) * 0.55), seed=3)
    sha = hashlib.sha256(medium).hexdigest()
    begun = app.post_json(
        "/api/v1/uploads", {"size": len(medium), "sha256": sha, "kind": "photo"}, headers=lead
    ).json
    half = len(medium) // 2
    for start, end in ((half, len(medium)), (0, half)):
        app.put(
            f"/api/v1/uploads/{begun['id']}",
            medium[start:end],
            headers={**lead, "Content-Range": f"bytes {start}-{end - 1}/{len(medium)}"},
        )
    complete = f"/api/v1/uploads/{begun['id']}/complete"
    answer = app.post_json(complete, {}, headers=lead, expect_errors=True)
    error = assert_disk_full(answer)
    print(f"[disk-fault] completing an upload of {len(medium)} bytes needs it twice: "
          f"{answer.status_int} {error['code']}")  # fmt: skip
    assert not list((store / ".tmp").iterdir())
    status = app.get(f"/api/v1/uploads/{begun['id']}", headers=lead).json
    assert status["received"] == len(medium) and status["missing"] == []
    assert snapshot(data, inspection) == before
    print("[disk-fault]   no temporary object left; the received upload is kept for a retry")

    # Space freed (the other data goes): the same request now succeeds.
    filler.unlink()
    stored = app.post_json(complete, {}, headers=lead, status=201).json
    assert stored["sha256"] == sha
    app.put_json(
        f"/api/v1/inspections/{inspection}/evidence/{uuid.uuid4()}", {"sha256": sha}, headers=lead
    )
    after = snapshot(data, inspection)
    grown = {"version": 1, "attachments": 1, "files": 1}
    assert after == {key: value + grown[key] for key, value in before.items()}
    print(f"[disk-fault]   after freeing space the retried complete stored it: {after}")


def test_no_inode_left_for_a_first_upload(
    app: webtest.TestApp, data: Session, small_disk: Path
) -> None:
    """``mkdir`` fails with ENOSPC when the file system has no inode left: a user's first
    resumable upload must say the storage is full, not crash with a 500."""
    drawn_field_work(data)
    member = token(app, "field-member")
    photo = noisy_png(5_000, seed=4)
    app.post(  # the store exists (its directories made)
        "/api/v1/evidence",
        photo,
        headers={**member, "Content-Type": "image/png", "X-Evidence-Kind": "photo"},
        status=201,
    )
    fillers = small_disk / "inodes"
    fillers.mkdir()
    count = 0
    with pytest.raises(OSError):
        while True:
            (fillers / str(count)).touch()
            count += 1
    begin = {"size": 1000, "sha256": "cd" * 32, "kind": "photo"}
    answer = app.post_json("/api/v1/uploads", begin, headers=member, expect_errors=True)
    print(f"\n[disk-fault] no inode left ({count} empty files made): first resumable upload "
          f"of a user answers {answer.status_int} {answer.json['error']['code']}")  # fmt: skip
    assert_disk_full(answer)
    shutil.rmtree(fillers)
    answer = app.post_json("/api/v1/uploads", begin, headers=member, status=201)
    print(f"[disk-fault] inodes freed: the same request answers {answer.status_int}")
