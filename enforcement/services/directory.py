"""Reading the directories: counts, and the paged enterprise search (检查对象名录库)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from enforcement.models import (
    Department,
    Enterprise,
    EnterpriseStatus,
    InspectionItem,
    Inspector,
    Jurisdiction,
)

DEFAULT_PER_PAGE = 50
# Text that could be the start of a USCC (upper-cased) is also matched as a code prefix.
_USCC_PREFIX = re.compile(r"^[0-9A-Z]{4,18}$")


def registry_counts(session: Session) -> dict[str, Any]:
    """Counts of the directories (active inspectors and items only), read in one transaction.

    ``enterprises_by_status`` has every ``EnterpriseStatus`` as a key, zero when absent.
    """

    def count(model: type, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    by_status = dict.fromkeys(EnterpriseStatus, 0)
    for status, n in session.execute(
        select(Enterprise.status, func.count()).group_by(Enterprise.status)
    ):
        by_status[EnterpriseStatus(status)] = n
    return {
        "jurisdictions": count(Jurisdiction),
        "enterprises": sum(by_status.values()),
        "enterprises_by_status": by_status,
        "inspectors": count(Inspector, Inspector.active.is_(True)),
        "inspection_items": count(InspectionItem, InspectionItem.active.is_(True)),
        "departments": count(Department),
    }


class DirectoryEntry(NamedTuple):
    enterprise: Enterprise
    #: None when the enterprise is not assigned to a jurisdiction.
    jurisdiction_name: str | None


@dataclass(frozen=True)
class Page:
    items: list[DirectoryEntry]
    #: Matches over all pages.
    total: int
    #: The page shown, from 1; a page past the end is shown as the last one.
    page: int
    #: At least 1, even when nothing matches.
    pages: int
    per_page: int


def search_enterprises(
    session: Session,
    query: str | None = None,
    jurisdiction: str | None = None,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page:
    """Enterprises by name or USCC and by jurisdiction, ordered by name, one page of them.

    ``query`` matches part of the name, or the start of the USCC (any case). ``jurisdiction``
    is an administrative division code or part of a jurisdiction's name, and includes every
    jurisdiction below the ones it matches. Empty or None means no condition. LIKE wildcards
    in either are taken literally.
    """
    if page < 1:
        raise ValueError(f"page: must be a whole number from 1, not {page!r}")
    if per_page < 1:
        raise ValueError(f"per_page: must be a whole number from 1, not {per_page!r}")
    statement = _search_statement((query or "").strip(), (jurisdiction or "").strip())
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    rows = session.execute(
        statement.order_by(Enterprise.name, Enterprise.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(
        items=[DirectoryEntry(enterprise, name) for enterprise, name in rows],
        total=total,
        page=page,
        pages=pages,
        per_page=per_page,
    )


def _search_statement(text: str, jurisdiction: str) -> Select[Any]:
    statement = select(Enterprise, Jurisdiction.name).outerjoin(
        Jurisdiction, Enterprise.jurisdiction_id == Jurisdiction.id
    )
    if text:
        upper = text.upper()
        conditions = [Enterprise.name.contains(text, autoescape=True)]
        if _USCC_PREFIX.match(upper):
            conditions.append(Enterprise.uscc.startswith(upper, autoescape=True))
        statement = statement.where(or_(*conditions))
    if jurisdiction:
        statement = statement.where(Enterprise.jurisdiction_id.in_(_jurisdiction_ids(jurisdiction)))
    return statement


def _jurisdiction_ids(term: str) -> Select[tuple[int]]:
    """Ids of the jurisdictions matching ``term`` (adcode or part of the name) and below."""
    matched = (
        select(Jurisdiction.id)
        .where(or_(Jurisdiction.adcode == term, Jurisdiction.name.contains(term, autoescape=True)))
        .cte("matched", recursive=True)
    )
    children = select(Jurisdiction.id).where(Jurisdiction.parent_id == matched.c.id)
    tree = matched.union(children)
    return select(tree.c.id)
