"""Transfers to public security (两法衔接): the status loop, who may move it, each statutory
clock (including one across the National Day holiday), what "pending" means for the case, the
liaison desk and its CSV/XLSX export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.evidence import EvidenceStore
from enforcement.models import (
    Alert,
    AlertLevel,
    AuditLog,
    CaseMember,
    FeedRecord,
    Transfer,
    TransferStatus,
    User,
)
from enforcement.services import clocks
from enforcement.services.transfers import (
    HEAD_DECISION_CLOCK,
    POLICE_DECISION_CLOCK,
    RECONSIDERATION_CLOCK,
    RECONSIDERATION_DECISION_CLOCK,
    SEND_CLOCK,
    SUPERVISION_CLOCK,
    TransferNotFoundError,
    TransferPermissionError,
    TransferService,
    TransferStateError,
    TransferValidationError,
    desk_csv,
    desk_xlsx,
    pending_transfer,
)
from tests.transfer_helpers import (
    POLICE_OFFICE,
    PROCURATORATE,
    REPORTED_AT,
    TransferScene,
    make_transfer_scene,
    report_body,
)

HOUR = dt.timedelta(hours=1)


class Clock:
    """The services' notion of now, moved by the test."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self.now += delta
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


@pytest.fixture
def ts(db_session: Session, store: EvidenceStore) -> TransferScene:
    return make_transfer_scene(db_session, store)


@pytest.fixture
def now() -> Clock:
    return Clock(REPORTED_AT)


@pytest.fixture
def as_user(db_session: Session, now: Clock) -> Callable[[User | None], TransferService]:
    def make(user: User | None) -> TransferService:
        return TransferService(db_session, user, clock=now)

    return make


def _clock(session: Session, transfer: Transfer, kind: str) -> clocks.Clock:
    rows = [c for c in clocks.clocks_for(session, transfer) if c.kind == kind]
    assert len(rows) == 1, (kind, rows)
    return rows[0]


def _beijing(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=clocks.SHANGHAI).astimezone(dt.UTC)


def _reported(ts: TransferScene, as_user: Callable[..., TransferService]) -> Transfer:
    transfer, created = as_user(ts.supervisor).report(ts.case.id, report_body(ts))
    assert created
    return transfer


# ---------------------------------------------------------------------- the loop


