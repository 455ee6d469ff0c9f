"""Faults of the data center, on both backends, against the real reference receiver served
over HTTP (and, for the gateway faults, a small fault-injecting proxy in front of it): down
for a while (and for an hour, with the default retry policy), answering 500, answering after
the client has given up, acknowledging twice and acknowledging what was not sent. After each,
the backlog drains, the receiver holds every record exactly once, and the dead-letter list
names what exhausted its retries and why. Each test prints what it did and what it found
(``pytest -s``); docs/reliability.md.

Time is the deliverer's ``now`` argument, moved past each back-off, so no test sleeps through
a back-off; only the slow receiver's delay is real.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import feed
from enforcement.datacenter import Receiver, Store, serving
from enforcement.devservices import free_port
from enforcement.feed import FeedClient, RetryPolicy
from enforcement.feed.signing import payload_sha256
from enforcement.models import FeedRecord, utcnow
from enforcement.settings import ENV_OVERRIDES

SECRET = "faults-datacenter-secret"
# Short, fixed back-offs: 1, 2, 4 s ceilings; the fourth failure dead-letters a record.
POLICY = RetryPolicy(base_seconds=1, cap_seconds=4, max_attempts=4)
BATCH = 10
SUIJIAN = [sys.executable, "-c", "from enforcement.cli import main; main(prog_name='suijian')"]


def say(line: str) -> None:
    """One line of the test's account (shown with ``pytest -s``)."""
    print(f"[fault] {line}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    found = Store(tmp_path / "datacenter.sqlite")
    yield found
    found.close()


def client_for(url: str, timeout: float = 5) -> FeedClient:
    return FeedClient(url, SECRET, timeout=timeout, policy=POLICY, batch_size=BATCH)


def publish(session: Session, prefix: str, n: int) -> set[str]:
    keys = {
        feed.publish(
            session, "inspection", f"{prefix}-{i:03d}", {"n": i, "结果": "合格", "batch": prefix}
        ).idempotency_key
        for i in range(n)
    }
    session.commit()
    return keys


class Clock:
    """The deliverer's ``now``: starts at the real time, moved on by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def after(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


def deliver_rounds(
    session: Session, client: FeedClient, clock: Clock, rounds: int
) -> feed.DeliveryResult:
    """``rounds`` scheduled runs, each past every back-off (the cap), each delivering batch
    after batch until nothing is due: what the worker's schedule does over a while."""
    total = feed.DeliveryResult()
    for _ in range(rounds):
        now = clock.after(POLICY.cap_seconds + 1)
        while True:
            batch = feed.deliver(session, client, now=now)
            session.commit()
            total.add(batch)
            if batch.picked == 0:
                break
    return total


def state(session: Session) -> dict[str, int]:
    found = feed.status(session, now=utcnow() + dt.timedelta(days=1))
    return {"pending": found.pending, "delivered": found.delivered, "dead": found.dead}


def check_exactly_once(store: Store, published: set[str], duplicates: int | None = None) -> None:
    held = store.summary(keys=True)["keys"]
    counts = store.counts()
    say(f"receiver holds {counts['records']} records, {counts['duplicates']} repeat deliveries")
    assert set(held) == published  # none lost, none extra
    assert counts["records"] == len(published)  # each kept once
    if duplicates is not None:
        assert counts["duplicates"] == duplicates


def dead_report(session: Session) -> dict[str, str]:
    """The dead-letter list as a supervisor sees it: key -> last error."""
    session.expire_all()
    return {r.idempotency_key: r.last_error or "" for r in feed.dead_letters(session)}


# --------------------------------------------------------------------------- down, then 500


def test_down_for_a_while_then_back(db_session: Session, store: Store) -> None:
    port = free_port()
    client = client_for(f"http://127.0.0.1:{port}/records")
    clock = Clock()
    receiver = Receiver(store, SECRET)
    with client:
        # Up: the first records arrive.
        published = publish(db_session, "before", 15)
        with serving(receiver, port=port):
            assert deliver_rounds(db_session, client, clock, 1).delivered == 15
        # Down (nothing listens): the early backlog fails on every scheduled run until it is
        # dead-lettered; records published late in the outage are still within their tries.
        early = publish(db_session, "early", 12)
        failed = deliver_rounds(db_session, client, clock, POLICY.max_attempts - 1)
        late = publish(db_session, "late", 25)
        failed.add(deliver_rounds(db_session, client, clock, 1))
        say(f"down: {failed.picked} sends failed ({failed.error}); {state(db_session)}")
        assert "ConnectError" in (failed.error or "")
        assert state(db_session) == {"pending": 25, "delivered": 15, "dead": 12}
        dead = dead_report(db_session)
        say(f"dead-letter list: {len(dead)} records, e.g. {next(iter(dead.values()))!r}")
        assert set(dead) == early and all("ConnectError" in e for e in dead.values())

        # Back up on the same port: the live backlog drains at the next runs; the dead
        # records wait for a person, who re-queues them after reading the list.
        with serving(receiver, port=port):
            drained = deliver_rounds(db_session, client, clock, 2)
            say(f"back up: {drained.delivered} delivered; {state(db_session)}")
            assert state(db_session) == {"pending": 0, "delivered": 40, "dead": 12}
            assert feed.requeue(db_session, "all") == 12
            db_session.commit()
            deliver_rounds(db_session, client, clock, 1)
            found = feed.reconcile(db_session, client, details=True)
    published |= early | late
    say(f"after re-queueing: {state(db_session)}; reconcile equal={found.equal}")
    assert state(db_session) == {"pending": 0, "delivered": 52, "dead": 0}
    check_exactly_once(store, published, duplicates=0)  # nothing reached it while down
    assert found.equal


def test_an_hour_down_with_the_default_policy_dead_letters_nothing(
    db_session: Session, store: Store
) -> None:
    """The scheduled delivery (every 5 s, each run stopping at its first failed batch, as the
    task does) with the default retry policy, through a one-hour outage of the data center:
    nothing may reach the dead-letter list, and the backlog drains once it is back. Time is
    simulated (the deliverer's ``now``), the jitter seeded."""
    port = free_port()
    client = FeedClient(f"http://127.0.0.1:{port}/records", SECRET, timeout=5, batch_size=BATCH)
    rng = random.Random(2026)
    clock = Clock()
    published = publish(db_session, "outage", 3 * BATCH)

    def scheduled_run() -> feed.DeliveryResult:
        total = feed.DeliveryResult()
        now = clock.after(5)
        while True:
            batch = feed.deliver(db_session, client, now=now, rng=rng)
            db_session.commit()
            total.add(batch)
            if batch.picked < BATCH or batch.delivered < batch.picked:
                return total

    start = clock.now
    with client:
        outage = feed.DeliveryResult()
        for _ in range(3600 // 5):
            outage.add(scheduled_run())
        rows = list(db_session.scalars(select(FeedRecord)))
        most = max(r.attempts for r in rows)
        dead_at = [r.dead_at.replace(tzinfo=dt.UTC) for r in rows if r.dead_at is not None]
        first_dead = f"after {(min(dead_at) - start).total_seconds():.0f} s" if dead_at else "none"
        say(
            f"1 h down, default policy (max_attempts {client.policy.max_attempts}): "
            f"{outage.picked} sends failed, most tries of one record {most}, first dead letter: "
            f"{first_dead}; {state(db_session)}"
        )
        assert state(db_session) == {"pending": 3 * BATCH, "delivered": 0, "dead": 0}
        with serving(Receiver(store, SECRET), port=port):
            runs = 0
            while state(db_session)["pending"] and runs < 2 * 600 // 5:
                scheduled_run()
                runs += 1
    say(f"back up: drained in {runs} scheduled runs ({runs * 5} s); {state(db_session)}")
    assert state(db_session) == {"pending": 0, "delivered": 3 * BATCH, "dead": 0}
    check_exactly_once(store, published, duplicates=0)


@contextlib.contextmanager
def datacenter_process(port: int, db: Path, *faults: str) -> Iterator[None]:
    """``suijian datacenter serve`` as its own process, with these fault options."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}
    env["DATA_CENTER_SECRET"] = SECRET
    command = [*SUIJIAN, "datacenter", "serve", "--port", str(port), "--db", str(db), *faults]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # a loaded machine takes a while to import it all
        while not healthy(f"http://127.0.0.1:{port}/health"):
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError(f"the receiver did not start: {server.communicate()[0]!r}")
            time.sleep(0.1)
        yield
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_answering_500_then_recovering(db_session: Session, store: Store) -> None:
    """The reference receiver first as its own process, broken (``--fail-every=1
    --fail-status=500``: every batch answers 500, storing nothing), then restarted on the same
    port and database storing but answering 500 (its commit went through, its answer did
    not), then repaired."""
    port = free_port()
    clock = Clock()
    with client_for(f"http://127.0.0.1:{port}/records") as client:
        published = publish(db_session, "broken", 30)
        with datacenter_process(port, Path(store.path), "--fail-every=1", "--fail-status=500"):
            failed = deliver_rounds(db_session, client, clock, 2)
        say(f"500s: {failed.picked} sends failed ({failed.error}); {state(db_session)}")
        assert failed.delivered == 0 and "HTTP 500" in (failed.error or "")
        assert store.counts()["records"] == 0  # a 500 stores nothing here

        receiver = Receiver(store, SECRET, lose_every=1, fail_status=500)
        with serving(receiver, port=port):
            lost = deliver_rounds(db_session, client, clock, 1)
        say(f"500 after storing: {lost.picked} sent, {lost.delivered} acknowledged")
        assert lost.delivered == 0 and store.counts() == {"records": 30, "duplicates": 0}

        receiver.lose_every = 0
        with serving(receiver, port=port):
            drained = deliver_rounds(db_session, client, clock, 1)
            found = feed.reconcile(db_session, client, details=True)
    say(f"repaired: {drained.delivered} delivered; {state(db_session)}; equal={found.equal}")
    assert state(db_session) == {"pending": 0, "delivered": 30, "dead": 0}
    check_exactly_once(store, published, duplicates=30)  # the unacknowledged ones, again
    assert found.equal


def test_a_record_the_data_center_refuses_is_dead_lettered_with_its_reason(
    db_session: Session, store: Store
) -> None:
    """One record of a batch refused on every try (the data center holds its key with another
    payload, e.g. restored from another system): the rest of each batch is delivered; it alone
    exhausts its retries and the dead-letter list says why."""
    published = publish(db_session, "mixed", 25)
    poison = "inspection:mixed-007:1"
    other = {"n": -1}
    store.store(
        [
            {
                "idempotency_key": poison,
                "kind": "inspection",
                "record_key": "mixed-007",
                "version": 1,
                "payload": other,
                "payload_sha256": payload_sha256(other),
                "created_at": "2026-11-22T00:00:00+00:00",
            }
        ]
    )
    clock = Clock()
    with serving(Receiver(store, SECRET)) as server, client_for(f"{server.url}/records") as client:
        deliver_rounds(db_session, client, clock, POLICY.max_attempts + 1)
        found = feed.reconcile(db_session, client, details=True)
    dead = dead_report(db_session)
    say(f"refused record: {state(db_session)}; dead-letter list {dead}")
    assert state(db_session) == {"pending": 0, "delivered": 24, "dead": 1}
    assert list(dead) == [poison] and "different payload" in dead[poison]
    # reconcile names it: held there with another payload, not delivered here.
    assert found.extra == [poison] and found.in_flight == [poison]
    check_exactly_once(store, published)


# --------------------------------------------------------------------------- slow


def test_answering_after_the_client_has_given_up(db_session: Session, store: Store) -> None:
    """The receiver takes longer than the client's timeout: the client counts a failure, the
    receiver stores the batch anyway (a lost acknowledgement). Re-sent batches are kept once;
    a record dead-lettered meanwhile is one the data center holds, and re-queueing it is
    harmless."""
    receiver = Receiver(store, SECRET, delay=1.5)
    clock = Clock()
    with serving(receiver) as server, client_for(f"{server.url}/records", timeout=0.5) as client:
        published = publish(db_session, "slow", 2 * BATCH)
        slow = feed.DeliveryResult()
        for attempt in range(POLICY.max_attempts):
            seen = receiver.batches
            now = clock.after(POLICY.cap_seconds + 1)
            for _ in range(2):
                slow.add(feed.deliver(db_session, client, limit=BATCH, now=now))
                db_session.commit()
            wanted = 2 * BATCH * (attempt + 1)
            wait_for(lambda: store_receipts(store) >= wanted, "the receiver to store")  # noqa: B023
            assert receiver.batches - seen == 2
        say(
            f"slow: {slow.picked} sends timed out ({slow.error}); the receiver stored "
            f"{store.counts()}; here {state(db_session)}"
        )
        assert slow.delivered == 0 and "ReadTimeout" in (slow.error or "")
        assert state(db_session) == {"pending": 0, "delivered": 0, "dead": 2 * BATCH}
        found = feed.reconcile(db_session, client, details=True)
        say(f"reconcile: {len(found.in_flight)} held there, dead-lettered here")
        assert sorted(found.in_flight) == sorted(published) and found.missing == []

        receiver.delay = 0.0  # fast again; a person re-queues the dead letters
        assert feed.requeue(db_session, "all") == 2 * BATCH
        db_session.commit()
        deliver_rounds(db_session, client, clock, 1)
        found = feed.reconcile(db_session, client)
    say(f"after re-queueing: {state(db_session)}; reconcile equal={found.equal}")
    assert state(db_session) == {"pending": 0, "delivered": 2 * BATCH, "dead": 0}
    # Every record was received max_attempts times by the slow receiver, and once more.
    check_exactly_once(store, published, duplicates=2 * BATCH * POLICY.max_attempts)
    assert found.equal


def store_receipts(store: Store) -> int:
    counts = store.counts()
    return counts["records"] + counts["duplicates"]


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --------------------------------------------------------------------------- twice


class Gateway:
    """A fault-injecting proxy in front of the receiver (a load balancer, an API gateway).

    ``twice``: forward each batch twice (a gateway retrying on its own), answer the second;
    ``echo``: answer every accepted key twice, plus a key that was not in the batch;
    ``replay``: before each batch, forward again the first batch it ever saw (a stale request
    a queue flushes late). Every forwarded body keeps its signature header.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = ""
        self.first: tuple[bytes, dict[str, str]] | None = None
        self.forwarded = 0
        self._http = httpx.Client(timeout=10)
        self._lock = threading.Lock()

    def forward(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        with self._lock:
            self.forwarded += 1
        return self._http.post(self.upstream, content=body, headers=headers)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            name[5:].replace("_", "-").title(): value
            for name, value in environ.items()
            if name.startswith("HTTP_X_")
        }
        headers["Content-Type"] = "application/json"
        if self.first is None:
            self.first = (body, headers)
        if self.mode == "replay":
            self.forward(*self.first)
        answer = self.forward(body, headers)
        if self.mode == "twice":
            answer = self.forward(body, headers)
        content = answer.content
        if self.mode == "echo" and answer.status_code == 200:
            document = json.loads(content)
            document["accepted"] = [*document["accepted"], *document["accepted"], "inspection:x:9"]
            content = json.dumps(document).encode()
        start_response(
            f"{answer.status_code} {answer.reason_phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(content)))],
        )
        return [content]

    def close(self) -> None:
        self._http.close()


@pytest.fixture
def gateway(store: Store) -> Iterator[tuple[Gateway, str, str]]:
    """The proxy, its URL, and the receiver's URL (for reconcile's signed GETs)."""
    with serving(Receiver(store, SECRET)) as receiver:
        proxy = Gateway(f"{receiver.url}/records")
        try:
            with serving(proxy) as server:
                yield proxy, f"{server.url}/records", f"{receiver.url}/records"
        finally:
            proxy.close()


def test_acknowledged_twice_or_for_what_was_not_sent(
    db_session: Session, store: Store, gateway: tuple[Gateway, str, str]
) -> None:
    proxy, through_proxy, direct = gateway
    clock = Clock()
    published: set[str] = set()
    with client_for(through_proxy) as client:
        # Each batch reaches the receiver twice; the sender sees one answer.
        proxy.mode = "twice"
        published |= publish(db_session, "twice", 25)
        twice = deliver_rounds(db_session, client, clock, 1)
        say(f"twice: {twice.delivered} delivered, {proxy.forwarded} batches forwarded")
        assert (twice.delivered, twice.failed) == (25, 0)
        check_exactly_once(store, published, duplicates=25)

        # The answer lists each key twice and one key that was never sent.
        proxy.mode = "echo"
        published |= publish(db_session, "echo", 12)
        echo = deliver_rounds(db_session, client, clock, 1)
        say(f"echoed acknowledgements: {echo.delivered} delivered ({echo.picked} sent)")
        assert (echo.picked, echo.delivered, echo.failed) == (12, 12, 0)

        # A stale copy of the very first batch arrives again before every new batch.
        proxy.mode = "replay"
        published |= publish(db_session, "replay", 15)
        replay = deliver_rounds(db_session, client, clock, 1)
        say(f"replayed batches: {replay.delivered} delivered")
        assert replay.delivered == 15

        # reconcile asks for everything to be sent again (say, after a restore there):
        # every record is acknowledged once more, none is stored twice.
        proxy.mode = ""
        assert feed.resend(db_session, published) == len(published)
        db_session.commit()
        again = deliver_rounds(db_session, client, clock, 1)
    with client_for(direct) as client:
        found = feed.reconcile(db_session, client, details=True)
    say(f"re-sent everything: {again.delivered} delivered; reconcile equal={found.equal}")
    assert again.delivered == len(published) == 52
    assert state(db_session) == {"pending": 0, "delivered": 52, "dead": 0}
    # 25 (twice) + 2 x 10 (the first batch, replayed before each of the 2 replay batches)
    # + 52 (the resend).
    check_exactly_once(store, published, duplicates=25 + 2 * BATCH + 52)
    assert found.equal and found.extra == []
