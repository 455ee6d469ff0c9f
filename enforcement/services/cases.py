"""Penalty cases (行政处罚案件): filing, investigation, decision, execution, closing, with the
withdrawal and reconsideration paths, the case group, coercive measures and the statutory
decision deadline.

Rules:

* a case is filed (立案) by an officer of a department against an enterprise, by hand or from
  an inspection that ended ``case_filed`` / ``suspected_crime`` (``open_case_from_inspection``,
  idempotent per inspection); the case group (办案小组) has a lead and, for anything but a
  case opened automatically, at least two officers of the department (行政处罚法 art. 42);
* the decision is due 90 natural days after filing, rolled forward to a working day
  (市场监督管理行政处罚程序规定 art. 64); the head may extend it by 30 days, once, and
  further only by a collective decision with its own period; a ``case.decision`` clock
  (enforcement.services.clocks) times it and raises the alerts;
* a major decision (重大执法决定: suspension or revocation, a fine of ``MAJOR_FINE_CNY`` or
  more, or marked major) is reviewed by the legal reviewer (法制审核, 三项制度) before the
  decision; the reviewer is a deciding officer outside the case group;
* the decision creates the ``Penalty`` (``credit_records.add_penalty``: fed to the data
  center as "penalty" and re-rating the enterprise);
* a case with a pending transfer to public security is never closed (不得以罚代刑), nor a
  suspected-crime case without any transfer, nor one with a coercive measure in force or a
  reconsideration under way;
* a seal or seizure (查封、扣押) lasts at most 30 days, extendable once by 30 days with the
  head's approval (行政强制法 art. 25); every measure is fed as "coercive_measure".

Every transition writes a ``CaseEvent``, an audit row and a new version of the case on the
feed ("case"), and bumps ``version`` (the ETag; a stale ``if_match`` raises
``CaseStaleVersionError``). Department scope applies to every call: a user sees and acts on
the cases of their department (and those whose group they are in); an administrator and a
supervisor without a department work for the whole bureau.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from enforcement import feed
from enforcement.models import (
    FINAL_CASE_STATUSES,
    CaseEvent,
    CaseMember,
    CaseMemberRole,
    CaseStatus,
    Clock,
    CoerciveKind,
    CoerciveMeasure,
    Enterprise,
    FieldInspection,
    InspectionResult,
    InspectionTask,
    Penalty,
    PenaltyCase,
    PenaltyMeasure,
    ReconsiderationStatus,
    Role,
    TaskMember,
    User,
    utcnow,
)
from enforcement.reasons import Reason, reason
from enforcement.services import audit, clocks
from enforcement.services.credit_records import add_penalty, penalty_document, rerate_later
from enforcement.services.departments import officer_department_id
from enforcement.services.wire import iso_utc

SHANGHAI = ZoneInfo("Asia/Shanghai")

DECISION_CLOCK = "case.decision"
COERCIVE_CLOCK = "coercive.measure"
DECISION_DAYS = 90  # natural days from filing, rolled to a working day
EXTENSION_DAYS = 30  # the head's extension (经负责人批准可以延长三十日)
DECISION_WARN_DAYS = 15  # the warning alert before the decision deadline
COERCIVE_DAYS = 30  # 查封、扣押的期限不得超过三十日
COERCIVE_WARN_DAYS = 5
MAJOR_FINE_CNY = Decimal("100000")  # a fine this large is a major decision (较大数额罚款)
MAX_NOTE = 2000
MAX_ITEMS = 200

OFFICER_ROLES = frozenset({Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN})
DECIDING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
READING_ROLES = frozenset({Role.INSPECTOR, Role.SUPERVISOR, Role.LIAISON, Role.ADMIN})
MEMBER_ROLES = frozenset({Role.INSPECTOR, Role.SUPERVISOR})
#: Before a decision: the case can still be withdrawn and coercive measures taken.
OPEN_STATUSES = frozenset(
    {
        CaseStatus.FILED,
        CaseStatus.INVESTIGATING,
        CaseStatus.DECISION_PROPOSED,
        CaseStatus.LEGAL_REVIEW,
    }
)
#: After the decision: reconsideration can be requested.
DECIDED_STATUSES = frozenset({CaseStatus.DECIDED, CaseStatus.EXECUTED, CaseStatus.CLOSED})
SUBJECT_TYPE = PenaltyCase.__tablename__
CASE_NO_PREFIX = "CASE"
_NUMBERING_TRIES = 5
_INSTANT = dt.timedelta(microseconds=1)

#: How the state refusals name a case's status (one meaning each across the catalogue).
CASE_STATUS_REASONS: dict[CaseStatus, Reason] = {
    CaseStatus.FILED: reason("case filed"),
    CaseStatus.INVESTIGATING: reason("under investigation"),
    CaseStatus.DECISION_PROPOSED: reason("penalty decision proposed"),
    CaseStatus.LEGAL_REVIEW: reason("in legal review"),
    CaseStatus.DECIDED: reason("penalty decision made"),
    CaseStatus.EXECUTED: reason("penalty decision executed"),
    CaseStatus.CLOSED: reason("case closed"),
    CaseStatus.WITHDRAWN: reason("case withdrawn"),
}
_RECONSIDERATION_LABELS: dict[ReconsiderationStatus, Reason] = {
    ReconsiderationStatus.REQUESTED: reason("reconsideration requested"),
    ReconsiderationStatus.UPHELD: reason("decision upheld on reconsideration"),
    ReconsiderationStatus.REVOKED: reason("decision revoked on reconsideration"),
    ReconsiderationStatus.CHANGED: reason("decision changed on reconsideration"),
}
_AMOUNT_REQUIRED: dict[PenaltyMeasure, Reason] = {
    PenaltyMeasure.FINE: reason("a fine needs its amount in yuan"),
    PenaltyMeasure.CONFISCATION: reason("a confiscation needs its amount in yuan"),
}
_OPEN = sorted(OPEN_STATUSES)
# Reasons of the methods whose ``reason`` argument hides the function of that name.
_WITHDRAW = reason("withdraw the case")
_EXTEND_DEADLINE = reason("extend the decision deadline")
_FURTHER_EXTENSION = reason("a further extension is decided collectively: give the number of days")
_FIRST_EXTENSION = reason("the first extension is ${days} days", days=EXTENSION_DAYS)
_DAYS_RANGE = reason("must be between ${low} and ${high}", low=1, high=365)
_NO_DEADLINE = reason("the case has no running decision deadline")
_EXTEND_MEASURE = reason("extend a coercive measure")
_MEASURE_LIFTED = reason("the measure has been lifted")
_EXTENDED_ONCE = reason("a coercive measure can be extended only once")
_LIFT_FORBIDDEN = reason("only the case group or the head may lift a measure")
_ALREADY_LIFTED = reason("the measure has already been lifted")
_DECIDED = sorted(DECIDED_STATUSES)


# ---------------------------------------------------------------------- errors


class CaseError(Exception):
    """Base of the refusals of the case workflow."""


class CaseNotFoundError(CaseError, LookupError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or reason("case not found"))


class CasePermissionError(CaseError):
    """The user's role, department or place in the case group does not allow the action."""


