"""The hash-chained audit log (执法全过程记录): sealing at commit (plain sessions, savepoints,
explicit ``seal``, concurrent committers, a Celery worker), the canonical hash, anchors,
tampering through raw SQL caught on both backends, the migration chaining existing rows,
and the audit rows of ratings, evidence, draws and publications."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.db import make_engine
from enforcement.evidence import EvidenceStore
from enforcement.models import (
    AuditAnchor,
    AuditLog,
    AuditLogImmutableError,
    Department,
    Enterprise,
    FeedRecord,
    Role,
    User,
)
from enforcement.models.audit import (
    GENESIS_HASH,
    canonical_entry,
    chain_head,
    compute_entry_hash,
)
from enforcement.services import audit
from enforcement.services.credit import RatingService
from enforcement.services.evidence import EvidenceService
from enforcement.services.publication import PublicationService, bundle_sha256
from tests import factories
from tests.evidence_helpers import make_scene, photo
from tests.factories import DepartmentFactory, EnterpriseFactory, user_named
from tests.field_work import drawn_field_work
from tests.workers import running_worker

NOW = dt.datetime(2026, 3, 2, 1, 30, 15, 123456, tzinfo=dt.UTC)


def _write(session: Session, n: int, action: str = "test.write") -> list[AuditLog]:
    department = DepartmentFactory()
    return [
        audit.record(session, None, action, department, {"n": i, "名称": "测试"}, at=NOW)
        for i in range(n)
    ]


def _independent_hash(row: AuditLog) -> str:
    """The documented scheme, written out again: sorted-key compact UTF-8 JSON, SHA-256."""
    body = json.dumps(
        {
            "seq": row.seq,
            "at": row.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
            "actor_id": row.actor_id,
            "action": row.action,
            "entity_type": row.entity_type,
            "entity_id": row.entity_id,
            "details": row.details,
            "prev_hash": row.prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _json_sql(session: Session) -> str:
    """A JSON parameter in raw SQL: PostgreSQL needs the cast, SQLite stores the text."""
    return "CAST(:details AS JSON)" if session.bind.dialect.name == "postgresql" else ":details"


def _at_sql(session: Session, value: dt.datetime) -> Any:
    """A timestamp parameter in raw SQL, as each backend stores it (SQLite: UTC text)."""
    if session.bind.dialect.name == "postgresql":
        return value
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _chain(session: Session) -> list[Any]:
    return session.execute(
        select(AuditLog.id, AuditLog.seq, AuditLog.prev_hash, AuditLog.entry_hash)
        .where(AuditLog.seq.is_not(None))
        .order_by(AuditLog.seq)
    ).all()


# ---------------------------------------------------------------------- sealing


def test_the_commit_chains_new_rows_in_id_order(db_session: Session) -> None:
    head_seq, head_hash = chain_head(db_session)
    rows = _write(db_session, 3)
    db_session.flush()
    assert all(row.seq is None and row.entry_hash is None for row in rows)

    db_session.commit()  # in the test's outer transaction: a savepoint, sealed all the same

    assert [row.seq for row in rows] == [head_seq + 1, head_seq + 2, head_seq + 3]
    assert rows[0].prev_hash == head_hash
    assert rows[1].prev_hash == rows[0].entry_hash and rows[2].prev_hash == rows[1].entry_hash
    db_session.expire_all()
    for row in rows:
        assert row.entry_hash == _independent_hash(row)
    report = audit.verify_chain(db_session)
    assert report.ok and report.head_seq == head_seq + 3 and report.head_hash == rows[2].entry_hash


def test_the_first_entry_links_to_the_genesis_hash(db_session: Session) -> None:
    if chain_head(db_session)[0] != 0:
        pytest.skip("the shared database already holds a chain")
    (row,) = _write(db_session, 1)
    db_session.commit()
    assert row.seq == 1 and row.prev_hash == GENESIS_HASH


def test_a_released_savepoint_leaves_sealing_to_the_outer_commit(db_session: Session) -> None:
    department = DepartmentFactory()
    with db_session.begin_nested():
        inner = audit.record(db_session, None, "test.inner", department, {})
    db_session.flush()
    assert inner.seq is None  # no chain lock taken inside the unit of work
    savepoint = db_session.begin_nested()
    audit.record(db_session, None, "test.rolled_back", department, {})
    db_session.flush()
    savepoint.rollback()  # only the savepoint: its row is gone
    db_session.commit()
    assert inner.seq is not None
    assert not db_session.scalars(
        select(AuditLog).where(AuditLog.action == "test.rolled_back")
    ).all()
    assert audit.verify_chain(db_session).ok


def test_seal_chains_what_a_flush_wrote(db_session: Session) -> None:
    rows = _write(db_session, 2)
    assert audit.seal(db_session) == 2
    assert [row.seq is not None for row in rows] == [True, True]
    assert audit.seal(db_session) == 0  # nothing left to chain
    assert audit.verify_chain(db_session).ok


def test_bulk_rows_are_chained_too(db_session: Session) -> None:
    department = DepartmentFactory()
    written = audit.record_many(
        db_session,
        None,
        [("test.bulk", "departments", str(department.id), {"i": i}) for i in range(7)],
        at=NOW,
    )
    db_session.commit()
    seqs = db_session.scalars(
        select(AuditLog.seq).where(AuditLog.action == "test.bulk").order_by(AuditLog.id)
    ).all()
    assert written == 7 and None not in seqs and seqs == sorted(seqs)
    assert audit.verify_chain(db_session).ok


def test_rows_and_anchors_are_append_only(db_session: Session) -> None:
    (row,) = _write(db_session, 1)
    db_session.commit()
    row.details = {"n": 99}
    with pytest.raises(AuditLogImmutableError):
        db_session.flush()
    db_session.rollback()
    db_session.delete(db_session.get_one(AuditLog, row.id))
    with pytest.raises(AuditLogImmutableError):
        db_session.flush()
    db_session.rollback()
    anchor = audit.create_anchor(db_session, clock=lambda: NOW)
    assert anchor is not None
    anchor.entry_hash = "f" * 64
    with pytest.raises(AuditLogImmutableError):
        db_session.flush()


def test_details_must_be_json_ready(db_session: Session) -> None:
    department = DepartmentFactory()
    for bad in ({"x": float("nan")}, {"x": {1, 2}}, {"when": dt.date(2026, 1, 1)}):
        with pytest.raises(ValueError, match="details"):
            audit.record(db_session, None, "test.bad", department, bad)


def test_the_hash_covers_what_the_database_gives_back(db_session: Session) -> None:
    department = DepartmentFactory()
    details = {
        "float": 0.1 + 0.2,
        "big": 2**60,
        "tuple": (1, "二"),
        "nested": {"b": [True, None], "a": "龙井"},
        7: "an int key becomes a string",
    }
    row = audit.record(db_session, None, "test.roundtrip", department, details, at=NOW)
    db_session.commit()
    stored_hash = row.entry_hash
    db_session.expire_all()
    again = db_session.get_one(AuditLog, row.id)
    assert again.at == NOW  # microseconds kept on both backends
    assert again.details["tuple"] == [1, "二"] and again.details["7"].startswith("an int")
    assert again.entry_hash == stored_hash == _independent_hash(again)
    body = canonical_entry(
        seq=again.seq,
        at=again.at,
        actor_id=again.actor_id,
        action=again.action,
        entity_type=again.entity_type,
        entity_id=again.entity_id,
        details=again.details,
        prev_hash=again.prev_hash,
    ).decode()
    assert '"at":"2026-03-02T01:30:15.123456+00:00"' in body and "龙井" in body


# ---------------------------------------------------------------------- tampering


@pytest.fixture
def chained(db_session: Session) -> list[AuditLog]:
    """Five committed entries on top of whatever the database holds."""
    rows = _write(db_session, 5)
    db_session.commit()
    assert audit.verify_chain(db_session).ok
    return rows


def test_changed_details_are_caught(db_session: Session, chained: list[AuditLog]) -> None:
    victim = chained[2]
    db_session.execute(
        text(f"UPDATE audit_log SET details = {_json_sql(db_session)} WHERE id = :id"),
        {"details": json.dumps({"n": 2, "名称": "篡改"}), "id": victim.id},
    )
    broken = audit.verify_chain(db_session).broken
    assert broken is not None
    assert (broken.seq, broken.id) == (victim.seq, victim.id)
    assert "content does not match entry_hash" in broken.problem and "details" in broken.problem


def test_a_deleted_row_is_caught(db_session: Session, chained: list[AuditLog]) -> None:
    victim = chained[1]
    db_session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": victim.id})
    broken = audit.verify_chain(db_session).broken
    assert broken is not None and broken.seq == victim.seq and broken.id is None
    assert f"jumps from seq {victim.seq - 1} to seq {victim.seq + 1}" in broken.problem


def test_an_inserted_unchained_row_is_caught(db_session: Session, chained: list[AuditLog]) -> None:
    db_session.execute(
        text(
            "INSERT INTO audit_log (at, actor_id, action, entity_type, entity_id, details) "
            f"VALUES (:at, NULL, 'plan.approve', 'sampling_plans', '1', {_json_sql(db_session)})"
        ),
        {"at": _at_sql(db_session, NOW), "details": "{}"},
    )
    inserted = db_session.scalar(select(func.max(AuditLog.id)))
    broken = audit.verify_chain(db_session).broken
    assert broken is not None and broken.seq is None and broken.id == inserted
    assert "not chained" in broken.problem


def test_a_row_hidden_below_the_chain_is_caught(
    db_session: Session, chained: list[AuditLog]
) -> None:
    victim = chained[-1]
    db_session.execute(text("UPDATE audit_log SET seq = -7 WHERE id = :id"), {"id": victim.id})
    broken = audit.verify_chain(db_session).broken  # the end of the chain looks whole
    assert broken is not None and (broken.seq, broken.id) == (-7, victim.id)
    assert "outside the chain" in broken.problem


def test_a_row_slipped_into_the_middle_is_caught(
    db_session: Session, chained: list[AuditLog]
) -> None:
    """The forger computes a correct hash for the new entry and makes room for it; the entries
    after it still hash their old seq and link to the old predecessor."""
    place = chained[2]
    later = [row.id for row in chained[2:]]
    db_session.execute(
        text("UPDATE audit_log SET seq = -seq WHERE id IN (" + ",".join(map(str, later)) + ")")
    )
    db_session.execute(
        text("UPDATE audit_log SET seq = 1 - seq WHERE id IN (" + ",".join(map(str, later)) + ")")
    )
    forged_at = NOW + dt.timedelta(seconds=1)
    forged = compute_entry_hash(
        seq=place.seq,
        at=forged_at,
        actor_id=None,
        action="plan.approve",
        entity_type="sampling_plans",
        entity_id="1",
        details={},
        prev_hash=chained[1].entry_hash,
    )
    db_session.execute(
        text(
            "INSERT INTO audit_log (at, actor_id, action, entity_type, entity_id, details, seq, "
            "prev_hash, entry_hash) VALUES (:at, NULL, 'plan.approve', 'sampling_plans', '1', "
            f"{_json_sql(db_session)}, :seq, :prev, :hash)"
        ),
        {
            "at": _at_sql(db_session, forged_at),
            "details": "{}",
            "seq": place.seq,
            "prev": chained[1].entry_hash,
            "hash": forged,
        },
    )
    broken = audit.verify_chain(db_session).broken
    assert broken is not None and (broken.seq, broken.id) == (place.seq + 1, place.id)
    assert "prev_hash" in broken.problem


def test_a_relinked_row_is_caught(db_session: Session, chained: list[AuditLog]) -> None:
    victim = chained[3]
    db_session.execute(
        text("UPDATE audit_log SET prev_hash = :prev WHERE id = :id"),
        {"prev": "a" * 64, "id": victim.id},
    )
    broken = audit.verify_chain(db_session).broken
    assert broken is not None and (broken.seq, broken.id) == (victim.seq, victim.id)
    assert f"is not the entry_hash {chained[2].entry_hash}" in broken.problem


def _rewrite_from(session: Session, start_seq: int, details: dict[str, Any]) -> None:
    """A forger with database access: change an entry and re-hash everything after it."""
    rows = session.execute(
        select(AuditLog.__table__).where(AuditLog.seq >= start_seq).order_by(AuditLog.seq)
    ).all()
    prev = session.scalar(select(AuditLog.entry_hash).where(AuditLog.seq == start_seq - 1))
    prev = prev or GENESIS_HASH
    for row in rows:
        new_details = details if row.seq == start_seq else row.details
        digest = compute_entry_hash(
            seq=row.seq,
            at=row.at,
            actor_id=row.actor_id,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            details=new_details,
            prev_hash=prev,
        )
        session.execute(
            text(
                f"UPDATE audit_log SET details = {_json_sql(session)}, prev_hash = :prev, "
                "entry_hash = :hash WHERE id = :id"
            ),
            {"details": json.dumps(new_details), "prev": prev, "hash": digest, "id": row.id},
        )
        prev = digest


def test_a_rehashed_rewrite_is_caught_by_the_anchors(
    db_session: Session, chained: list[AuditLog]
) -> None:
    anchor = audit.create_anchor(db_session, clock=lambda: NOW)
    assert anchor is not None and anchor.seq == chained[-1].seq
    published = {anchor.seq: anchor.entry_hash}
    _rewrite_from(db_session, chained[1].seq, {"n": 1, "名称": "改写"})
    report = audit.verify_chain(db_session)
    assert report.broken is not None and report.broken.seq == anchor.seq
    assert "differs from the anchor" in report.broken.problem

    # The forger rewrites the anchors too: a copy kept outside still catches it.
    db_session.execute(
        text("UPDATE audit_anchors SET entry_hash = :hash WHERE id = :id"),
        {"hash": _chain(db_session)[-1].entry_hash, "id": anchor.id},
    )
    assert audit.verify_chain(db_session).ok  # the database alone now agrees with itself
    broken = audit.verify_chain(db_session, published=published).broken
    assert broken is not None and broken.seq == anchor.seq
    assert "the published anchor" in broken.problem


def test_entries_removed_from_the_end_are_caught_by_the_anchors(
    db_session: Session, chained: list[AuditLog]
) -> None:
    anchor = audit.create_anchor(db_session, clock=lambda: NOW)
    assert anchor is not None
    db_session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": chained[-1].id})
    broken = audit.verify_chain(db_session).broken
    assert broken is not None and broken.seq == anchor.seq
    assert "anchored entry" in broken.problem


# ---------------------------------------------------------------------- anchors


def test_anchors_verify_then_record_the_head_and_feed_it(
    db_session: Session, chained: list[AuditLog]
) -> None:
    first = audit.create_anchor(db_session, clock=lambda: NOW)
    assert first is not None and (first.seq, first.entry_hash) == (
        chained[-1].seq,
        chained[-1].entry_hash,
    )
    assert audit.create_anchor(db_session, clock=lambda: NOW) is first  # nothing new
    more = _write(db_session, 2)
    db_session.commit()
    second = audit.create_anchor(db_session, clock=lambda: NOW + dt.timedelta(hours=1))
    assert second is not None and second.seq == more[-1].seq
    fed = db_session.scalars(
        select(FeedRecord).where(FeedRecord.kind == "audit_anchor").order_by(FeedRecord.id)
    ).all()
    assert [record.payload for record in fed][-2:] == [
        audit.anchor_document(first),
        audit.anchor_document(second),
    ]
    assert fed[-1].record_key == f"audit-anchor:{second.seq}"
    assert audit.list_anchors(db_session, after_seq=first.seq) == [second]
    report = audit.verify_chain(db_session)
    assert report.ok and report.anchors >= 2


def test_a_broken_chain_is_not_anchored(db_session: Session, chained: list[AuditLog]) -> None:
    db_session.execute(
        text(f"UPDATE audit_log SET details = {_json_sql(db_session)} WHERE id = :id"),
        {"details": "{}", "id": chained[0].id},
    )
    with pytest.raises(audit.AuditChainBrokenError) as caught:
        audit.create_anchor(db_session)
    assert caught.value.broken.id == chained[0].id
    assert db_session.scalar(select(func.count()).select_from(AuditAnchor)) == 0


def test_published_anchor_documents_are_checked() -> None:
    assert audit.published_anchors([{"seq": 3, "entry_hash": "a" * 64}]) == {3: "a" * 64}
    with pytest.raises(ValueError, match=r"anchors\[0\]"):
        audit.published_anchors([{"seq": "x", "entry_hash": "a" * 64}])
    with pytest.raises(ValueError, match=r"anchors\[1\]\.entry_hash"):
        audit.published_anchors([{"seq": 1, "entry_hash": "a" * 64}, {"seq": 2, "entry_hash": "b"}])


# ---------------------------------------------------------------------- real commits


@pytest.fixture
def fresh_engine(backend: str, new_database_url) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(new_database_url(backend))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_concurrent_committers_extend_one_gapless_chain(fresh_engine: Engine) -> None:
    """Writers that also lock the same row (as services do) commit at once; the chain lock is
    taken last, at commit, so nobody deadlocks and the chain stays whole."""
    with Session(fresh_engine) as session:
        factories.bind(session)
        firm = EnterpriseFactory()
        session.commit()
        firm_id = firm.id
    errors: list[BaseException] = []
    workers, rounds = 4, 10

    def one_transaction(worker: int, n: int) -> None:
        with Session(fresh_engine) as session:
            row = session.scalar(
                select(Enterprise).where(Enterprise.id == firm_id).with_for_update()
            )
            audit.record(session, None, "test.concurrent", row, {"w": worker, "n": n})
            audit.record_many(session, None, [("test.concurrent", "enterprises", str(firm_id), {})])
            session.commit()

    def work(worker: int) -> None:
        try:
            for n in range(rounds):
                for _attempt in range(100):
                    try:
                        one_transaction(worker, n)
                        break
                    except OperationalError:
                        # SQLite: a deferred transaction that read before another writer
                        # committed cannot write (SQLITE_BUSY_SNAPSHOT); retried, as tasks are.
                        if fresh_engine.dialect.name != "sqlite":
                            raise
                else:
                    raise AssertionError("no attempt succeeded")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(fresh_engine) as session:
        report = audit.verify_chain(session)
        assert report.ok, report.broken
        assert report.entries == report.head_seq == workers * rounds * 2


def test_the_migration_chains_existing_rows(backend: str, new_database_url) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(new_database_url(backend))
    try:
        migrate.upgrade(engine, "0010")
        log = sa.table(
            "audit_log",
            sa.column("at", sa.DateTime(timezone=True)),
            sa.column("actor_id", sa.Integer()),
            sa.column("action", sa.String()),
            sa.column("entity_type", sa.String()),
            sa.column("entity_id", sa.String()),
            sa.column("details", sa.JSON()),
        )
        with engine.begin() as connection:
            connection.execute(
                sa.insert(log),
                [
                    {
                        "at": NOW + dt.timedelta(microseconds=i),
                        "actor_id": None,
                        "action": "plan.create",
                        "entity_type": "sampling_plans",
                        "entity_id": str(i),
                        "details": {"code": f"2026-{i:03d}", "比例": 0.1 * i},
                    }
                    for i in range(12)
                ],
            )
        migrate.upgrade(engine)
        with Session(engine) as session:
            report = audit.verify_chain(session)
            assert report.ok and report.entries == 12 and report.first_seq == 1
            assert [row.seq for row in _chain(session)] == list(range(1, 13))
            # New entries continue the migrated chain.
            factories.bind(session)
            _write(session, 1)
            session.commit()
            assert audit.verify_chain(session).entries == 13
        migrate.downgrade(engine, "0010")
        migrate.upgrade(engine)
        with Session(engine) as session:
            assert audit.verify_chain(session).entries == 13
    finally:
        engine.dispose()


def test_a_celery_task_writes_sealed_rows_and_the_scheduled_anchor_records_them(
    backend: str,
    new_database_url,  # type: ignore[no-untyped-def]
    redis_url: str,
) -> None:
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings = {
        "sqlalchemy.url": url,
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
    }
    try:
        with Session(engine) as session:
            factories.bind(session)
            firms = [EnterpriseFactory() for _ in range(3)]
            session.commit()
            ids = [firm.id for firm in firms]
        with running_worker(settings) as app:
            rated = app.send_task(
                "enforcement.tasks.rerate_enterprises", args=[ids], kwargs={"cause": "batch"}
            ).get(timeout=120)
            anchored = app.send_task("enforcement.tasks.anchor_audit_log").get(timeout=120)
        assert rated["changed"] == 3
        assert anchored["anchored"] is True and anchored["anchor"]["seq"] == 3
        with Session(engine) as session:
            rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
            assert [row.action for row in rows] == ["credit.rate"] * 3
            assert [row.seq for row in rows] == [1, 2, 3]
            assert audit.verify_chain(session).anchors == 1
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- coverage


def test_every_rating_change_is_one_audit_row(db_session: Session) -> None:
    firms = [EnterpriseFactory() for _ in range(4)]
    service = RatingService(db_session, clock=lambda: NOW)
    summary = service.rate([firm.id for firm in firms], cause="batch", detail="test")
    db_session.commit()
    rows = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "credit.rate").order_by(AuditLog.id)
    ).all()
    assert summary.changed == len(rows) == 4
    assert sorted(row.entity_id for row in rows) == sorted(str(firm.id) for firm in firms)
    first = rows[0].details
    assert first["previous_tier"] is None and first["tier"] in "ABCD"
    assert first["cause"] == "batch" and first["detail"] == "test"
    assert all(row.seq is not None for row in rows)
    assert service.rate([firm.id for firm in firms]).changed == 0  # unchanged: no rows
    db_session.commit()
    assert db_session.scalar(select(func.count()).where(AuditLog.action == "credit.rate")) == 4


def test_evidence_uploads_and_attachments_are_audited(db_session: Session, tmp_path: Path) -> None:
    scene = make_scene(db_session)
    lead = User(
        username=f"lead-{uuid.uuid4().hex[:6]}",
        display_name="张晓明",
        role=Role.INSPECTOR,
        password_hash="x",
        inspector_id=scene.lead.id,
    )
    db_session.add(lead)
    db_session.flush()
    store = EvidenceStore(tmp_path / "evidence")
    service = EvidenceService(db_session, lead, store, {})
    stored = store.put_stream([photo()], declared_kind="photo")
    file, created = service.register(stored)
    assert created and service.register(stored)[1] is False  # the same bytes: one row
    attachment_uuid = uuid.uuid4()
    service.attach(scene.inspection.uuid, attachment_uuid, file.sha256, "门头照片")
    db_session.commit()
    (upload,) = audit.history(db_session, file)
    assert (upload.action, upload.actor_id, upload.entity_id) == (
        "evidence.upload",
        lead.id,
        file.sha256,
    )
    assert upload.details["size"] == file.size and upload.seq is not None
    attach = audit.history(db_session, scene.inspection)
    assert [r.action for r in attach] == ["evidence.attach"]
    assert attach[0].details["attachment"] == str(attachment_uuid)
    assert attach[0].details["sha256"] == file.sha256


def test_a_publication_records_the_hash_of_the_exported_bundle(db_session: Session) -> None:
    work = drawn_field_work(db_session)
    plan = work.task.draw.plan
    bundle = PublicationService(db_session, user_named(db_session, "supervisor")).publish(plan)
    db_session.commit()
    actions = [row.action for row in audit.history(db_session, plan)]
    assert actions[-2:] == ["plan.draw", "plan.publish"]
    published = audit.history(db_session, plan)[-1]
    assert published.details["bundle_sha256"] == bundle_sha256(bundle)
    assert audit.verify_chain(db_session).ok


# ---------------------------------------------------------------------- trails


def test_a_supervisor_sees_trails_in_their_department_only(db_session: Session) -> None:
    scene = make_scene(db_session)
    audit.record(db_session, None, "test.task", scene.task, {})
    audit.record(db_session, None, "test.inspection", scene.inspection, {})
    audit.record(db_session, None, "test.enterprise", scene.enterprise, {})
    db_session.flush()

    def viewer(role: Role, department: Department | None) -> User:
        user = User(
            username=f"{role.value}-{uuid.uuid4().hex[:6]}",
            display_name="查看者",
            role=role,
            password_hash="x",
            department_id=None if department is None else department.id,
        )
        db_session.add(user)
        db_session.flush()
        return user

    own = viewer(Role.SUPERVISOR, scene.department)
    other = viewer(Role.SUPERVISOR, scene.other_department)
    admin = viewer(Role.ADMIN, scene.other_department)
    inspection = ("field_inspections", str(scene.inspection.id))
    task = ("inspection_tasks", str(scene.task.id))
    assert [r.action for r in audit.entity_trail(db_session, own, *inspection)] == [
        "test.inspection"
    ]
    assert [r.action for r in audit.entity_trail(db_session, own, *task)] == ["test.task"]
    assert [r.action for r in audit.entity_trail(db_session, admin, *inspection)] == [
        "test.inspection"
    ]
    odd_keys = [("field_inspections", "9" * 30), ("field_inspections", "x"), ("nope", "1")]
    for key in (inspection, task, ("field_inspections", "999999999"), *odd_keys):
        with pytest.raises(audit.AuditTrailNotFoundError):
            audit.entity_trail(db_session, other, *key)
    assert audit.entity_trail(db_session, admin, "field_inspections", "9" * 30) == []
    with pytest.raises(audit.AuditTrailNotFoundError):
        audit.entity_trail(db_session, admin, "evidence_files", "a\x00b")
    # Enterprises are the whole bureau's: every supervisor sees their trail.
    firm = ("enterprises", str(scene.enterprise.id))
    assert [r.action for r in audit.entity_trail(db_session, other, *firm)] == ["test.enterprise"]
    with pytest.raises(audit.AuditTrailNotFoundError):
        audit.entity_trail(db_session, viewer(Role.INSPECTOR, scene.department), *firm)
