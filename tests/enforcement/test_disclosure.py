"""Publication (一公开): the 20-working-day deadline, the hold, the automatic run (discovery,
publication, refresh, withdrawal), masking in the documents, and replies and appeals."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import (
    AppealStatus,
    AuditLog,
    CaseStatus,
    Clock,
    ClockOutcome,
    EntityType,
    Penalty,
    PenaltyCase,
    PenaltyMeasure,
    PlanStatus,
    PublicKind,
    PublicRecord,
    ReconsiderationStatus,
    Role,
    User,
)
from enforcement.services import disclosure
from enforcement.services.clocks import calendar_for
from enforcement.services.disclosure import (
    DisclosureNotFoundError,
    DisclosurePermissionError,
    DisclosureService,
    DisclosureStateError,
    DisclosureValidationError,
    due_on,
    get_appeal,
    hold_working_days,
    list_appeals,
    public_view,
    publish_on,
)
from enforcement.services.publication import PublicationService
from tests import factories
from tests.evidence_helpers import FINISHED_AT, Scene, finish, make_scene
from tests.factories import user_named
from tests.field_work import drawn_field_work

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10) -> dt.datetime:
    """``hour`` o'clock in Shanghai on ``day``, as UTC."""
    local = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=SHANGHAI)
    return local.astimezone(dt.UTC)


def run(session: Session, now: dt.datetime, **settings: object) -> disclosure.RunSummary:
    return disclosure.run(session, settings=settings, clock=lambda: now)


def records(session: Session, kind: PublicKind | None = None) -> list[PublicRecord]:
    query = select(PublicRecord).order_by(PublicRecord.id)
    if kind is not None:
        query = query.where(PublicRecord.kind == kind)
    return list(session.scalars(query))


def actions(session: Session, entity: object) -> list[str]:
    from enforcement.services import audit

    return [row.action for row in audit.history(session, entity)]  # type: ignore[arg-type]


def make_user(session: Session, role: Role, **fields: object) -> User:
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
def scene(db_session: Session) -> Scene:
    scene = make_scene(db_session)
    finish(scene.inspection, None, refused=True)
    db_session.flush()
    return scene


# ---------------------------------------------------------------------- deadline


def test_the_deadline_counts_20_working_days_across_the_2026_national_day() -> None:
    calendar = calendar_for(None)
    # Monday 28 September 2026: 29, 30 Sep; 1-7 Oct off; 8, 9 Oct; Saturday 10 Oct is a
    # make-up working day; then 12 Oct onwards: the 20th working day is Friday 30 October.
    event = at("2026-09-28", 15)
    assert due_on(calendar, event) == dt.date(2026, 10, 30)
    # Weekdays only would give 26 October: the holiday moves the deadline.
    assert due_on(calendar, event) != dt.date(2026, 10, 26)
    # Late in the evening in Shanghai is still the 28th (UTC says the 28th too, 23:30 → 15:30).
    assert due_on(calendar, at("2026-09-28", 23)) == dt.date(2026, 10, 30)
    # A hold of five working days ends on the make-up Saturday; a hold never passes the due date.
    assert publish_on(calendar, event, 5) == dt.date(2026, 10, 10)
    assert publish_on(calendar, event, 20) == due_on(calendar, event)
    assert publish_on(calendar, event, 0) == dt.date(2026, 9, 28)


def test_the_hold_setting_is_checked() -> None:
    assert hold_working_days({}) == 0
    assert hold_working_days({"suijian.publication.hold_working_days": "3"}) == 3
    for bad in ("-1", "21", "two"):
        with pytest.raises(ValueError, match="hold_working_days"):
            hold_working_days({"suijian.publication.hold_working_days": bad})
    # A hold for one kind only: draws wait ten working days, results go out at once.
    per_kind = {"suijian.publication.hold_working_days.draw": "10"}
    assert hold_working_days(per_kind, PublicKind.DRAW) == 10
    assert hold_working_days(per_kind, PublicKind.RESULT) == 0
    with pytest.raises(ValueError, match=r"hold_working_days\.plan"):
        hold_working_days({"suijian.publication.hold_working_days.plan": "x"}, "plan")