class CaseHiddenError(CaseNotFoundError, CasePermissionError):
    """A case outside the actor's scope: answered exactly like one that does not exist, so
    a refusal does not tell that the case exists (nor its department)."""


class CaseValidationError(CaseError, ValueError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in self.errors.items()))


class CaseStateError(CaseError):
    """The case (or measure) is not in a state that allows the action."""


class CaseStaleVersionError(CaseError):
    """``if_match`` names an older version than the stored one (412)."""

    def __init__(self, current: PenaltyCase | CoerciveMeasure) -> None:
        super().__init__(reason("the record is at version ${version}", version=current.version))
        self.current = current


# ---------------------------------------------------------------------- helpers


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar date of ``moment`` in China."""
    return moment.astimezone(SHANGHAI).date()


def listing(labels: Sequence[str]) -> str:
    """Several translatable labels as one list (a reason whose values are the labels)."""
    if len(labels) == 1:
        return labels[0]
    return reason("${first}, ${rest}", first=labels[0], rest=listing(labels[1:]))


def _text(value: Any, field: str, errors: dict[str, str], *, required: bool) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[field] = reason("must not be empty")
    elif len(text) > MAX_NOTE:
        errors[field] = reason("must be at most ${limit} characters", limit=MAX_NOTE)
    return text


def _amount(value: Any, errors: dict[str, str]) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors["amount"] = reason("must be a number of yuan")
        return None
    if not amount.is_finite() or amount < 0:
        errors["amount"] = reason("must be zero or more")
        return None
    if amount >= Decimal("1e16"):
        errors["amount"] = reason("is too large")
        return None
    return amount.quantize(Decimal("0.01"))


def case_clocks(session: Session, cases: Iterable[PenaltyCase]) -> dict[int, list[Clock]]:
    """The clocks of each case (running first, then by deadline), by case id."""
    ids = {case.id: case for case in cases}
    found: dict[int, list[Clock]] = {case_id: [] for case_id in ids}
    if not ids:
        return found
    rows = session.scalars(
        select(Clock)
        .where(Clock.subject_type == SUBJECT_TYPE, Clock.subject_id.in_([str(i) for i in ids]))
        .order_by(Clock.stopped_at.is_not(None), Clock.due_at, Clock.id)
    ).all()
    for row in rows:
        found[int(row.subject_id)].append(row)
    return found


@dataclass
class CasePage:
    cases: list[PenaltyCase]
    total: int
    limit: int
    offset: int


# ---------------------------------------------------------------------- the service


class CaseService:
    """The case workflow acted by ``actor``; None is the system or an operator at the command
    line (the whole bureau, an administrator's rights, recorded as no one). Never commits."""

    def __init__(
        self,
        session: Session,
        actor: User | None,
        clock: Callable[[], dt.datetime] = utcnow,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock
        self.settings = settings

    # ------------------------------------------------------------------ access

    @property
    def role(self) -> Role:
        return Role.ADMIN if self.actor is None else Role(self.actor.role)

    @property
    def _actor_id(self) -> int | None:
        return None if self.actor is None else self.actor.id

    def _require_role(self, roles: frozenset[Role], action: Reason) -> None:
        if self.actor is not None and not self.actor.active:
            raise CasePermissionError(reason("the account is not active"))
        if self.role not in roles:
            raise CasePermissionError(reason("your role may not ${action}", action=action))

    def _is_member(self, case: PenaltyCase) -> bool:
        return self.actor is not None and any(
            member.user_id == self.actor.id for member in case.members
        )

    def in_scope(self, case: PenaltyCase) -> bool:
        """Whether the actor may see ``case``."""
        if self.role is Role.ADMIN:
            return True
        if self._is_member(case):
            return True
        department = officer_department_id(self.actor)
        if department is None:
            return self.role is Role.SUPERVISOR  # a supervisor for the whole bureau
        return case.department_id == department

    def _load(self, case_id: int, *, lock: bool = False) -> PenaltyCase:
        query = (
            select(PenaltyCase)
            .where(PenaltyCase.id == case_id)
            .options(
                selectinload(PenaltyCase.members).selectinload(CaseMember.user),
                selectinload(PenaltyCase.events),
                selectinload(PenaltyCase.coercive_measures),
            )
        )
        if lock:  # transitions of one case serialise on its row
            query = query.with_for_update(of=PenaltyCase).execution_options(populate_existing=True)
        case = self.session.scalar(query)
        if case is None:
            raise CaseNotFoundError()
        return case

    def get(self, case_id: int) -> PenaltyCase:
        """A case the actor may read (outside their scope: as if it did not exist)."""
        self._require_role(READING_ROLES, reason("read penalty cases"))
        case = self._load(case_id)
        if not self.in_scope(case):
            raise CaseHiddenError()
        return case

    def _writable(self, case_id: int, if_match: int | None) -> PenaltyCase:
        self._require_role(OFFICER_ROLES, reason("work on penalty cases"))
        case = self._load(case_id, lock=True)
        if not self.in_scope(case):
            raise CaseHiddenError()
        if if_match is not None and if_match != case.version:
            raise CaseStaleVersionError(case)
        return case

    def _group_case(self, case_id: int, if_match: int | None, action: Reason) -> PenaltyCase:
        """A case the actor works on as a group member (or as a deciding officer in scope)."""
        case = self._writable(case_id, if_match)
        if not self._is_member(case) and self.role not in DECIDING_ROLES:
            raise CasePermissionError(
                reason("only the case group or the head may ${action}", action=action)
            )
        return case

    def _deciding_case(self, case_id: int, if_match: int | None, action: Reason) -> PenaltyCase:
        self._require_role(DECIDING_ROLES, action)
        return self._writable(case_id, if_match)

    @staticmethod
    def _require_status(case: PenaltyCase, allowed: Iterable[CaseStatus], action: Reason) -> None:
        allowed = tuple(allowed)
        if case.status not in allowed:
            raise CaseStateError(
                reason(
                    "cannot ${action}: the case is at the stage '${status}' (needs: ${allowed})",
                    action=action,
                    status=CASE_STATUS_REASONS[CaseStatus(case.status)],
                    allowed=listing([CASE_STATUS_REASONS[s] for s in allowed]),
                )
            )

    # ------------------------------------------------------------------ listing

    def list_cases(
        self,
        *,
        status: CaseStatus | str | None = None,
        enterprise_id: int | None = None,
        department_id: int | None = None,
        is_major: bool | None = None,
        suspected_crime: bool | None = None,
        mine: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> CasePage:
        """The cases in the actor's scope, newest first, with the filters given."""
        self._require_role(READING_ROLES, reason("read penalty cases"))
        query = select(PenaltyCase)
        member_of = select(CaseMember.case_id).where(CaseMember.user_id == self._actor_id)
        own = officer_department_id(self.actor)
        if self.role is not Role.ADMIN and not (own is None and self.role is Role.SUPERVISOR):
            scope = PenaltyCase.id.in_(member_of)
            if own is not None:
                scope = or_(PenaltyCase.department_id == own, scope)
            query = query.where(scope)
        if mine:
            query = query.where(PenaltyCase.id.in_(member_of))
        if status is not None:
            query = query.where(PenaltyCase.status == CaseStatus(status))
        if enterprise_id is not None:
            query = query.where(PenaltyCase.enterprise_id == enterprise_id)
        if department_id is not None:
            query = query.where(PenaltyCase.department_id == department_id)
        if is_major is not None:
            query = query.where(PenaltyCase.is_major.is_(is_major))
        if suspected_crime is not None:
            query = query.where(PenaltyCase.suspected_crime.is_(suspected_crime))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(
            query.order_by(PenaltyCase.filed_at.desc(), PenaltyCase.id.desc())
            .limit(limit)
            .offset(offset)
            .options(selectinload(PenaltyCase.members))
        ).all()
        return CasePage(list(rows), total, limit, offset)

    def by_number(self, case_no: str) -> PenaltyCase:
        case_id = self.session.scalar(select(PenaltyCase.id).where(PenaltyCase.case_no == case_no))
        if case_id is None:
            raise CaseNotFoundError()
        return self.get(case_id)

    # ------------------------------------------------------------------ filing

    def file(
        self,
        *,
        enterprise_id: int,
        summary: str,
        members: Sequence[int],
        lead_id: int | None = None,
        department_id: int | None = None,
        is_major: bool = False,
        suspected_crime: bool = False,
    ) -> PenaltyCase:
        """File a case (立案) with its group: at least two officers of the department, the
        lead among them (the first one unless named)."""
        self._require_role(OFFICER_ROLES, reason("file a penalty case"))
        errors: dict[str, str] = {}
        summary = _text(summary, "summary", errors, required=True)
        enterprise = self.session.get(Enterprise, enterprise_id)
        if enterprise is None:
            errors["enterprise_id"] = reason("no enterprise has this id")
        own = officer_department_id(self.actor)
        if department_id is None:
            department_id = own
            if department_id is None:
                errors["department_id"] = reason("is required: the account works for no department")
        elif own is not None and department_id != own and self.role is not Role.ADMIN:
            raise CasePermissionError(reason("a case can only be filed for one's own department"))
        users = self._group(members, lead_id, department_id, errors, minimum=2)
        if errors:
            raise CaseValidationError(errors)
        assert enterprise is not None and department_id is not None and users is not None
        return self._create(
            enterprise=enterprise,
            department_id=department_id,
            summary=summary,
            group=users,
            is_major=is_major,
            suspected_crime=suspected_crime,
            inspection=None,
        )

    def _group(
        self,
        members: Sequence[int],
        lead_id: int | None,
        department_id: int | None,
        errors: dict[str, str],
        *,
        minimum: int,
    ) -> list[tuple[User, CaseMemberRole]] | None:
        ids = list(dict.fromkeys(int(m) for m in members))
        if len(ids) < minimum:
            errors["members"] = reason(
                "a case group needs at least ${minimum} officers", minimum=minimum
            )
            return None
        lead = ids[0] if lead_id is None else int(lead_id)
        if lead not in ids:
            errors["lead_id"] = reason("must be one of the members")
            return None
        users = {u.id: u for u in self.session.scalars(select(User).where(User.id.in_(ids)))}
        bad = []
        for user_id in ids:
            user = users.get(user_id)
            if (
                user is None
                or not user.active
                or Role(user.role) not in MEMBER_ROLES
                or (department_id is not None and officer_department_id(user) != department_id)
            ):
                bad.append(str(user_id))
        if bad:
            errors["members"] = reason(
                "not active officers of the case's department: ${ids}", ids=", ".join(bad)
            )
            return None
        return [
            (users[i], CaseMemberRole.LEAD if i == lead else CaseMemberRole.MEMBER) for i in ids
        ]

    def _create(
        self,
        *,
        enterprise: Enterprise,
        department_id: int,
        summary: str,
        group: Sequence[tuple[User, CaseMemberRole]],
        is_major: bool,
        suspected_crime: bool,
        inspection: FieldInspection | None,
    ) -> PenaltyCase:
        now = self.clock()
        case: PenaltyCase | None = None
        for _attempt in range(_NUMBERING_TRIES):
            candidate = PenaltyCase(
                case_no=self._next_case_no(now),
                enterprise=enterprise,
                department_id=department_id,
                origin_inspection=inspection,
                status=CaseStatus.FILED,
                version=1,
                is_major=bool(is_major),
                suspected_crime=bool(suspected_crime),
                filed_at=now,
                filed_by=self.actor,
                summary=summary,
                deadline_extensions=0,
                members=[CaseMember(user=u, role=r, added_at=now) for u, r in group],
            )
            try:
                with self.session.begin_nested():
                    self.session.add(candidate)
                    self.session.flush()
            except IntegrityError:
                # The number was taken concurrently, or the inspection's case was opened
                # by someone else meanwhile: look again.
                if inspection is not None:
                    existing = _case_of_inspection(self.session, inspection)
                    if existing is not None:
                        return existing
                continue
            case = candidate
            break
        if case is None:
            raise CaseStateError(reason("could not number the case (too many concurrent filings)"))
        event = CaseEvent(
            at=now,
            actor=self.actor,
            from_status=None,
            to_status=CaseStatus.FILED,
            action="file",
            note="",
            details={
                "members": [u.id for u, _r in group],
                "lead": next((u.id for u, r in group if r == CaseMemberRole.LEAD), None),
                "inspection": None if inspection is None else str(inspection.uuid),
            },
        )
        case.events.append(event)
        self.session.flush()
        self._start_decision_clock(case)
        audit.record(
            self.session,
            self.actor,
            "case.file",
            case,
            {"case_no": case.case_no, "enterprise_id": enterprise.id, **event.details},
            at=now,
        )
        self._feed(case)
        return case

    def _next_case_no(self, now: dt.datetime) -> str:
        """``CASE-<year>-<6-digit sequence>``: numbered per calendar year (Asia/Shanghai)."""
        prefix = f"{CASE_NO_PREFIX}-{local_date(now).year}-"
        latest = self.session.scalar(
            select(func.max(PenaltyCase.case_no)).where(PenaltyCase.case_no.like(prefix + "%"))
        )
        number = int(latest.removeprefix(prefix)) + 1 if latest else 1
        return f"{prefix}{number:06d}"

    def set_members(
        self,
        case_id: int,
        members: Sequence[int],
        *,
        lead_id: int | None = None,
        if_match: int | None = None,
    ) -> PenaltyCase:
        """Replace the case group (the lead or the head): at least two officers."""
        case = self._writable(case_id, if_match)
        lead = case.lead
        if self.role not in DECIDING_ROLES and (lead is None or lead.user_id != self._actor_id):
            raise CasePermissionError(
                reason("only the lead of the case group or the head may change it")
            )
        if case.status in FINAL_CASE_STATUSES:
            raise CaseStateError(
                reason(
                    "the case is at the stage '${status}': its group is fixed",
                    status=CASE_STATUS_REASONS[CaseStatus(case.status)],
                )
            )
        errors: dict[str, str] = {}
        group = self._group(members, lead_id, case.department_id, errors, minimum=2)
        if errors or group is None:
            raise CaseValidationError(errors)
        now = self.clock()
        wanted = {u.id: r for u, r in group}
        for member in list(case.members):
            if member.user_id not in wanted:
                case.members.remove(member)
            else:
                member.role = wanted.pop(member.user_id)
        self.session.flush()
        for user, role in group:
            if user.id in wanted:
                case.members.append(CaseMember(user=user, role=role, added_at=now))
        details = {"members": [u.id for u, _r in group], "lead": case.lead and case.lead.user_id}
        details["lead"] = next(u.id for u, r in group if r == CaseMemberRole.LEAD)
        self._transition(case, None, "members", "", details)
        return case

    # ------------------------------------------------------------------ the main path

    def start_investigation(
        self, case_id: int, *, note: str = "", if_match: int | None = None
    ) -> PenaltyCase:
        action = reason("start the investigation")
        case = self._group_case(case_id, if_match, action)
        self._require_status(case, [CaseStatus.FILED], action)
        errors: dict[str, str] = {}
        note = _text(note, "note", errors, required=False)
        if errors:
            raise CaseValidationError(errors)
        self._transition(case, CaseStatus.INVESTIGATING, "investigate", note)
        return case

    def propose_decision(
        self,
        case_id: int,
        *,
        measure: PenaltyMeasure | str,
        amount: Decimal | str | float | None,
        legal_basis: str,
        is_major: bool = False,
        note: str = "",
        if_match: int | None = None,
    ) -> PenaltyCase:
        """The group's proposed decision (拟处罚). A major one goes to legal review."""
        action = reason("propose a penalty decision")
        case = self._group_case(case_id, if_match, action)
        self._require_status(case, [CaseStatus.INVESTIGATING], action)
        errors: dict[str, str] = {}
        try:
            measure = PenaltyMeasure(measure)
        except ValueError:
            errors["measure"] = reason(
                "must be one of ${choices}", choices=", ".join(m.value for m in PenaltyMeasure)
            )
        value = _amount(amount, errors)
        basis = _text(legal_basis, "legal_basis", errors, required=True)
        note = _text(note, "note", errors, required=False)
        if "measure" not in errors and "amount" not in errors:
            if measure in (PenaltyMeasure.FINE, PenaltyMeasure.CONFISCATION) and not value:
                errors["amount"] = _AMOUNT_REQUIRED[measure]
            elif measure == PenaltyMeasure.WARNING and value:
                errors["amount"] = reason("a warning carries no amount")
        if errors:
            raise CaseValidationError(errors)
        assert isinstance(measure, PenaltyMeasure)
        major = bool(is_major) or is_major_decision(measure, value)
        now = self.clock()
        case.proposed_measure = measure
        case.proposed_amount = value
        case.proposed_legal_basis = basis
        case.proposed_at = now
        case.proposed_by = self.actor
        case.is_major = major
        case.reviewed_at = case.reviewed_by = case.review_opinion = None
        to = CaseStatus.LEGAL_REVIEW if major else CaseStatus.DECISION_PROPOSED
        details = {
            "measure": measure.value,
            "amount": None if value is None else str(value),
            "legal_basis": basis,
            "is_major": major,
        }
        self._transition(case, to, "propose", note, details)
        return case

    def legal_review(
        self,
        case_id: int,
        *,
        approve: bool,
        opinion: str,
        if_match: int | None = None,
    ) -> PenaltyCase:
        """法制审核 of a major decision by a deciding officer outside the case group: approval
        lets the head decide; a return sends the case back to investigation."""
        action = reason("review the proposed decision")
        case = self._deciding_case(case_id, if_match, action)
        self._require_status(case, [CaseStatus.LEGAL_REVIEW], action)
        if self._is_member(case) or (
            self.actor is not None and case.proposed_by_id == self.actor.id
        ):
            raise CasePermissionError(
                reason("the legal reviewer must not be a member of the case group or the proposer")
            )
        errors: dict[str, str] = {}
        opinion = _text(opinion, "opinion", errors, required=True)
        if errors:
            raise CaseValidationError(errors)
        case.reviewed_at = self.clock()
        case.reviewed_by = self.actor
        case.review_opinion = opinion
        if approve:
            self._transition(case, CaseStatus.DECISION_PROPOSED, "review.approve", opinion)
        else:
            self._transition(case, CaseStatus.INVESTIGATING, "review.return", opinion)
        return case

    def decide(
        self,
        case_id: int,
        *,
        decision_no: str | None = None,
        note: str = "",
        if_match: int | None = None,
    ) -> PenaltyCase:
        """The head's decision (处罚决定) on the proposal: creates the penalty, which feeds
        the data center and re-rates the enterprise, and stops the decision clock."""
        action = reason("decide the case")
        case = self._deciding_case(case_id, if_match, action)
        self._require_status(case, [CaseStatus.DECISION_PROPOSED], action)
        if case.is_major and case.reviewed_at is None:
            raise CaseStateError(reason("a major decision needs an approved legal review first"))
        errors: dict[str, str] = {}
        note = _text(note, "note", errors, required=False)
        number = (decision_no or "").strip() or _decision_no(case.case_no)
        if len(number) > 64:
            errors["decision_no"] = reason("must be at most ${limit} characters", limit=64)
        elif self.session.scalar(select(Penalty.id).where(Penalty.decision_no == number)):
            errors["decision_no"] = reason("another penalty decision already has this number")
        if errors:
            raise CaseValidationError(errors)
        assert case.proposed_measure is not None
        now = self.clock()
        penalty = add_penalty(
            self.session,
            self.actor,
            case.enterprise,
            decision_no=number,
            decided_on=local_date(now),
            measure=case.proposed_measure,
            amount=case.proposed_amount,
            legal_basis=case.proposed_legal_basis or "",
        )
        case.penalty = penalty
        case.decided_at = now
        case.decided_by = self.actor
        clocks.stop_clock(self.session, kind=DECISION_CLOCK, subject=case, at=now)
        details = {"decision_no": number, "penalty_id": penalty.id}
        self._transition(case, CaseStatus.DECIDED, "decide", note, details)
        return case

    def execute(self, case_id: int, *, note: str = "", if_match: int | None = None) -> PenaltyCase:
        """The decision has been carried out (fine paid, licence revoked…)."""
        action = reason("record the execution of the decision")
        case = self._group_case(case_id, if_match, action)
        self._require_status(case, [CaseStatus.DECIDED], action)
        errors: dict[str, str] = {}
        note = _text(note, "note", errors, required=False)
        if errors:
            raise CaseValidationError(errors)
        case.executed_at = self.clock()
        case.execution_note = note or None
        self._transition(case, CaseStatus.EXECUTED, "execute", note)
        return case

    def close(self, case_id: int, *, note: str = "", if_match: int | None = None) -> PenaltyCase:
        """结案: after execution (or after a revoking reconsideration). Never while a transfer
        to public security is pending (不得以罚代刑), a coercive measure is in force or a
        reconsideration is under way."""
        action = reason("close the case")
        case = self._deciding_case(case_id, if_match, action)
        revoked = case.reconsideration_status == ReconsiderationStatus.REVOKED
        allowed = [CaseStatus.EXECUTED, CaseStatus.DECIDED] if revoked else [CaseStatus.EXECUTED]
        self._require_status(case, allowed, action)
        errors: dict[str, str] = {}
        note = _text(note, "note", errors, required=False)
        if errors:
            raise CaseValidationError(errors)
        if case.reconsideration_status == ReconsiderationStatus.REQUESTED:
            raise CaseStateError(reason("a reconsideration of the decision is under way"))
        if any(m.lifted_at is None for m in case.coercive_measures):
            raise CaseStateError(reason("a coercive measure is still in force: lift it first"))
        from enforcement.services.transfers import pending_transfer  # built on this module

        if pending_transfer(self.session, case) is not None:
            raise CaseStateError(
                reason(
                    "the case has a pending transfer to public security: a fine never closes it "
                    "(不得以罚代刑)"
                )
            )
        if case.suspected_crime and not self._has_transfer(case):
            raise CaseStateError(
                reason(
                    "the case is a suspected crime: report its transfer (or the head's decision "
                    "not to transfer) before closing it (不得以罚代刑)"
                )
            )
        case.closed_at = self.clock()
        self._transition(case, CaseStatus.CLOSED, "close", note)
        return case

    def _has_transfer(self, case: PenaltyCase) -> bool:
        from enforcement.models import Transfer  # the transfer workflow builds on cases

        found = self.session.scalar(select(Transfer.id).where(Transfer.case_id == case.id))
        return found is not None

    # ------------------------------------------------------------------ withdrawal, deadline

    def withdraw(self, case_id: int, *, reason: str, if_match: int | None = None) -> PenaltyCase:
        """撤销立案 before a decision, with the reason; coercive measures in force are lifted
        and the deadline stops."""
        case = self._deciding_case(case_id, if_match, _WITHDRAW)
        self._require_status(case, _OPEN, _WITHDRAW)
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors, required=True)
        if errors:
            raise CaseValidationError(errors)
        now = self.clock()
        for measure in case.coercive_measures:
            if measure.lifted_at is None:
                self._lift(case, measure, f"case withdrawn: {reason}")
        case.withdrawn_at = now
        case.withdrawal_reason = reason
        clocks.stop_clock(self.session, kind=DECISION_CLOCK, subject=case, at=now)
        self._transition(case, CaseStatus.WITHDRAWN, "withdraw", reason)
        return case

    def extend_deadline(
        self,
        case_id: int,
        *,
        reason: str,
        days: int | None = None,
        if_match: int | None = None,
    ) -> PenaltyCase:
        """Extend the decision deadline: the first time by 30 days (the head's approval); a
        further extension is a collective decision and names its own period."""
        case = self._deciding_case(case_id, if_match, _EXTEND_DEADLINE)
        self._require_status(case, _OPEN, _EXTEND_DEADLINE)
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors, required=True)
        first = case.deadline_extensions == 0
        if days is None:
            if first:
                days = EXTENSION_DAYS
            else:
                errors["days"] = _FURTHER_EXTENSION
        elif first and days != EXTENSION_DAYS:
            errors["days"] = _FIRST_EXTENSION
        elif not 1 <= days <= 365:
            errors["days"] = _DAYS_RANGE
        if errors:
            raise CaseValidationError(errors)
        assert days is not None
        running = self._decision_clock(case)
        if running is None:
            raise CaseStateError(_NO_DEADLINE)
        old_due = clocks.due_date_of(running.due_at)
        # ``days`` natural days after the current last day, rolled to a working day.
        due_at = clocks.due_days_rolled(self._calendar(), running.due_at - _INSTANT, days)
        new_due = clocks.due_date_of(due_at)
        clocks.extend_clock(
            self.session,
            kind=DECISION_CLOCK,
            subject=case,
            due_at=due_at,
            reason=reason,
            actor=self.actor,
        )
        case.deadline_extensions += 1
        details = {"days": days, "from": old_due.isoformat(), "to": new_due.isoformat()}
        self._transition(case, None, "extend", reason, details)
        return case

    def decision_due_on(self, case: PenaltyCase) -> dt.date | None:
        """The date the decision is due (None once the clock stopped)."""
        running = self._decision_clock(case)
        return None if running is None else clocks.due_date_of(running.due_at)

    def _decision_clock(self, case: PenaltyCase) -> Clock | None:
        return clocks.running_clock(self.session, kind=DECISION_CLOCK, subject=case)

    def _calendar(self) -> Any:
        return clocks.calendar_for(self.settings)

    def _start_decision_clock(self, case: PenaltyCase) -> None:
        due_at = clocks.due_days_rolled(self._calendar(), case.filed_at, DECISION_DAYS)
        clocks.start_clock(
            self.session,
            kind=DECISION_CLOCK,
            subject=case,
            due_at=due_at,
            warn_at=due_at - dt.timedelta(days=DECISION_WARN_DAYS),
            department_id=case.department_id,
            started_at=case.filed_at,
        )

    # ------------------------------------------------------------------ reconsideration

    def request_reconsideration(
        self, case_id: int, *, note: str, if_match: int | None = None
    ) -> PenaltyCase:
        """The party has applied for administrative reconsideration (行政复议) of the decision."""
        action = reason("record a reconsideration request")
        case = self._group_case(case_id, if_match, action)
        self._require_status(case, _DECIDED, action)
        if case.reconsideration_status is not None:
            raise CaseStateError(
                reason(
                    "the decision's reconsideration is already recorded: ${status}",
                    status=_RECONSIDERATION_LABELS[
                        ReconsiderationStatus(case.reconsideration_status)
                    ],
                )
            )
        errors: dict[str, str] = {}
        note = _text(note, "note", errors, required=True)
        if errors:
            raise CaseValidationError(errors)
        case.reconsideration_status = ReconsiderationStatus.REQUESTED
        case.reconsideration_requested_at = self.clock()
        case.reconsideration_note = note
        self._transition(case, None, "reconsideration.request", note)
        return case

    def decide_reconsideration(
        self,
        case_id: int,
        *,
        outcome: ReconsiderationStatus | str,
        note: str,
        measure: PenaltyMeasure | str | None = None,
        amount: Decimal | str | float | None = None,
        legal_basis: str | None = None,
        decision_no: str | None = None,
        if_match: int | None = None,
    ) -> PenaltyCase:
        """The reconsideration body's decision: upheld (维持), revoked (撤销: the penalty no
        longer counts and the enterprise is re-rated) or changed (变更: a new penalty replaces
        the old one)."""
        case = self._deciding_case(case_id, if_match, reason("record a reconsideration decision"))
        if case.reconsideration_status != ReconsiderationStatus.REQUESTED:
            raise CaseStateError(reason("no reconsideration of this case is under way"))
        errors: dict[str, str] = {}
        try:
            result = ReconsiderationStatus(outcome)
            if result == ReconsiderationStatus.REQUESTED:
                raise ValueError(outcome)
        except ValueError:
            errors["outcome"] = reason(
                "must be one of ${choices}", choices="upheld, revoked, changed"
            )
            result = ReconsiderationStatus.REQUESTED
        note = _text(note, "note", errors, required=True)
        now = self.clock()
        old = case.penalty
        details: dict[str, Any] = {"outcome": result.value}
        if result == ReconsiderationStatus.CHANGED:
            new_measure, value, basis, number = self._changed_decision(
                case, measure, amount, legal_basis, decision_no, errors
            )
        if errors:
            raise CaseValidationError(errors)
        if result in (ReconsiderationStatus.REVOKED, ReconsiderationStatus.CHANGED) and old:
            old.revoked_at = now  # on record, but no longer counting against the enterprise
            document = penalty_document(old) | {"status": result.value}
            feed.publish(self.session, "penalty", old.decision_no, document)
            if result == ReconsiderationStatus.REVOKED:
                rerate_later(self.session, case.enterprise, f"penalty {old.decision_no} revoked")
            details["revoked_penalty"] = old.decision_no
        if result == ReconsiderationStatus.CHANGED:
            penalty = add_penalty(
                self.session,
                self.actor,
                case.enterprise,
                decision_no=number,
                decided_on=local_date(now),
                measure=new_measure,
                amount=value,
                legal_basis=basis,
            )
            case.penalty = penalty
            details["decision_no"] = number
        case.reconsideration_status = result
        case.reconsideration_decided_at = now
        case.reconsideration_note = note
        self._transition(case, None, "reconsideration.decide", note, details)
        return case

    def _changed_decision(
        self,
        case: PenaltyCase,
        measure: PenaltyMeasure | str | None,
        amount: Any,
        legal_basis: str | None,
        decision_no: str | None,
        errors: dict[str, str],
    ) -> tuple[PenaltyMeasure, Decimal | None, str, str]:
        chosen = PenaltyMeasure.WARNING
        try:
            chosen = PenaltyMeasure(measure)
        except ValueError:
            errors["measure"] = reason(
                "a changed decision names its measure: ${choices}",
                choices=", ".join(m.value for m in PenaltyMeasure),
            )
        value = _amount(amount, errors)
        needs_amount = chosen in (PenaltyMeasure.FINE, PenaltyMeasure.CONFISCATION)
        if needs_amount and "measure" not in errors and "amount" not in errors and not value:
            errors["amount"] = _AMOUNT_REQUIRED[chosen]
        basis = _text(legal_basis, "legal_basis", errors, required=True)
        previous = case.penalty.decision_no if case.penalty else _decision_no(case.case_no)
        number = (decision_no or "").strip() or f"{previous}-R"
        if len(number) > 64:
            errors["decision_no"] = reason("must be at most ${limit} characters", limit=64)
        elif self.session.scalar(select(Penalty.id).where(Penalty.decision_no == number)):
            errors["decision_no"] = reason("another penalty decision already has this number")
        return chosen, value, basis, number

    # ------------------------------------------------------------------ coercive measures

    def start_coercive_measure(
        self,
        case_id: int,
        *,
        kind: CoerciveKind | str,
        items: Sequence[Mapping[str, Any]],
        place: str = "",
        started_on: dt.date | None = None,
        note: str = "",
        if_match: int | None = None,
    ) -> CoerciveMeasure:
        """A seal or seizure (查封、扣押) in an open case, for 30 days."""
        action = reason("take a coercive measure")
        case = self._group_case(case_id, if_match, action)
        self._require_status(case, _OPEN, action)
        errors: dict[str, str] = {}
        try:
            kind = CoerciveKind(kind)
        except ValueError:
            errors["kind"] = reason("must be seal or seize")
        listed = _items(items, errors)
        place = _text(place, "place", errors, required=False)[:300]
        note = _text(note, "note", errors, required=False)
        today = local_date(self.clock())
        start = started_on or today
        if start > today:
            errors["started_on"] = reason("cannot be in the future")
        elif start < today - dt.timedelta(days=COERCIVE_DAYS):
            errors["started_on"] = reason("is more than ${days} days ago", days=COERCIVE_DAYS)
        if errors:
            raise CaseValidationError(errors)
        assert isinstance(kind, CoerciveKind)
        measure = CoerciveMeasure(
            case=case,
            kind=kind,
            items=listed,
            place=place,
            started_on=start,
            ends_on=start + dt.timedelta(days=COERCIVE_DAYS),
            extended=False,
            decided_by=self.actor,
            version=1,
            created_at=self.clock(),
        )
        self.session.add(measure)
        self.session.flush()
        due_at = clocks.end_of_date(measure.ends_on)
        clocks.start_clock(
            self.session,
            kind=COERCIVE_CLOCK,
            subject=measure,
            due_at=due_at,
            warn_at=due_at - dt.timedelta(days=COERCIVE_WARN_DAYS),
            department_id=case.department_id,
            started_at=self.clock(),
        )
        details = {
            "measure": str(measure.uuid),
            "kind": kind.value,
            "items": len(listed),
            "ends_on": measure.ends_on.isoformat(),
        }
        audit.record(self.session, self.actor, "coercive.start", measure, details)
        self._feed_measure(measure)
        self._transition(case, None, "coercive.start", note, details)
        return measure

    def _measure(
        self, case_id: int, measure_id: int, if_match: int | None
    ) -> tuple[PenaltyCase, CoerciveMeasure]:
        case = self._writable(case_id, if_match)  # the case's version guards its measures
        measure = next((m for m in case.coercive_measures if m.id == measure_id), None)
        if measure is None:
            raise CaseNotFoundError(reason("coercive measure not found"))
        return case, measure

    def extend_coercive_measure(
        self, case_id: int, measure_id: int, *, reason: str, if_match: int | None = None
    ) -> CoerciveMeasure:
        """Once, by 30 days, with the head's approval (情况复杂的，经行政机关负责人批准)."""
        self._require_role(DECIDING_ROLES, _EXTEND_MEASURE)
        case, measure = self._measure(case_id, measure_id, if_match)
        if measure.lifted_at is not None:
            raise CaseStateError(_MEASURE_LIFTED)
        if measure.extended:
            raise CaseStateError(_EXTENDED_ONCE)
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors, required=True)
        if errors:
            raise CaseValidationError(errors)
        old_end = measure.ends_on
        measure.ends_on = old_end + dt.timedelta(days=COERCIVE_DAYS)
        measure.extended = True
        measure.extension_reason = reason
        measure.version += 1
        clocks.extend_clock(
            self.session,
            kind=COERCIVE_CLOCK,
            subject=measure,
            due_at=clocks.end_of_date(measure.ends_on),
            reason=reason,
            actor=self.actor,
        )
        details = {
            "measure": str(measure.uuid),
            "from": old_end.isoformat(),
            "to": measure.ends_on.isoformat(),
        }
        audit.record(self.session, self.actor, "coercive.extend", measure, details)
        self._feed_measure(measure)
        self._transition(case, None, "coercive.extend", reason, details)
        return measure

    def lift_coercive_measure(
        self, case_id: int, measure_id: int, *, reason: str, if_match: int | None = None
    ) -> CoerciveMeasure:
        """解除查封、扣押."""
        case, measure = self._measure(case_id, measure_id, if_match)
        if not self._is_member(case) and self.role not in DECIDING_ROLES:
            raise CasePermissionError(_LIFT_FORBIDDEN)
        if measure.lifted_at is not None:
            raise CaseStateError(_ALREADY_LIFTED)
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors, required=True)
        if errors:
            raise CaseValidationError(errors)
        self._lift(case, measure, reason)
        self._transition(case, None, "coercive.lift", reason, {"measure": str(measure.uuid)})
        return measure

    def _lift(self, case: PenaltyCase, measure: CoerciveMeasure, reason: str) -> None:
        now = self.clock()
        measure.lifted_at = now
        measure.lift_reason = reason
        measure.version += 1
        clocks.stop_clock(self.session, kind=COERCIVE_CLOCK, subject=measure, at=now)
        audit.record(self.session, self.actor, "coercive.lift", measure, {"reason": reason}, at=now)
        self._feed_measure(measure)

    # ------------------------------------------------------------------ recording

    def _transition(
        self,
        case: PenaltyCase,
        to: CaseStatus | None,
        action: str,
        note: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> CaseEvent:
        """Move ``case`` to ``to`` (None: the status stays) and record it everywhere."""
        now = self.clock()
        before = case.status
        event = CaseEvent(
            at=now,
            actor=self.actor,
            from_status=before,
            to_status=to if to is not None else before,
            action=action,
            note=note or "",
            details=dict(details or {}),
        )
        case.events.append(event)
        if to is not None:
            case.status = to
        case.version += 1
        case.updated_at = now
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            f"case.{action}",
            case,
            {"from": before.value, "to": case.status.value, **event.details},
            at=now,
        )
        self._feed(case)
        return event

    def _feed(self, case: PenaltyCase) -> None:
        feed.publish(self.session, "case", str(case.uuid), case_feed_document(case))

    def _feed_measure(self, measure: CoerciveMeasure) -> None:
        feed.publish(
            self.session, "coercive_measure", str(measure.uuid), coercive_feed_document(measure)
        )


