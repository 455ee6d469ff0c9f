"""Resumable chunked uploads: any order, duplicates, resume after a lost connection, locking."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import multiprocessing
import random
import threading
import uuid
import wave
from pathlib import Path

import pytest
from PIL import Image

from enforcement.evidence import (
    EvidenceNotFound,
    EvidenceRejected,
    EvidenceStore,
    UploadManager,
)

CHUNK = 16_384


def make_jpeg(size: tuple[int, int] = (900, 700)) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 48).convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def make_wav(seconds: float = 2.0) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(random.Random(3).randbytes(int(16000 * seconds)))
    return buf.getvalue()


def chunks_of(data: bytes, size: int = CHUNK) -> list[tuple[int, bytes]]:
    return [(i, data[i : i + size]) for i in range(0, len(data), size)]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


@pytest.fixture
def uploads(tmp_path: Path, store: EvidenceStore) -> UploadManager:
    return UploadManager(tmp_path / "uploads", store)


def leftovers(manager: UploadManager) -> list[Path]:
    return sorted(manager.root.iterdir())


def test_random_order_with_duplicates_and_resume_after_status(
    tmp_path: Path, store: EvidenceStore, uploads: UploadManager
) -> None:
    data = make_jpeg()
    upload_id = uuid.uuid4()
    state = uploads.begin(upload_id, len(data), "photo", "image/jpeg", sha(data))
    assert state.missing == ((0, len(data)),) and state.received_bytes == 0
    rng = random.Random(2024)
    pieces = chunks_of(data)
    rng.shuffle(pieces)
    # The tablet sends about half (some twice), then loses its connection.
    sent = pieces[: len(pieces) // 2]
    for offset, block in sent + rng.sample(sent, 5):
        uploads.put_chunk(upload_id, offset, block)
    # Later, possibly another worker process: ask what is missing and send only that.
    resumed = UploadManager(tmp_path / "uploads", store)
    status = resumed.status(str(upload_id))
    assert status.received_bytes == sum(len(b) for _, b in sent)
    assert not status.is_complete
    for start, end in status.missing:
        for offset in range(start, end, 5000):  # other chunk boundaries than the first time
            resumed.put_chunk(upload_id, offset, data[offset : min(offset + 5000, end)])
    assert resumed.status(upload_id).is_complete
    assert resumed.status(upload_id).sniffed_mime == "image/jpeg"
    # A late duplicate of an old chunk is still fine.
    resumed.put_chunk(upload_id, *pieces[0])
    stored = resumed.complete(upload_id)
    assert (stored.sha256, stored.size, stored.mime, stored.kind) == (
        sha(data),
        len(data),
        "image/jpeg",
        "photo",
    )
    with store.open(stored.sha256) as f:
        assert f.read() == data
    assert leftovers(resumed) == []
    with pytest.raises(EvidenceNotFound) as excinfo:
        resumed.status(upload_id)
    assert excinfo.value.reason_code == "upload_not_found"


def test_conflicting_overlap_refused(uploads: UploadManager) -> None:
    data = make_wav()
    upload_id = uuid.uuid4()
    uploads.begin(upload_id, len(data), "audio", "audio/wav", sha(data))
    uploads.put_chunk(upload_id, 0, data[:20_000])
    before = uploads.status(upload_id)
    tampered = bytearray(data[10_000:30_000])
    tampered[5_000] ^= 0x01  # inside the already received part
    with pytest.raises(EvidenceRejected) as excinfo:
        uploads.put_chunk(upload_id, 10_000, bytes(tampered))
    error = excinfo.value
    assert (error.reason_code, error.field, error.http_status) == ("chunk_conflict", "data", 409)
    assert "[10000, 20000)" in error.message
    assert uploads.status(upload_id).received == before.received == ((0, 20_000),)
    # An overlap with the same bytes extends the upload.
    assert uploads.put_chunk(upload_id, 10_000, data[10_000:30_000]).received == ((0, 30_000),)
    # Bytes beyond what was received are not compared (nothing to compare with).
    uploads.put_chunk(upload_id, 30_000, data[30_000:])
    assert uploads.complete(upload_id).sha256 == sha(data)


def test_chunk_and_begin_validation(uploads: UploadManager, store: EvidenceStore) -> None:
    data = make_wav()
    upload_id = uuid.uuid4()
    state = uploads.begin(upload_id, len(data), "audio", "audio/x-wav", sha(data))
    assert state.declared_type == "audio/wav"  # alias normalised
    cases = [
        (lambda: uploads.put_chunk(upload_id, len(data) - 10, b"x" * 11), "chunk_out_of_range"),
        (lambda: uploads.put_chunk(upload_id, -1, b"x"), "offset_invalid"),
        (lambda: uploads.put_chunk(upload_id, 0, b""), "chunk_empty"),
        (lambda: uploads.put_chunk("../../etc", 0, b"x"), "upload_id_invalid"),
        (lambda: uploads.begin(uuid.uuid4(), 0, "audio", None, sha(data)), "size_invalid"),
        (
            lambda: uploads.begin(uuid.uuid4(), store.max_bytes + 1, "video", None, sha(data)),
            "too_large",
        ),
        (lambda: uploads.begin(uuid.uuid4(), 10, "audio", None, "../x"), "sha256_invalid"),
        (lambda: uploads.begin(uuid.uuid4(), 10, "document", None, sha(data)), "kind_invalid"),
        # Same id, other parameters: a conflict, not a silent reset.
        (
            lambda: uploads.begin(upload_id, len(data) + 1, "audio", None, sha(data)),
            "upload_exists",
        ),
        (lambda: uploads.complete(upload_id), "upload_incomplete"),
    ]
    for call, code in cases:
        with pytest.raises(EvidenceRejected) as excinfo:
            call()
        assert excinfo.value.reason_code == code, code
    # begin again with the same values (a retry after a lost answer) is fine.
    assert (
        uploads.begin(upload_id, len(data), "audio", "audio/wav", sha(data)).upload_id == upload_id
    )
    with pytest.raises(EvidenceNotFound):
        uploads.put_chunk(uuid.uuid4(), 0, b"x")
    assert [p.name for p in leftovers(uploads)] == [str(upload_id)]


def test_incomplete_upload_reports_missing_ranges(uploads: UploadManager) -> None:
    data = make_wav()
    upload_id = uuid.uuid4()
    uploads.begin(upload_id, len(data), "audio", None, sha(data))
    uploads.put_chunk(upload_id, 0, data[:10_000])
    uploads.put_chunk(upload_id, 20_000, data[20_000:25_000])
    assert uploads.status(upload_id).missing == ((10_000, 20_000), (25_000, len(data)))
    with pytest.raises(EvidenceRejected) as excinfo:
        uploads.complete(upload_id)
    assert "[10000, 20000)" in excinfo.value.message
    assert uploads.status(upload_id).received_bytes == 15_000  # still there to finish


def test_wrong_type_refused_at_the_first_chunk(uploads: UploadManager) -> None:
    data = make_wav()
    upload_id = uuid.uuid4()
    uploads.begin(upload_id, len(data), "photo", "image/jpeg", sha(data))
    uploads.put_chunk(upload_id, 20_000, data[20_000:30_000])  # not the head yet: accepted
    with pytest.raises(EvidenceRejected) as excinfo:
        uploads.put_chunk(upload_id, 0, data[:CHUNK])
    assert excinfo.value.reason_code == "kind_mismatch"
    assert "upload discarded" in excinfo.value.message
    assert leftovers(uploads) == []


def test_hash_mismatch_on_complete_discards_the_upload(
    uploads: UploadManager, store: EvidenceStore
) -> None:
    data = make_jpeg()
    upload_id = uuid.uuid4()
    uploads.begin(upload_id, len(data), "photo", None, sha(data + b"other"))
    for offset, block in chunks_of(data):
        uploads.put_chunk(upload_id, offset, block)
    with pytest.raises(EvidenceRejected) as excinfo:
        uploads.complete(upload_id)
    assert excinfo.value.reason_code == "hash_mismatch"
    assert leftovers(uploads) == []
    assert not store.exists(sha(data))


def test_abort_and_purge_stale(uploads: UploadManager) -> None:
    data = make_wav()
    kept, dropped, stale = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for upload_id in (kept, dropped, stale):
        uploads.begin(upload_id, len(data), "audio", None, sha(data))
    assert uploads.abort(dropped) is True
    assert uploads.abort(dropped) is False
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    uploads.put_chunk(kept, 0, data[:100])
    assert uploads.purge_stale(dt.timedelta(days=3, hours=1), now=later) == []
    purged = uploads.purge_stale(dt.timedelta(days=2), now=later)
    assert sorted(purged) == sorted([kept, stale])
    assert leftovers(uploads) == []


def test_concurrent_requests_for_one_upload_do_not_corrupt_it(uploads: UploadManager) -> None:
    data = make_jpeg((800, 600))
    upload_id = uuid.uuid4()
    uploads.begin(upload_id, len(data), "photo", "image/jpeg", sha(data))
    pieces = chunks_of(data, 8_192)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def tablet(seed: int) -> None:
        order = pieces[:]
        random.Random(seed).shuffle(order)
        barrier.wait()
        try:
            for offset, block in order:
                uploads.put_chunk(upload_id, offset, block)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=tablet, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert uploads.status(upload_id).is_complete
    assert uploads.complete(upload_id).sha256 == sha(data)


def _race(uploads: UploadManager, upload_id: uuid.UUID, blocks: list[bytes]) -> list[str]:
    """Send each block at offset 0 from its own thread, all at once; the outcomes."""
    barrier = threading.Barrier(len(blocks))
    outcomes: list[str] = []

    def write(block: bytes) -> None:
        barrier.wait()
        try:
            uploads.put_chunk(upload_id, 0, block)
            outcomes.append("ok")
        except EvidenceRejected as exc:
            outcomes.append(exc.reason_code)

    threads = [threading.Thread(target=write, args=(b,)) for b in blocks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_concurrent_conflicting_writers_exactly_one_wins(uploads: UploadManager) -> None:
    data = make_wav()
    other = bytearray(data[:20_000])
    other[15_000] ^= 0xFF
    for round_ in range(10):
        upload_id = uuid.uuid4()
        uploads.begin(upload_id, len(data), "audio", None, sha(data))
        outcomes = _race(uploads, upload_id, [data[:20_000], bytes(other)])
        assert outcomes == ["chunk_conflict", "ok"], round_
        assert uploads.status(upload_id).received == ((0, 20_000),)


def _process_worker(args: tuple[str, str, str, list[tuple[int, bytes]]]) -> int:
    uploads_root, store_root, upload_id, pieces = args
    manager = UploadManager(Path(uploads_root), EvidenceStore(Path(store_root)))
    for offset, block in pieces:
        manager.put_chunk(upload_id, offset, block)
    return len(pieces)


def test_concurrent_processes_share_an_upload(tmp_path: Path, uploads: UploadManager) -> None:
    data = make_jpeg((800, 600))
    upload_id = str(uuid.uuid4())
    uploads.begin(upload_id, len(data), "photo", None, sha(data))
    pieces = chunks_of(data, 8_192)
    jobs = []
    for seed in range(4):  # every process sends everything, in its own order
        order = pieces[:]
        random.Random(seed).shuffle(order)
        jobs.append((str(uploads.root), str(uploads.store.root), upload_id, order))
    with multiprocessing.get_context("fork").Pool(4) as pool:
        assert pool.map(_process_worker, jobs) == [len(pieces)] * 4
    assert uploads.complete(upload_id).sha256 == sha(data)