# ---------------------------------------------------------------------- the run


def test_the_run_publishes_a_finished_result_masked_and_only_once(
    db_session: Session, scene: Scene
) -> None:
    now = FINISHED_AT + dt.timedelta(hours=2)
    summary = run(db_session, now)
    assert summary.discovered == 1 and summary.published == 1 and summary.late == 0
    (record,) = records(db_session, PublicKind.RESULT)
    assert record.subject_key == str(scene.inspection.uuid)
    assert record.enterprise_id == scene.enterprise.id
    assert record.department_id == scene.department.id
    assert record.published_at == now and record.withdrawn_at is None
    assert record.due_on == due_on(calendar_for(None), FINISHED_AT)
    assert record.publish_on == dt.date(2025, 3, 4)

    document = record.document
    assert document["result"] == "rectification_ordered"
    assert document["result_label"]["zh"] == "发现问题，已责令整改"
    assert document["enterprise_name"] == "杭州龙井人家茶叶有限公司"
    assert document["enterprise_uscc"] == scene.enterprise.uscc
    # A company's legal representative is registry data; the officers are masked.
    assert document["legal_representative"] == "王建国"
    assert document["team"] == ["张*", "李*"]
    assert document["findings"] == [
        {"item_code": scene.task.checklist[1]["code"], "severity": "serious"}
    ]
    text = json.dumps(document, ensure_ascii=False)
    for private in ("张晓明", "李丽华", scene.lead.credential_no, "超过保质期", "过期茶叶"):
        assert private not in text
    assert "inspector_id" not in text and str(scene.lead.id) not in document["team"]

    assert actions(db_session, record) == ["publication.schedule", "publication.publish"]
    clock = db_session.scalar(select(Clock).where(Clock.kind == "publication.result"))
    assert clock is not None and clock.outcome is ClockOutcome.MET
    assert clock.subject_id == str(record.id) and clock.department_id == scene.department.id

    again = run(db_session, now + dt.timedelta(hours=1))
    assert (again.discovered, again.published, again.updated) == (0, 0, 0)
    assert len(records(db_session)) == 1


def test_a_hold_delays_publication_and_the_deadline_still_holds(
    db_session: Session, scene: Scene
) -> None:
    calendar = calendar_for(None)
    hold = {"suijian.publication.hold_working_days": "3"}
    first = run(db_session, FINISHED_AT + dt.timedelta(minutes=5), **hold)
    assert first.discovered == 1 and first.published == 0
    (record,) = records(db_session)
    assert record.published_at is None
    assert record.publish_on == calendar.add_working_days(dt.date(2025, 3, 4), 3)
    # Pending records are not public.
    with pytest.raises(DisclosureNotFoundError):
        disclosure.get_public_record(db_session, record.id)
    items = disclosure.due_items(db_session, settings=hold, now=FINISHED_AT)
    assert [(i.kind, i.state, i.record_id) for i in items] == [("result", "held", record.id)]

    day_before = at((record.publish_on - dt.timedelta(days=1)).isoformat(), 20)
    assert run(db_session, day_before, **hold).published == 0
    on_the_day = at(record.publish_on.isoformat(), 8)
    assert run(db_session, on_the_day, **hold).published == 1
    assert record.published_at == on_the_day


def test_a_late_run_still_publishes_and_says_it_was_late(db_session: Session, scene: Scene) -> None:
    calendar = calendar_for(None)
    due = due_on(calendar, FINISHED_AT)
    items = disclosure.due_items(db_session, now=at((due + dt.timedelta(days=1)).isoformat()))
    assert [(i.kind, i.state, i.record_id) for i in items] == [("result", "overdue", None)]
    summary = run(db_session, at((due + dt.timedelta(days=3)).isoformat()))
    assert summary.published == 1 and summary.late == 1
    clock = db_session.scalar(select(Clock).where(Clock.kind == "publication.result"))
    assert clock is not None and clock.outcome is ClockOutcome.LATE


