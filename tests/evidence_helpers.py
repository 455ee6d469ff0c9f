"""Test data for evidence and on-site records: a drawn plan's task with a team of two, an
inspection checked in at the enterprise, photos with EXIF, a signature PNG, and PDF text."""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import re
import subprocess
import uuid
from dataclasses import dataclass

from geoalchemy2 import WKTElement
from PIL import ExifTags, Image, ImageDraw
from sqlalchemy.orm import Session

from enforcement import models
from enforcement.models import (
    Draw,
    FieldInspection,
    GeofenceVerdict,
    InspectionResult,
    InspectionStatus,
    InspectionTask,
    MemberRole,
    PlanStatus,
    SamplingPlan,
    TaskMember,
    TaskStatus,
)
from tests import factories

# West Lake, Hangzhou (WGS-84): the enterprise; the tablet checks in 35 m away.
SITE_LON, SITE_LAT = 120.1551, 30.2741
CHECKIN_LAT = SITE_LAT + 35 / 111_195.08
CHECKIN_TIME = dt.datetime(2025, 3, 4, 1, 30, tzinfo=dt.UTC)  # 9:30 in Shanghai
FINISHED_AT = dt.datetime(2025, 3, 4, 2, 45, tzinfo=dt.UTC)


@dataclass
class Scene:
    department: models.Department
    other_department: models.Department
    enterprise: models.Enterprise
    lead: models.Inspector
    member: models.Inspector
    outsider: models.Inspector
    task: InspectionTask
    inspection: FieldInspection


def make_scene(session: Session, *, plan_code: str | None = None) -> Scene:
    """A drawn plan with one task (team: lead + member), checked in; flushed, not committed."""
    department = factories.DepartmentFactory(name="杭州市西湖区市场监督管理局")
    other = factories.DepartmentFactory(name="宁波市海曙区市场监督管理局")
    enterprise = factories.EnterpriseFactory(
        name="杭州龙井人家茶叶有限公司",
        legal_representative="王建国",
        registered_address="浙江省杭州市西湖区龙井路88号",
        location=WKTElement(f"POINT({SITE_LON} {SITE_LAT})", srid=4326),
    )
    items = [
        factories.InspectionItemFactory(department=department, name="营业执照公示情况的检查"),
        factories.InspectionItemFactory(
            department=department, name="进货查验记录制度执行情况的检查"
        ),
    ]
    lead = factories.InspectorFactory(department=department, name="张晓明")
    member = factories.InspectorFactory(department=department, name="李丽华")
    outsider = factories.InspectorFactory(department=department, name="赵卫东")
    plan = SamplingPlan(
        code=plan_code or f"2025-EV-{uuid.uuid4().hex[:8]}",
        title="2025年证据测试抽查计划",
        year=2025,
        tier_ratios={"A": 0.1, "B": 0.2, "C": 0.3, "D": 0.8},
        status=PlanStatus.DRAWN,
        seed_commitment=uuid.uuid4().hex + uuid.uuid4().hex,
        items=items,
    )
    draw = Draw(plan=plan, algorithm_version="suijian-draw/1", snapshot_hash="0" * 64, report={})
    task = InspectionTask(
        uuid=uuid.uuid4(),
        draw=draw,
        enterprise=enterprise,
        stratum="330106|B|F",
        checklist=[
            {"code": item.code, "name": item.name, "department": department.code} for item in items
        ],
        items=items,
        due_date=dt.date(2025, 12, 31),
        status=TaskStatus.IN_PROGRESS,
        members=[
            TaskMember(inspector=lead, role=MemberRole.LEAD),
            TaskMember(inspector=member, role=MemberRole.MEMBER),
        ],
    )
    inspection = FieldInspection(
        uuid=uuid.uuid4(),
        task=task,
        inspector=lead,
        status=InspectionStatus.IN_PROGRESS,
        version=1,
        created_digest="0" * 64,
        reported_crs="wgs84",
        reported_lon=SITE_LON,
        reported_lat=CHECKIN_LAT,
        checkin_lon=SITE_LON,
        checkin_lat=CHECKIN_LAT,
        accuracy_m=12.0,
        device_time=CHECKIN_TIME,
        checked_in_at=CHECKIN_TIME,
        geofence=GeofenceVerdict.INSIDE,
        distance_m=35.0,
        geofence_radius_m=200.0,
        answers={},
    )
    session.add_all([plan, draw, task, inspection])
    session.flush()
    return Scene(department, other, enterprise, lead, member, outsider, task, inspection)


def finish(
    inspection: FieldInspection,
    signature_sha256: str | None,
    *,
    signer: str = "王建国",
    refused: bool = False,
) -> None:
    """Finish the inspection the way the lead's service does (fields set directly)."""
    codes = [entry["code"] for entry in inspection.task.checklist]
    inspection.answers = {
        codes[0]: {"answer": "compliant", "note": ""},
        codes[1]: {"answer": "non_compliant", "note": "未能提供进货查验记录"},
    }
    inspection.signer_name = signer
    inspection.signer_role = "负责人"
    inspection.signature_sha256 = None if refused else signature_sha256
    inspection.refused_to_sign = refused
    inspection.signed_at = FINISHED_AT
    inspection.result = InspectionResult.RECTIFICATION_ORDERED
    inspection.result_note = "责令当事人立即下架过期茶叶。"
    inspection.rectification_due = dt.date(2025, 3, 18)
    inspection.findings.append(
        models.InspectionFinding(
            uuid=uuid.uuid4(),
            item_code=codes[1],
            description="仓库内发现超过保质期的袋装绿茶12袋",
            severity="serious",
            evidence_sha256=[],
            digest="0" * 64,
        )
    )
    inspection.finished_at = FINISHED_AT
    inspection.finish_digest = "0" * 64
    inspection.status = InspectionStatus.FINISHED
    inspection.version += 1


# ------------------------------------------------------------------------------ files


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    return float(degrees), float(minutes), round((minutes_full - minutes) * 60, 4)


def photo(
    taken: str | None = "2025:03:04 09:41:12",
    lat: float | None = SITE_LAT,
    lon: float | None = SITE_LON,
    seed: int = 40,
) -> bytes:
    """A JPEG with EXIF capture time (+08:00) and GPS position (WGS-84); distinct per seed."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        sub[ExifTags.Base.DateTimeOriginal] = taken
        sub[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    if lat is not None and lon is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps[ExifTags.GPS.GPSLatitude] = _dms(lat)
        gps[ExifTags.GPS.GPSLongitudeRef] = "E"
        gps[ExifTags.GPS.GPSLongitude] = _dms(lon)
        gps[ExifTags.GPS.GPSMapDatum] = "WGS-84"
    out = io.BytesIO()
    noise = random.Random(seed).randbytes(320 * 240)  # deterministic: same seed, same bytes
    Image.frombytes("L", (320, 240), noise).convert("RGB").save(out, "JPEG", exif=exif)
    return out.getvalue()


def signature_png(seed: int = 0) -> bytes:
    image = Image.new("RGBA", (480, 160), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = [(30 + x, 90 + 40 * math.sin(x / (18 + seed))) for x in range(0, 420, 3)]
    draw.line(points, fill=(10, 10, 60, 255), width=6, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_text(pdf: bytes) -> str:
    """The PDF's text in reading order, without whitespace (CJK is padded by pdftotext)."""
    raw = subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return re.sub(r"\s+", "", raw)
