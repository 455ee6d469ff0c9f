"""Fault test: offline tablets replaying their queues in random order, with duplicates.

Several tablets (inspector accounts) record inspections offline: check-in, attachments,
findings (some citing attachments), checklist answers, the signature and the result. A
seeded generator makes the operations once; then two databases built alike receive them:

- the reference: each operation once, in the order it was recorded;
- the replay: the tablets' queues sent through ``POST /api/v1/batch`` interleaved at random,
  each batch a random choice of pending operations in random order (a tablet never sends an
  operation before what it builds on, e.g. a finding before the attachment it cites, but
  sends everything else in any order), with earlier operations sent again, operations
  repeated inside one batch, and answers lost so whole batches are sent twice.

The canonical dump of the relevant rows (inspections, findings, attachments, task status,
rectification orders, audit trail, data-center feed, outbox, and every table's row count)
must be equal. Each run prints what it did and what it found (``pytest -s`` shows it).
``SUIJIAN_REPLAY_SEED`` replays one seed; ``SUIJIAN_REPLAY_INSPECTIONS`` (at most 24: one per
task) and ``SUIJIAN_REPLAY_FINDINGS`` (the most findings of one inspection) change the size.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.db import make_engine
from enforcement.models import (
    AuditLog,
    Base,
    EvidenceFile,
    FeedRecord,
    FieldInspection,
    InspectionEvidence,
    InspectionFinding,
    InspectionTask,
    OutboxMessage,
    TaskStatus,
    User,
)
from enforcement.models.accounts import Role
from enforcement.services.draws import DrawService
from enforcement.services.plans import PlanService
from random_sampler import seeds
from tests.factories import FAST_HASHER, user_named
from tests.field_work import NOW, PASSWORD, drawn_field_work

SEED = int(os.environ.get("SUIJIAN_REPLAY_SEED", "20251123"))
TABLETS = 6
SECOND_SEED = bytes.fromhex("7c" * 32)
INSPECTIONS = int(os.environ.get("SUIJIAN_REPLAY_INSPECTIONS", "24"))
#: Findings per inspection, inclusive bounds (the most findings, from the environment); the
#: default makes about a thousand operations per backend.
FINDINGS = (2, int(os.environ.get("SUIJIAN_REPLAY_FINDINGS", "80")))
DEVICE_TIME = "2025-04-02T01:30:00Z"
LOST_ANSWERS = 0.15  # share of batches whose answer never reaches the tablet
BATCH = (1, 80)


# ---------------------------------------------------------------------- the worlds


@dataclasses.dataclass
class Tablet:
    username: str
    headers: dict[str, str]


@dataclasses.dataclass
class World:
    """One database with the same demo, draw and accounts as the other."""

    engine: Engine
    app: webtest.TestApp
    tablets: list[Tablet]
    tasks: list[InspectionTask]  # per planned inspection, in plan order
    tablet_of: list[int]  # per planned inspection: which tablet records it


def _tablet_user(session: Session, inspector_id: int) -> User:
    user = session.scalar(select(User).where(User.inspector_id == inspector_id))
    if user is None:
        user = User(
            username=f"tablet-{inspector_id}",
            display_name=f"Tablet {inspector_id}",
            role=Role.INSPECTOR,
            inspector_id=inspector_id,
            password_hash="",
        )
        session.add(user)
    user.password_hash = FAST_HASHER.hash(PASSWORD)
    session.flush()
    return user


def _second_plan(session: Session) -> None:
    """More tasks than the field-work plan alone gives (one inspection per task)."""
    supervisor = user_named(session, "supervisor")
    plans = PlanService(session, supervisor, clock=lambda: NOW)
    plan = plans.create(
        code="2025-REPLAY-01",
        title="2025年离线回放",
        year=2025,
        items=["SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001"],
        jurisdictions=["330783", "330702"],
        tier_ratios={"A": 0.3, "B": 0.9, "C": 0.9, "D": 0.9},
        due_date=dt.date(2025, 11, 30),
    )
    plans.approve(plan)
    plans.commit_seed(plan, seeds.commit(SECOND_SEED))
    DrawService(session, supervisor, clock=lambda: NOW).draw(plan, SECOND_SEED, None)


def build_world(engine: Engine, build_app: Callable[..., Router]) -> World:
    with Session(bind=engine, expire_on_commit=False) as session:
        drawn_field_work(session)
        _second_plan(session)
        candidates = [
            task
            for task in session.scalars(
                select(InspectionTask)
                .where(InspectionTask.status == TaskStatus.OPEN)
                .order_by(InspectionTask.id)
            )
            if task.members and task.checklist and task.enterprise.location is not None
        ]
        # The tablets: the inspectors on most of these tasks; each task is recorded by the
        # first of them on its team (one inspection per task: a finished task takes no more).
        on_tasks = collections.Counter(m.inspector_id for t in candidates for m in t.members)
        chosen = sorted(on_tasks, key=lambda i: (-on_tasks[i], i))[:TABLETS]
        users = [_tablet_user(session, inspector_id) for inspector_id in chosen]
        tasks, tablet_of = [], []
        for task in candidates:
            team = {m.inspector_id for m in task.members}
            mine = [index for index, inspector_id in enumerate(chosen) if inspector_id in team]
            if mine and len(tasks) < INSPECTIONS:
                tasks.append(task)
                tablet_of.append(mine[0])
        for task in tasks:  # what the response documents read, loaded before the commit
            _ = task.enterprise.uscc, task.checklist
        usernames = [user.username for user in users]
        session.commit()
    app = webtest.TestApp(build_app(engine))
    tablets = []
    for username in usernames:
        answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
        tablets.append(Tablet(username, {"Authorization": f"Bearer {answer.json['token']}"}))
    return World(engine, app, tablets, tasks, tablet_of)


@pytest.fixture(scope="module")
def worlds(
    backend: str, new_database_url: Callable[[str], str], build_app: Callable[..., Router]
) -> Iterator[tuple[World, World]]:
    engines = []
    for _ in range(2):
        engine = make_engine(new_database_url(backend))
        migrate.upgrade(engine)
        engines.append(engine)
    try:
        yield build_world(engines[0], build_app), build_world(engines[1], build_app)
    finally:
        for engine in engines:
            engine.dispose()


# ---------------------------------------------------------------------- the operations


@dataclasses.dataclass(frozen=True)
class Op:
    key: str  # stable across worlds
    tablet: int
    inspection: int  # index into World.tasks
    kind: str
    path: str
    body: Any  # with the task's UUID as the placeholder "{task}"
    deps: tuple[str, ...]

    def render(self, world: World) -> dict[str, Any]:
        body = json.loads(
            json.dumps(self.body).replace("{task}", str(world.tasks[self.inspection].uuid))
        )
        return {"method": "PUT", "path": self.path, "body": body}


def sha_of(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def plan_operations(world: World, rng: random.Random) -> list[Op]:
    """Every tablet's operations in the order it recorded them (inspection by inspection)."""
    ops: list[Op] = []
    for index, task in enumerate(world.tasks):
        tablet = world.tablet_of[index]
        inspection = uuid.UUID(int=rng.getrandbits(128), version=4)
        base = f"/api/v1/inspections/{inspection}"
        own: list[Op] = []

        def add(kind: str, path: str, body: Any, deps: tuple[str, ...] = (), *,
                own: list[Op] = own, index: int = index, tablet: int = tablet) -> str:  # fmt: skip
            key = f"{index}:{kind}:{len(own)}"
            own.append(Op(key, tablet, index, kind, path, body, deps))
            return key

        checkin = add("checkin", base, {"task": "{task}", "checkin": "{checkin}"})
        attachments: dict[str, str] = {}
        for n in range(rng.randint(0, 4)):
            sha = sha_of(f"photo-{index}-{n}")
            body = {"sha256": sha, "caption": f"照片 {n}", "captured_at": DEVICE_TIME}
            attachments[sha] = add(
                "attach",
                f"{base}/evidence/{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                body,
                (checkin,),
            )
        codes = [entry["code"] for entry in task.checklist]
        faulty: set[str] = set()
        findings = []
        for _ in range(rng.randint(*FINDINGS) if rng.random() < 0.8 else 0):
            code = rng.choice(codes)
            faulty.add(code)
            cited = rng.sample(sorted(attachments), k=rng.randint(0, len(attachments)))
            body = {
                "item_code": code,
                "description": f"问题 {rng.getrandbits(32):08x}",
                "severity": rng.choice(["minor", "serious", "critical"]),
                "evidence": cited,
            }
            findings.append(
                add(
                    "finding",
                    f"{base}/findings/{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                    body,
                    (checkin, *(attachments[sha] for sha in cited)),
                )
            )
        answers = {
            code: {"answer": "non_compliant" if code in faulty else "compliant"} for code in codes
        }
        add("answers", f"{base}/answers", {"answers": answers}, (checkin,))
        signature = {
            "signer_name": "王五",
            "signer_role": "负责人",
            "image_sha256": sha_of(f"signature-{index}"),
            "signed_at": "2025-04-02T02:05:00Z",
        }
        add("signature", f"{base}/signature", signature, (checkin,))
        if rng.random() < 0.8:  # some inspections are still under way
            result: dict[str, Any] = {"finished_at": "2025-04-02T02:10:00Z"}
            if findings:
                result |= {"result": "rectification_ordered", "rectification_due": "2025-04-30"}
            else:
                result |= {"result": "no_problem"}
            add("result", f"{base}/result", result, tuple(op.key for op in own))
        ops += own
    return ops


