"""Route x role access matrix: every (route, method) the application registers, every role.

The routes and their views are read from Pyramid's introspector, so a route (or a method of
a route) added without an entry in ``EXPECTED`` fails ``test_every_route_has_an_expectation``:
there are no silent gaps. ``EXPECTED`` is written out by hand (route -> method -> the roles
that get through) and checked twice: against the permission each view declares (mapped to
roles by ``mobile_api.security.ROLE_PERMISSIONS``) and against what the running application
answers to each role.

"Gets through" means anything but a refusal: 2xx, a redirect elsewhere than the login page,
a 4xx other than 401/403 (400/404/409/422: the request reached the view and was judged on
its content; path parameters are ids that do not exist). "Refused" means 401, 403 or a
redirect to the login page (pages, anonymous). Department and enterprise scope, which need
real objects, are checked in ``test_object_access.py``.

Run on PostGIS only: access is decided by the security policy and the ACL in Python,
before any backend-specific SQL; SpatiaLite would repeat ~1,300 identical requests.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy.orm import Session

from enforcement.models import Role, User
from enforcement.services import joint_list
from enforcement.services.tokens import TokenService
from mobile_api.security import ROLE_PERMISSIONS, Permission
from tests import factories

ANONYMOUS = "anonymous"
CONSUMER = "consumer"  # a joint-list consumer token (a bank, another agency): no account
ROLES = (ANONYMOUS, CONSUMER, "enterprise", "inspector", "liaison", "supervisor", "admin")
ACCOUNT_ROLES = {"enterprise", "inspector", "liaison", "supervisor", "admin"}

ALL = frozenset(ROLES)
SIGNED_IN = frozenset(ACCOUNT_ROLES)
OFFICE = frozenset({"supervisor", "admin"})  # console, plans, oversight, audit
DIRECTORY = frozenset({"inspector", "supervisor", "admin"})
FIELD = frozenset({"inspector", "admin"})  # on-site work from the tablet
CASES_VIEW = frozenset({"inspector", "liaison", "supervisor", "admin"})
CASES_HANDLE = frozenset({"inspector", "supervisor", "admin"})
CLOCKS = frozenset({"liaison", "supervisor", "admin"})
RECT_VIEW = frozenset({"enterprise", "inspector", "supervisor", "admin"})
RECT_REPORT = frozenset({"enterprise", "inspector", "admin"})
PORTAL = frozenset({"enterprise", "admin"})
LIAISON = frozenset({"liaison", "admin"})
JOINT_LIST = frozenset({"supervisor", "admin", CONSUMER})
# Narrowed in the view: an administrator holds every permission but is no enterprise and no
# inspector, so pages about "my enterprise" / "my tasks" refuse it (403). The POST routes of
# the portal name an object, so with the ids used here admin is answered 404 (not found)
# before any scope check: through, by this test's definition.
OWN_ENTERPRISE = frozenset({"enterprise"})
OWN_INSPECTOR = frozenset({"inspector"})
# A transfer is read by the liaison and supervisors (of the case's department): other roles
# are refused by role before the case is loaded, so the refusal says nothing about the id.
TRANSFER_READERS = frozenset({"liaison", "supervisor", "admin"})

#: route name -> request method ("*" for a view without a method predicate) -> who gets through.
EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    # pages: sign-in, language, home, health
    "home": {"*": ALL},
    "login": {"GET": ALL, "POST": ALL},
    "logout": {"GET": ALL, "POST": ALL},
    "set_locale": {"GET": ALL},
    "account.password": {"GET": SIGNED_IN, "POST": SIGNED_IN},  # one's own password
    "healthz": {"GET": ALL},
    # directories and the supervisor console
    "directory.enterprises": {"*": DIRECTORY},
    "directory.inspectors": {"*": OFFICE},
    "directory.items": {"*": OFFICE},
    "console.home": {"*": OFFICE},
    "console.imports": {"GET": OFFICE, "POST": OFFICE},
    "console.jobs": {"GET": OFFICE},
    "console.jobs.rerate": {"POST": OFFICE},
    "console.job": {"*": OFFICE},
    "console.job.progress": {"*": OFFICE},
    "console.cases": {"*": OFFICE},
    "console.case": {"GET": OFFICE},
    "console.case.step": {"POST": OFFICE},
    "console.alert.ack": {"POST": OFFICE},
    "console.feed": {"GET": OFFICE},
    "console.feed.requeue": {"POST": OFFICE},
    # sampling plans desk and dashboards
    "desk.plans": {"*": OFFICE},
    "desk.plans.new": {"GET": OFFICE, "POST": OFFICE},
    "desk.plan": {"GET": OFFICE},
    "desk.plan.edit": {"GET": OFFICE, "POST": OFFICE},
    "desk.plan.approve": {"POST": OFFICE},
    "desk.plan.commit": {"POST": OFFICE},
    "desk.plan.draw": {"POST": OFFICE},
    "desk.plan.publish": {"POST": OFFICE},
    "desk.plan.bundle": {"GET": OFFICE},
    "dashboards": {"*": OFFICE},
    "dashboards.map": {"*": OFFICE},
    "dashboards.counties": {"GET": OFFICE},
    "dashboards.tasks": {"GET": OFFICE},
    # the enterprise portal
    "portal.home": {"*": OWN_ENTERPRISE},
    "portal.inspections": {"*": OWN_ENTERPRISE},
    "portal.rectifications": {"*": OWN_ENTERPRISE},
    "portal.rectification.report": {"POST": PORTAL},
    "portal.commitments": {"GET": OWN_ENTERPRISE, "POST": OWN_ENTERPRISE},
    "portal.commitment.withdraw": {"POST": OWN_ENTERPRISE},
    "portal.repairs": {"GET": OWN_ENTERPRISE, "POST": OWN_ENTERPRISE},
    "portal.records": {"*": OWN_ENTERPRISE},
    "portal.record.reply": {"POST": PORTAL},
    "portal.record.appeal": {"POST": PORTAL},
    # commitments (告知承诺): every enterprise's, reviewed by the supervisors
    "commitments.index": {"*": OFFICE},
    "commitments.show": {"GET": OFFICE},
    "commitments.step": {"POST": OFFICE},
    # the liaison desk
    "liaison.desk": {"*": LIAISON},
    "liaison.transfer": {"*": LIAISON},
    "liaison.transfer.step": {"POST": LIAISON},
    # publication, open data, the inspector's credential check: public
    "public.index": {"*": ALL},
    "public.record": {"*": ALL},
    "public.items": {"*": ALL},
    "public.plans": {"*": ALL},
    "public.plan.verification": {"*": ALL},
    "open_data.index": {"*": ALL},
    "open_data.dictionary": {"*": ALL},
    "open_data.file": {"*": ALL},
    "credential.verify": {"GET": ALL},
    # the tablet app shell (its data comes from the API)
    "tablet.bare": {"GET": ALL},
    "tablet": {"GET": ALL},
    "tablet.sw": {"GET": ALL},
    "tablet.manifest": {"GET": ALL},
    "tablet.icon": {"GET": ALL},
    "__static/": {"*": ALL},
    # API: documents, health, tokens
    "api.openapi.yaml": {"*": ALL},
    "api.openapi.json": {"*": ALL},
    "api.docs": {"GET": ALL},
    "api.health": {"GET": ALL},
    "api.tokens": {"POST": ALL},  # the sign-in of API clients: a password is checked
    "api.tokens.current": {"DELETE": SIGNED_IN},
    "api.me": {"GET": SIGNED_IN},
    # API: plans and draws (public: the verification bundle of a published plan)
    "api.plans": {"GET": OFFICE, "POST": OFFICE},
    "api.plan": {"GET": OFFICE, "PATCH": OFFICE},
    "api.plan.approval": {"POST": OFFICE},
    "api.plan.seed_commitment": {"POST": OFFICE},
    "api.plan.draw": {"GET": OFFICE, "POST": OFFICE},
    "api.plan.tasks": {"GET": OFFICE},
    "api.plan.publication": {"POST": OFFICE},
    "api.plan.redraw": {"POST": OFFICE},
    "api.plan.bundle": {"GET": ALL},
    # API: credit (the profile's visibility is decided per enterprise: object tests)
    "api.enterprise.credit": {"GET": ALL},
    "api.repairs": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "api.repair": {"GET": SIGNED_IN},
    "api.repair.decision": {"POST": SIGNED_IN},
    # API: field work from the tablet
    "api.my.tasks": {"GET": OWN_INSPECTOR},
    "api.my.task": {"GET": OWN_INSPECTOR},
    "api.inspection": {"GET": SIGNED_IN, "PUT": FIELD},
    "api.inspection.answers": {"PUT": FIELD},
    "api.inspection.finding": {"PUT": FIELD},
    "api.inspection.signature": {"PUT": FIELD},
    "api.inspection.result": {"PUT": FIELD},
    "api.inspection.record": {"GET": SIGNED_IN},
    "api.inspection.evidence": {"PUT": FIELD},
    "api.batch": {"POST": SIGNED_IN},
    "api.checkins.flagged": {"GET": OFFICE},
    "api.checkin.acknowledgement": {"POST": OFFICE},
    "api.me.credential": {"GET": OWN_INSPECTOR},
    "api.credential": {"GET": ALL},
    "api.evidence": {"POST": FIELD},
    "api.evidence.item": {"GET": SIGNED_IN},
    "api.uploads": {"POST": FIELD},
    "api.upload": {"GET": FIELD, "PUT": FIELD},
    "api.upload.complete": {"POST": FIELD},
    # API: clocks, rectification orders, the feed
    "api.alerts": {"GET": CLOCKS},
    "api.alert.acknowledgement": {"POST": CLOCKS},
    "api.clocks": {"GET": CLOCKS},
    "api.rectifications": {"GET": RECT_VIEW},
    "api.rectification": {"GET": RECT_VIEW},
    "api.rectification.report": {"POST": RECT_REPORT},
    "api.feed.status": {"GET": OFFICE},
    "api.feed.dead_letters": {"GET": OFFICE},
    "api.feed.dead_letter.requeue": {"POST": OFFICE},
    # API: penalty cases
    "api.cases": {"GET": CASES_VIEW, "POST": CASES_HANDLE},
    "api.case": {"GET": CASES_VIEW},
    "api.case.members": {"PUT": CASES_HANDLE},
    "api.case.investigation": {"POST": CASES_HANDLE},
    "api.case.proposal": {"POST": CASES_HANDLE},
    "api.case.legal_review": {"POST": OFFICE},
    "api.case.decision": {"POST": OFFICE},
    "api.case.execution": {"POST": CASES_HANDLE},
    "api.case.closing": {"POST": OFFICE},
    "api.case.withdrawal": {"POST": OFFICE},
    "api.case.deadline_extension": {"POST": OFFICE},
    "api.case.reconsideration": {"POST": CASES_HANDLE},
    "api.case.reconsideration_decision": {"POST": OFFICE},
    "api.case.coercive_measures": {"POST": CASES_HANDLE},
    "api.case.coercive_measure.extension": {"POST": OFFICE},
    "api.case.coercive_measure.lifting": {"POST": CASES_HANDLE},
    # API: transfers to public security
    "api.case.transfer": {"GET": TRANSFER_READERS, "PUT": OFFICE},
    "api.case.transfer.decision": {"POST": OFFICE},
    "api.case.transfer.sent": {"POST": LIAISON},
    "api.case.transfer.receipt": {"POST": LIAISON},
    "api.case.transfer.police_decision": {"POST": LIAISON},
    "api.case.transfer.reconsideration": {"POST": LIAISON},
    "api.case.transfer.reconsideration_outcome": {"POST": LIAISON},
    "api.case.transfer.supervision": {"POST": LIAISON},
    "api.case.transfer.supervision_outcome": {"POST": LIAISON},
    "api.case.transfer.closure": {"POST": LIAISON},
    "api.case.transfer.package": {"GET": LIAISON},
    "api.transfers": {"GET": LIAISON},
    "api.transfers.export": {"GET": LIAISON},
    # API: commitments: an enterprise files and withdraws its own, supervisors review
    "api.commitments": {"GET": SIGNED_IN, "POST": PORTAL},
    "api.commitment": {"GET": SIGNED_IN},
    "api.commitment.withdrawal": {"POST": PORTAL},
    "api.commitment.acceptance": {"POST": OFFICE},
    "api.commitment.rejection": {"POST": OFFICE},
    "api.commitment.verification": {"POST": OFFICE},
    # API: publication, appeals, the joint list, the audit trail
    "api.public_records": {"GET": ALL},
    "api.public_record": {"GET": ALL},
    "api.public_record.replies": {"POST": SIGNED_IN},
    "api.public_record.appeals": {"POST": SIGNED_IN},
    "api.appeals": {"GET": SIGNED_IN},
    "api.appeal": {"GET": SIGNED_IN},
    "api.appeal.decision": {"POST": OFFICE},
    "api.publication.due": {"GET": OFFICE},
    "api.joint_list": {"GET": JOINT_LIST},
    "api.joint_list.csv": {"GET": JOINT_LIST},
    "api.audit.anchors": {"GET": ALL},
    "api.audit.trail": {"GET": OFFICE},
}

#: (route, method) -> the roles of the declared permission, where the view narrows them.
NARROWED_IN_VIEW: dict[tuple[str, str], frozenset[str]] = {
    **{
        (route, method): PORTAL
        for route, methods in EXPECTED.items()
        for method, roles in methods.items()
        if roles == OWN_ENTERPRISE
    },
    **{
        (route, method): FIELD
        for route, methods in EXPECTED.items()
        for method, roles in methods.items()
        if roles == OWN_INSPECTOR
    },
    ("api.case.transfer", "GET"): SIGNED_IN,
}

#: Views without a declared permission that decide in the view (checked live only).
DECIDED_IN_VIEW = {"api.joint_list", "api.joint_list.csv"}

# Sample values for path parameters: well-formed, naming nothing that exists.
SAMPLES = {
    "locale": "en",
    "code": "NO-SUCH-PLAN",
    "sha256": "0" * 64,
    "token": "no-such-credential",
    "dataset": "items",
    "format": "csv",
    "name": "icon-192",
    "entity_type": "case",
    "step": "nothing",
    "subpath": "suijian.css",
}


def view_table(app: Router) -> dict[str, dict[str, list[str]]]:
    """route name -> method ("*" when the view takes any) -> the permissions views declare."""
    introspector = app.registry.introspector
    table: dict[str, dict[str, list[str]]] = {}
    for entry in introspector.get_category("routes"):
        route = entry["introspectable"]
        methods = table.setdefault(route["name"], {})
        for view in entry["related"]:
            if view.category_name != "views":
                continue
            permissions = [
                str(p["value"])
                for p in introspector.related(view)
                if p.category_name == "permissions"
            ]
            methods_of_view = view["request_methods"] or ("*",)
            if isinstance(methods_of_view, str):
                methods_of_view = (methods_of_view,)
            for method in methods_of_view:
                methods.setdefault(method, []).extend(permissions)
    return table


def route_patterns(app: Router) -> dict[str, str]:
    return {
        entry["introspectable"]["name"]: entry["introspectable"]["pattern"]
        for entry in app.registry.introspector.get_category("routes")
    }


def sample_path(pattern: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in SAMPLES:
            return SAMPLES[name]
        if "uuid" in name or name == "upload_id":
            return str(uuid.UUID(int=7))
        return "987654"  # every numeric id

    path = re.sub(r"\*(\w+)", lambda m: "{" + m.group(1) + "}", pattern)
    path = re.sub(r"\{(\w+)(?::(?:[^{}]|\{[^{}]*\})*)?\}", fill, path)
    return path if path.startswith("/") else "/" + path


def roles_of(permission: str) -> frozenset[str]:
    """Who holds ``permission`` according to the ACL (admin holds every permission)."""
    if permission == "__no_permission_required__":
        return ALL
    if permission == Permission.AUTHENTICATED:
        return SIGNED_IN
    return frozenset(
        {"admin"}
        | {role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted}
    )


def test_every_route_has_an_expectation(web_app: Router) -> None:
    registered = {
        (route, method) for route, methods in view_table(web_app).items() for method in methods
    }
    expected = {(route, method) for route, methods in EXPECTED.items() for method in methods}
    assert sorted(registered - expected) == [], "routes without an access expectation"
    assert sorted(expected - registered) == [], "expectations for routes that do not exist"


def test_expectations_follow_the_declared_permissions(web_app: Router) -> None:
    mismatches = []
    for route, methods in view_table(web_app).items():
        for method, permissions in methods.items():
            if route in DECIDED_IN_VIEW:
                continue
            declared = roles_of(permissions[0]) if permissions else ALL
            expected = EXPECTED[route][method]
            if declared != NARROWED_IN_VIEW.get((route, method), expected):
                mismatches.append((route, method, sorted(declared)))
    assert mismatches == []


# --- the live check ------------------------------------------------------------------------


class Client:
    """One role's way of calling the app: its session cookie (pages), its bearer token (API)."""

    def __init__(self, app: webtest.TestApp, role: str, bearer: str | None) -> None:
        self.app = app
        self.role = role
        self.bearer = bearer
        self.csrf = ""

    def call(self, method: str, path: str) -> webtest.TestResponse:
        headers = {"Accept": "application/json"} if path.startswith("/api/") else {}
        if self.bearer is not None:
            headers["Authorization"] = f"Bearer {self.bearer}"
        if method in {"GET", "HEAD", "OPTIONS", "DELETE"}:
            return self.app.request(path, method=method, headers=headers, expect_errors=True)
        if path.startswith("/api/"):
            return self.app.request(
                path,
                method=method,
                headers={**headers, "Content-Type": "application/json"},
                body=b"{}",
                expect_errors=True,
            )
        return self.app.request(
            path,
            method=method,
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            body=f"csrf_token={self.csrf}".encode(),
            expect_errors=True,
        )


