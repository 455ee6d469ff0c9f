"""Feed benchmark: publish N records, deliver them all to the reference receiver, count.

Used by ``suijian bench feed``; see docs/benchmarks.md. A fresh database (a SQLite+SpatiaLite
temporary file, or with ``postgres`` a throwaway PostgreSQL+PostGIS) is migrated; N
inspection-result records of about 1 KB each are published (``enforcement.feed.publish``, in
transactions of 1,000; timed apart as ``publish_seconds``); the reference receiver is served by
waitress in a thread of this process on a free port, storing into its own SQLite file. The
timed part, ``seconds``, is delivery: ``deliver_until_idle`` with batches of ``batch`` records,
one transaction per batch, signed and POSTed over HTTP, until nothing is due. Then the
receiver's store is compared with what was published: ``lost`` counts published keys it does
not hold, ``duplicates`` deliveries beyond the first of a key plus keys nobody published.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from enforcement import devservices, feed, migrate
from enforcement.datacenter import Receiver, Store, serving
from enforcement.db import make_engine, session_factory, session_scope
from enforcement.models import FeedRecord

DEFAULT_RECORDS = 20_000
DEFAULT_BATCH = 500
SECRET = "bench-feed-secret"


def payload(n: int) -> dict[str, Any]:
    """A realistic inspection result (about 1 KB of canonical JSON)."""
    digest = hashlib.sha256(str(n).encode()).hexdigest()
    return {
        "inspection_uuid": str(uuid.UUID(int=n + 1)),
        "task_code": f"2026-ZJ-DY-{n:06d}",
        "enterprise": {
            "uscc": f"91330783MA2{n:07d}",
            "name": f"东阳市第{n}号食品经营有限公司",
            "address": "浙江省金华市东阳市吴宁街道艺海路",
        },
        "inspectors": [f"ZJ33{n % 977:04d}", f"ZJ33{(n + 1) % 977:04d}"],
        "checked_in_at": "2026-11-22T02:15:00+00:00",
        "finished_at": "2026-11-22T03:05:00+00:00",
        "location": {"lon": 120.2412 + n % 100 / 10_000, "lat": 29.2891, "verdict": "inside"},
        "items": [
            {"code": "SPAQ-JY-001", "answer": "yes"},
            {"code": "SPAQ-JY-002", "answer": "no", "finding": "冷藏设施温度记录不全"},
            {"code": "SCJG-GS-001", "answer": "yes"},
        ],
        "result": "责令整改" if n % 7 == 0 else "未发现问题",
        "evidence": [digest, hashlib.sha256(digest.encode()).hexdigest()],
    }


@contextlib.contextmanager
def _database(postgres: bool, folder: Path) -> Iterator[Engine]:
    if not postgres:
        engine = make_engine(f"sqlite:///{folder / 'feed-bench.sqlite'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with devservices.throwaway_postgres() as server:
        engine = make_engine(server.create_database(f"feed_bench_{uuid.uuid4().hex[:8]}"))
        try:
            yield engine
        finally:
            engine.dispose()


def run(
    n: int = DEFAULT_RECORDS, *, batch: int = DEFAULT_BATCH, postgres: bool = False
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="suijian-feed-bench-") as tmp:
        folder = Path(tmp)
        with _database(postgres, folder) as engine:
            migrate.upgrade(engine)
            sessions = session_factory(engine)
            started = time.perf_counter()
            published: set[str] = set()
            for start in range(0, n, 1000):
                with session_scope(sessions) as session:
                    for i in range(start, min(n, start + 1000)):
                        record = feed.publish(
                            session, "inspection_result", f"bench-{i}", payload(i)
                        )
                        published.add(record.idempotency_key)
            publish_seconds = time.perf_counter() - started

            store = Store(folder / "datacenter.sqlite")
            try:
                with serving(Receiver(store, SECRET), threads=4) as server:
                    client = feed.FeedClient(
                        f"{server.url}/records", SECRET, timeout=30, batch_size=batch
                    )
                    with client:
                        started = time.perf_counter()
                        result = feed.deliver_until_idle(
                            lambda: session_scope(sessions), client, max_seconds=3600
                        )
                        seconds = time.perf_counter() - started
                held = set(store.summary(keys=True)["keys"])
                duplicates = store.counts()["duplicates"] + len(held - published)
            finally:
                store.close()
            with session_scope(sessions) as session:
                undelivered = session.scalar(
                    select(func.count()).where(FeedRecord.delivered_at.is_(None))
                )
            backend = engine.dialect.name
    return {
        "records": n,
        "records_per_s": round(n / seconds) if seconds else None,
        "duplicates": duplicates,
        "lost": len(published - held),
        "seconds": round(seconds, 3),
        "batch": batch,
        "batches": -(-result.picked // batch),
        "undelivered": undelivered or 0,
        "publish_seconds": round(publish_seconds, 3),
        "publish_per_s": round(n / publish_seconds) if publish_seconds else None,
        "database": backend,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
        },
    }


def human(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"delivered {figures['records']:,} records in {figures['seconds']:.2f} s "
            f"({figures['records_per_s']:,} records/s, {figures['batches']} batches of "
            f"{figures['batch']}, {figures['database']})",
            f"receiver: {figures['lost']} lost, {figures['duplicates']} duplicates; "
            f"{figures['undelivered']} left undelivered",
            f"publishing took {figures['publish_seconds']:.2f} s "
            f"({figures['publish_per_s']:,} records/s)",
        ]
    )


__all__ = ["DEFAULT_BATCH", "DEFAULT_RECORDS", "human", "payload", "run"]