# ---------------------------------------------------------------------- module functions


def is_major_decision(measure: PenaltyMeasure, amount: Decimal | None) -> bool:
    """重大执法决定 by content: suspension or revocation, or a large fine or confiscation."""
    if measure in (PenaltyMeasure.SUSPENSION, PenaltyMeasure.REVOCATION):
        return True
    return amount is not None and amount >= MAJOR_FINE_CNY


def _decision_no(case_no: str) -> str:
    """The default number of a case's decision: ``CASE-2026-000012`` → ``DEC-2026-000012``."""
    return "DEC-" + case_no.split("-", 1)[1] if "-" in case_no else f"DEC-{case_no}"


def _items(items: Sequence[Mapping[str, Any]], errors: dict[str, str]) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    if not items:
        errors["items"] = reason("list the items sealed or seized")
        return listed
    if len(items) > MAX_ITEMS:
        errors["items"] = reason("at most ${limit} items", limit=MAX_ITEMS)
        return listed
    for index, item in enumerate(items):
        name = str(item.get("name") or "").strip()
        if not name:
            errors[f"items.{index}.name"] = reason("must not be empty")
            continue
        quantity = item.get("quantity")
        if quantity is not None and (
            isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity < 0
        ):
            errors[f"items.{index}.quantity"] = reason("must be a number, zero or more")
            continue
        listed.append(
            {
                "name": name[:200],
                "quantity": quantity,
                "unit": str(item.get("unit") or "").strip()[:20],
                "note": str(item.get("note") or "").strip()[:500],
            }
        )
    return listed


