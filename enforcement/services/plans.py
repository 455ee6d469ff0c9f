"""Sampling plans: creation, approval, the seed commitment and redraws, audit-logged.

Life cycle: draft → approved → seed_committed → drawn → published. Only a draft can be edited;
a drawn or published plan never changes (a redraw is a new draft that supersedes it, with a
recorded reason). Governing actions need the supervisor or admin role. The draw itself, which
takes a plan from seed_committed to drawn, is a separate step.

The services flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from enforcement.models import (
    FROZEN_STATUSES,
    Department,
    InspectionItem,
    InspectionTask,
    Jurisdiction,
    PlanError,
    PlanImmutableError,
    PlanStateError,
    PlanStatus,
    Role,
    SamplingMethod,
    SamplingPlan,
    TaskStatus,
    User,
    utcnow,
)
from enforcement.models.plans import PLAN_STATUS_NAMES, TASK_STATUS_NAMES
from enforcement.reasons import Reason, reason
from enforcement.services import audit, wire
from enforcement.services.task_feed import note_task_changes
from random_sampler import seeds
from random_sampler.allocation import TIERS, PlanSpec

GOVERNING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Keys a stratum can be defined by; "tier" is required because ratios are set per tier.
STRATA_KEYS = ("jurisdiction", "tier", "industry_section", "industry_division", "entity_type")
DEFAULT_STRATA_KEYS = ("jurisdiction", "tier", "industry_section")
SEED_BYTES = 32
MAX_REASON = 2000

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_EMPTY_SEED_COMMITMENT = seeds.commit(b"")

# Fields of a plan set by create() and update(), with their defaults (None: required).
FIELDS: dict[str, Any] = {
    "code": None,
    "title": None,
    "year": None,
    "items": None,
    "jurisdictions": None,
    "tier_ratios": None,
    "budget": None,
    "method": SamplingMethod.EXACT,
    "exclude_within_months": None,
    "annual_cap": None,
    "alternates_per_stratum": 3,
    "strata_keys": DEFAULT_STRATA_KEYS,
    "team_size": 2,
    "workload_cap": None,
    "recuse_same_jurisdiction": False,
    "due_date": None,
}
REQUIRED = ("code", "title", "year", "items", "jurisdictions", "tier_ratios")


class PlanValidationError(PlanError, ValueError):
    """One or more fields are invalid; ``errors`` maps each field to its reason."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        self.field = next(iter(self.errors))
        super().__init__(wire.errors_reason(self.errors))


