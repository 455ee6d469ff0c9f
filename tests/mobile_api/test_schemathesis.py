"""schemathesis against the OpenAPI document: every operation of /api/v1, generated requests
(valid and invalid), through the real WSGI application on a database with a drawn plan.

Checks: no 5xx (``not_a_server_error``), every response body matches the schema of its status
(``response_schema_conformance``), and every status is one the document declares
(``status_code_conformance``). Runs once per signed-in role (an inspector of the drawn task's
team, and the demo supervisor), each with a bearer token. Generated path parameters are random,
so most would only ever meet a 404; half of them (chosen by the generated value itself, so a run
is reproducible) are replaced by the identifier of a real record: the drawn plan, the task, an
inspection in progress, the enterprise, an uploaded evidence file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
import webtest
from hypothesis import HealthCheck, settings
from pyramid.router import Router
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.db import make_engine
from enforcement.models import EvidenceFile
from enforcement.services.inspections import InspectionService
from enforcement.services.tokens import TokenService
from mobile_api.openapi import load_spec
from tests.factories import user_named
from tests.field_work import drawn_field_work

ROLES = {"inspector": "field-lead", "supervisor": "supervisor"}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
REVOKE = ("DELETE", "/api/v1/tokens/current")  # it would sign the rest of the run out

# The document the application serves (checked below), loaded the way pyramid_openapi3 loads it.
schema = schemathesis.openapi.from_dict(load_spec())


@dataclasses.dataclass
class Fuzzed:
    """The application on its own database, and the records generated requests may point at."""

    app: Router
    session: Session
    known: dict[str, Any]  # path parameter (or body field) -> the identifier of a real record


@pytest.fixture(scope="module")
def fuzzed(
    backend: str, new_database_url: Callable[[str], str], build_app: Callable[..., Router]
) -> Iterator[Fuzzed]:
    """A database of its own (the run leaves records behind), with a drawn plan, its task's
    team signed up, an inspection in progress and an uploaded PNG."""
    engine = make_engine(new_database_url(backend))
    migrate.upgrade(engine)
    session = Session(bind=engine, expire_on_commit=False)
    field = drawn_field_work(session)
    inspection_uuid = uuid.UUID(int=0x5C4E)
    InspectionService(session, field.lead).check_in(
        inspection_uuid,
        field.task.uuid,
        {"lon": field.lon, "lat": field.lat, "accuracy_m": 5.0, "device_time": _now()},
    )
    png = hashlib.sha256(b"schemathesis signature").hexdigest()
    session.add(EvidenceFile(sha256=png, media_type="image/png", kind="photo", size=100))
    session.commit()
    known = {
        "code": field.task.draw.plan.code,
        "task_uuid": str(field.task.uuid),
        "task": str(field.task.uuid),
        "inspection_uuid": str(inspection_uuid),
        "enterprise_id": field.task.enterprise_id,
        "sha256": png,
    }
    try:
        yield Fuzzed(app=build_app(engine), session=session, known=known)
    finally:
        session.close()
        engine.dispose()


@pytest.fixture(scope="module", params=sorted(ROLES))
def sign_in_as(request: pytest.FixtureRequest, fuzzed: Fuzzed) -> Callable[[], str]:
    """Issues bearer tokens of the role's account (one for the run, more on demand)."""
    user = user_named(fuzzed.session, ROLES[request.param])

    def issue() -> str:
        secret = TokenService(fuzzed.session).issue(user, label="schemathesis").secret
        fuzzed.session.commit()
        return secret

    return issue


@pytest.fixture(scope="module")
def token(sign_in_as: Callable[[], str]) -> str:
    return sign_in_as()


def test_the_document_tested_is_the_one_served(fuzzed: Fuzzed) -> None:
    served = webtest.TestApp(fuzzed.app).get("/api/v1/openapi.json").json
    assert served == json.loads(json.dumps(load_spec(), default=str))


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_openapi_document(
    case: Any, fuzzed: Fuzzed, token: str, sign_in_as: Callable[[], str]
) -> None:
    _point_at_real_records(case, fuzzed.known)
    if (case.method.upper(), case.path) == REVOKE:
        token = sign_in_as()
    case.call_and_validate(
        app=fuzzed.app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
    )


def _point_at_real_records(case: Any, known: dict[str, Any]) -> None:
    """Replace about half of the generated identifiers by real ones, deterministically."""
    for name, value in list((case.path_parameters or {}).items()):
        if name in known and _heads(value):
            case.path_parameters[name] = known[name]
    if isinstance(case.body, dict) and "task" in case.body and _heads(case.body["task"]):
        case.body["task"] = known["task"]


def _heads(value: Any) -> bool:
    return hashlib.sha256(repr(value).encode()).digest()[0] % 2 == 0


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