def refused(response: webtest.TestResponse) -> bool:
    if response.status_int in (401, 403):
        return True
    location = response.headers.get("Location", "")
    return 300 <= response.status_int < 400 and "/login" in location


@pytest.fixture
def clients(
    testapp: webtest.TestApp,
    data: Session,
    make_user: Callable[..., User],
    sign_in: Callable[..., webtest.TestResponse],
    web_app: Router,
) -> Iterator[dict[str, Client]]:
    made: dict[str, Client] = {}
    department = factories.DepartmentFactory()
    scope = {
        "enterprise": {"enterprise": factories.EnterpriseFactory()},
        "inspector": {"inspector": factories.InspectorFactory(department=department)},
        "liaison": {"department": department},
        "supervisor": {"department": department},
        "admin": {},
    }
    for role in sorted(ACCOUNT_ROLES):
        user = make_user(f"matrix-{role}", Role(role), **scope[role])
        secret = TokenService(data).issue(user, label="matrix").secret
        data.commit()
        app = webtest.TestApp(web_app)
        sign_in(app, user.username)
        made[role] = Client(app, role, secret)
        made[role].csrf = re.search(
            r'name="csrf_token" value="([^"]+)"', app.get("/logout").text
        ).group(1)  # type: ignore[union-attr]
    _, consumer_secret = joint_list.add_consumer(data, "matrix bank")
    data.commit()
    made[CONSUMER] = Client(webtest.TestApp(web_app), CONSUMER, consumer_secret)
    made[ANONYMOUS] = Client(webtest.TestApp(web_app), ANONYMOUS, None)
    yield made


