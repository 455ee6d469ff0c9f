"""Load benchmark: 64 tablets submit complete inspections with evidence; the feed must agree.

Used by ``suijian bench load``; see docs/reliability.md ("Load") and docs/benchmarks.md. Built
on ``enforcement.bench_api`` (the data, the served application, the client threads and their
minimal HTTP client); what is new here is the submission, the worker and the data center:

* the database (a throwaway PostgreSQL+PostGIS, or ``database_url``) gets the demo registry, a
  drawn plan and open tasks for each client's own two-officer team (``bench_api.prepare``);
* the reference data-center receiver runs as ``suijian datacenter serve`` in a child process
  (its own SQLite store) and the application as ``suijian serve --with-worker``: waitress plus
  a real Celery worker (prefork, with the scheduler) on Redis, which drains the outbox (the
  on-site record PDF, the enterprise's re-rating) and delivers the feed to the receiver;
* a submission is what a tablet sends for one inspection with a problem found: the check-in
  at the enterprise (geolocation), the evidence photo uploaded (a JPEG whose EXIF position and
  time match the check-in) and attached, the checklist answers (one item non-compliant), a
  finding citing the photo, the signature PNG uploaded and the signature, and the result
  (rectification ordered, with its due date). Photos and signatures are made beforehand,
  distinct for every submission (files are content-addressed), and not timed;
* each client signs in and makes ``warmup`` submissions that are not counted; the clock runs
  from the moment every client is ready until the last is done (``bench_api.drive``);
* afterwards the feed must drain: no outbox message undispatched, no Celery message queued or
  unacknowledged, no feed record pending, for three polls in a row (``drain_seconds``: from the
  last request). Then ``enforcement.feed.reconcile`` (what ``suijian feed reconcile`` runs)
  compares the records delivered with what the receiver holds: count and content digest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import math
import os
import random
import secrets
import threading
import time
import uuid
from typing import Any

import redis
from PIL import ExifTags, Image, ImageDraw
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from enforcement import bench_api, devservices, feed
from enforcement.bench import machine
from enforcement.bench_api import BenchTask, ClientResult, ClientWork, Http, HttpError
from enforcement.demo.generate import DEFAULT_ENTERPRISES
from enforcement.models import FeedRecord, OutboxMessage

DEFAULT_CLIENTS = 64
DEFAULT_REQUESTS = 2048
DEFAULT_THREADS = 16
DEFAULT_WARMUP = 1
DEFAULT_WORKER_CONCURRENCY = 2
DEFAULT_DRAIN_TIMEOUT = 600.0
STEPS = (
    "checkin",
    "photo_upload",
    "photo_attach",
    "answers",
    "finding",
    "signature_upload",
    "signature",
    "result",
)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
_POLL_SECONDS = 0.5
_STABLE_POLLS = 3


def run(
    database_url: str | None = None,
    *,
    clients: int = DEFAULT_CLIENTS,
    requests: int = DEFAULT_REQUESTS,
    threads: int = DEFAULT_THREADS,
    warmup: int = DEFAULT_WARMUP,
    enterprises: int = DEFAULT_ENTERPRISES,
    broker_url: str | None = None,
    worker_concurrency: int = DEFAULT_WORKER_CONCURRENCY,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
) -> dict[str, Any]:
    """Prepare, serve the application with its worker and the receiver, drive the clients,
    wait for the feed to drain and reconcile; returns the JSON-ready figures.

    ``requests`` is rounded up so that every client makes the same number of complete
    submissions (``len(STEPS)`` requests each). Without ``broker_url`` a throwaway Redis is
    the broker (its queues are checked for the drain, so a shared broker must be idle)."""
    per_client = max(1, math.ceil(requests / (len(STEPS) * clients)))
    with contextlib.ExitStack() as stack:
        database_url, broker, folder, engine = bench_api.services(
            stack, "load", database_url, broker_url
        )
        delivered_before = _delivered(engine)
        if delivered_before:
            # The receiver starts empty: records delivered elsewhere could never reconcile.
            raise RuntimeError(
                f"--database-url: the feed already has {delivered_before} delivered records; "
                "the reconciliation needs a database whose feed was never delivered"
            )
        started = time.perf_counter()
        work = bench_api.prepare(engine, clients, per_client + warmup, enterprises)
        files = {task.uuid: _files(task, n) for n, task in enumerate(_tasks(work))}
        setup_seconds = time.perf_counter() - started

        secret = secrets.token_urlsafe(24)
        receiver_port = devservices.free_port()
        receiver_url = f"http://127.0.0.1:{receiver_port}/records"
        stack.enter_context(
            bench_api.cli_child(
                ["datacenter", "serve", "--db", str(folder / "datacenter.sqlite"),
                 "--secret", secret, "--threads", "4"],
                receiver_port,
                folder / "datacenter.log",
            )
        )  # fmt: skip
        settings = bench_api.app_settings(database_url, broker, folder)
        settings |= {"data_center.url": receiver_url, "suijian.feed.secret": secret}
        ini = bench_api.write_ini(folder / "load.ini", "egg:suijian", settings, threads)
        extra = ["--with-worker", "--worker-concurrency", str(worker_concurrency)]

        def client(http: Http, work: ClientWork, warmup: int, per_client: int,
                   barrier: threading.Barrier, result: ClientResult) -> None:  # fmt: skip
            _tablet(http, work, warmup, per_client, barrier, result, files)

        load_before = os.getloadavg()[0]
        with bench_api.served(ini, folder / "load.log", extra) as (port, pid):
            figures = bench_api.drive(port, pid, work, warmup, per_client, client, STEPS)
            last_request = time.perf_counter()
            drained = _wait_for_drain(engine, broker, drain_timeout)
            drain_seconds = time.perf_counter() - last_request
            with (
                feed.FeedClient(receiver_url, secret, timeout=60) as receiver,
                Session(engine) as session,
            ):
                found = feed.reconcile(session, receiver)
                state = feed.status(session)
        load_after = os.getloadavg()[0]
        finished = bench_api.count_finished(engine, [t.uuid for t in _tasks(work)])
        log_tail = (folder / "load.log").read_text("utf-8", "replace")[-2000:]

    expected = clients * (per_client + warmup)
    return {
        "throughput_rps": round(figures["rps"], 1),
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "requests": figures["requests"],
        "errors": figures["errors"],
        "clients": clients,
        "seconds": round(figures["seconds"], 3),
        "submissions_per_s": round(figures["rps"] / len(STEPS), 1),
        "steps": figures["steps"],
        "inspections_finished": finished,
        "inspections_expected": expected,
        "feed": {
            "drained": drained,
            "drain_seconds": round(drain_seconds, 2),
            "reconciled": found.equal,
            "server_records": found.local_count,
            "server_digest": found.local_digest,
            "datacenter_records": found.remote_count,
            "datacenter_digest": found.remote_digest,
            "missing": found.missing[:10],
            "mismatched": found.mismatched[:10],
            "extra": found.extra[:10],
            "pending": state.pending,
            "dead": state.dead,
            "by_kind": state.by_kind,
        },
        "failures": figures["failures"],
        "server_log_tail": log_tail if figures["errors"] or not found.equal else "",
        "server_cpu_ms_per_request": figures["server_cpu_ms_per_request"],
        "client_cpu_ms_per_request": figures["client_cpu_ms_per_request"],
        "machine_busy": figures["machine_busy"],
        "warmup_submissions_per_client": warmup,
        "server": {
            "name": "waitress",
            "version": bench_api.package_version("waitress"),
            "threads": threads,
            "worker_concurrency": worker_concurrency,
        },
        "setup_seconds": round(setup_seconds, 1),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "demo_enterprises": enterprises,
        "machine": machine(),
        "date": dt.date.today().isoformat(),
    }


def _tasks(work: list[ClientWork]) -> list[BenchTask]:
    return [task for w in work for task in w.tasks]


# ---------------------------------------------------------------------------- evidence


def _files(task: BenchTask, n: int) -> tuple[bytes, bytes]:
    """The photo (JPEG, EXIF at the enterprise, taken now) and the signature (PNG) of one
    submission; distinct for each ``n``."""
    return _photo(task.lon, task.lat, n), _signature(n)


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    return float(degrees), float(minutes), round((minutes_full - minutes) * 60, 4)


def _photo(lon: float, lat: float, n: int) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = dt.datetime.now(SHANGHAI).strftime("%Y:%m:%d %H:%M:%S")
    sub[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
    gps[ExifTags.GPS.GPSLatitude] = _dms(abs(lat))
    gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
    gps[ExifTags.GPS.GPSLongitude] = _dms(abs(lon))
    gps[ExifTags.GPS.GPSMapDatum] = "WGS-84"
    # A photo-sized file (about 100 KB): smooth noise compresses like a real scene.
    noise = random.Random(n).randbytes(160 * 120)
    image = Image.frombytes("L", (160, 120), noise).resize((640, 480)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def _signature(n: int) -> bytes:
    image = Image.new("RGBA", (480, 160), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    wobble = 14 + n % 97
    points = [(30 + x, 90 + 40 * math.sin(x / wobble + n)) for x in range(0, 420, 3)]
    draw.line(points, fill=(10, 10, 60, 255), width=6, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# ---------------------------------------------------------------------------- the tablet


def _submission(
    task: BenchTask, photo: bytes, png: bytes
) -> list[tuple[str, str, bytes, dict[str, str], int]]:
    """The requests of one complete inspection: (method, path, body, headers, expected)."""
    now = dt.datetime.now(dt.UTC)
    stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    path = f"/api/v1/inspections/{uuid.uuid4()}"
    photo_sha = _sha256(photo)
    png_sha = _sha256(png)
    failing, *others = task.items
    checkin = {
        "task": task.uuid,
        "checkin": {"lon": task.lon, "lat": task.lat, "accuracy_m": 8.0, "device_time": stamp},
    }
    attach = {"sha256": photo_sha, "caption": "仓库现场照片", "captured_at": stamp}
    answers = {
        "answers": {
            failing: {"answer": "non_compliant", "note": "未能提供进货查验记录"},
            **{code: {"answer": "compliant"} for code in others},
        }
    }
    finding = {
        "item_code": failing,
        "description": "未建立食品进货查验记录制度，现场无法提供近三个月进货凭证",
        "severity": "serious",
        "evidence": [photo_sha],
    }
    signature = {"signer_name": "张三", "signer_role": "负责人", "image_sha256": png_sha,
                 "signed_at": stamp}  # fmt: skip
    due = (now.astimezone(SHANGHAI).date() + dt.timedelta(days=15)).isoformat()
    result = {"result": "rectification_ordered", "note": "责令限期整改", "rectification_due": due,
              "finished_at": stamp}  # fmt: skip
    body = bench_api.json_body
    photo_headers = {"X-Evidence-Kind": "photo", "X-Content-SHA256": photo_sha}
    png_headers = {"X-Evidence-Kind": "photo", "X-Content-SHA256": png_sha}
    return [
        ("PUT", path, body(checkin), {}, 201),
        ("POST", "/api/v1/evidence", photo, photo_headers, 201),
        ("PUT", f"{path}/evidence/{uuid.uuid4()}", body(attach), {}, 201),
        ("PUT", f"{path}/answers", body(answers), {}, 200),
        ("PUT", f"{path}/findings/{uuid.uuid4()}", body(finding), {}, 201),
        ("POST", "/api/v1/evidence", png, png_headers, 201),
        ("PUT", f"{path}/signature", body(signature), {}, 200),
        ("PUT", f"{path}/result", body(result), {}, 200),
    ]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tablet(http: Http, work: ClientWork, warmup: int, per_client: int,
            barrier: threading.Barrier, result: ClientResult,
            files: dict[str, tuple[bytes, bytes]]) -> None:  # fmt: skip
    token = bench_api.sign_in(http, work)
    warm = ClientResult()
    for task in work.tasks[:warmup]:
        _submit(http, token, task, files[task.uuid], warm)
    if warm.errors:
        raise RuntimeError(f"the warm-up submission failed: {warm.failures[0]}")
    barrier.wait()
    for task in work.tasks[warmup : warmup + per_client]:
        _submit(http, token, task, files[task.uuid], result)


def _submit(http: Http, token: str, task: BenchTask, files: tuple[bytes, bytes],
            result: ClientResult) -> None:  # fmt: skip
    clock = time.perf_counter
    for step, (method, path, body, headers, expected) in enumerate(_submission(task, *files)):
        binary = method == "POST"
        started = clock()
        try:
            status, answer = http.request(
                method,
                path,
                body,
                token,
                content_type="application/octet-stream" if binary else "application/json",
                headers=headers,
            )
        except HttpError as exc:
            status, answer = 0, str(exc).encode()
        result.latencies.append((step, clock() - started))
        result.requests += 1
        if status != expected:
            bench_api.record_failure(result, f"{method} {path}", status, answer)
            return  # the rest of this inspection cannot succeed


# ---------------------------------------------------------------------------- the drain


def _delivered(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).where(FeedRecord.delivered_at.is_not(None))) or 0


def _backlog(engine: Engine, broker: redis.Redis) -> tuple[int, int, int]:
    """(outbox messages not dispatched, Celery messages queued or unacknowledged, feed
    records pending)."""
    with Session(engine) as session:
        outbox = session.scalar(select(func.count()).where(OutboxMessage.dispatched_at.is_(None)))
        pending = feed.status(session).pending
    queued = sum(broker.llen(name) for name in broker.scan_iter("celery*", _type="list"))
    queued += broker.hlen("unacked")
    return outbox or 0, queued, pending


def _wait_for_drain(engine: Engine, broker_url: str, timeout: float) -> bool:
    """True once nothing is left to do for ``_STABLE_POLLS`` polls in a row."""
    client = redis.Redis.from_url(broker_url)
    deadline = time.monotonic() + timeout
    quiet = 0
    try:
        while time.monotonic() < deadline:
            quiet = quiet + 1 if _backlog(engine, client) == (0, 0, 0) else 0
            if quiet >= _STABLE_POLLS:
                return True
            time.sleep(_POLL_SECONDS)
        return False
    finally:
        client.close()


# ---------------------------------------------------------------------------- output


def human(figures: dict[str, Any]) -> str:
    fed = figures["feed"]
    lines = [
        f"{figures['requests']:,} requests ({figures['submissions_per_s']:,.1f} complete "
        f"inspections/s with evidence) from {figures['clients']} clients in "
        f"{figures['seconds']:.1f} s: {figures['throughput_rps']:,.0f} req/s, "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, {figures['errors']} errors",
    ]
    for step, p in figures["steps"].items():
        lines.append(f"  {step:<17} p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms")
    lines += [
        f"finished inspections in the database: {figures['inspections_finished']:,} "
        f"(expected {figures['inspections_expected']:,})",
        f"feed {'drained' if fed['drained'] else 'NOT drained'} {fed['drain_seconds']} s after "
        f"the last request; reconciliation {'equal' if fed['reconciled'] else 'DIFFERENT'}: "
        f"server {fed['server_records']:,} records ({fed['server_digest'][:16]}…), data center "
        f"{fed['datacenter_records']:,} ({fed['datacenter_digest'][:16]}…); "
        f"pending {fed['pending']}, dead {fed['dead']}",
    ]
    return "\n".join(lines)