def test_an_individual_business_operator_is_masked(db_session: Session) -> None:
    scene = make_scene(db_session)
    enterprise = scene.enterprise
    enterprise.entity_type = EntityType.INDIVIDUAL
    enterprise.name = "杭州市西湖区王建国茶叶店"
    finish(scene.inspection, None, refused=True)
    db_session.flush()
    run(db_session, FINISHED_AT + dt.timedelta(hours=1))
    (record,) = records(db_session)
    assert record.document["enterprise_name"] == "杭州市西湖区王*茶叶店"
    assert record.subject_name == "杭州市西湖区王*茶叶店"
    assert record.document["legal_representative"] == "王*"
    assert "王建国" not in json.dumps(record.document, ensure_ascii=False)


def test_in_progress_inspections_are_not_published(db_session: Session) -> None:
    make_scene(db_session)
    assert run(db_session, FINISHED_AT).discovered == 0
    assert records(db_session) == []


def test_plans_and_draws_are_published_and_the_bundle_link_follows(
    db_session: Session,
) -> None:
    field = drawn_field_work(db_session)
    plan = field.task.draw.plan
    now = plan.drawn_at + dt.timedelta(days=1)
    summary = run(db_session, now)
    assert summary.by_kind == {"plan": 1, "draw": 1}
    plan_record = records(db_session, PublicKind.PLAN)[0]
    draw_record = records(db_session, PublicKind.DRAW)[0]
    assert plan_record.subject_key == draw_record.subject_key == plan.code
    assert plan_record.document["seed_commitment"] == plan.seed_commitment
    assert plan_record.document["items"][0]["code"] == plan.items[0].code
    assert draw_record.document["bundle_url"] is None  # drawn, not yet published
    drawn = [t for t in draw_record.document["targets"] if not t["alternate"]]
    assert len(drawn) == len([t for t in plan.draw.tasks if not t.is_alternate])
    text = json.dumps(draw_record.document, ensure_ascii=False)
    for member in field.task.members:
        assert member.inspector.name not in text
        assert member.inspector.credential_no not in text

    supervisor = user_named(db_session, "supervisor")
    PublicationService(db_session, supervisor, clock=lambda: now).publish(plan)
    db_session.flush()
    later = run(db_session, now + dt.timedelta(hours=1))
    assert later.updated == 2 and later.discovered == 0
    assert draw_record.revision == 2
    assert draw_record.document["bundle_url"] == f"/api/v1/plans/{plan.code}/bundle"
    assert plan_record.document["status"] == PlanStatus.PUBLISHED.value
    assert actions(db_session, draw_record)[-1] == "publication.update"
    assert run(db_session, now + dt.timedelta(hours=2)).updated == 0


def _decided_case(session: Session, scene: Scene) -> PenaltyCase:
    penalty = Penalty(
        enterprise=scene.enterprise,
        decision_no=f"杭西市监处罚〔2025〕{uuid.uuid4().int % 1000}号",
        decided_on=dt.date(2025, 6, 2),
        measure=PenaltyMeasure.FINE,
        amount=Decimal("5000.00"),
        legal_basis="《中华人民共和国食品安全法》第一百二十四条",
    )
    case = PenaltyCase(
        case_no=f"CASE-2025-{uuid.uuid4().hex[:6]}",
        enterprise=scene.enterprise,
        department=scene.department,
        status=CaseStatus.DECIDED,
        summary="销售超过保质期的食品，联系电话13812345678",
        decided_at=at("2025-06-02"),
        penalty=penalty,
    )
    session.add_all([penalty, case])
    session.flush()
    return case


