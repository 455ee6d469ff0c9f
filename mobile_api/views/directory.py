"""The enterprise directory (检查对象名录库): search by name, USCC or jurisdiction, paged."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from enforcement.models import Enterprise, Jurisdiction
from mobile_api.i18n import _
from mobile_api.security import Permission
from mobile_api.views.home import STATUS_LABELS

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100
_USCC_PREFIX = re.compile(r"^[0-9A-Z]{4,18}$")


@dataclass
class Search:
    text: str = ""
    jurisdiction: str = ""
    page: int = 1
    errors: dict[str, TranslationString] = field(default_factory=dict)


def parse_search(params: Any) -> Search:
    """Read the query string; a bad field is reported by name and otherwise ignored."""
    search = Search()
    for name in ("q", "jurisdiction"):
        value = str(params.get(name, "")).strip()
        if len(value) > MAX_QUERY_LENGTH:
            search.errors[name] = _("At most ${n} characters.", mapping={"n": MAX_QUERY_LENGTH})
            value = ""
        setattr(search, "text" if name == "q" else name, value)
    raw_page = str(params.get("page", "1")).strip() or "1"
    if raw_page.isdigit() and int(raw_page) >= 1:
        search.page = int(raw_page)
    else:
        search.errors["page"] = _("Must be a whole number from 1.")
    return search


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


def search_statement(search: Search) -> Select[Any]:
    statement = select(Enterprise, Jurisdiction.name).outerjoin(
        Jurisdiction, Enterprise.jurisdiction_id == Jurisdiction.id
    )
    if search.text:
        upper = search.text.upper()
        conditions = [Enterprise.name.contains(search.text, autoescape=True)]
        if _USCC_PREFIX.match(upper):
            conditions.append(Enterprise.uscc.startswith(upper, autoescape=True))
        statement = statement.where(or_(*conditions))
    if search.jurisdiction:
        statement = statement.where(
            Enterprise.jurisdiction_id.in_(_jurisdiction_ids(search.jurisdiction))
        )
    return statement


def run_search(session: Session, search: Search) -> dict[str, Any]:
    statement = search_statement(search)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(search.page, pages)
    rows = session.execute(
        statement.order_by(Enterprise.name, Enterprise.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return {"total": total, "page": page, "pages": pages, "rows": rows}


@view_config(
    route_name="directory.enterprises",
    renderer="directory.jinja2",
    permission=Permission.VIEW_DIRECTORY,
)
def enterprises(request: Request) -> dict[str, Any]:
    search = parse_search(request.GET)
    result = run_search(request.dbsession, search)

    def page_url(page: int) -> str:
        query = {"q": search.text, "jurisdiction": search.jurisdiction, "page": page}
        return request.route_path(
            "directory.enterprises", _query={k: v for k, v in query.items() if v}
        )

    return {
        "search": search,
        "page_size": PAGE_SIZE,
        "status_labels": STATUS_LABELS,
        "page_url": page_url,
        **result,
    }