def test_the_full_loop_through_reconsideration_and_supervision(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    head, liaison = as_user(ts.supervisor), as_user(ts.liaison)
    transfer = _reported(ts, as_user)
    assert transfer.status is TransferStatus.REPORTED and transfer.version == 1
    assert [a["name"] for a in transfer.authors] == ["张晓明", "李丽华"]
    assert [a["role"] for a in transfer.authors] == ["lead", "member"]
    assert [i.name for i in transfer.items] == ["过期袋装绿茶", "销售记录账本"]
    assert [i.quantity for i in transfer.items] == [Decimal(120), Decimal(2)]
    assert [a.kind.value for a in transfer.attachments] == [
        "inspection_report",
        "appraisal_opinion",
    ]
    assert pending_transfer(db_session, ts.case) is transfer

    now.advance(5 * HOUR)
    head.decide(ts.case.id, "approve", "证据确实充分，同意移送")
    assert transfer.status is TransferStatus.APPROVED and transfer.decided_by is ts.supervisor
    assert pending_transfer(db_session, ts.case) is transfer

    sent_at = now.advance(3 * HOUR)
    liaison.send(ts.case.id)  # the office and the procuratorate named in the report
    assert transfer.status is TransferStatus.SENT
    assert (transfer.police_office, transfer.procuratorate) == (POLICE_OFFICE, PROCURATORATE)
    assert transfer.sent_at == sent_at and transfer.procuratorate_copy_at == sent_at

    now.advance(24 * HOUR)
    received = now.now - 2 * HOUR  # the receipt was signed two hours before it was recorded
    liaison.receive(ts.case.id, at=received, note="回执编号 XH-2025-031")
    assert transfer.status is TransferStatus.RECEIVED and transfer.received_at == received

    now.advance(48 * HOUR)
    liaison.police_decision(ts.case.id, "not_filed", reasons="现有证据不足以证明销售金额")
    assert transfer.status is TransferStatus.NOT_FILED
    assert pending_transfer(db_session, ts.case) is transfer  # still 3 days to ask

    now.advance(24 * HOUR)
    liaison.request_reconsideration(ts.case.id, reason="已补充销售记录账本，金额达到追诉标准")
    assert transfer.status is TransferStatus.RECONSIDERATION

    now.advance(48 * HOUR)
    liaison.reconsideration_outcome(ts.case.id, "not_filed", note="维持不予立案决定")
    assert transfer.status is TransferStatus.UPHELD
    assert pending_transfer(db_session, ts.case) is transfer

    now.advance(24 * HOUR)
    liaison.request_supervision(ts.case.id, reason="建议检察院依法进行立案监督")
    assert transfer.status is TransferStatus.SUPERVISION

    now.advance(240 * HOUR)
    liaison.supervision_outcome(ts.case.id, "filed", note="经检察院监督，公安机关已立案")
    assert transfer.status is TransferStatus.FILED
    assert pending_transfer(db_session, ts.case) is None  # the criminal process has it

    actions = [e.action for e in transfer.events]
    assert actions == [
        "report",
        "decide",
        "send",
        "receive",
        "police_decision",
        "reconsideration",
        "reconsideration_outcome",
        "supervision",
        "supervision_outcome",
    ]
    assert transfer.events[-1].to_status is TransferStatus.FILED
    assert transfer.version == 9
    audited = db_session.scalars(
        select(AuditLog.action)
        .where(AuditLog.entity_type == "transfers", AuditLog.entity_id == str(transfer.id))
        .order_by(AuditLog.id)
    ).all()
    assert audited == [f"transfer.{a}" for a in actions]
    fed = db_session.scalars(
        select(FeedRecord)
        .where(FeedRecord.kind == "transfer", FeedRecord.record_key == str(transfer.uuid))
        .order_by(FeedRecord.version)
    ).all()
    assert [r.payload["status"] for r in fed] == [
        "reported",
        "approved",
        "sent",
        "received",
        "not_filed",
        "reconsideration",
        "upheld",
        "supervision",
        "filed",
    ]
    assert "张晓明" not in str(fed[-1].payload)  # no personal data of officers
    # No clock is left running at the end.
    assert all(c.stopped_at is not None for c in clocks.clocks_for(db_session, transfer))


def test_rejected_by_the_head_with_reasons_is_final(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService]
) -> None:
    transfer = _reported(ts, as_user)
    head = as_user(ts.supervisor)
    with pytest.raises(TransferValidationError) as refused:
        head.decide(ts.case.id, "reject")
    assert "reason" in refused.value.errors
    head.decide(ts.case.id, "reject", "涉案金额未达到追诉标准")
    assert transfer.status is TransferStatus.REJECTED
    assert transfer.decision_reason == "涉案金额未达到追诉标准"
    assert pending_transfer(db_session, ts.case) is None
    with pytest.raises(TransferStateError, match="rejected"):
        as_user(ts.liaison).send(ts.case.id)
    with pytest.raises(TransferStateError, match="can no longer change"):
        head.report(ts.case.id, report_body(ts))
    assert _clock(db_session, transfer, HEAD_DECISION_CLOCK).stopped_at is not None
    assert not [c for c in clocks.clocks_for(db_session, transfer) if c.kind == SEND_CLOCK]