def calls(app: Router) -> list[tuple[str, str, str]]:
    """(route, method, path) of every expectation; sign-out and token revocation last, since
    they end the client's session or token."""
    patterns = route_patterns(app)
    found = []
    for route, methods in EXPECTED.items():
        for method in methods:
            found.append((route, "GET" if method == "*" else method, sample_path(patterns[route])))
    last = {("logout", "POST"), ("api.tokens.current", "DELETE")}
    return sorted(found, key=lambda c: (c[0], c[1]) in last)


def test_each_role_gets_exactly_through_where_expected(
    backend: str, web_app: Router, clients: dict[str, Client]
) -> None:
    if backend != "postgis":
        pytest.skip("access is decided before any SQL that differs by backend (see docstring)")
    wrong: list[tuple[str, str, str, int, str]] = []
    checked = 0
    for route, method, path in calls(web_app):
        allowed = EXPECTED[route]["*" if "*" in EXPECTED[route] else method]
        for role in ROLES:
            response = clients[role].call(method, path)
            checked += 1
            if response.status_int >= 500:
                wrong.append((route, method, role, response.status_int, "server error"))
            elif refused(response) == (role in allowed):
                verdict = "refused" if refused(response) else "let through"
                wrong.append((route, method, role, response.status_int, verdict))
    assert wrong == [], "\n".join(map(str, wrong))
    assert checked == len(ROLES) * sum(len(m) for m in EXPECTED.values())