class PlanNotFoundError(PlanError, LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(reason("no sampling plan with code '${code}'", code=code))
        self.code = code


class PermissionDeniedError(PlanError):
    """The acting user's role, department or inactive account does not allow the action."""

    def __init__(self, user: User, action: str, why: str | None = None) -> None:
        # ``action`` is a reason too ("approve a sampling plan"), translated where it is shown.
        if why is None:
            why = (
                reason("the account is inactive")
                if not user.active
                else reason("it needs the role admin or supervisor")
            )
        super().__init__(
            reason(
                "user ${user} (role ${role}) may not ${action}: ${why}",
                user=user.username,
                role=Role(user.role).value,
                action=action,
                why=why,
            )
        )
        self.user = user
        self.action = action


def require_governing_role(
    actor: User, action: str, departments: Iterable[Department] | None = None
) -> None:
    """Only an active supervisor or administrator may govern plans (approve, draw, publish).

    Department scope: a supervisor attached to a department governs only plans that involve
    it (a joint plan involves every department with an item in it); a supervisor without a
    department works for the whole bureau, as does an administrator.
    """
    if not actor.active or Role(actor.role) not in GOVERNING_ROLES:
        raise PermissionDeniedError(actor, action)
    if departments is not None and not in_department_scope(actor, departments):
        raise PermissionDeniedError(
            actor, action, reason("the plan does not involve the user's department")
        )


def in_department_scope(actor: User, departments: Iterable[Department]) -> bool:
    """Whether ``actor`` may see and govern a plan involving ``departments``."""
    if Role(actor.role) is Role.ADMIN or actor.department_id is None:
        return True
    return any(department.id == actor.department_id for department in departments)


def new_secret_seed() -> bytes:
    """A fresh 256-bit secret seed from the operating system's CSPRNG."""
    return secrets.token_bytes(SEED_BYTES)


class PlanService:
    """Governed changes to sampling plans by ``actor``; every change writes an audit row."""

    def __init__(
        self, session: Session, actor: User, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    # ------------------------------------------------------------------ life cycle

    def create(self, **fields: Any) -> SamplingPlan:
        """A new draft plan. Required: code, title, year, items (item codes), jurisdictions
        (administrative division codes), tier_ratios ({"A": r, ..., "D": r}); the other
        ``FIELDS`` have defaults. Raises ``PlanValidationError`` naming every bad field."""
        self._require_role(reason("create a sampling plan"))
        _reject_unknown(fields)
        values = self._validate({**FIELDS, **fields}, plan=None)
        require_governing_role(
            self.actor,
            reason("create a sampling plan"),
            {item.department for item in values["items"]},
        )
        now = self.clock()
        plan = SamplingPlan(status=PlanStatus.DRAFT, created_by=self.actor, created_at=now)
        _apply(plan, values)
        self.session.add(plan)
        self.session.flush()
        audit.record(self.session, self.actor, "plan.create", plan, {"code": plan.code}, at=now)
        return plan

    def update(self, plan: SamplingPlan, **changes: Any) -> SamplingPlan:
        """Change fields of a draft plan; the audit row lists each change (from, to)."""
        self._require_role(reason("edit a sampling plan"), plan)
        _reject_unknown(changes)
        self._lock(plan)
        self._require_status(plan, "edit", PlanStatus.DRAFT)
        before = current_fields(plan)
        values = self._validate({**before, **changes}, plan=plan)
        require_governing_role(
            self.actor,
            reason("edit a sampling plan"),
            {item.department for item in values["items"]},
        )
        after = {name: _comparable(values, changes, name) for name in changes}
        changed = {
            name: {"from": _json(before[name]), "to": _json(after[name])}
            for name in changes
            if before[name] != after[name]
        }
        if not changed:
            return plan
        _apply(plan, values)
        self.session.flush()
        audit.record(
            self.session, self.actor, "plan.update", plan, {"changes": changed}, at=self.clock()
        )
        return plan

    def approve(self, plan: SamplingPlan) -> SamplingPlan:
        """draft → approved. The plan is validated again (an item may have been retired)."""
        self._require_role(reason("approve a sampling plan"), plan)
        self._lock(plan)
        self._require_status(plan, "approve", PlanStatus.DRAFT)
        self._validate(current_fields(plan), plan=plan)
        now = self.clock()
        plan.status = PlanStatus.APPROVED
        plan.approved_by = self.actor
        plan.approved_at = now
        self.session.flush()
        audit.record(self.session, self.actor, "plan.approve", plan, {}, at=now)
        return plan

    def commit_seed(
        self, plan: SamplingPlan, commitment: str, *, public_value_source: str | None = None
    ) -> SamplingPlan:
        """approved → seed_committed, storing SHA-256(seed) as hex; the seed stays secret.

        The commitment may have been computed off-line (``random_sampler.seeds.commit``);
        it must be 64 hexadecimal digits and not used by any other plan.
        ``public_value_source`` declares, now, which value announced after this moment (a
        lottery draw, a randomness beacon pulse) the draw will mix in; it cannot be chosen
        later, so whoever knows the seed still cannot predict or steer the draw.
        """
        self._require_role(reason("commit the seed of a sampling plan"), plan)
        self._lock(plan)
        self._require_status(plan, "commit a seed", PlanStatus.APPROVED)
        clean = self._validate_commitment(commitment, plan)
        source = _check_source(public_value_source)
        now = self.clock()
        plan.seed_commitment = clean
        plan.public_value_source = source
        plan.status = PlanStatus.SEED_COMMITTED
        plan.committed_by = self.actor
        plan.committed_at = now
        self.session.flush()
        details = {"commitment": clean, "public_value_source": source}
        audit.record(self.session, self.actor, "plan.commit_seed", plan, details, at=now)
        return plan

    def redraw(self, plan: SamplingPlan, why: str, *, code: str | None = None) -> SamplingPlan:
        """A new draft copying ``plan`` that supersedes it, with the reason recorded.

        Allowed once the seed is committed (committed, drawn or published); the old plan is
        left as it is. ``code`` defaults to the first free "<original code>-R<n>".
        """
        self._require_role(reason("redraw a sampling plan"), plan)
        self._lock(plan)
        allowed = (PlanStatus.SEED_COMMITTED, PlanStatus.DRAWN, PlanStatus.PUBLISHED)
        if plan.status not in allowed:
            raise PlanStateError(
                reason(
                    "plan ${plan} is ${status}: a redraw needs status ${committed}, ${drawn} or "
                    "${published} (edit a draft, or redraw once the seed is committed)",
                    plan=plan.code,
                    status=PLAN_STATUS_NAMES[PlanStatus(plan.status)],
                    committed=PLAN_STATUS_NAMES[PlanStatus.SEED_COMMITTED],
                    drawn=PLAN_STATUS_NAMES[PlanStatus.DRAWN],
                    published=PLAN_STATUS_NAMES[PlanStatus.PUBLISHED],
                ),
                plan.status,
                allowed,
            )
        if plan.superseded_by is not None:
            raise PlanStateError(
                reason(
                    "plan ${plan} is already superseded by ${newer}; redraw that plan instead",
                    plan=plan.code,
                    newer=plan.superseded_by.code,
                ),
                plan.status,
                allowed,
            )
        errors = {}
        why = why.strip() if isinstance(why, str) else ""
        if not why:
            errors["reason"] = reason("must not be empty: say why the plan is redrawn")
        elif len(why) > MAX_REASON:
            errors["reason"] = reason("must be at most ${limit} characters", limit=MAX_REASON)
        fields = {**current_fields(plan), "code": code or self._redraw_code(plan)}
        try:
            values = self._validate(fields, plan=None)
        except PlanValidationError as exc:
            errors.update(exc.errors)
        if errors:
            raise PlanValidationError(errors)
        now = self.clock()
        new = SamplingPlan(
            status=PlanStatus.DRAFT,
            created_by=self.actor,
            created_at=now,
            supersedes=plan,
            redraw_reason=why,
        )
        _apply(new, values)
        self.session.add(new)
        self._void_open_tasks(plan)
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "plan.redraw",
            plan,
            {"new_plan": new.code, "reason": why},
            at=now,
        )
        audit.record(
            self.session,
            self.actor,
            "plan.create",
            new,
            {"code": new.code, "supersedes": plan.code, "reason": why},
            at=now,
        )
        return new

    def _void_open_tasks(self, plan: SamplingPlan) -> None:
        """A redrawn plan's tasks not yet started are cancelled (they leave the tablets);
        inspections already under way or done stand."""
        if plan.draw is None:
            return
        voided = self.session.scalars(
            select(InspectionTask)
            .where(
                InspectionTask.draw_id == plan.draw.id,
                InspectionTask.round == 1,  # re-inspections follow real findings: they stand
                InspectionTask.status.in_((TaskStatus.OPEN, TaskStatus.STANDBY)),
            )
            .with_for_update()  # an inspection starting now waits, then is left alone
            .execution_options(populate_existing=True)
        ).all()
        for task in voided:
            task.status = TaskStatus.CANCELLED
        note_task_changes(self.session, [task for task in voided if task.members])

    # ------------------------------------------------------------------ checks

    def _require_role(self, action: str, plan: SamplingPlan | None = None) -> None:
        require_governing_role(self.actor, action, None if plan is None else plan.departments)

    def _lock(self, plan: SamplingPlan) -> None:
        """Reload the plan under a row lock (PostgreSQL) so concurrent transitions serialise
        and the status checked is the stored one. Pending changes are flushed first (the
        flush guard refuses changes to frozen plans)."""
        self.session.flush()
        self.session.refresh(plan, with_for_update=True)

    @staticmethod
    def _require_status(plan: SamplingPlan, action: str, expected: PlanStatus) -> None:
        if plan.status in FROZEN_STATUSES:
            raise PlanImmutableError(plan, plan.status)
        if plan.status is not expected:
            raise PlanStateError(_status_refusal(plan, action, expected), plan.status, (expected,))

    def _validate_commitment(self, commitment: object, plan: SamplingPlan) -> str:
        if not isinstance(commitment, str):
            raise PlanValidationError({"commitment": reason("must be a hexadecimal string")})
        clean = commitment.strip().lower()
        if not _SHA256_HEX.match(clean):
            raise PlanValidationError(
                {
                    "commitment": reason(
                        "must be 64 hexadecimal digits (the SHA-256 of the secret seed)"
                    )
                }
            )
        if clean == _EMPTY_SEED_COMMITMENT:
            raise PlanValidationError({"commitment": reason("is the SHA-256 of an empty seed")})
        other = self.session.scalar(
            select(SamplingPlan.code).where(
                SamplingPlan.seed_commitment == clean, SamplingPlan.id != plan.id
            )
        )
        if other is not None:
            raise PlanValidationError(
                {
                    "commitment": reason(
                        "already used by plan ${plan}; every plan needs a fresh secret seed",
                        plan=other,
                    )
                }
            )
        return clean

    def _redraw_code(self, plan: SamplingPlan) -> str:
        root = plan
        while root.supersedes is not None:
            root = root.supersedes
        n = 1
        while True:
            candidate = f"{root.code}-R{n}"
            exists = self.session.scalar(
                select(SamplingPlan.id).where(SamplingPlan.code == candidate)
            )
            if exists is None:
                return candidate
            n += 1

    def _validate(self, fields: Mapping[str, Any], plan: SamplingPlan | None) -> dict[str, Any]:
        """Clean values for every field, or ``PlanValidationError`` naming each bad one."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        checks: dict[str, Callable[[Any], Any]] = {
            "code": lambda v: self._check_code(v, plan),
            "title": _check_title,
            "year": lambda v: _check_int(v, 2000, 2100),
            "items": self._check_items,
            "jurisdictions": self._check_jurisdictions,
            "tier_ratios": _check_ratios,
            "budget": lambda v: _optional(v, lambda x: _check_int(x, 1, 100_000_000)),
            "method": _check_method,
            "exclude_within_months": lambda v: _optional(v, lambda x: _check_int(x, 0, 120)),
            "annual_cap": lambda v: _optional(v, lambda x: _check_int(x, 1, 365)),
            "alternates_per_stratum": lambda v: _check_int(v, 0, 1000),
            "strata_keys": _check_strata,
            "team_size": lambda v: _check_int(v, 2, 20),
            "workload_cap": lambda v: _optional(v, lambda x: _check_int(x, 1, 10_000)),
            "recuse_same_jurisdiction": _check_bool,
            "due_date": lambda v: _optional(v, _check_date),
        }
        for name, check in checks.items():
            if name in REQUIRED and fields.get(name) is None:
                errors[name] = reason("is required")
                continue
            try:
                values[name] = check(fields[name])
            except _InvalidFieldError as exc:
                errors[name] = exc.reason
        due = values.get("due_date")
        year = values.get("year")
        if due is not None and year is not None and due < dt.date(year, 1, 1):
            errors["due_date"] = reason(
                "${date} is before the plan's year ${year}", date=due.isoformat(), year=year
            )
        if errors:
            raise PlanValidationError(errors)
        return values

    def _check_code(self, value: Any, plan: SamplingPlan | None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _InvalidFieldError(reason("must not be empty"))
        code = value.strip()
        if len(code) > 64:
            raise _InvalidFieldError(reason("must be at most ${limit} characters", limit=64))
        if not _CODE.match(code):
            raise _InvalidFieldError(
                reason(
                    "'${code}' may contain only letters, digits, '.', '_' and '-', "
                    "starting with a letter or digit",
                    code=code,
                )
            )
        query = select(SamplingPlan.id).where(SamplingPlan.code == code)
        if plan is not None:
            query = query.where(SamplingPlan.id != plan.id)
        if self.session.scalar(query) is not None:
            raise _InvalidFieldError(reason("'${code}' is already used by another plan", code=code))
        return code

    def _check_items(self, value: Any) -> list[InspectionItem]:
        codes = _code_list(value, "items")
        found = {
            item.code: item
            for item in self.session.scalars(
                select(InspectionItem).where(InspectionItem.code.in_(codes))
            )
        }
        unknown = [code for code in codes if code not in found]
        if unknown:
            raise _InvalidFieldError(
                reason("not on the inspection item list: ${codes}", codes=", ".join(unknown))
            )
        inactive = [code for code in codes if not found[code].active]
        if inactive:
            raise _InvalidFieldError(
                reason("inactive items cannot be planned: ${codes}", codes=", ".join(inactive))
            )
        return [found[code] for code in codes]

    def _check_jurisdictions(self, value: Any) -> list[int]:
        adcodes = _code_list(value, "jurisdictions")
        found: dict[str, int] = dict(
            self.session.execute(
                select(Jurisdiction.adcode, Jurisdiction.id).where(Jurisdiction.adcode.in_(adcodes))
            ).all()
        )
        unknown = [adcode for adcode in adcodes if adcode not in found]
        if unknown:
            raise _InvalidFieldError(
                reason("unknown administrative division codes: ${codes}", codes=", ".join(unknown))
            )
        return [found[adcode] for adcode in adcodes]


# ---------------------------------------------------------------------- reading


def get_plan(session: Session, code: str) -> SamplingPlan:
    plan = session.scalar(select(SamplingPlan).where(SamplingPlan.code == code))
    if plan is None:
        raise PlanNotFoundError(code)
    return plan


def list_plans(
    session: Session, *, year: int | None = None, status: PlanStatus | str | None = None
) -> list[SamplingPlan]:
    """Plans, newest year first, then by code."""
    query = select(SamplingPlan).order_by(SamplingPlan.year.desc(), SamplingPlan.code)
    if year is not None:
        query = query.where(SamplingPlan.year == year)
    if status is not None:
        query = query.where(SamplingPlan.status == PlanStatus(status))
    return list(session.scalars(query))


def current_fields(plan: SamplingPlan) -> dict[str, Any]:
    """The plan's editable fields in the form ``create`` takes (codes, not ids)."""
    return {
        "code": plan.code,
        "title": plan.title,
        "year": plan.year,
        "items": [item.code for item in plan.items],
        "jurisdictions": _adcodes(plan),
        "tier_ratios": dict(plan.tier_ratios),
        "budget": plan.budget,
        "method": SamplingMethod(plan.method),
        "exclude_within_months": plan.exclude_within_months,
        "annual_cap": plan.annual_cap,
        "alternates_per_stratum": plan.alternates_per_stratum,
        "strata_keys": list(plan.strata_keys),
        "team_size": plan.team_size,
        "workload_cap": plan.workload_cap,
        "recuse_same_jurisdiction": plan.recuse_same_jurisdiction,
        "due_date": plan.due_date,
    }


def plan_spec(plan: SamplingPlan) -> PlanSpec:
    """The sampling parameters for the draw core (``random_sampler``)."""
    return PlanSpec(
        tier_ratio=tuple(float(plan.tier_ratios[tier]) for tier in TIERS),  # type: ignore[arg-type]
        budget=plan.budget,
        method=SamplingMethod(plan.method).value,  # type: ignore[arg-type]
        exclude_within_months=plan.exclude_within_months,
        annual_cap=plan.annual_cap,
        alternates_per_stratum=plan.alternates_per_stratum,
    )


def plan_summary(plan: SamplingPlan) -> dict[str, Any]:
    """Everything about a plan as JSON-ready values (for ``plan show --json`` and the API)."""
    session = object_session(plan)
    jurisdictions = []
    if session is not None and plan.jurisdiction_ids:
        rows = {
            j.id: j
            for j in session.scalars(
                select(Jurisdiction).where(Jurisdiction.id.in_(plan.jurisdiction_ids))
            )
        }
        jurisdictions = [
            {"adcode": rows[i].adcode, "name": rows[i].name}
            for i in plan.jurisdiction_ids
            if i in rows
        ]

    def user(u: User | None) -> str | None:
        return u.username if u is not None else None

    def when(t: dt.datetime | None) -> str | None:
        return t.isoformat() if t is not None else None

    return {
        "code": plan.code,
        "title": plan.title,
        "year": plan.year,
        "status": PlanStatus(plan.status).value,
        "items": [
            {"code": i.code, "name": i.name, "department": i.department.code} for i in plan.items
        ],
        "departments": [d.code for d in plan.departments],
        "jurisdictions": jurisdictions,
        "tier_ratios": {tier: plan.tier_ratios[tier] for tier in TIERS},
        "budget": plan.budget,
        "method": SamplingMethod(plan.method).value,
        "exclude_within_months": plan.exclude_within_months,
        "annual_cap": plan.annual_cap,
        "alternates_per_stratum": plan.alternates_per_stratum,
        "strata_keys": list(plan.strata_keys),
        "team_size": plan.team_size,
        "workload_cap": plan.workload_cap,
        "recuse_same_jurisdiction": plan.recuse_same_jurisdiction,
        "due_date": plan.effective_due_date.isoformat(),
        "seed_commitment": plan.seed_commitment,
        "revealed_seed": plan.revealed_seed,
        "public_value_source": plan.public_value_source,
        "public_value": plan.public_value,
        "supersedes": plan.supersedes.code if plan.supersedes is not None else None,
        "redraw_reason": plan.redraw_reason,
        "superseded_by": plan.superseded_by.code if plan.superseded_by is not None else None,
        "created_by": user(plan.created_by),
        "created_at": when(plan.created_at),
        "approved_by": user(plan.approved_by),
        "approved_at": when(plan.approved_at),
        "committed_by": user(plan.committed_by),
        "committed_at": when(plan.committed_at),
        "drawn_by": user(plan.drawn_by),
        "drawn_at": when(plan.drawn_at),
        "published_by": user(plan.published_by),
        "published_at": when(plan.published_at),
    }


# ---------------------------------------------------------------------- field checks


class _InvalidFieldError(ValueError):
    """A field's value is invalid; the message is the reason (the field name is added)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.reason = why


def _reject_unknown(fields: Mapping[str, Any]) -> None:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise PlanValidationError(
            dict.fromkeys(unknown, reason("is not a field of a sampling plan"))
        )


def _apply(plan: SamplingPlan, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name == "items":
            plan.items = list(value)
        elif name == "jurisdictions":
            plan.jurisdiction_ids = list(value)
        else:
            setattr(plan, name, value)


def _comparable(values: Mapping[str, Any], changes: Mapping[str, Any], name: str) -> Any:
    """A cleaned value in the form of ``current_fields`` (codes, not objects or ids)."""
    if name == "items":
        return [item.code for item in values[name]]
    if name == "jurisdictions":
        return _code_list(changes[name], "jurisdictions")  # valid by now
    return values[name]


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, SamplingMethod):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def _adcodes(plan: SamplingPlan) -> list[str]:
    session = object_session(plan)
    if session is None or not plan.jurisdiction_ids:
        return []
    found = dict(
        session.execute(
            select(Jurisdiction.id, Jurisdiction.adcode).where(
                Jurisdiction.id.in_(plan.jurisdiction_ids)
            )
        ).all()
    )
    # A vanished jurisdiction shows as "#<id>", which re-validation then reports.
    return [found.get(i, f"#{i}") for i in plan.jurisdiction_ids]


def _status_refusal(plan: SamplingPlan, action: str, expected: PlanStatus) -> Reason:
    """Why ``action`` is refused in the plan's status (one message per action)."""
    values = {
        "plan": plan.code,
        "status": PLAN_STATUS_NAMES[PlanStatus(plan.status)],
        "expected": PLAN_STATUS_NAMES[expected],
    }
    if action == "edit":
        return reason("plan ${plan} is ${status}: edit needs status ${expected}", **values)
    if action == "approve":
        return reason("plan ${plan} is ${status}: approve needs status ${expected}", **values)
    return reason("plan ${plan} is ${status}: commit a seed needs status ${expected}", **values)


def _optional(value: Any, check: Callable[[Any], Any]) -> Any:
    return None if value is None else check(value)


def _check_int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _InvalidFieldError(reason("must be a whole number, not ${value}", value=repr(value)))
    if not low <= value <= high:
        raise _InvalidFieldError(
            reason(
                "must be between ${low} and ${high}, not ${value}", low=low, high=high, value=value
            )
        )
    return int(value)


def _check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _InvalidFieldError(reason("must be true or false, not ${value}", value=repr(value)))
    return value


def _check_title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _InvalidFieldError(reason("must not be empty"))
    if len(value.strip()) > 300:
        raise _InvalidFieldError(reason("must be at most ${limit} characters", limit=300))
    return value.strip()


def _check_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise _InvalidFieldError(reason("must be a calendar date, not ${value}", value=repr(value)))
    return value


def _check_method(value: Any) -> SamplingMethod:
    try:
        return SamplingMethod(value)
    except ValueError:
        allowed = ", ".join(m.value for m in SamplingMethod)
        raise _InvalidFieldError(
            reason("must be one of ${choices}, not ${value}", choices=allowed, value=repr(value))
        ) from None


def _code_list(value: Any, field: str) -> list[str]:
    """The codes of ``field`` ("items": item codes, "jurisdictions": division codes)."""
    items = field == "items"
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _InvalidFieldError(
            reason("must be a list of item codes")
            if items
            else reason("must be a list of administrative division codes")
        )
    codes: list[str] = []
    for code in value:
        if not isinstance(code, str) or not code.strip():
            raise _InvalidFieldError(
                reason("${code} is not an item code", code=repr(code))
                if items
                else reason("${code} is not an administrative division code", code=repr(code))
            )
        if code.strip() not in codes:
            codes.append(code.strip())
    if not codes:
        raise _InvalidFieldError(
            reason("must name at least one item code")
            if items
            else reason("must name at least one administrative division code")
        )
    return codes


def _check_source(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PlanValidationError({"public_value_source": reason("must be text")})
    source = value.strip()
    if not source:
        return None
    if len(source) > 300:
        raise PlanValidationError(
            {"public_value_source": reason("must be at most ${limit} characters", limit=300)}
        )
    return source


def _check_ratios(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise _InvalidFieldError(
            reason('must map each tier A..D to a ratio, e.g. {"A": 0.03, ...}')
        )
    ratios = {str(key).strip().upper(): ratio for key, ratio in value.items()}
    unknown = sorted(set(ratios) - set(TIERS))
    if unknown:
        raise _InvalidFieldError(
            reason("unknown tiers ${tiers} (tiers are A, B, C, D)", tiers=", ".join(unknown))
        )
    missing = [tier for tier in TIERS if tier not in ratios]
    if missing:
        raise _InvalidFieldError(
            reason("missing a ratio for tier ${tiers}", tiers=", ".join(missing))
        )
    clean = {}
    for tier in TIERS:
        ratio = ratios[tier]
        if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real):
            raise _InvalidFieldError(
                reason("tier ${tier}: ${ratio} is not a number", tier=tier, ratio=repr(ratio))
            )
        if not math.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
            raise _InvalidFieldError(
                reason("tier ${tier}: ${ratio} is not between 0 and 1", tier=tier, ratio=ratio)
            )
        clean[tier] = float(ratio)
    if not any(clean.values()):
        raise _InvalidFieldError(reason("at least one tier needs a ratio above 0"))
    return clean


def _check_strata(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _InvalidFieldError(
            reason("must be a list of keys from ${keys}", keys=", ".join(STRATA_KEYS))
        )
    keys = list(value)
    unknown = [key for key in keys if key not in STRATA_KEYS]
    if unknown:
        raise _InvalidFieldError(
            reason(
                "unknown keys ${keys} (known: ${known})",
                keys=", ".join(map(str, unknown)),
                known=", ".join(STRATA_KEYS),
            )
        )
    if len(set(keys)) != len(keys):
        raise _InvalidFieldError(reason("a key is listed twice"))
    if "tier" not in keys:
        raise _InvalidFieldError(
            reason("must include 'tier': the ratios are set per credit-risk tier")
        )
    return keys


__all__ = [
    "DEFAULT_STRATA_KEYS",
    "FIELDS",
    "GOVERNING_ROLES",
    "PLAN_STATUS_NAMES",
    "SEED_BYTES",
    "STRATA_KEYS",
    "TASK_STATUS_NAMES",
    "PermissionDeniedError",
    "PlanError",
    "PlanImmutableError",
    "PlanNotFoundError",
    "PlanService",
    "PlanStateError",
    "PlanValidationError",
    "current_fields",
    "get_plan",
    "in_department_scope",
    "list_plans",
    "new_secret_seed",
    "plan_spec",
    "plan_summary",
    "require_governing_role",
]