def test_decided_penalties_are_published_and_withdrawn_after_repair(
    db_session: Session, scene: Scene
) -> None:
    case = _decided_case(db_session, scene)
    run(db_session, at("2025-06-03"))
    (record,) = records(db_session, PublicKind.PENALTY)
    assert record.subject_key == case.penalty.decision_no
    document = record.document
    assert document["amount"] == "5000.00" and document["measure"] == "fine"
    assert document["violation"] == "销售超过保质期的食品，联系电话138****5678"
    assert record.due_on == due_on(calendar_for(None), at("2025-06-02"))

    case.penalty.repaired_at = at("2025-10-01")
    db_session.flush()
    summary = run(db_session, at("2025-10-02"))
    assert summary.withdrawn == 1
    assert record.withdrawn_at == at("2025-10-02")
    assert record.withdrawal_reason == disclosure.REASON_REPAIRED
    view = public_view(record)
    assert view["status"] == "withdrawn" and view["document"] is None
    assert run(db_session, at("2025-10-03")).withdrawn == 0


def test_a_penalty_changed_on_reconsideration_is_updated_and_a_revoked_one_withdrawn(
    db_session: Session, scene: Scene
) -> None:
    case = _decided_case(db_session, scene)
    run(db_session, at("2025-06-03"))
    (record,) = records(db_session, PublicKind.PENALTY)
    case.reconsideration_status = ReconsiderationStatus.CHANGED
    case.penalty.amount = Decimal("2000.00")
    db_session.flush()
    assert run(db_session, at("2025-07-01")).updated == 1
    assert record.document["amount"] == "2000.00" and record.revision == 2
    case.reconsideration_status = ReconsiderationStatus.REVOKED
    db_session.flush()
    assert run(db_session, at("2025-07-02")).withdrawn == 1
    assert record.withdrawal_reason == disclosure.REASON_REVOKED


def test_cases_without_a_decision_are_not_published(db_session: Session, scene: Scene) -> None:
    case = _decided_case(db_session, scene)
    case.status = CaseStatus.LEGAL_REVIEW
    db_session.flush()
    run(db_session, at("2025-06-03"))
    assert records(db_session, PublicKind.PENALTY) == []


# ---------------------------------------------------------------------- replies and appeals


@pytest.fixture
def published(db_session: Session, scene: Scene) -> PublicRecord:
    run(db_session, FINISHED_AT + dt.timedelta(hours=1))
    return records(db_session, PublicKind.RESULT)[0]


