"""Faults: a real ``suijian worker`` process (prefork, Redis) SIGKILLed in the middle of its
work, then restarted. The feed to the data center (the reference receiver) must still hold
every record exactly once; the same call of a distributed draw must complete with the
uninterrupted draw's selection. Each test prints what it did and what it found
(``pytest -s``); docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from enforcement import feed, migrate
from enforcement.datacenter import Receiver, Store, serving
from enforcement.db import make_engine
from enforcement.devservices import free_port
from enforcement.distributed_draw import (
    _timed_out,
    balanced_groups,
    draw_in_parts,
    encode_selection,
)
from enforcement.models import FeedRecord
from random_sampler import Selection, draw_allocation, draw_key, finish_draw
from random_sampler.synthetic import synthetic_team_options
from tests.draw_asserts import assert_same_result, assert_same_selection
from tests.enforcement.test_distributed_draw import PUBLIC, SEED, local_draw, store
from tests.enforcement.test_feed_worker import beat, publish_batch, wait_until
from tests.workers import unacknowledged, worker_processes

SECRET = "faults-worker-secret"


def say(line: str) -> None:
    """One line of the test's account (shown with ``pytest -s``)."""
    print(f"[fault] {line}")


def feed_counts(session: Session) -> dict[str, int]:
    session.rollback()  # a fresh read transaction: see the workers' commits
    found = session.execute(
        select(
            func.count().filter(FeedRecord.delivered_at.is_not(None)),
            func.count().filter(FeedRecord.attempts > 0),
            func.count(),
        )
    ).one()
    return {"delivered": found[0], "tried": found[1], "total": found[2]}


# --------------------------------------------------------------------------- the feed


@pytest.fixture
def feed_setup(
    backend: str, new_database_url, redis_url: str, tmp_path: Path
) -> Iterator[tuple[dict[str, Any], Session, Receiver, Store]]:  # type: ignore[no-untyped-def]
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    port = free_port()
    settings = {
        "sqlalchemy.url": url,
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
        "suijian.var_dir": str(tmp_path),
        "suijian.secret_key": "faults",
        "data_center.url": f"http://127.0.0.1:{port}/records",
        "suijian.feed.secret": SECRET,
        "suijian.feed.backoff_seconds": "0.05",
        "suijian.feed.backoff_cap_seconds": "0.2",
        "suijian.feed.max_attempts": "1000",
        "suijian.feed.timeout_seconds": "30",  # longer than the receiver's delay below
        "suijian.feed.batch_size": "20",
    }
    store_ = Store(tmp_path / "datacenter.sqlite")
    receiver = Receiver(store_, SECRET)
    try:
        with Session(engine) as session, serving(receiver, port=port):
            yield settings, session, receiver, store_
    finally:
        store_.close()
        engine.dispose()


def hold_a_batch(receiver: Receiver, seconds: float) -> Callable[[], int]:
    """Make the receiver sit on the next batches (``seconds`` before storing them); returns a
    function that tells how many batches it has started on since."""
    receiver.delay = seconds
    seen = receiver.batches
    return lambda: receiver.batches - seen


