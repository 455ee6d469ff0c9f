"""Reading for the public pages (一公开), no sign-in: the inspection-item list (事项清单), the
published plans with their draws, a plan's verification bundle checked by re-running the draw,
and an enterprise's tier when the configuration publishes tiers.

Everything here is public by design: item lists are published in full; plans and draws come
from their published (masked) records; the bundle holds no personal data (inspectors are
pseudonymised, see ``publication``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from enforcement.models import (
    Department,
    Enterprise,
    InspectionItem,
    PlanStatus,
    PublicKind,
    PublicRecord,
)
from enforcement.services.credit import CreditNotVisibleError, credit_profile
from enforcement.services.disclosure import published_records
from enforcement.services.plans import PlanNotFoundError, get_plan
from enforcement.services.publication import bundle_sha256, published_bundle, verify_bundle


@dataclass(frozen=True)
class ItemPage:
    items: list[InspectionItem]
    total: int
    #: The page shown, from 1; a page past the end is shown as the last one.
    page: int
    pages: int
    per_page: int


def item_departments(session: Session) -> list[Department]:
    """Departments that have at least one active item (the list's filter), by code (the same
    order on every database, unlike collations of Chinese names)."""
    having = select(InspectionItem.department_id).where(InspectionItem.active.is_(True))
    return list(
        session.scalars(
            select(Department).where(Department.id.in_(having)).order_by(Department.code)
        )
    )


def public_items(
    session: Session,
    text: str = "",
    department_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> ItemPage:
    """Active inspection items by code or part of the name/legal basis, and by department,
    ordered by code (the published 事项清单; codes group items by field)."""
    if page < 1:
        raise ValueError(f"page: must be a whole number from 1, not {page!r}")
    query = select(InspectionItem).where(InspectionItem.active.is_(True))
    text = (text or "").strip()
    if text:
        query = query.where(
            or_(
                InspectionItem.code == text,
                InspectionItem.name.contains(text, autoescape=True),
                InspectionItem.legal_basis.contains(text, autoescape=True),
            )
        )
    if department_id is not None:
        query = query.where(InspectionItem.department_id == department_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    rows = session.scalars(
        query.options(selectinload(InspectionItem.department))
        .order_by(InspectionItem.code)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return ItemPage(list(rows), int(total), page, pages, per_page)


@dataclass(frozen=True)
class PublishedPlan:
    """A published plan record and, once published too, its draw record (both as stored)."""

    plan: PublicRecord
    draw: PublicRecord | None

    @property
    def code(self) -> str:
        return self.plan.subject_key

    @property
    def bundle_url(self) -> str | None:
        if self.draw is None or self.draw.withdrawn_at is not None:
            return None
        return (self.draw.document or {}).get("bundle_url")


def published_plans(
    session: Session, text: str = "", offset: int = 0, limit: int = 20
) -> tuple[list[PublishedPlan], int]:
    """Published plan records (newest first) with their published draw records; ``text``
    matches the plan code exactly or part of its title."""
    plans, total = published_records(
        session, kinds=[PublicKind.PLAN], text=text, offset=offset, limit=limit
    )
    codes = [record.subject_key for record in plans]
    draws = {
        record.subject_key: record
        for record in session.scalars(
            select(PublicRecord).where(
                PublicRecord.kind == PublicKind.DRAW,
                PublicRecord.published_at.is_not(None),
                PublicRecord.subject_key.in_(codes),
            )
        )
    }
    return [PublishedPlan(record, draws.get(record.subject_key)) for record in plans], total


class BundleNotPublishedError(LookupError):
    """No public bundle: the plan does not exist or is not published."""


@dataclass(frozen=True)
class Verification:
    code: str
    title: str
    sha256: str
    #: None when the bundle checks out, else the first difference.
    difference: str | None
    algorithm_version: str
    seed_commitment: str
    seed: str
    public_value_source: str | None
    public_value: str | None
    snapshot_hash: str
    drawn: int
    alternates: int
    published_at: str

    @property
    def verified(self) -> bool:
        return self.difference is None


def verify_published(session: Session, code: str) -> Verification:
    """Rebuild a published plan's bundle and re-run its draw from the bundle alone (exactly
    what anyone can do offline with ``suijian draw verify``)."""
    try:
        plan = get_plan(session, code)
    except PlanNotFoundError:
        raise BundleNotPublishedError(code) from None
    if plan.status is not PlanStatus.PUBLISHED or plan.draw is None:
        raise BundleNotPublishedError(code)
    bundle = published_bundle(session, plan)
    result: dict[str, Any] = bundle["result"]
    return Verification(
        code=plan.code,
        title=plan.title,
        sha256=bundle_sha256(bundle),
        difference=verify_bundle(bundle),
        algorithm_version=str(bundle["algorithm_version"]),
        seed_commitment=bundle["seed_commitment"],
        seed=bundle["seed"],
        public_value_source=bundle.get("public_value_source"),
        public_value=bundle.get("public_value"),
        snapshot_hash=bundle["snapshot_hash"],
        drawn=len(result["drawn"]),
        alternates=len(result["alternates"]),
        published_at=bundle["published_at"],
    )


def public_tier(session: Session, enterprise_id: int | None, *, publish_tiers: bool) -> str | None:
    """The enterprise's tier as the public may see it: None unless tiers are published."""
    if not publish_tiers or enterprise_id is None:
        return None
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        return None
    try:
        profile = credit_profile(session, None, enterprise, public_tiers=True)
    except CreditNotVisibleError:
        return None
    tier = profile.get("tier")
    return None if tier is None else str(getattr(tier, "value", tier))