def _case_of_inspection(session: Session, inspection: FieldInspection) -> PenaltyCase | None:
    return session.scalar(
        select(PenaltyCase).where(PenaltyCase.origin_inspection_id == inspection.id)
    )


def open_case_from_inspection(
    session: Session,
    actor: User | None,
    inspection: FieldInspection,
    suspected_crime: bool = False,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    settings: Mapping[str, Any] | None = None,
) -> PenaltyCase:
    """File the case of an inspection that ended ``case_filed`` or ``suspected_crime``.

    Idempotent per inspection: a second call returns the same case (and marks it suspected
    crime if it now is). The group is the task's officers who have accounts, led by the
    inspection's officer; the department is that officer's.
    """
    if inspection.result not in (InspectionResult.CASE_FILED, InspectionResult.SUSPECTED_CRIME):
        raise CaseStateError(reason("only an inspection that ended in a case opens one"))
    suspected = suspected_crime or inspection.result == InspectionResult.SUSPECTED_CRIME
    existing = _case_of_inspection(session, inspection)
    # The hook acts for whoever finished the inspection (None: the system); the service is
    # used for its recording only, so no role check applies.
    service = CaseService(session, actor, clock=clock, settings=settings)
    if existing is not None:
        if suspected and not existing.suspected_crime:
            existing.suspected_crime = True
            details = {"inspection": str(inspection.uuid)}
            service._transition(existing, None, "suspected_crime", "", details)
        return existing
    task = session.get_one(InspectionTask, inspection.task_id)
    inspector_ids = [
        m.inspector_id
        for m in session.scalars(
            select(TaskMember).where(TaskMember.task_id == task.id).order_by(TaskMember.id)
        )
    ]
    users = session.scalars(
        select(User).where(User.inspector_id.in_(inspector_ids), User.active.is_(True))
    ).all()
    department_id = inspection.inspector.department_id
    by_inspector = {u.inspector_id: u for u in users}
    group: list[tuple[User, CaseMemberRole]] = []
    lead = by_inspector.get(inspection.inspector_id)
    if lead is not None:
        group.append((lead, CaseMemberRole.LEAD))
    for inspector_id in inspector_ids:
        user = by_inspector.get(inspector_id)
        if user is not None and user is not lead:
            role = CaseMemberRole.LEAD if not group else CaseMemberRole.MEMBER
            group.append((user, role))
    findings = "；".join(f.description for f in inspection.findings)
    summary = (inspection.result_note or "").strip() or findings or "检查发现问题，立案调查"
    return service._create(
        enterprise=task.enterprise,
        department_id=department_id,
        summary=summary[:MAX_NOTE],
        group=group,
        is_major=False,
        suspected_crime=suspected,
        inspection=inspection,
    )