def test_the_enterprise_replies_and_the_reply_is_public_masked(
    db_session: Session, scene: Scene, published: PublicRecord
) -> None:
    owner = make_user(db_session, Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    reply = DisclosureService(db_session, owner).reply(
        published.id, "  已于3月10日完成整改，咨询电话 0571-87654321。  "
    )
    assert reply.body == "已于3月10日完成整改，咨询电话 0571-87654321。"
    view = public_view(published)
    assert [r["body"] for r in view["replies"]] == ["已于3月10日完成整改，咨询电话 0571-****4321。"]
    assert actions(db_session, reply) == ["publication.reply"]

    with pytest.raises(DisclosureValidationError) as refused:
        DisclosureService(db_session, owner).reply(published.id, " ")
    assert "body" in refused.value.errors


def test_another_enterprise_and_officers_cannot_reply_or_appeal(
    db_session: Session, scene: Scene, published: PublicRecord
) -> None:
    other = factories.EnterpriseFactory()
    stranger = make_user(db_session, Role.ENTERPRISE, enterprise_id=other.id)
    inspector = make_user(db_session, Role.INSPECTOR, inspector_id=scene.lead.id)
    for user in (stranger, inspector):
        service = DisclosureService(db_session, user)
        with pytest.raises(DisclosurePermissionError):
            service.reply(published.id, "这不是我们的记录")
        with pytest.raises(DisclosurePermissionError):
            service.appeal(published.id, "这条记录与本企业无关，请撤回")
    assert published.replies == [] and published.appeals == []


def test_an_upheld_appeal_withdraws_the_record_with_its_reason(
    db_session: Session, scene: Scene, published: PublicRecord
) -> None:
    owner = make_user(db_session, Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    service = DisclosureService(db_session, owner, clock=lambda: at("2025-03-06"))
    appeal = service.appeal(published.id, "检查当日本店已停业，公示的检查结果有误。")
    assert appeal.status is AppealStatus.SUBMITTED
    with pytest.raises(DisclosureStateError, match="still open"):
        service.appeal(published.id, "再次申诉：检查结果有误，请更正。")

    # A supervisor of another department may not decide; nor may the enterprise itself.
    outsider = make_user(db_session, Role.SUPERVISOR, department_id=scene.other_department.id)
    with pytest.raises(DisclosurePermissionError):
        DisclosureService(db_session, outsider).decide(appeal, uphold=False, reason="无")
    with pytest.raises(DisclosureNotFoundError):
        get_appeal(db_session, outsider, appeal.id)
    assert list_appeals(db_session, outsider) == []
    with pytest.raises(DisclosurePermissionError):
        DisclosureService(db_session, owner).decide(appeal, uphold=True, reason="自己决定")

    supervisor = make_user(db_session, Role.SUPERVISOR, department_id=scene.department.id)
    deciding = DisclosureService(db_session, supervisor, clock=lambda: at("2025-03-10"))
    with pytest.raises(DisclosureValidationError) as missing:
        deciding.decide(appeal, uphold=True, reason="经核实属实")
    assert "action" in missing.value.errors
    with pytest.raises(DisclosureValidationError) as empty:
        deciding.decide(appeal, uphold=False, reason="")
    assert "reason" in empty.value.errors

    deciding.decide(
        appeal, uphold=True, reason="经核实，检查对象有误，撤回公示。", action="withdraw"
    )
    assert appeal.status is AppealStatus.UPHELD and appeal.decided_by_id == supervisor.id
    assert published.withdrawn_at == at("2025-03-10")
    assert published.withdrawal_reason == "经核实，检查对象有误，撤回公示。"
    view = public_view(published)
    assert view["status"] == "withdrawn" and view["document"] is None
    assert actions(db_session, appeal) == ["publication.appeal", "publication.appeal.uphold"]
    assert actions(db_session, published)[-1] == "publication.withdraw"

    with pytest.raises(DisclosureStateError):
        deciding.decide(appeal, uphold=False, reason="重复决定")
    with pytest.raises(DisclosureStateError, match="withdrawn"):
        service.reply(published.id, "记录已撤回")
    assert [a.id for a in list_appeals(db_session, owner)] == [appeal.id]


def test_a_dismissed_appeal_changes_nothing_and_a_correction_is_shown(
    db_session: Session, scene: Scene, published: PublicRecord
) -> None:
    owner = make_user(db_session, Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    supervisor = make_user(db_session, Role.SUPERVISOR, department_id=scene.department.id)
    first = DisclosureService(db_session, owner).appeal(
        published.id, "整改期限写错了，应为3月25日。"
    )
    DisclosureService(db_session, supervisor).decide(first, uphold=False, reason="期限无误。")
    assert first.status is AppealStatus.DISMISSED and published.revision == 1
    assert published.withdrawn_at is None

    second = DisclosureService(db_session, owner).appeal(published.id, "检查事项名称有误，请更正。")
    admin = make_user(db_session, Role.ADMIN)
    DisclosureService(db_session, admin, clock=lambda: at("2025-03-12")).decide(
        second, uphold=True, reason="检查事项名称更正为进货查验。", action="correct"
    )
    assert published.revision == 2 and published.withdrawn_at is None
    view = public_view(published)
    assert view["document"] is not None
    assert view["corrections"] == [
        {"at": at("2025-03-12").isoformat(), "reason": "检查事项名称更正为进货查验。"}
    ]
    count = db_session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action.like("publication.appeal%"))
    )
    assert count == 4  # two appeals, two decisions


# ---------------------------------------------------------------------- the scheduled task


def test_the_scheduled_task_publishes_what_is_due(backend: str, new_database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The Celery task itself (run in-process, committing to a database of its own)."""
    from enforcement import migrate
    from enforcement.db import make_engine
    from enforcement.tasks import publish_due
    from enforcement.worker import beat_schedule, celery_app, configure, dispose_engines

    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        scene = make_scene(session)
        finish(scene.inspection, None, refused=True)
        session.commit()
        key = str(scene.inspection.uuid)
    settings = {
        "sqlalchemy.url": url,
        "suijian.var_dir": str(tmp_path),
        "celery.broker_url": "filesystem://",
        "celery.broker_folder": str(tmp_path / "broker"),
    }
    assert beat_schedule(settings)["publish-due"]["task"] == publish_due.name
    configure(celery_app, settings)
    try:
        first = publish_due.apply().get()
        second = publish_due.apply().get()
    finally:
        dispose_engines()
    # Finished in March 2025 and published now: late, but published.
    assert (first["discovered"], first["published"], first["late"]) == (1, 1, 1)
    assert (second["discovered"], second["published"]) == (0, 0)
    with Session(engine) as session:
        record = session.scalars(select(PublicRecord)).one()
        assert record.subject_key == key and record.published_at is not None
        assert record.document["team"] == ["张*", "李*"]
    engine.dispose()


# ---------------------------------------------------------------------- the command line


def test_the_commands_publish_export_and_feed_the_joint_list(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from enforcement import migrate
    from enforcement.cli import main
    from enforcement.db import make_engine
    from enforcement.models import CreditList, ListEntry

    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    ini = tmp_path / "test.ini"
    ini.write_text(f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url}\n")
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        scene = make_scene(session)
        finish(scene.inspection, None, refused=True)
        session.add(
            ListEntry(
                enterprise=scene.enterprise,
                list=CreditList.SERIOUS_ILLEGAL,
                reason="提交虚假材料取得登记",
                listed_on=dt.date(2026, 1, 5),
            )
        )
        session.commit()
    engine.dispose()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["-c", str(ini), *args])
        assert result.exit_code == 0, result.output
        return result.output

    due = json.loads(run("publish", "due", "--json"))
    assert [(i["kind"], i["state"]) for i in due] == [("result", "overdue")]
    assert run("publish", "run") == "scheduled 1, published 1 (1 late), updated 0, withdrawn 0\n"
    assert run("publish", "due") == "nothing awaits publication\n"
    assert run("publish", "run").startswith("scheduled 0, published 0")

    out = tmp_path / "open"
    written = run("opendata", "export", "--out", str(out)).split()
    assert str(out / "results.csv") in written and str(out / "dictionary.json") in written
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["count"] == 1

    secret = run("joint", "consumer", "add", "东阳市税务局").strip()
    assert secret.startswith("sjc_")
    exported = runner.invoke(main, ["-c", str(ini), "joint", "export", "--format", "json"])
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.stdout)
    assert [e["basis"] for e in document["entries"]] == ["serious_illegal"]
    assert f"cursor {document['cursor']}" in exported.stderr
    csv_file = tmp_path / "joint.csv"
    run(
        "joint",
        "export",
        "--since",
        str(document["cursor"]),
        "--format",
        "csv",
        "--out",
        str(csv_file),
    )
    assert csv_file.read_text(encoding="utf-8").splitlines() == [
        "seq,change,basis,enterprise_uscc,enterprise_name,reason,effective_on,recorded_at,source"
    ]
    assert "东阳市税务局\tlive" in run("joint", "consumer", "list")
    run("joint", "consumer", "revoke", "东阳市税务局")
    refused = runner.invoke(main, ["-c", str(ini), "joint", "export", "--as", "nobody"])
    assert refused.exit_code == 1 and "no user" in refused.output
