"""Test data for transfers to justice: a finished inspection that found a suspected crime
(with a photo and a signature in the evidence store), the penalty case opened from it, the
people of each role, and a complete investigation report with items and attachments."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from enforcement.evidence import EvidenceStore
from enforcement.models import (
    EvidenceFile,
    InspectionEvidence,
    InspectionResult,
    PenaltyCase,
    Role,
    User,
)
from enforcement.services.cases import open_case_from_inspection
from enforcement.services.evidence import EvidenceService
from enforcement.services.onsite_record import put_document
from tests.evidence_helpers import Scene, finish, make_scene, photo, signature_png

REPORTED_AT = dt.datetime(2025, 3, 10, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Beijing
POLICE_OFFICE = "杭州市公安局西湖区分局"
PROCURATORATE = "杭州市西湖区人民检察院"
#: A PDF inspection report from a testing institute (kept as a server-side document).
INSPECTION_REPORT_PDF = b"%PDF-1.4\n% inspection report SJ-2025-0311 of the tea samples\n%%EOF\n"


@dataclass
class TransferScene:
    scene: Scene
    store: EvidenceStore
    case: PenaltyCase
    lead: User  # case group lead (an inspector)
    member: User  # the second officer of the group
    supervisor: User  # of the case's department: reports and decides
    other_supervisor: User  # of another department
    liaison: User
    admin: User
    enterprise_user: User
    photo_sha256: str  # the inspection's photo
    appraisal_sha256: str  # a scanned appraisal opinion (JPEG)
    report_sha256: str  # the inspection report (PDF document)


def _user(session: Session, username: str, role: Role, name: str, **fields: Any) -> User:
    user = User(
        username=username,
        display_name=name,
        role=role,
        password_hash="x",
        **fields,
    )
    session.add(user)
    session.flush()
    return user


def make_transfer_scene(session: Session, store: EvidenceStore) -> TransferScene:
    """Flushed, not committed; usernames are unique per call."""
    tag = uuid.uuid4().hex[:6]
    scene = make_scene(session)
    service = EvidenceService(session, None, store)
    signature = service.register(store.put_stream([signature_png()], declared_kind="photo"))[0]
    picture = service.register(store.put_stream([photo(seed=41)], declared_kind="photo"))[0]
    scan = service.register(store.put_stream([photo(seed=42)], declared_kind="photo"))[0]
    report_sha = put_document(store, INSPECTION_REPORT_PDF)
    session.add(
        EvidenceFile(
            sha256=report_sha,
            media_type="application/pdf",
            kind="document",
            size=len(INSPECTION_REPORT_PDF),
        )
    )
    scene.inspection.evidence.append(
        InspectionEvidence(
            uuid=uuid.uuid4(),
            sha256=picture.sha256,
            file=picture,
            caption="仓库内过期茶叶",
            captured_at=dt.datetime(2025, 3, 4, 1, 41, tzinfo=dt.UTC),
            exif_check={},
            digest="0" * 64,
        )
    )
    finish(scene.inspection, signature.sha256)
    scene.inspection.result = InspectionResult.SUSPECTED_CRIME
    scene.inspection.result_note = "销售超过保质期的食品，货值较大，涉嫌犯罪"
    session.flush()
    lead = _user(session, f"lead-{tag}", Role.INSPECTOR, "张晓明", inspector_id=scene.lead.id)
    member = _user(session, f"member-{tag}", Role.INSPECTOR, "李丽华", inspector_id=scene.member.id)
    department = scene.department.id
    supervisor = _user(session, f"head-{tag}", Role.SUPERVISOR, "王建军", department_id=department)
    other = _user(
        session,
        f"other-{tag}",
        Role.SUPERVISOR,
        "周其他",
        department_id=scene.other_department.id,
    )
    liaison = _user(session, f"liaison-{tag}", Role.LIAISON, "陈敏")
    admin = _user(session, f"admin-{tag}", Role.ADMIN, "系统管理员")
    enterprise_user = _user(
        session, f"ent-{tag}", Role.ENTERPRISE, "企业", enterprise_id=scene.enterprise.id
    )
    case = open_case_from_inspection(
        session, lead, scene.inspection, clock=lambda: dt.datetime(2025, 3, 5, 1, tzinfo=dt.UTC)
    )
    session.flush()
    return TransferScene(
        scene=scene,
        store=store,
        case=case,
        lead=lead,
        member=member,
        supervisor=supervisor,
        other_supervisor=other,
        liaison=liaison,
        admin=admin,
        enterprise_user=enterprise_user,
        photo_sha256=picture.sha256,
        appraisal_sha256=scan.sha256,
        report_sha256=report_sha,
    )


def report_body(ts: TransferScene) -> dict[str, Any]:
    """A complete investigation report with two items and two attachments."""
    return {
        "facts": (
            "2025年3月4日，执法人员在当事人仓库内发现超过保质期的袋装绿茶120袋。\n"
            "经查，当事人自2024年12月起持续销售上述过期茶叶，销售金额共计人民币68000元。"
        ),
        "evidence_summary": "现场检查笔录、现场照片、检验报告、鉴定意见、销售记录。",
        "suspected_offence": "生产、销售不符合安全标准的食品罪",
        "police_office": POLICE_OFFICE,
        "procuratorate": PROCURATORATE,
        "legal_basis": (
            "《中华人民共和国刑法》第一百四十三条\n《中华人民共和国食品安全法》第一百二十一条"
        ),
        "items": [
            {
                "name": "过期袋装绿茶",
                "spec": "250克/袋",
                "quantity": 120,
                "unit": "袋",
                "location": "西湖区市场监管局罚没物品仓库",
                "custody": "已扣押",
            },
            {
                "name": "销售记录账本",
                "quantity": "2",
                "unit": "本",
                "location": "案卷",
                "custody": "已提取",
                "note": "2024年12月至2025年3月",
            },
        ],
        "attachments": [
            {"sha256": ts.report_sha256, "kind": "inspection_report", "title": "茶叶检验报告"},
            {"sha256": ts.appraisal_sha256, "kind": "appraisal_opinion", "title": "食品鉴定意见书"},
        ],
    }


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