# ---------------------------------------------------------------------- documents


def case_feed_document(case: PenaltyCase) -> dict[str, Any]:
    """What the data center receives for a case (no personal data of officers)."""
    penalty = case.penalty
    return {
        "case_no": case.case_no,
        "uuid": str(case.uuid),
        "enterprise_uscc": case.enterprise.uscc,
        "enterprise_name": case.enterprise.name,
        "department": case.department.code,
        "status": case.status.value,
        "filed_at": iso_utc(case.filed_at),
        "is_major": case.is_major,
        "suspected_crime": case.suspected_crime,
        "decision_no": None if penalty is None else penalty.decision_no,
        "decided_at": iso_utc(case.decided_at),
        "executed_at": iso_utc(case.executed_at),
        "closed_at": iso_utc(case.closed_at),
        "withdrawn_at": iso_utc(case.withdrawn_at),
        "reconsideration": None
        if case.reconsideration_status is None
        else case.reconsideration_status.value,
        "version": case.version,
    }


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "name": user.display_name or user.username}


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def clock_document(clock: Clock) -> dict[str, Any]:
    return {
        "id": clock.id,
        "kind": clock.kind,
        "started_at": iso_utc(clock.started_at),
        "due_at": iso_utc(clock.due_at),
        "due_on": clocks.due_date_of(clock.due_at).isoformat(),
        "warn_at": iso_utc(clock.warn_at),
        "stopped_at": iso_utc(clock.stopped_at),
        "outcome": None if clock.outcome is None else clock.outcome.value,
        "extensions": len(clock.extensions or []),
    }