def test_api_refusals_say_401_to_nobody_and_403_to_a_signed_in_role(
    backend: str, clients: dict[str, Client]
) -> None:
    if backend != "postgis":
        pytest.skip("access is decided before any SQL that differs by backend")
    nobody = clients[ANONYMOUS].call("GET", "/api/v1/plans")
    assert nobody.status_int == 401 and nobody.json["error"]["code"] == "unauthenticated"
    consumer = clients[CONSUMER].call("GET", "/api/v1/plans")
    assert consumer.status_int == 401  # a joint-list token is no account
    enterprise = clients["enterprise"].call("GET", "/api/v1/plans")
    assert enterprise.status_int == 403 and enterprise.json["error"]["code"] == "forbidden"
    page = clients[ANONYMOUS].call("GET", "/console/")
    assert page.status_int == 303 and "/login?next=" in page.headers["Location"]


def test_a_signed_in_cookie_cannot_change_data_through_the_api(
    backend: str, web_app: Router, clients: dict[str, Client]
) -> None:
    """The session cookie is not accepted for unsafe API methods (no CSRF through the API)."""
    if backend != "postgis":
        pytest.skip("decided by the security policy before any SQL")
    supervisor = clients["supervisor"]
    cookie_only = Client(supervisor.app, "supervisor", None)
    assert cookie_only.call("GET", "/api/v1/plans").status_int == 200
    assert cookie_only.call("POST", "/api/v1/plans").status_int == 401
    assert supervisor.call("POST", "/api/v1/plans").status_int == 422


def test_sample_paths_match_their_routes(web_app: Router) -> None:
    """Each sample path is routed to its own route (else the matrix would test another)."""
    routes = web_app.routes_mapper.get_routes()
    for route, pattern in route_patterns(web_app).items():
        path = sample_path(pattern)
        first = next(r.name for r in routes if r.match(path) is not None)
        assert first == route, (route, path)
    assert Path(__file__).parents[2].joinpath("mobile_api/static/suijian.css").is_file()
