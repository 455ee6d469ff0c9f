"""The feed on both backends, delivered to the real reference receiver served on a free port:
idempotent publishing, batches, failures with back-off, dead letters, re-queue, reconcile."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement import feed
from enforcement.datacenter import Receiver, Store, ThreadedServer, serving
from enforcement.devservices import free_port
from enforcement.feed import FeedClient, RetryPolicy
from enforcement.feed.signing import canonical_json, payload_sha256
from enforcement.models import FeedRecord, utcnow

SECRET = "test-feed-secret"
POLICY = RetryPolicy(base_seconds=2, cap_seconds=600, max_attempts=3)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    found = Store(tmp_path / "datacenter.sqlite")
    yield found
    found.close()


@pytest.fixture
def receiver(store: Store) -> Iterator[tuple[Receiver, ThreadedServer]]:
    app = Receiver(store, SECRET)
    with serving(app) as server:
        yield app, server


@pytest.fixture
def client(receiver: tuple[Receiver, ThreadedServer]) -> Iterator[FeedClient]:
    with FeedClient(f"{receiver[1].url}/records", SECRET, timeout=5, policy=POLICY) as found:
        yield found


def inspection(n: int, **extra: object) -> dict[str, object]:
    return {"task": f"2026-ZJ-{n:04d}", "result": "合格", "items": ["SPAQ-JY-001"], **extra}


def rows(session: Session) -> list[FeedRecord]:
    session.expire_all()
    return list(session.scalars(select(FeedRecord).order_by(FeedRecord.id)))


# ---------------------------------------------------------------------- publishing


def test_publish_versions_and_is_idempotent(db_session: Session) -> None:
    first = feed.publish(db_session, "inspection", "0f1e2d3c-uuid", inspection(1))
    assert (first.version, first.idempotency_key) == (1, "inspection:0f1e2d3c-uuid:1")
    assert first.payload_sha256 == payload_sha256(inspection(1))
    assert first.attempts == 0 and first.delivered_at is None and first.dead_at is None

    # The same state again (keys in another order): the stored row, nothing added.
    reordered = dict(reversed(list(inspection(1).items())))
    assert feed.publish(db_session, "inspection", "0f1e2d3c-uuid", reordered) is first
    changed = feed.publish(
        db_session, "inspection", "0f1e2d3c-uuid", inspection(1, result="不合格")
    )
    assert changed.version == 2
    back = feed.publish(db_session, "inspection", "0f1e2d3c-uuid", inspection(1))
    assert back.version == 3  # a change back is a change too
    other_kind = feed.publish(db_session, "penalty", "0f1e2d3c-uuid", inspection(1))
    assert other_kind.version == 1
    db_session.commit()
    assert [(r.kind, r.version) for r in rows(db_session)] == [
        ("inspection", 1),
        ("inspection", 2),
        ("inspection", 3),
        ("penalty", 1),
    ]
    stored = rows(db_session)[0]
    assert canonical_json(stored.payload) == canonical_json(inspection(1))


def test_publish_refuses_bad_input(db_session: Session) -> None:
    with pytest.raises(ValueError, match="kind"):
        feed.publish(db_session, "parking_ticket", "k", {})
    with pytest.raises(ValueError, match="record_key"):
        feed.publish(db_session, "penalty", "x" * 65, {})
    with pytest.raises(ValueError):
        feed.publish(db_session, "penalty", "penalty:1", {"amount": float("nan")})
    assert rows(db_session) == []


# ---------------------------------------------------------------------- delivery


def test_deliver_sends_one_signed_batch_and_marks_it(
    db_session: Session, client: FeedClient, store: Store
) -> None:
    for n in range(7):
        feed.publish(db_session, "inspection_result", f"result-{n}", inspection(n))
    feed.publish(db_session, "coercive_measure", "measure:9", {"measure": "查封", "days": 30})
    db_session.commit()

    result = feed.deliver(db_session, client, limit=5)
    assert (result.picked, result.delivered, result.failed, result.error) == (5, 5, 0, None)
    result = feed.deliver(db_session, client, limit=5)
    assert (result.picked, result.delivered) == (3, 3)
    assert feed.deliver(db_session, client).picked == 0
    db_session.commit()

    assert all(r.delivered_at is not None and r.attempts == 0 for r in rows(db_session))
    held = store.records()
    assert sorted(r["idempotency_key"] for r in held) == sorted(
        r.idempotency_key for r in rows(db_session)
    )
    measure = store.records("coercive_measure")
    assert len(measure) == 1 and measure[0]["payload"] == {"measure": "查封", "days": 30}
    assert store.counts() == {"records": 8, "duplicates": 0}
    state = feed.status(db_session)
    assert (state.pending, state.due, state.delivered, state.dead) == (0, 0, 8, 0)
    assert state.oldest_pending_age_seconds is None


def test_a_closed_port_backs_off_then_dead_letters_then_requeues(
    db_session: Session, store: Store, tmp_path: Path
) -> None:
    port = free_port()  # nobody listens here yet
    down = FeedClient(f"http://127.0.0.1:{port}/records", SECRET, timeout=2, policy=POLICY)
    record = feed.publish(
        db_session, "penalty", "penalty:123", {"decision_no": "东市监罚〔2026〕7号"}
    )
    db_session.commit()
    start = utcnow()

    first = feed.deliver(db_session, down, now=start, rng=random.Random(1))
    assert (first.picked, first.failed, first.dead) == (1, 1, 0)
    assert "ConnectError" in (first.error or "")
    db_session.refresh(record)
    assert record.attempts == 1 and record.dead_at is None
    assert start <= record.next_attempt_at <= start + dt.timedelta(seconds=2)
    assert "ConnectError" in (record.last_error or "")
    # Not due before its back-off has passed.
    assert feed.deliver(db_session, down, now=start).picked == 0

    later = start + dt.timedelta(seconds=3)
    second = feed.deliver(db_session, down, now=later)
    db_session.refresh(record)
    assert second.failed == 1 and record.attempts == 2
    assert later <= record.next_attempt_at <= later + dt.timedelta(seconds=4)

    third = feed.deliver(db_session, down, now=later + dt.timedelta(seconds=5))
    assert (third.failed, third.dead) == (0, 1)  # max_attempts 3: dead-lettered
    db_session.commit()
    db_session.refresh(record)
    assert record.attempts == 3 and record.dead_at is not None
    assert feed.deliver(db_session, down, now=later + dt.timedelta(days=1)).picked == 0
    assert [r.id for r in feed.dead_letters(db_session)] == [record.id]
    state = feed.status(db_session)
    assert (state.pending, state.dead, state.delivered) == (0, 1, 0)

    # The receiver comes up on that port; a supervisor re-queues the record.
    assert feed.requeue(db_session, [record.id + 1000]) == 0  # not a dead record
    assert feed.requeue(db_session, [record.id]) == 1
    db_session.commit()
    db_session.refresh(record)
    assert (record.attempts, record.dead_at) == (0, None)
    assert feed.dead_letters(db_session) == []
    with serving(Receiver(store, SECRET), port=port):
        delivered = feed.deliver(db_session, down)
    down.close()
    assert delivered.delivered == 1
    db_session.refresh(record)
    assert record.delivered_at is not None
    assert [r["record_key"] for r in store.records("penalty")] == ["penalty:123"]


def test_requeue_all(db_session: Session) -> None:
    now = utcnow()
    for n in range(3):
        record = feed.publish(db_session, "inspection", f"dead-{n}", inspection(n))
        record.dead_at, record.attempts = now, 8
    feed.publish(db_session, "inspection", "alive", inspection(9))
    db_session.commit()
    assert feed.status(db_session).dead == 3
    assert feed.requeue(db_session, "all") == 3
    db_session.commit()
    state = feed.status(db_session)
    assert (state.dead, state.pending, state.due) == (0, 4, 4)


@pytest.mark.parametrize(
    ("answer_secret", "expected"), [("wrong-secret", "HTTP 401"), (SECRET, None)]
)
def test_the_receiver_checks_the_signature(
    db_session: Session,
    receiver: tuple[Receiver, ThreadedServer],
    store: Store,
    answer_secret: str,
    expected: str | None,
) -> None:
    feed.publish(db_session, "inspection", "signed", inspection(1))
    db_session.commit()
    with FeedClient(f"{receiver[1].url}/records", answer_secret, policy=POLICY) as sender:
        result = feed.deliver(db_session, sender)
    if expected is None:
        assert result.delivered == 1 and store.counts()["records"] == 1
    else:
        assert result.failed == 1 and expected in (result.error or "")
        assert store.counts()["records"] == 0


def test_a_failing_receiver_stores_nothing_and_the_batch_backs_off(
    db_session: Session, receiver: tuple[Receiver, ThreadedServer], client: FeedClient, store: Store
) -> None:
    app, _server = receiver
    app.fail_every = 2  # the second batch fails
    for n in range(4):
        feed.publish(db_session, "inspection", f"flaky-{n}", inspection(n))
    db_session.commit()
    assert feed.deliver(db_session, client, limit=2).delivered == 2
    failed = feed.deliver(db_session, client, limit=2)
    assert (failed.picked, failed.delivered, failed.failed) == (2, 0, 2)
    assert "HTTP 503" in (failed.error or "")
    assert store.counts() == {"records": 2, "duplicates": 0}
    assert feed.deliver(db_session, client).picked == 0  # both wait for their back-off
    later = feed.deliver(db_session, client, now=utcnow() + dt.timedelta(seconds=5))
    assert later.delivered == 2 and store.counts() == {"records": 4, "duplicates": 0}


def test_a_lost_acknowledgement_is_sent_again_and_kept_once(
    db_session: Session, receiver: tuple[Receiver, ThreadedServer], client: FeedClient, store: Store
) -> None:
    app, _server = receiver
    app.lose_every = 1  # store every batch, then answer 503
    for n in range(4):
        feed.publish(db_session, "inspection", f"lost-{n}", inspection(n))
    db_session.commit()
    first = feed.deliver(db_session, client)
    assert (first.delivered, first.failed) == (0, 4) and "503" in (first.error or "")
    assert store.counts() == {"records": 4, "duplicates": 0}

    # The receiver holds them; we do not know it yet: reconcile calls them in flight.
    found = feed.reconcile(db_session, client)
    assert not found.equal and sorted(found.in_flight) == sorted(found.extra)
    assert len(found.extra) == 4 and found.missing == []

    app.lose_every = 0
    again = feed.deliver(db_session, client, now=utcnow() + dt.timedelta(seconds=10))
    db_session.commit()
    assert again.delivered == 4  # duplicates are acknowledgements
    assert store.counts() == {"records": 4, "duplicates": 4}
    assert feed.reconcile(db_session, client).equal


def test_the_receiver_refuses_a_changed_payload_under_a_held_key(store: Store) -> None:
    record = {
        "idempotency_key": "penalty:p1:1",
        "kind": "penalty",
        "record_key": "p1",
        "version": 1,
        "payload": {"amount": "5000.00"},
        "payload_sha256": payload_sha256({"amount": "5000.00"}),
        "created_at": "2026-11-22T12:00:00+00:00",
    }
    assert store.store([record]) == (["penalty:p1:1"], {})
    changed = {**record, "payload": {"amount": "9000.00"}}
    changed["payload_sha256"] = payload_sha256(changed["payload"])
    tampered = {**record, "idempotency_key": "penalty:p2:1", "record_key": "p2"}
    tampered["payload"] = {"amount": "1.00"}  # the hash no longer matches
    accepted, rejected = store.store([changed, tampered, {"kind": "penalty"}])
    assert accepted == []
    assert "different payload" in rejected["penalty:p1:1"]
    assert "payload_sha256" in rejected["penalty:p2:1"]
    assert "?" in rejected
    assert store.records()[0]["payload"] == {"amount": "5000.00"}


def test_reconcile_finds_what_the_receiver_lost_and_resend_repairs_it(
    db_session: Session, client: FeedClient, store: Store
) -> None:
    for n in range(5):
        feed.publish(db_session, "inspection", f"rec-{n}", inspection(n))
    db_session.commit()
    feed.deliver(db_session, client)
    db_session.commit()
    found = feed.reconcile(db_session, client)
    assert found.equal and (found.local_count, found.remote_count) == (5, 5)
    assert found.local_digest == found.remote_digest

    # The data center loses a record (restored from an old backup, say).
    with sqlite3.connect(store.path) as conn:
        conn.execute("DELETE FROM records WHERE idempotency_key = 'inspection:rec-3:1'")
    found = feed.reconcile(db_session, client)
    assert not found.equal and found.remote_count == 4
    assert found.missing == ["inspection:rec-3:1"] and found.extra == []

    assert feed.resend(db_session, found.missing) == 1
    db_session.commit()
    assert feed.deliver(db_session, client).delivered == 1
    db_session.commit()
    assert feed.reconcile(db_session, client, details=True).equal


def test_pending_records_are_counted_with_their_age(db_session: Session) -> None:
    record = feed.publish(db_session, "inspection", "old", inspection(1))
    db_session.flush()
    record.created_at = utcnow() - dt.timedelta(minutes=10)
    record.next_attempt_at = utcnow() + dt.timedelta(minutes=5)  # backing off
    feed.publish(db_session, "penalty", "new", inspection(2))
    db_session.commit()
    state = feed.status(db_session)
    assert (state.pending, state.due, state.delivered, state.dead) == (2, 1, 0, 0)
    assert 590 <= (state.oldest_pending_age_seconds or 0) < 3600
    assert state.by_kind["inspection"] == {"pending": 1, "due": 0, "delivered": 0, "dead": 0}
    document = state.as_dict()
    assert document["oldest_pending_at"].endswith("+00:00")


def test_concurrent_deliverers_skip_locked_rows(backend: str, new_database_url) -> None:  # type: ignore[no-untyped-def]
    """Two transactions picking due records at once get disjoint sets (FOR UPDATE SKIP
    LOCKED), so no record is in two batches."""
    if backend != "postgis":
        pytest.skip("row locks are PostgreSQL's")
    from enforcement import migrate
    from enforcement.db import make_engine

    engine = make_engine(new_database_url(backend))
    migrate.upgrade(engine)
    try:
        with Session(engine) as setup:
            for n in range(6):
                feed.publish(setup, "inspection", f"lock-{n}", inspection(n))
            setup.commit()
        with Session(engine) as first, Session(engine) as second:
            now = utcnow()
            one = {row.id for row in feed.delivery.due_records(first, 4, now)}
            two = {row.id for row in feed.delivery.due_records(second, 4, now)}
            assert len(one) == 4 and len(two) == 2 and not one & two
            first.rollback()
            second.rollback()
        with Session(engine) as check:
            assert check.scalar(select(func.count()).select_from(FeedRecord)) == 6
    finally:
        engine.dispose()


def test_concurrent_publishes_of_one_record_take_turns(backend: str, new_database_url) -> None:  # type: ignore[no-untyped-def]
    """A second transaction publishing the same record waits for the first one's version,
    then takes the next (ON CONFLICT DO NOTHING and a fresh look), without failing."""
    if backend != "postgis":
        pytest.skip("SQLite has one writer at a time")
    import threading

    from enforcement import migrate
    from enforcement.db import make_engine

    engine = make_engine(new_database_url(backend))
    migrate.upgrade(engine)
    try:
        with Session(engine) as first:
            feed.publish(first, "inspection", "shared-uuid", inspection(1))
            first.flush()  # version 1 is written, not committed: it holds the unique key
            outcome: dict[str, object] = {}

            def second_publisher() -> None:
                try:
                    with Session(engine) as second:
                        record = feed.publish(second, "inspection", "shared-uuid", inspection(2))
                        outcome["version"] = record.version
                        second.commit()
                except Exception as exc:  # reported by the assertions below
                    outcome["error"] = repr(exc)

            thread = threading.Thread(target=second_publisher)
            thread.start()
            # Wait until the second transaction waits for the first one's lock.
            with engine.connect() as watcher:
                waiting, deadline = 0, time.monotonic() + 30
                while not waiting and time.monotonic() < deadline:
                    waiting = watcher.exec_driver_sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    ).scalar_one()
                    watcher.rollback()  # the activity view is a snapshot per transaction
                    time.sleep(0.05)
            assert waiting == 1 and thread.is_alive(), outcome
            first.commit()
            thread.join(timeout=30)
        assert outcome == {"version": 2}
        with Session(engine) as check:
            versions = check.scalars(select(FeedRecord.version).order_by(FeedRecord.version))
            assert list(versions) == [1, 2]
    finally:
        engine.dispose()