def evidence_rows(world: World, ops: list[Op]) -> None:
    """The uploaded files the operations cite (the uploads themselves are tested elsewhere)."""
    with Session(world.engine) as session:
        for op in ops:
            if op.kind == "attach":
                sha, media, kind = op.body["sha256"], "image/jpeg", "photo"
            elif op.kind == "signature":
                sha, media, kind = op.body["image_sha256"], "image/png", "photo"
            else:
                continue
            if session.get(EvidenceFile, sha) is None:
                session.add(EvidenceFile(sha256=sha, media_type=media, kind=kind, size=1000))
        session.commit()


def rendered(world: World, op: Op, copy: int = 0) -> dict[str, Any]:
    operation = op.render(world)
    if op.kind == "checkin":
        task = world.tasks[op.inspection]
        from geoalchemy2.shape import to_shape

        point = to_shape(task.enterprise.location)
        operation["body"]["checkin"] = {
            "lon": point.x, "lat": point.y, "accuracy_m": 10, "device_time": DEVICE_TIME,
        }  # fmt: skip
    operation["id"] = f"{op.key}#{copy}"
    return operation


def send(world: World, tablet: int, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = world.app.post_json(
        "/api/v1/batch", {"operations": batch}, headers=world.tablets[tablet].headers
    )
    return answer.json["results"]


# ---------------------------------------------------------------------- runs


def run_reference(world: World, ops: list[Op]) -> int:
    """Each operation once, in the order recorded, 100 to a batch per tablet."""
    sent = 0
    for tablet in range(len(world.tablets)):
        own = [op for op in ops if op.tablet == tablet]
        for start in range(0, len(own), 100):
            chunk = own[start : start + 100]
            results = send(world, tablet, [rendered(world, op) for op in chunk])
            refused = [r for r in results if r["status"] >= 300]
            assert not refused, refused[:3]
            sent += len(chunk)
    return sent


@dataclasses.dataclass
class ReplayStats:
    batches: int = 0
    lost: int = 0
    sent: int = 0
    resent: int = 0  # operations sent again after being acknowledged
    repeated_in_batch: int = 0
    statuses: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)