def measure_document(measure: CoerciveMeasure) -> dict[str, Any]:
    return {
        "id": measure.id,
        "uuid": str(measure.uuid),
        "kind": measure.kind.value,
        "items": list(measure.items),
        "place": measure.place,
        "started_on": measure.started_on.isoformat(),
        "ends_on": measure.ends_on.isoformat(),
        "extended": measure.extended,
        "extension_reason": measure.extension_reason,
        "lifted_at": iso_utc(measure.lifted_at),
        "lift_reason": measure.lift_reason,
        "version": measure.version,
    }


def case_document(
    case: PenaltyCase, case_clocks: Sequence[Clock], *, detail: bool = False
) -> dict[str, Any]:
    """The case as the API and the command line show it; ``detail`` adds the history and the
    coercive measures. ``case_clocks``: the clocks to show (the list shows the running ones)."""
    penalty = case.penalty
    running = next(
        (c for c in case_clocks if c.kind == DECISION_CLOCK and c.stopped_at is None), None
    )
    document: dict[str, Any] = {
        "id": case.id,
        "uuid": str(case.uuid),
        "case_no": case.case_no,
        "status": case.status.value,
        "version": case.version,
        "enterprise": {
            "id": case.enterprise.id,
            "name": case.enterprise.name,
            "uscc": case.enterprise.uscc,
        },
        "department": {"id": case.department.id, "code": case.department.code},
        "origin_inspection": None
        if case.origin_inspection is None
        else str(case.origin_inspection.uuid),
        "is_major": case.is_major,
        "suspected_crime": case.suspected_crime,
        "summary": case.summary,
        "filed_at": iso_utc(case.filed_at),
        "filed_by": _person(case.filed_by),
        "decision_due_on": None
        if running is None
        else clocks.due_date_of(running.due_at).isoformat(),
        "deadline_extensions": case.deadline_extensions,
        "proposal": None
        if case.proposed_measure is None
        else {
            "measure": case.proposed_measure.value,
            "amount": _money(case.proposed_amount),
            "legal_basis": case.proposed_legal_basis or "",
            "proposed_at": iso_utc(case.proposed_at),
            "proposed_by": _person(case.proposed_by),
        },
        "review": None
        if case.reviewed_at is None
        else {
            "reviewed_at": iso_utc(case.reviewed_at),
            "reviewer": _person(case.reviewed_by),
            "opinion": case.review_opinion or "",
        },
        "decision": None
        if case.decided_at is None
        else {
            "decided_at": iso_utc(case.decided_at),
            "decided_by": _person(case.decided_by),
        },
        "penalty": None
        if penalty is None
        else {
            "id": penalty.id,
            "decision_no": penalty.decision_no,
            "decided_on": penalty.decided_on.isoformat(),
            "measure": penalty.measure.value,
            "amount": _money(penalty.amount),
            "legal_basis": penalty.legal_basis,
            "revoked": penalty.revoked_at is not None,
            "repaired": penalty.repaired_at is not None,
        },
        "executed_at": iso_utc(case.executed_at),
        "execution_note": case.execution_note,
        "closed_at": iso_utc(case.closed_at),
        "withdrawn_at": iso_utc(case.withdrawn_at),
        "withdrawal_reason": case.withdrawal_reason,
        "reconsideration": None
        if case.reconsideration_status is None
        else {
            "status": case.reconsideration_status.value,
            "requested_at": iso_utc(case.reconsideration_requested_at),
            "decided_at": iso_utc(case.reconsideration_decided_at),
            "note": case.reconsideration_note or "",
        },
        "members": [
            {
                "user_id": m.user_id,
                "name": m.user.display_name or m.user.username,
                "role": m.role.value,
            }
            for m in case.members
        ],
        "clocks": [clock_document(c) for c in case_clocks],
    }
    if detail:
        document["events"] = [
            {
                "id": e.id,
                "at": iso_utc(e.at),
                "actor": _person(e.actor),
                "action": e.action,
                "from_status": None if e.from_status is None else e.from_status.value,
                "to_status": None if e.to_status is None else e.to_status.value,
                "note": e.note,
                "details": e.details,
            }
            for e in case.events
        ]
        document["coercive_measures"] = [measure_document(m) for m in case.coercive_measures]
    return document


def coercive_feed_document(measure: CoerciveMeasure) -> dict[str, Any]:
    case = measure.case
    return {
        "uuid": str(measure.uuid),
        "case_no": case.case_no,
        "enterprise_uscc": case.enterprise.uscc,
        "enterprise_name": case.enterprise.name,
        "kind": measure.kind.value,
        "items": measure.items,
        "place": measure.place,
        "started_on": measure.started_on.isoformat(),
        "ends_on": measure.ends_on.isoformat(),
        "extended": measure.extended,
        "lifted_at": iso_utc(measure.lifted_at),
        "lift_reason": measure.lift_reason,
    }


__all__ = [
    "CASE_STATUS_REASONS",
    "COERCIVE_CLOCK",
    "DECISION_CLOCK",
    "MAJOR_FINE_CNY",
    "CaseError",
    "CaseNotFoundError",
    "CasePage",
    "CasePermissionError",
    "CaseService",
    "CaseStaleVersionError",
    "CaseStateError",
    "CaseValidationError",
    "case_clocks",
    "case_document",
    "case_feed_document",
    "clock_document",
    "coercive_feed_document",
    "is_major_decision",
    "listing",
    "local_date",
    "measure_document",
    "open_case_from_inspection",
]