def test_feed_worker_sigkilled_mid_delivery_then_restarted(feed_setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, session, receiver, store_ = feed_setup
    published = publish_batch(session, "kill", 60)
    session.commit()
    with worker_processes(settings, tmp_path) as (app, start):
        # 1. The whole worker (main process and pool child) is SIGKILLed while the receiver
        #    holds its first batch: the POST was sent, no answer came back, nothing committed.
        first = start("first")
        started = hold_a_batch(receiver, 4.0)
        app.send_task(feed.DELIVER_TASK)
        wait_until(lambda: started() >= 1, "the first batch to reach the receiver")
        first.kill()
        say(f"SIGKILLed worker pid {first.pid} (and its pool) while batch 1 was at the receiver")
        wait_until(lambda: store_.counts()["records"] == 20, "the receiver to store the batch")
        receiver.delay = 0.0
        after_kill = feed_counts(session)
        say(f"after the kill: receiver holds {store_.counts()}, database {after_kill}")
        say(f"left unacknowledged on Redis (redelivered in 1 h): {unacknowledged(app)}")
        assert unacknowledged(app) == [feed.DELIVER_TASK]
        # The receiver kept the batch; the worker's transaction died with it (rolled back).
        assert after_kill == {"delivered": 0, "tried": 0, "total": 60}

        # 2. A new worker: the scheduled delivery (beat) re-sends the batch, which the
        #    receiver acknowledges as held, and delivers the rest.
        second = start("second")
        wait_until(
            lambda: beat(app) is not None and feed_counts(session)["delivered"] == 60,
            "the backlog to drain after the restart",
        )
        held = store_.counts()
        say(f"after the restart: database {feed_counts(session)}, receiver {held}")
        assert held == {"records": 60, "duplicates": 20}  # the unacknowledged batch, twice

        # 3. Only the pool child is SIGKILLed mid-batch (what the kernel's OOM killer picks):
        #    the main process sees the child lost and hands the task back
        #    (task_reject_on_worker_lost); a new child runs it, with no scheduled run here.
        published |= publish_batch(session, "child", 30)
        session.commit()
        started = hold_a_batch(receiver, 4.0)
        app.send_task(feed.DELIVER_TASK)
        wait_until(lambda: started() >= 1, "the batch to reach the receiver")
        children = second.children()
        assert len(children) == 1, children  # --concurrency=1
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        receiver.delay = 0.0
        say(f"SIGKILLed pool child {sorted(children)} of worker {second.pid} mid-batch")
        wait_until(
            lambda: feed_counts(session)["delivered"] == 90,
            "the handed-back task to deliver, run by a new pool child",
        )
        assert second.process is not None and second.process.poll() is None
        assert second.children() and not second.children() & children

    held = store_.counts()
    keys = set(store_.summary(keys=True)["keys"])
    say(f"end: database {feed_counts(session)}, receiver {held}")
    assert keys == published and len(published) == 90  # none lost, none extra
    # Each re-sent batch is kept once. How many batches were re-sent in step 3 depends on a
    # race with the scheduled delivery (beat) of the running worker, which may pick up the
    # new records before the explicit task; step 1's unacknowledged batch always was.
    assert held["records"] == 90 and held["duplicates"] >= 20
    with feed.FeedClient.from_settings(settings) as client:
        found = feed.reconcile(session, client, details=True)
    say(
        f"reconcile: equal={found.equal} ({found.local_count} delivered here, "
        f"{found.remote_count} held there)"
    )
    assert found.equal


# --------------------------------------------------------------------------- distributed draws


def selection_sha256(selection: Selection) -> str:
    """The SHA-256 of the selection's deterministic encoding: equal hashes, equal arrays."""
    return hashlib.sha256(encode_selection(selection).encode("ascii")).hexdigest()


class SnapshotLock:
    """``LOCK TABLE candidate_snapshots`` in an open transaction of this test: a part that
    reaches ``load_snapshot`` waits there, so the test knows the part is running when it
    kills the worker (PostgreSQL: SQLite's WAL readers are never blocked)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.conn = self.engine.connect()
        self.conn.execute(text("LOCK TABLE candidate_snapshots IN ACCESS EXCLUSIVE MODE"))

    def waiting(self) -> int:
        """Sessions of other processes waiting for a lock in this database."""
        with self.engine.connect() as watcher:
            return watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar_one()

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def in_thread(work: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``work`` in a thread; the returned function joins it and returns (or raises)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the caller of the join function
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> Any:
        thread.join(timeout=180)
        assert not thread.is_alive(), "the draw did not return"
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return join


def test_worker_sigkilled_during_a_distributed_draw(
    new_database_url, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    stored = store(new_database_url("postgis"))
    stall = 4.0  # suijian.draw.part_stall_seconds (default 30 s): short, so the test is too
    settings = {
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
        "sqlalchemy.url": stored.url,
        "suijian.var_dir": str(tmp_path),
        "suijian.secret_key": "faults",
        "suijian.draw.part_stall_seconds": f"{stall:g}",
    }
    whole, targets, inspectors, plan = local_draw("exact")
    expected = selection_sha256(whole.selection)
    say(f"uninterrupted one-process draw: selection sha256 {expected[:16]}…")
    key = draw_key(SEED, PUBLIC)
    allocation = draw_allocation(key=key, plan=plan, targets=targets)
    groups = balanced_groups(np.bincount(targets.stratum, minlength=len(targets.stratum_labels)), 3)
    caplog.set_level(logging.WARNING, logger="enforcement.distributed_draw")

    def in_parts(timeout: float) -> Selection:
        return draw_in_parts(
            app,
            snapshot_sha256=stored.sha256,
            plan=plan,
            key=key,
            allocation=allocation,
            groups=groups,
            timeout=timeout,
            labels=targets.stratum_labels,
        )

    def sent_again() -> list[str]:
        return [r.getMessage() for r in caplog.records if "sent again" in r.getMessage()]

    with worker_processes(settings, tmp_path) as (app, start):
        # 1. A pool child SIGKILLed while it runs a part: the main process hands the part
        #    back (task_reject_on_worker_lost), a new child runs it, the same call completes.
        worker = start("draw-1")
        lock = SnapshotLock(stored.url)
        try:
            join = in_thread(lambda: in_parts(120))
            wait_until(lambda: lock.waiting() >= 1, "a part to wait for the snapshot")
            children = worker.children()
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            say(f"SIGKILLed pool child {sorted(children)} while it ran a draw part")
        finally:
            lock.release()
        merged = join()
        found = selection_sha256(merged)
        say(f"the same call completed: selection sha256 {found[:16]}…")
        say(f"parts the client sent again: {len(sent_again())} (the worker handed it back)")
        assert found == expected
        assert_same_selection(merged, whole.selection)

        # 2. The whole worker (the only one) SIGKILLed while it runs a part: nobody hands the
        #    part back (Redis redelivers an unacknowledged message only after its visibility
        #    timeout, 1 hour); the other two parts wait in the queue. While no worker answers
        #    the client waits; the worker is restarted (what systemd does), runs the two
        #    queued parts, and the client sends the lost part again once the restarted worker
        #    has shown for `stall` seconds that it does not hold it: the same call completes.
        caplog.clear()
        lock = SnapshotLock(stored.url)
        began = time.monotonic()
        try:
            join = in_thread(lambda: in_parts(120))
            wait_until(lambda: lock.waiting() >= 1, "a part to wait for the snapshot")
            worker.kill()
            say(f"SIGKILLed worker {worker.pid} and its pool while a part ran on it")
            lost = unacknowledged(app)
            say(f"left unacknowledged on Redis (redelivered in 1 h): {lost}")
            assert lost == ["enforcement.tasks.draw_part"]
        finally:
            lock.release()
        time.sleep(2 * stall)  # no worker at all: nothing to send the part to
        say(f"{2 * stall:g} s with no worker: parts sent again {len(sent_again())}")
        assert sent_again() == []
        restarted = start("draw-1")
        say(f"restarted the worker: pid {restarted.pid}, {time.monotonic() - began:.1f} s after")
        merged = join()
        took = time.monotonic() - began
        for line in sent_again():
            say(f"client: {line}")
        # The lost part, seen started and held by nobody; a queued part is not sent again
        # unless the restarted worker sat idle for `stall` seconds (not with two parts queued).
        assert len([line for line in sent_again() if "(STARTED)" in line]) == 1, sent_again()
        found = selection_sha256(merged)
        say(f"the same call completed {took:.1f} s after it began: sha256 {found[:16]}…")
        assert found == expected
        assert restarted.process is not None and restarted.process.poll() is None
    result = finish_draw(
        seed=SEED,
        public_value=PUBLIC,
        plan=plan,
        targets=targets,
        inspectors=inspectors,
        team_options=synthetic_team_options(targets, inspectors, plan),
        selection=merged,
    )
    assert_same_result(result, whole)
    say(f"finished draw: snapshot hash {result.report['snapshot_hash'][:16]}…, same report")


def test_a_timeout_says_how_far_the_draw_got() -> None:
    """No part done: most likely no worker. Some done: the others still run or wait (a lost
    one is sent again); drawing again is safe and reuses the parts done."""
    none = _timed_out(10, 0, 3, 30)
    assert none.endswith("(0 of 3 parts done): is a worker running ('suijian worker')?")
    assert none.msgid.startswith("the distributed draw did not finish within ${timeout} s")
    some = _timed_out(2.5, 2, 3, 30)
    assert "within 2.5 s (2 of 3 parts done): the other parts are still running or " in some
    assert "sent again after 30 s" in some
    assert some.endswith("drawing again gives the same result and reuses the parts already done")