def run_replay(world: World, ops: list[Op], rng: random.Random) -> ReplayStats:
    stats = ReplayStats()
    by_key = {op.key: op for op in ops}
    pending = {t: [op.key for op in ops if op.tablet == t] for t in range(len(world.tablets))}
    acknowledged: dict[int, list[str]] = collections.defaultdict(list)
    done: set[str] = set()
    copies = collections.Counter[str]()
    while any(pending.values()):
        tablet = rng.choice([t for t, keys in pending.items() if keys])
        size = rng.randint(*BATCH)
        candidates = list(pending[tablet])
        rng.shuffle(candidates)
        chosen: list[str] = []
        for key in candidates:
            if all(dep in done or dep in chosen for dep in by_key[key].deps):
                chosen.append(key)
                if len(chosen) == size:
                    break
        batch = list(chosen)
        for _ in range(rng.randint(0, len(chosen) // 3 + 1)):  # earlier ones sent again
            if acknowledged[tablet]:
                batch.append(rng.choice(acknowledged[tablet]))
                stats.resent += 1
        for _ in range(rng.randint(0, 2)):  # the same operation twice in one batch
            batch.append(rng.choice(chosen))
            stats.repeated_in_batch += 1
        rng.shuffle(batch)
        operations = []
        for key in batch:
            copies[key] += 1
            operations.append(rendered(world, by_key[key], copies[key]))
        results = send(world, tablet, operations)
        stats.batches += 1
        stats.sent += len(operations)
        stats.statuses.update(r["status"] for r in results)
        refused = [r for r in results if r["status"] >= 300]
        assert not refused, f"batch {stats.batches}: {refused[:3]}"
        if rng.random() < LOST_ANSWERS:  # the tablet never hears back: it sends them again
            stats.lost += 1
            continue
        for key in chosen:
            pending[tablet].remove(key)
            acknowledged[tablet].append(key)
            done.add(key)
    return stats


# ---------------------------------------------------------------------- canonical dump


#: Server-clock fields inside documents (the feed's payloads).
_CLOCK_KEYS = frozenset({"checked_in_at", "received_at", "updated_at", "created_at"})


def _stable(value: Any) -> Any:
    """A document without the server's clock. Lists stay in their order: a document lists
    findings and attachments in a stable order, not in the order they reached the server."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _CLOCK_KEYS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def canonical_dump(world: World) -> dict[str, Any]:
    """The rows the operations produce, without what differs between two correct runs
    (surrogate ids, the server's clock, the audit chain's hashes over those)."""
    with Session(world.engine) as session:
        inspections = session.scalars(select(FieldInspection)).all()
        uuid_of = {row.id: str(row.uuid) for row in inspections}
        task_key = {task.id: index for index, task in enumerate(world.tasks)}
        dump: dict[str, Any] = {}
        dump["inspections"] = sorted(
            (
                str(row.uuid),
                task_key.get(row.task_id, row.task_id),
                row.inspector_id,
                row.status.value,
                row.version,
                json.dumps(row.answers, sort_keys=True),
                row.result and row.result.value,
                row.result_note,
                str(row.rectification_due),
                str(row.finished_at),
                row.finish_digest,
                row.created_digest,
                row.signer_name,
                row.signer_role,
                row.signature_sha256,
                row.refused_to_sign,
                str(row.signed_at),
                row.geofence.value,
                row.distance_m,
                row.flagged,
            )
            for row in inspections
        )
        dump["findings"] = sorted(
            (
                str(f.uuid),
                uuid_of[f.inspection_id],
                f.item_code,
                f.description,
                f.severity,
                json.dumps(f.evidence_sha256),
                f.digest,
            )
            for f in session.scalars(select(InspectionFinding))
        )
        dump["attachments"] = sorted(
            (
                str(a.uuid),
                uuid_of[a.inspection_id],
                a.sha256,
                a.caption,
                str(a.captured_at),
                json.dumps(a.exif_check, sort_keys=True),
                a.digest,
            )
            for a in session.scalars(select(InspectionEvidence))
        )
        ids = [task.id for task in world.tasks]
        dump["tasks"] = sorted(
            (task_key[t.id], t.status.value)
            for t in session.scalars(select(InspectionTask).where(InspectionTask.id.in_(ids)))
        )
        dump["audit"] = sorted(
            (
                a.action,
                a.entity_type,
                uuid_of.get(int(a.entity_id), a.entity_id)
                if a.entity_type == "field_inspections"
                else a.entity_type,
                json.dumps(a.details, sort_keys=True, default=str),
            )
            for a in session.scalars(select(AuditLog))
        )
        dump["feed"] = sorted(
            (r.kind, r.record_key, r.version, json.dumps(_stable(r.payload), sort_keys=True))
            for r in session.scalars(select(FeedRecord))
        )
        dump["outbox"] = sorted(
            (m.topic, json.dumps(m.payload, sort_keys=True))
            for m in session.scalars(select(OutboxMessage))
        )
        dump["row_counts"] = {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
            if table.name not in ("api_tokens",)
        }
    return dump


def _json_diff(a: Any, b: Any) -> tuple[Any, Any]:
    """Two JSON texts reduced to the parts that differ (other values as they are)."""
    try:
        a, b = json.loads(a), json.loads(b)
    except (TypeError, ValueError):
        return a, b
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        return {k: a.get(k) for k in keys}, {k: b.get(k) for k in keys}
    return a, b


def _explain(expected: list[tuple[Any, ...]], got: list[tuple[Any, ...]]) -> list[Any]:
    """The rows that differ, paired by their first two fields, each field that differs."""
    only_expected = collections.Counter(expected) - collections.Counter(got)
    only_got = collections.Counter(got) - collections.Counter(expected)
    by_key = {row[:2]: row for row in only_got}
    explained: list[Any] = []
    for row in list(only_expected)[:3]:
        other = by_key.get(row[:2])
        if other is None:
            explained.append({"only in reference": row})
        else:
            fields = [
                (i, *_json_diff(a, b)) for i, (a, b) in enumerate(zip(row, other, strict=True))
                if a != b
            ]  # fmt: skip
            explained.append({"row": row[:2], "reference vs replay": fields})
    explained += [{"only in replay": row} for row in list(only_got)[:3] if row[:2] not in
                  {r[:2] for r in only_expected}]  # fmt: skip
    return explained


def test_offline_queues_replayed_in_random_order_with_duplicates(
    worlds: tuple[World, World], backend: str
) -> None:
    reference, replayed = worlds
    assert [t.id for t in reference.tasks] == [t.id for t in replayed.tasks]
    rng = random.Random(SEED)
    ops = plan_operations(reference, rng)
    kinds = collections.Counter(op.kind for op in ops)
    for world in worlds:
        evidence_rows(world, ops)
    before = canonical_dump(replayed)
    print(
        f"\n[replay] {backend}, seed {SEED}: {len(ops)} operations of {len(reference.tablets)} "
        f"tablets on {len(reference.tasks)} inspections (one per task): "
        f"{dict(sorted(kinds.items()))}"
    )

    started = time.perf_counter()
    sent = run_reference(reference, ops)
    print(f"[replay] reference: each once in order, {sent} sent "
          f"({time.perf_counter() - started:.1f} s)")  # fmt: skip

    started = time.perf_counter()
    stats = run_replay(replayed, ops, random.Random(SEED + 1))
    print(
        f"[replay] replay: {stats.batches} batches in random order, {stats.sent} operations sent "
        f"({stats.sent - len(ops)} more than once: {stats.resent} re-sent after their answer, "
        f"{stats.repeated_in_batch} twice in one batch, {stats.lost} answers lost), statuses "
        f"{dict(sorted(stats.statuses.items()))} ({time.perf_counter() - started:.1f} s)"
    )

    expected, got = canonical_dump(reference), canonical_dump(replayed)
    assert got["row_counts"] != before["row_counts"]  # the replay did write
    differences = {
        name: (expected[name], got[name]) for name in expected if expected[name] != got[name]
    }
    if "row_counts" in differences:
        a, b = differences["row_counts"]
        differences["row_counts"] = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    for name, value in differences.items():
        if name != "row_counts":
            differences[name] = _explain(*value)
    if differences:
        print(f"[replay] DIFFERENT: {json.dumps(differences, ensure_ascii=False, default=str)}")
    assert not differences, differences
    sizes = {name: len(value) for name, value in got.items() if name != "row_counts"}
    print(f"[replay] canonical dumps equal: {sizes}")
