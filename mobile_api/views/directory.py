"""The enterprise directory (检查对象名录库): search by name, USCC or jurisdiction, paged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.view import view_config

from enforcement.services.directory import search_enterprises
from mobile_api.i18n import _
from mobile_api.security import Permission
from mobile_api.views.home import STATUS_LABELS

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100


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


@view_config(
    route_name="directory.enterprises",
    renderer="directory.jinja2",
    permission=Permission.VIEW_DIRECTORY,
)
def enterprises(request: Request) -> dict[str, Any]:
    search = parse_search(request.GET)
    result = search_enterprises(
        request.dbsession, search.text, search.jurisdiction, search.page, PAGE_SIZE
    )

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
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "rows": result.items,
    }
