"""Faults: a real ``suijian worker`` process (prefork, Redis) SIGKILLed in the middle of its
work, then restarted. The feed to the data center (the reference receiver) must still hold
every record exactly once; a distributed draw must still give the uninterrupted draw's
selection. Each test prints what it did and what it found (``pytest -s``); docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import threading
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
    DistributedDrawError,
    _timed_out,
    balanced_groups,
    distributed_selection,
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
    new_database_url, redis_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    stored = store(new_database_url("postgis"))
    settings = {
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
        "sqlalchemy.url": stored.url,
        "suijian.var_dir": str(tmp_path),
        "suijian.secret_key": "faults",
    }
    whole, targets, inspectors, plan = local_draw("exact")
    expected = selection_sha256(whole.selection)
    say(f"uninterrupted one-process draw: selection sha256 {expected[:16]}…")
    key = draw_key(SEED, PUBLIC)
    allocation = draw_allocation(key=key, plan=plan, targets=targets)
    groups = balanced_groups(np.bincount(targets.stratum, minlength=len(targets.stratum_labels)), 3)

    def chord(timeout: float) -> Selection:
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

    with worker_processes(settings, tmp_path) as (app, start):
        # 1. A pool child SIGKILLed while it runs a part: the main process hands the part
        #    back (task_reject_on_worker_lost), a new child runs it, the same call completes.
        worker = start("draw-1")
        lock = SnapshotLock(stored.url)
        try:
            join = in_thread(lambda: chord(120))
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
        assert found == expected
        assert_same_selection(merged, whole.selection)

        # 2. The whole worker SIGKILLed while it runs a part, a second worker running beside
        #    it: nobody hands the lost part back (Redis redelivers an unacknowledged message
        #    only after its visibility timeout, 1 hour), so the call times out, saying how far
        #    it got (the second worker drew the other parts)...
        beside = start("draw-2")
        lock = SnapshotLock(stored.url)
        try:
            join = in_thread(lambda: chord(30))
            wait_until(lambda: lock.waiting() >= 2, "a part on each worker to wait")
            worker.kill()
            say(f"SIGKILLed worker {worker.pid} and its pool while a part ran on it")
            lost = unacknowledged(app)
            say(f"left unacknowledged on Redis (redelivered in 1 h): {lost}")
            assert lost.count("enforcement.tasks.draw_part") == 2  # one of each worker, now
        finally:
            lock.release()
        with pytest.raises(DistributedDrawError) as failed:
            join()
        say(f"the interrupted call: {failed.value}")
        # How far it got depends on how fast the second worker ran its parts (2 of 3 unless
        # the machine is very loaded); the message follows (test_a_timeout_says_how_far).
        progress = re.search(
            r"did not finish within 30 s \(([0-2]) of 3 parts done\)", str(failed.value)
        )
        assert progress is not None, failed.value
        assert str(failed.value) == _timed_out(30, int(progress.group(1)), 3)
        assert beside.process is not None and beside.process.poll() is None
        # ... and drawing again (what a person does after the error; the plan is still
        # undrawn) gives the uninterrupted draw's selection: every part is a pure function.
        again = distributed_selection(
            app,
            snapshot_sha256=stored.sha256,
            plan=plan,
            seed=SEED,
            public_value=PUBLIC,
            parts=3,
            timeout=120,
        )
    found = selection_sha256(again)
    say(f"drawn again on the second worker: selection sha256 {found[:16]}…")
    assert found == expected
    result = finish_draw(
        seed=SEED,
        public_value=PUBLIC,
        plan=plan,
        targets=targets,
        inspectors=inspectors,
        team_options=synthetic_team_options(targets, inspectors, plan),
        selection=again,
    )
    assert_same_result(result, whole)
    say(f"finished draw: snapshot hash {result.report['snapshot_hash'][:16]}…, same report")


def test_a_timeout_says_how_far_the_draw_got() -> None:
    """No part done: most likely no worker. Some or all done: a worker took the rest and was
    lost (or is slow); drawing again is safe."""
    assert _timed_out(10, 0, 3).endswith(
        "(0 of 3 parts done): is a worker running ('suijian worker')?"
    )
    some = _timed_out(10, 2, 3)
    assert "(2 of 3 parts done): the other parts are still running, or were lost" in some
    assert some.endswith("drawing again gives the same result")
    merge = _timed_out(2.5, 3, 3)
    assert "within 2.5 s (3 of 3 parts done): the merge is still running" in merge
