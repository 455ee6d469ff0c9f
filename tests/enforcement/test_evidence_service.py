"""Evidence in the database: registering stored files, attaching them to inspections
(idempotent by client UUID, team only, frozen once finished, EXIF against the check-in),
who may fetch a file, and the on-site record kept in the store."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.evidence import EvidenceStore, StoredEvidence
from enforcement.models import EvidenceFile, InspectionEvidence, Role, User
from enforcement.services.evidence import (
    AttachmentConflictError,
    AttachmentValidationError,
    EvidenceAccessError,
    EvidenceService,
    InspectionFrozenError,
    evidence_dir,
    evidence_store,
    max_bytes,
    upload_manager,
)
from enforcement.services.onsite_record import (
    RecordIncompleteError,
    RecordNotAvailableError,
    build_record,
    render_record,
    store_onsite_record,
)
from tests.evidence_helpers import (
    SITE_LAT,
    SITE_LON,
    Scene,
    finish,
    make_scene,
    photo,
    signature_png,
)


def _user(session: Session, role: Role, **fields: object) -> User:
    user = User(
        username=f"{role.value}-{uuid.uuid4().hex[:8]}",
        display_name="测试用户",
        role=role,
        password_hash="x",
        **fields,
    )
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


@pytest.fixture
def scene(db_session: Session) -> Scene:
    return make_scene(db_session)


@pytest.fixture
def lead_user(db_session: Session, scene: Scene) -> User:
    return _user(db_session, Role.INSPECTOR, inspector_id=scene.lead.id)


def _put(store: EvidenceStore, data: bytes, kind: str = "photo") -> StoredEvidence:
    return store.put_stream([data], declared_kind=kind)


def _service(session: Session, actor: User | None, store: EvidenceStore) -> EvidenceService:
    return EvidenceService(session, actor, store, {})


# ------------------------------------------------------------------------------ settings


def test_store_settings_default_under_var_dir(tmp_path: Path) -> None:
    settings = {"suijian.var_dir": str(tmp_path / "var")}
    assert evidence_dir(settings) == (tmp_path / "var" / "evidence").resolve()
    assert max_bytes(settings) == 50 * 1024 * 1024
    custom = {
        **settings,
        "suijian.evidence_dir": str(tmp_path / "e"),
        "suijian.evidence.max_bytes": "1000",
    }
    store = evidence_store(custom)
    assert store.root == (tmp_path / "e").resolve() and store.max_bytes == 1000
    # Each user's resumable uploads live apart: one user's upload id is unknown to another.
    assert upload_manager(custom, 7).root != upload_manager(custom, 8).root
    with pytest.raises(ValueError, match="max_bytes"):
        max_bytes({"suijian.evidence.max_bytes": "0"})


# ------------------------------------------------------------------------------ register


def test_register_reads_exif_and_returns_the_same_row_for_the_same_bytes(
    db_session: Session, store: EvidenceStore, lead_user: User
) -> None:
    stored = _put(store, photo())
    row, created = _service(db_session, lead_user, store).register(stored)
    assert created and row.sha256 == stored.sha256 == hashlib.sha256(photo()).hexdigest()
    assert (row.media_type, row.kind, row.size) == ("image/jpeg", "photo", len(photo()))
    assert row.uploaded_by_id == lead_user.id
    assert row.exif_time == dt.datetime(2025, 3, 4, 1, 41, 12, tzinfo=dt.UTC)
    assert row.exif_lat == pytest.approx(SITE_LAT, abs=1e-6)
    assert row.exif_lon == pytest.approx(SITE_LON, abs=1e-6)

    other = _user(db_session, Role.INSPECTOR)
    again, created_again = _service(db_session, other, store).register(_put(store, photo()))
    assert not created_again and again is row and again.uploaded_by_id == lead_user.id


# ------------------------------------------------------------------------------ attach


def test_attach_compares_exif_bumps_the_version_and_replays(
    db_session: Session, store: EvidenceStore, scene: Scene, lead_user: User
) -> None:
    service = _service(db_session, lead_user, store)
    file, _ = service.register(_put(store, photo()))
    attachment_uuid = uuid.uuid4()
    attachment, created = service.attach(
        scene.inspection.uuid,
        attachment_uuid,
        file.sha256,
        " 仓库货架 ",
        "2025-03-04T09:41:12+08:00",
    )
    assert created and scene.inspection.version == 2
    assert attachment.caption == "仓库货架"
    assert attachment.captured_at == dt.datetime(2025, 3, 4, 1, 41, 12, tzinfo=dt.UTC)
    check = attachment.exif_check
    assert check["verdict"] == "consistent"
    assert check["distance_m"] == pytest.approx(35.0, abs=1.0)
    assert check["minutes_apart"] == pytest.approx(11.2, abs=0.1)
    assert check["exif"]["time"] == "2025-03-04T01:41:12Z"

    # The same body (a different spelling of the same time) is a replay: nothing changes.
    replay, created = service.attach(
        scene.inspection.uuid,
        attachment_uuid,
        file.sha256.upper(),
        "仓库货架",
        "2025-03-04T01:41:12Z",
    )
    assert not created and replay is attachment and scene.inspection.version == 2

    with pytest.raises(AttachmentConflictError) as conflict:
        service.attach(scene.inspection.uuid, attachment_uuid, file.sha256, "另一说明")
    assert conflict.value.current["uuid"] == str(attachment_uuid)
    assert conflict.value.current["caption"] == "仓库货架"

    # The same file under another UUID in the same inspection: a conflict naming the first.
    with pytest.raises(AttachmentConflictError) as twice:
        service.attach(scene.inspection.uuid, uuid.uuid4(), file.sha256, "仓库货架")
    assert twice.value.current["uuid"] == str(attachment_uuid)
    assert scene.inspection.version == 2


def test_photos_taken_elsewhere_or_without_metadata_are_marked(
    db_session: Session, store: EvidenceStore, scene: Scene, lead_user: User
) -> None:
    service = _service(db_session, lead_user, store)
    far, _ = service.register(_put(store, photo(lat=SITE_LAT + 0.02, seed=41)))  # ~2.2 km north
    late, _ = service.register(_put(store, photo(taken="2025:03:04 18:00:00", seed=42)))
    bare, _ = service.register(_put(store, photo(taken=None, lat=None, seed=43)))
    verdicts = {
        name: service.attach(scene.inspection.uuid, uuid.uuid4(), row.sha256)[0].exif_check
        for name, row in (("far", far), ("late", late), ("bare", bare))
    }
    assert verdicts["far"]["verdict"] == "far" and verdicts["far"]["distance_m"] > 2000
    assert verdicts["late"]["verdict"] == "time_mismatch"
    assert verdicts["bare"]["verdict"] == "no_metadata"
    assert {"no_gps", "no_time"} <= set(verdicts["bare"]["notes"])
    assert scene.inspection.version == 4


def test_only_the_team_attaches_and_others_learn_nothing(
    db_session: Session, store: EvidenceStore, scene: Scene, lead_user: User
) -> None:
    file, _ = _service(db_session, lead_user, store).register(_put(store, photo()))
    outsider = _user(db_session, Role.INSPECTOR, inspector_id=scene.outsider.id)
    admin = _user(db_session, Role.ADMIN)  # may do everything, but is on no team
    for actor in (outsider, admin):
        with pytest.raises(EvidenceAccessError) as refused:
            _service(db_session, actor, store).attach(
                scene.inspection.uuid, uuid.uuid4(), file.sha256
            )
        with pytest.raises(EvidenceAccessError) as missing:
            _service(db_session, actor, store).attach(uuid.uuid4(), uuid.uuid4(), file.sha256)
        assert type(refused.value) is type(missing.value)
    member = _user(db_session, Role.INSPECTOR, inspector_id=scene.member.id)
    _, created = _service(db_session, member, store).attach(
        scene.inspection.uuid, uuid.uuid4(), file.sha256
    )
    assert created
    assert db_session.scalar(select(InspectionEvidence.sha256)) == file.sha256


def test_unknown_files_are_refused_naming_the_field(
    db_session: Session, store: EvidenceStore, scene: Scene, lead_user: User
) -> None:
    service = _service(db_session, lead_user, store)
    with pytest.raises(AttachmentValidationError) as unknown:
        service.attach(scene.inspection.uuid, uuid.uuid4(), "ab" * 32)
    assert "upload it first" in unknown.value.errors["sha256"]
    file, _ = service.register(_put(store, photo()))
    with pytest.raises(AttachmentValidationError) as naive:
        service.attach(
            scene.inspection.uuid, uuid.uuid4(), file.sha256, None, "2025-03-04T09:41:12"
        )
    assert "time zone" in naive.value.errors["captured_at"]


def test_a_finished_inspection_is_frozen_but_replays_still_answer(
    db_session: Session, store: EvidenceStore, scene: Scene, lead_user: User
) -> None:
    service = _service(db_session, lead_user, store)
    first, _ = service.register(_put(store, photo()))
    second, _ = service.register(_put(store, photo(seed=44)))
    attachment_uuid = uuid.uuid4()
    service.attach(scene.inspection.uuid, attachment_uuid, first.sha256, "照片")
    finish(scene.inspection, service.register(_put(store, signature_png()))[0].sha256)
    db_session.flush()
    version = scene.inspection.version
    replay, created = service.attach(scene.inspection.uuid, attachment_uuid, first.sha256, "照片")
    assert not created and replay.uuid == attachment_uuid
    with pytest.raises(InspectionFrozenError):
        service.attach(scene.inspection.uuid, uuid.uuid4(), second.sha256)
    assert scene.inspection.version == version


# ------------------------------------------------------------------------------ fetching


def test_who_may_fetch_a_file(
    db_session: Session, store: EvidenceStore, scene: Scene, lead_user: User
) -> None:
    file, _ = _service(db_session, lead_user, store).register(_put(store, photo()))
    member = _user(db_session, Role.INSPECTOR, inspector_id=scene.member.id)
    outsider = _user(db_session, Role.INSPECTOR, inspector_id=scene.outsider.id)
    supervisor = _user(db_session, Role.SUPERVISOR, department_id=scene.department.id)
    elsewhere = _user(db_session, Role.SUPERVISOR, department_id=scene.other_department.id)
    enterprise = _user(db_session, Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    admin = _user(db_session, Role.ADMIN)

    def may(actor: User) -> bool:
        try:
            return _service(db_session, actor, store).file(file.sha256) is file
        except EvidenceAccessError:
            return False

    # Not attached yet: only its uploader.
    assert [may(u) for u in (lead_user, member, supervisor, admin)] == [True, False, False, False]
    _service(db_session, lead_user, store).attach(scene.inspection.uuid, uuid.uuid4(), file.sha256)
    assert all(may(u) for u in (lead_user, member, supervisor, admin))
    assert not any(may(u) for u in (outsider, elsewhere, enterprise))
    with pytest.raises(EvidenceAccessError):
        _service(db_session, admin, store).file("cd" * 32)


# ------------------------------------------------------------------------------ the record


def test_the_record_is_built_from_the_inspection_and_stored_once(
    db_session: Session, store: EvidenceStore, scene: Scene, lead_user: User
) -> None:
    service = _service(db_session, lead_user, store)
    with pytest.raises(RecordNotAvailableError):
        build_record(db_session, scene.inspection, store)
    shot, _ = service.register(_put(store, photo()))
    service.attach(scene.inspection.uuid, uuid.uuid4(), shot.sha256, "仓库货架照片")
    signature, _ = service.register(_put(store, signature_png()))
    finish(scene.inspection, signature.sha256)
    db_session.flush()

    record = build_record(db_session, scene.inspection, store)
    assert record.enterprise_name == "杭州龙井人家茶叶有限公司"
    assert [i.name for i in record.inspectors] == ["张晓明", "李丽华"]  # the lead first
    assert [row.result.value for row in record.checklist] == ["合格", "不合格"]
    assert record.checklist[1].note == "未能提供进货查验记录"
    assert [(e.sha256, e.file_name) for e in record.evidence] == [(shot.sha256, "仓库货架照片")]
    assert record.party_signature.signature_png == signature_png()
    assert "仓库内发现超过保质期的袋装绿茶12袋" in record.findings
    assert "整改期限至2025年3月18日" in record.findings
    assert record.check_in.verdict.value == "inside"

    outcome = store_onsite_record(db_session, scene.inspection.uuid, store)
    assert outcome["status"] == "rendered"
    sha256 = scene.inspection.record_sha256
    assert sha256 == outcome["sha256"] and store.verify(sha256)
    row = db_session.get(EvidenceFile, sha256)
    assert (row.media_type, row.kind) == ("application/pdf", "document")
    with store.open(sha256) as handle:
        assert handle.read(5) == b"%PDF-"

    again = store_onsite_record(db_session, str(scene.inspection.uuid), store)
    assert again == {**outcome, "status": "exists"}
    # Rendering again from scratch gives the same bytes: the record is reproducible.
    assert hashlib.sha256(render_record(db_session, scene.inspection, store)).hexdigest() == sha256
    assert store_onsite_record(db_session, uuid.uuid4(), store)["status"] == "missing"


def test_a_refusal_to_sign_is_witnessed_by_the_team(
    db_session: Session, store: EvidenceStore, scene: Scene
) -> None:
    finish(scene.inspection, None, refused=True)
    db_session.flush()
    party = build_record(db_session, scene.inspection, store).party_signature
    assert party.refused and party.signature_png is None
    assert party.witness_name == "执法人员张晓明、李丽华"


def test_a_record_is_not_rendered_before_the_finish(
    db_session: Session, store: EvidenceStore, scene: Scene
) -> None:
    assert store_onsite_record(db_session, scene.inspection.uuid, store)["status"] == "not_finished"
    assert scene.inspection.record_sha256 is None


def test_a_record_that_cannot_be_made_says_why(
    db_session: Session, store: EvidenceStore, scene: Scene
) -> None:
    """Enterprises imported without a unified social credit code (e.g. the FSA directory)."""
    scene.enterprise.uscc = None
    finish(scene.inspection, None, refused=True)
    db_session.flush()
    with pytest.raises(RecordIncompleteError, match=r"OnSiteRecord\.uscc: is required"):
        build_record(db_session, scene.inspection, store)
    outcome = store_onsite_record(db_session, scene.inspection.uuid, store)
    assert outcome["status"] == "incomplete" and scene.inspection.record_sha256 is None