def test_filed_directly_ends_the_transfer(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    transfer = _reported(ts, as_user)
    as_user(ts.supervisor).decide(ts.case.id, "approve")
    liaison = as_user(ts.liaison)
    liaison.send(ts.case.id, police_office="杭州市公安局", procuratorate="杭州市人民检察院")
    assert transfer.police_office == "杭州市公安局"
    now.advance(HOUR)
    liaison.receive(ts.case.id)
    now.advance(HOUR)
    liaison.police_decision(ts.case.id, "filed", police_case_no="杭公立〔2025〕88号")
    assert transfer.status is TransferStatus.FILED and transfer.police_case_no
    assert pending_transfer(db_session, ts.case) is None
    with pytest.raises(TransferStateError):
        liaison.request_reconsideration(ts.case.id, reason="不需要")


def test_a_non_filing_accepted_closes_the_transfer_and_cancels_its_clock(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    transfer = _reported(ts, as_user)
    as_user(ts.supervisor).decide(ts.case.id, "approve")
    liaison = as_user(ts.liaison)
    liaison.send(ts.case.id)
    liaison.receive(ts.case.id)
    with pytest.raises(TransferValidationError) as refused:
        liaison.police_decision(ts.case.id, "not_filed")
    assert "reasons" in refused.value.errors  # written reasons are required
    liaison.police_decision(ts.case.id, "not_filed", reasons="不构成犯罪")
    assert pending_transfer(db_session, ts.case) is transfer
    now.advance(HOUR)
    liaison.close(ts.case.id, reason="经研究接受不予立案决定，转为行政处罚")
    assert transfer.status is TransferStatus.CLOSED and transfer.closed_by is ts.liaison
    assert pending_transfer(db_session, ts.case) is None
    assert _clock(db_session, transfer, RECONSIDERATION_CLOCK).outcome.value == "cancelled"


def test_supervision_asked_directly_and_refused_closes(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    transfer = _reported(ts, as_user)
    as_user(ts.supervisor).decide(ts.case.id, "approve")
    liaison = as_user(ts.liaison)
    liaison.send(ts.case.id)
    liaison.receive(ts.case.id)
    liaison.police_decision(ts.case.id, "not_filed", reasons="不构成犯罪")
    now.advance(HOUR)
    liaison.request_supervision(ts.case.id, reason="建议立案监督")
    assert _clock(db_session, transfer, RECONSIDERATION_CLOCK).outcome.value == "met"
    with pytest.raises(TransferValidationError) as refused:
        liaison.supervision_outcome(ts.case.id, "not_filed")
    assert "note" in refused.value.errors
    now.advance(HOUR)
    liaison.supervision_outcome(ts.case.id, "not_filed", note="检察院认为不予立案理由成立")
    assert transfer.status is TransferStatus.CLOSED
    assert transfer.close_reason == "检察院认为不予立案理由成立"
    assert pending_transfer(db_session, ts.case) is None


def test_pending_is_every_status_but_rejected_filed_and_closed(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService]
) -> None:
    assert pending_transfer(db_session, ts.case) is None  # no transfer at all
    transfer = _reported(ts, as_user)
    for status in TransferStatus:
        transfer.status = status
        db_session.flush()
        expected = status not in {
            TransferStatus.REJECTED,
            TransferStatus.FILED,
            TransferStatus.CLOSED,
        }
        assert (pending_transfer(db_session, ts.case) is not None) is expected, status


# ---------------------------------------------------------------------- replays and revisions


def test_retried_steps_change_nothing_and_a_revision_keeps_the_clock(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    head = as_user(ts.supervisor)
    transfer = _reported(ts, as_user)
    again, created = head.report(ts.case.id, report_body(ts))
    assert again is transfer and not created and len(transfer.events) == 1

    now.advance(HOUR)
    revised = {**report_body(ts), "facts": "经补充调查，销售金额共计人民币72000元。"}
    head.report(ts.case.id, revised)
    assert transfer.facts.endswith("72000元。") and transfer.version == 2
    assert [e.action for e in transfer.events] == ["report", "revise"]
    assert len(clocks.clocks_for(db_session, transfer)) == 1  # same clock

    head.decide(ts.case.id, "approve")
    head.decide(ts.case.id, "approve")  # the retry of a lost answer
    assert [e.action for e in transfer.events] == ["report", "revise", "decide"]
    with pytest.raises(TransferStateError):
        head.decide(ts.case.id, "reject", "改变主意")

    liaison = as_user(ts.liaison)
    liaison.send(ts.case.id)
    liaison.send(ts.case.id)
    liaison.receive(ts.case.id)
    liaison.receive(ts.case.id)
    assert [e.action for e in transfer.events][-2:] == ["send", "receive"]


# ---------------------------------------------------------------------- clocks


def test_the_head_has_three_working_days_across_national_day(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    now.now = _beijing(2025, 9, 30, 10)  # Tuesday; 1–8 October are off, 11 October is worked
    transfer = _reported(ts, as_user)
    head_clock = _clock(db_session, transfer, HEAD_DECISION_CLOCK)
    assert head_clock.due_at == _beijing(2025, 10, 12)  # end of Saturday 11 October
    assert head_clock.department_id == ts.case.department_id

    now.now = _beijing(2025, 10, 11, 18)  # the make-up Saturday: still in time
    as_user(ts.supervisor).decide(ts.case.id, "approve")
    assert head_clock.outcome.value == "met"
    send_clock = _clock(db_session, transfer, SEND_CLOCK)
    assert send_clock.due_at == now.now + 24 * HOUR  # hours are hours, holidays or not


def test_a_late_decision_and_a_late_sending_are_recorded_late_and_alerted(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    transfer = _reported(ts, as_user)  # Monday 10 March 2025, 10:00
    head_clock = _clock(db_session, transfer, HEAD_DECISION_CLOCK)
    assert head_clock.due_at == _beijing(2025, 3, 14)  # Thursday 13 March ends
    alerts = clocks.scan(db_session, _beijing(2025, 3, 14, 9))
    assert [(a.clock_id, a.level) for a in alerts if a.clock_id == head_clock.id] == [
        (head_clock.id, AlertLevel.OVERDUE)
    ]
    now.now = _beijing(2025, 3, 14, 9)
    as_user(ts.supervisor).decide(ts.case.id, "approve")
    assert head_clock.outcome.value == "late"

    send_clock = _clock(db_session, transfer, SEND_CLOCK)
    assert send_clock.due_at == _beijing(2025, 3, 15, 9)
    row = as_user(ts.liaison).desk(overdue=True)
    assert row == []  # not overdue yet
    now.now = _beijing(2025, 3, 15, 10)
    overdue = as_user(ts.liaison).desk(overdue=True)
    assert [r["case_no"] for r in overdue] == [ts.case.case_no]
    assert overdue[0]["clock"]["kind"] == SEND_CLOCK
    assert overdue[0]["clock"]["remaining_seconds"] == -3600
    as_user(ts.liaison).send(ts.case.id)
    assert send_clock.outcome.value == "late"
    scanned = db_session.scalars(select(Alert).where(Alert.clock_id == head_clock.id)).all()
    assert [a.level for a in scanned] == [AlertLevel.OVERDUE]


def test_police_reconsideration_and_supervision_clocks(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    transfer = _reported(ts, as_user)
    as_user(ts.supervisor).decide(ts.case.id, "approve")
    liaison = as_user(ts.liaison)
    liaison.send(ts.case.id)
    now.now = _beijing(2025, 3, 14, 16)  # Friday afternoon
    liaison.receive(ts.case.id)
    police = _clock(db_session, transfer, POLICE_DECISION_CLOCK)
    assert police.due_at == _beijing(2025, 3, 20)  # Mon, Tue, Wed 19 March ends

    now.now = _beijing(2025, 3, 19, 11)
    liaison.police_decision(ts.case.id, "not_filed", reasons="不构成犯罪")
    assert police.outcome.value == "met"
    asking = _clock(db_session, transfer, RECONSIDERATION_CLOCK)
    assert asking.due_at == _beijing(2025, 3, 25)  # Thu, Fri, Mon 24 March ends

    now.now = _beijing(2025, 3, 25, 9)  # a day late
    liaison.request_reconsideration(ts.case.id, reason="证据已补充")
    assert asking.outcome.value == "late"
    answer = _clock(db_session, transfer, RECONSIDERATION_DECISION_CLOCK)
    assert answer.due_at == _beijing(2025, 3, 29)  # Wed, Thu, Fri 28 March ends

    now.now = _beijing(2025, 3, 28, 9)
    liaison.reconsideration_outcome(ts.case.id, "not_filed", note="维持")
    supervision = _clock(db_session, transfer, SUPERVISION_CLOCK)
    assert supervision.due_at == _beijing(2025, 4, 3)  # Mon 31, Tue 1, Wed 2 April ends
    now.now = _beijing(2025, 4, 1, 9)
    liaison.request_supervision(ts.case.id, reason="建议立案监督")
    assert supervision.outcome.value == "met"
    assert answer.outcome.value == "met"


def test_steps_recorded_after_the_fact_are_checked(
    ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    _reported(ts, as_user)
    now.advance(HOUR)
    as_user(ts.supervisor).decide(ts.case.id, "approve")
    liaison = as_user(ts.liaison)
    with pytest.raises(TransferValidationError) as future:
        liaison.send(ts.case.id, at=now.now + HOUR)
    assert future.value.errors == {"at": "must not be in the future"}
    with pytest.raises(TransferValidationError) as early:
        liaison.send(ts.case.id, at=REPORTED_AT)
    assert "before the previous step" in early.value.errors["at"]


# ---------------------------------------------------------------------- who may do what


def test_roles_and_departments(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService]
) -> None:
    body = report_body(ts)
    for outsider in (ts.lead, ts.member, ts.liaison, ts.other_supervisor, ts.enterprise_user):
        with pytest.raises(TransferPermissionError):
            as_user(outsider).report(ts.case.id, body)
    transfer = _reported(ts, as_user)
    for outsider in (ts.lead, ts.liaison, ts.other_supervisor, ts.enterprise_user):
        with pytest.raises(TransferPermissionError):
            as_user(outsider).decide(ts.case.id, "approve")
    as_user(ts.admin).decide(ts.case.id, "approve")  # an admin may decide
    for outsider in (ts.lead, ts.supervisor, ts.other_supervisor, ts.enterprise_user):
        with pytest.raises(TransferPermissionError):
            as_user(outsider).send(ts.case.id)
        with pytest.raises(TransferPermissionError):
            as_user(outsider).desk()
        with pytest.raises(TransferPermissionError):
            as_user(outsider).export(ts.case.id, Path("/nonexistent/x.zip"), ts.store)
    # Reading: the liaison, the admin and the department's supervisors; nobody else.
    for reader in (ts.liaison, ts.admin, ts.supervisor):
        assert as_user(reader).get(ts.case.id) is transfer
    for outsider in (ts.lead, ts.member, ts.other_supervisor, ts.enterprise_user):
        with pytest.raises(TransferPermissionError):
            as_user(outsider).get(ts.case.id)
    ts.liaison.active = False
    with pytest.raises(TransferPermissionError, match="not active"):
        as_user(ts.liaison).send(ts.case.id)
    with pytest.raises(TransferNotFoundError):
        as_user(ts.admin).get(10**9)


def test_the_report_is_validated_field_by_field(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService]
) -> None:
    body = report_body(ts)
    body["facts"] = "  "
    body["items"][0]["quantity"] = -1
    body["items"][1]["unit"] = ""
    body["attachments"].append({"sha256": "0" * 64, "kind": "photo", "title": "无"})
    body["attachments"].append(dict(body["attachments"][0]))
    with pytest.raises(TransferValidationError) as refused:
        as_user(ts.supervisor).report(ts.case.id, body)
    assert refused.value.errors == {
        "facts": "is required and must not be blank",
        "items[0].quantity": "must be zero or more",
        "items[1].unit": "is required and must not be blank",
        "attachments[2].kind": "must be one of inspection_report, appraisal_opinion, "
        "other_evidence",
        "attachments[2].sha256": "no file of the evidence store has this SHA-256: upload it first",
        "attachments[3].sha256": "the same file is attached twice",
    }
    assert db_session.scalar(select(Transfer).where(Transfer.case_id == ts.case.id)) is None


def test_a_group_of_fewer_than_two_cannot_report(
    db_session: Session, ts: TransferScene, as_user: Callable[..., TransferService]
) -> None:
    member = db_session.scalar(
        select(CaseMember).where(CaseMember.case_id == ts.case.id, CaseMember.role == "member")
    )
    db_session.delete(member)
    db_session.flush()
    db_session.expire(ts.case)
    with pytest.raises(TransferStateError, match="at least 2"):
        as_user(ts.supervisor).report(ts.case.id, report_body(ts))


# ---------------------------------------------------------------------- the liaison desk


def _desk_ready(
    ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> list[dict]:
    _reported(ts, as_user)
    now.advance(HOUR)
    as_user(ts.supervisor).decide(ts.case.id, "approve")
    now.advance(30 * HOUR)  # the 24 hours to send have passed
    return as_user(ts.liaison).desk()


def test_the_desk_lists_transfers_with_their_clocks(
    ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    rows = _desk_ready(ts, as_user, now)
    assert len(rows) == 1
    row = rows[0]
    assert row["case_no"] == ts.case.case_no and row["status"] == "approved" and row["pending"]
    assert row["enterprise"]["name"] == "杭州龙井人家茶叶有限公司"
    assert row["clock"]["kind"] == SEND_CLOCK
    assert row["clock"]["overdue"] is True and row["clock"]["remaining_seconds"] == -6 * 3600
    assert [c["kind"] for c in row["clocks"]] == [HEAD_DECISION_CLOCK, SEND_CLOCK]
    assert row["clocks"][0]["outcome"] == "met" and row["clocks"][0]["overdue"] is False
    assert as_user(ts.liaison).desk(status="sent") == []
    assert len(as_user(ts.admin).desk(status="approved")) == 1
    with pytest.raises(TransferValidationError) as bad:
        as_user(ts.liaison).desk(status="lost")
    assert "status" in bad.value.errors


def test_desk_csv_and_xlsx(
    ts: TransferScene, as_user: Callable[..., TransferService], now: Clock
) -> None:
    rows = _desk_ready(ts, as_user, now)
    text = desk_csv(rows).decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert table[0][:5] == ["案件编号", "当事人", "统一社会信用代码", "承办部门", "移送状态"]
    line = dict(zip(table[0], table[1], strict=True))
    assert line["案件编号"] == ts.case.case_no
    assert line["移送状态"] == "已批准移送"
    assert line["当前时限"] == "移送公安机关（24小时）"
    assert line["报告时间"] == "2025-03-10 10:00"
    assert line["期限届满"] == "2025-03-11 11:00"
    assert line["剩余小时"] == "-6.0" and line["是否超期"] == "是"
    english = list(csv.reader(io.StringIO(desk_csv(rows, "en").decode("utf-8-sig"))))
    assert english[0][0] == "Case number" and english[1][4] == "approved"

    sheet = load_workbook(io.BytesIO(desk_xlsx(rows))).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == table[0]
    record = dict(zip(values[0], values[1], strict=True))
    assert record["案件编号"] == ts.case.case_no
    assert record["报告时间"] == dt.datetime(2025, 3, 10, 10, 0)  # a real date, Beijing time
    assert record["剩余小时"] == -6.0 and record["是否超期"] == "是"
    assert sheet.freeze_panes == "A2"
