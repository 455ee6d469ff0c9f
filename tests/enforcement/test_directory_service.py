"""Directory services: registry counts and the paged enterprise search."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from enforcement.models import EnterpriseStatus, JurisdictionLevel
from enforcement.services.directory import (
    DirectoryEntry,
    Page,
    registry_counts,
    search_enterprises,
)
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    InspectionItemFactory,
    InspectorFactory,
    JurisdictionFactory,
)


def names(page: Page) -> list[str]:
    return [entry.enterprise.name for entry in page.items]


def test_registry_counts(db_session: Session) -> None:
    empty = registry_counts(db_session)
    assert empty["enterprises"] == 0
    assert empty["enterprises_by_status"] == dict.fromkeys(EnterpriseStatus, 0)

    JurisdictionFactory.create_batch(3)
    EnterpriseFactory.create_batch(4)
    EnterpriseFactory.create_batch(2, status=EnterpriseStatus.REVOKED)
    department = DepartmentFactory()
    InspectorFactory.create_batch(2, department=department)
    InspectorFactory(department=department, active=False)
    InspectionItemFactory(department=department)
    InspectionItemFactory(department=department, active=False)
    db_session.flush()

    assert registry_counts(db_session) == {
        "jurisdictions": 3,
        "enterprises": 6,
        "enterprises_by_status": {
            EnterpriseStatus.IN_BUSINESS: 4,
            EnterpriseStatus.DEREGISTERED: 0,
            EnterpriseStatus.REVOKED: 2,
        },
        "inspectors": 2,  # active only
        "inspection_items": 1,  # active only
        "departments": 1,
    }


def test_search_by_name_substring(db_session: Session) -> None:
    EnterpriseFactory(name="东阳市横店影视城有限公司")
    EnterpriseFactory(name="横店影视股份有限公司")
    EnterpriseFactory(name="义乌市小商品城集团")
    db_session.flush()

    found = search_enterprises(db_session, "横店影视")
    assert names(found) == ["东阳市横店影视城有限公司", "横店影视股份有限公司"]
    assert found.total == 2
    assert search_enterprises(db_session, "不存在的公司").items == []
    assert search_enterprises(db_session, "").total == 3  # no condition
    assert search_enterprises(db_session, None).total == 3


def test_search_treats_like_wildcards_literally(db_session: Session) -> None:
    EnterpriseFactory(name="百分百%商行")
    EnterpriseFactory(name="下划_线商行")
    EnterpriseFactory(name="普通商行")
    db_session.flush()
    assert names(search_enterprises(db_session, "%")) == ["百分百%商行"]
    assert names(search_enterprises(db_session, "_")) == ["下划_线商行"]


def test_search_by_uscc_exact_and_prefix(db_session: Session) -> None:
    EnterpriseFactory.create_batch(4)
    wanted = EnterpriseFactory(name="东阳市横店影视城有限公司")
    db_session.flush()

    exact = search_enterprises(db_session, wanted.uscc)
    assert exact.total == 1 and exact.items[0].enterprise is wanted
    assert search_enterprises(db_session, wanted.uscc.lower()).total == 1  # any case
    # Every factory code starts 91330783 (authority, type, division).
    assert search_enterprises(db_session, wanted.uscc[:8]).total == 5
    assert search_enterprises(db_session, "9133").total == 5
    # A code is matched from its start only.
    assert search_enterprises(db_session, wanted.uscc[2:]).total == 0


def test_search_by_jurisdiction_includes_lower_levels(db_session: Session) -> None:
    city = JurisdictionFactory(adcode="330700", name="金华市", level=JurisdictionLevel.CITY)
    county = JurisdictionFactory(
        adcode="330783", name="东阳市", level=JurisdictionLevel.COUNTY, parent=city
    )
    town = JurisdictionFactory(
        adcode="330783001", name="吴宁街道", level=JurisdictionLevel.TOWNSHIP, parent=county
    )
    other = JurisdictionFactory(adcode="330782", name="义乌市", parent=city)
    elsewhere = JurisdictionFactory(adcode="330102", name="上城区")
    EnterpriseFactory.create_batch(2, jurisdiction=town)
    EnterpriseFactory(jurisdiction=county)
    EnterpriseFactory(jurisdiction=other)
    EnterpriseFactory(jurisdiction=elsewhere)
    unassigned = EnterpriseFactory()
    db_session.flush()

    def found(term: str) -> int:
        return search_enterprises(db_session, jurisdiction=term).total

    assert found("东阳") == 3  # the county and the town below it
    assert found("330783") == 3  # by division code
    assert found("吴宁") == 2
    assert found("义乌市") == 1
    assert found("330700") == 4  # two levels down
    assert found("不存在") == 0
    # Without a condition, unassigned enterprises are listed too.
    everything = search_enterprises(db_session)
    assert everything.total == 6
    assert DirectoryEntry(unassigned, None) in everything.items
    assert {entry.jurisdiction_name for entry in everything.items} >= {"吴宁街道", "东阳市"}
    assert search_enterprises(db_session, "公司", jurisdiction="吴宁").total == 2
    assert search_enterprises(db_session, "不存在", jurisdiction="吴宁").total == 0


def test_paging_totals(db_session: Session) -> None:
    EnterpriseFactory.create_batch(51)
    db_session.flush()

    first = search_enterprises(db_session, page=1, per_page=50)
    assert (first.total, first.page, first.pages, len(first.items)) == (51, 1, 2, 50)
    second = search_enterprises(db_session, page=2, per_page=50)
    assert (second.total, second.page, second.pages, len(second.items)) == (51, 2, 2, 1)
    # Ordered by name, pages neither overlap nor leave anything out.
    ordered = names(first) + names(second)
    assert ordered == sorted(ordered) and len(set(ordered)) == 51
    # A page past the end shows the last page.
    beyond = search_enterprises(db_session, page=9, per_page=50)
    assert beyond.page == 2 and names(beyond) == names(second)
    exact = search_enterprises(db_session, per_page=17)
    assert (exact.pages, len(exact.items)) == (3, 17)


def test_paging_with_no_matches_is_one_empty_page(db_session: Session) -> None:
    empty = search_enterprises(db_session, "没有", page=3)
    assert (empty.total, empty.page, empty.pages, empty.items) == (0, 1, 1, [])


@pytest.mark.parametrize(("field", "value"), [("page", 0), ("per_page", 0), ("page", -1)])
def test_bad_paging_arguments_name_the_field(db_session: Session, field: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        search_enterprises(db_session, **{field: value})
