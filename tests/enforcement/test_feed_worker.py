"""The feed end to end: a real Celery worker on Redis delivers to the real reference receiver
served on a free port, on both backends, while the receiver is down, comes back, and loses
acknowledgements. Every record must arrive exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement import feed, migrate
from enforcement.datacenter import Receiver, Store, serving
from enforcement.db import make_engine
from enforcement.devservices import free_port
from enforcement.models import FeedRecord
from enforcement.outbox import CELERY_APP_INFO
from tests.workers import running_worker

SECRET = "worker-feed-secret"


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def counts(session: Session) -> dict[str, int]:
    session.rollback()  # a fresh read transaction: see the worker's commits
    delivered = session.scalar(select(func.count()).where(FeedRecord.delivered_at.is_not(None)))
    tried = session.scalar(select(func.count()).where(FeedRecord.attempts > 0))
    total = session.scalar(select(func.count()).select_from(FeedRecord))
    return {"delivered": delivered or 0, "tried": tried or 0, "total": total or 0}


def publish_batch(session: Session, prefix: str, n: int) -> set[str]:
    keys = set()
    for i in range(n):
        record = feed.publish(
            session, "inspection", f"{prefix}-{i:03d}", {"n": i, "结果": "合格", "batch": prefix}
        )
        keys.add(record.idempotency_key)
    return keys


def beat(app: Celery) -> dict[str, object]:
    """What the scheduler does every few seconds: one delivery task, waited for."""
    return app.send_task(feed.DELIVER_TASK).get(timeout=60)


def test_exactly_once_through_a_real_worker_while_the_receiver_fails(
    backend: str, new_database_url, redis_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    port = free_port()
    settings = {
        "sqlalchemy.url": url,
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
        "data_center.url": f"http://127.0.0.1:{port}/records",
        "suijian.feed.secret": SECRET,
        "suijian.feed.backoff_seconds": "0.05",
        "suijian.feed.backoff_cap_seconds": "0.2",
        "suijian.feed.max_attempts": "1000",
        "suijian.feed.timeout_seconds": "5",
        "suijian.feed.batch_size": "40",
    }
    store = Store(tmp_path / "datacenter.sqlite")
    published: set[str] = set()
    try:
        with running_worker(settings) as app, Session(engine) as session:
            session.info[CELERY_APP_INFO] = app  # commits kick the delivery task

            # 1. The receiver is down (nothing listens on the port): the task kicked by the
            #    commit tries one batch, fails, and stops; the records wait with a back-off.
            published |= publish_batch(session, "down", 60)
            session.commit()
            wait_until(lambda: counts(session)["tried"] > 0, "the kicked delivery to fail")
            assert counts(session) == {"delivered": 0, "tried": 40, "total": 60}

            receiver = Receiver(store, SECRET)
            with serving(receiver, port=port):
                # 2. It comes back: the scheduled deliveries send the backlog.
                wait_until(
                    lambda: beat(app) is not None and counts(session)["delivered"] == 60,
                    "the backlog to be delivered",
                )
                # 3. While up, a commit's kick alone delivers (no scheduled run here), even
                #    when the transaction used a savepoint after publishing.
                published |= publish_batch(session, "up", 25)
                with session.begin_nested():
                    pass
                session.commit()
                wait_until(lambda: counts(session)["delivered"] == 85, "the kicked delivery")

                # 4. Acknowledgements get lost: every other batch is stored, then 503.
                receiver.lose_every = 2
                published |= publish_batch(session, "lossy", 100)
                # New versions of earlier records, and a re-publish of an unchanged one.
                for i in range(5):
                    record = feed.publish(session, "inspection", f"up-{i:03d}", {"n": -i})
                    published.add(record.idempotency_key)
                same = feed.publish(
                    session, "inspection", "down-000", {"n": 0, "结果": "合格", "batch": "down"}
                )
                assert same.version == 1
                session.commit()
                wait_until(
                    lambda: beat(app) is not None and counts(session)["delivered"] == 190,
                    "delivery despite lost acknowledgements",
                )

                assert counts(session)["total"] == 190
                held = store.summary(keys=True)["keys"]
                assert set(held) == published and len(published) == 190  # none lost, no extra
                assert store.counts()["records"] == 190  # each kept once
                assert store.counts()["duplicates"] > 0  # re-sent after lost acks, acknowledged
                with feed.FeedClient.from_settings(settings) as client:
                    assert feed.reconcile(session, client, details=True).equal
                assert receiver.batches > 5
    finally:
        store.close()
        engine.dispose()
