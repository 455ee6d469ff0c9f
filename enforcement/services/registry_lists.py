"""Paged searches of the inspector directory (执法检查人员名录库) and the inspection-item list
(随机抽查事项清单), beside ``directory.search_enterprises`` and paged the same way."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from enforcement.models import Department, InspectionItem, Inspector
from enforcement.services.directory import Page


def _page(
    session: Session, statement: Select[Any], order: tuple[Any, ...], page: int, per_page: int
) -> Page:
    if page < 1:
        raise ValueError(f"page: must be a whole number from 1, not {page!r}")
    if per_page < 1:
        raise ValueError(f"per_page: must be a whole number from 1, not {per_page!r}")
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    rows = list(
        session.scalars(statement.order_by(*order).limit(per_page).offset((page - 1) * per_page))
    )
    return Page(items=rows, total=total, page=page, pages=pages, per_page=per_page)  # type: ignore[arg-type]


def _department_ids(term: str) -> Select[tuple[int]]:
    return select(Department.id).where(
        or_(Department.code == term, Department.name.contains(term, autoescape=True))
    )


def search_inspectors(
    session: Session,
    query: str | None = None,
    department: str | None = None,
    *,
    active_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Inspectors by part of the name or the start of the credential number, and by
    department (code or part of the name), ordered by name; ``items`` are ``Inspector``s."""
    statement = select(Inspector).options(selectinload(Inspector.department))
    text = (query or "").strip()
    if text:
        statement = statement.where(
            or_(
                Inspector.name.contains(text, autoescape=True),
                Inspector.credential_no.startswith(text, autoescape=True),
            )
        )
    if (department or "").strip():
        statement = statement.where(
            Inspector.department_id.in_(_department_ids(str(department).strip()))
        )
    if active_only:
        statement = statement.where(Inspector.active.is_(True))
    return _page(session, statement, (Inspector.name, Inspector.id), page, per_page)


def search_items(
    session: Session,
    query: str | None = None,
    department: str | None = None,
    *,
    active_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Inspection items by part of the code or the name, and by department, ordered by code;
    ``items`` are ``InspectionItem``s."""
    statement = select(InspectionItem).options(selectinload(InspectionItem.department))
    text = (query or "").strip()
    if text:
        statement = statement.where(
            or_(
                InspectionItem.code.contains(text, autoescape=True),
                InspectionItem.name.contains(text, autoescape=True),
            )
        )
    if (department or "").strip():
        statement = statement.where(
            InspectionItem.department_id.in_(_department_ids(str(department).strip()))
        )
    if active_only:
        statement = statement.where(InspectionItem.active.is_(True))
    return _page(session, statement, (InspectionItem.code, InspectionItem.id), page, per_page)


__all__ = ["search_inspectors", "search_items"]
