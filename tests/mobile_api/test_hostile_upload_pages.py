"""Hostile uploads through the web: the import page fed wrong types, oversized files and file
names with ``../``, absolute and Windows paths, NUL and hundreds of characters; the resumable
upload API given such names. Refused with a reason naming the field, or the name reduced to a
harmless base name; never a server error. (Content checks: ``tests/enforcement/
test_hostile_uploads.py``.)"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import BackgroundJob, Role, User
from enforcement.services import jobs
from enforcement.services.tokens import TokenService
from tests import factories

# --- the import page: sizes, types and names -----------------------------------------------


@pytest.fixture
def console(
    testapp: webtest.TestApp,
    make_user: Callable[..., User],
    sign_in: Callable[..., webtest.TestResponse],
) -> webtest.TestApp:
    make_user("uploader", Role.SUPERVISOR)
    sign_in(testapp, "uploader")
    return testapp


def submit_import(app: webtest.TestApp, name: str, content: bytes) -> webtest.TestResponse:
    form = app.get("/console/imports").forms["import-form"]
    form["kind"] = "enterprises"
    form["file"] = webtest.Upload(name, content)
    return form.submit(expect_errors=True)


def file_error(page: webtest.TestResponse) -> str:
    found = re.search(r'id="form-errors".*?</div>', page.text, re.S)
    assert found is not None, page.text[:500]
    return found.group(0)


CSV = "uscc,name\n91330783MA2EXAMPLE,测试\n".encode()


@pytest.mark.parametrize(
    "name",
    ["payload.exe", "photo.jpg", "list.csv.exe", "list.html", "noext"],
)
def test_the_import_page_refuses_wrong_types_by_name(console: webtest.TestApp, name: str) -> None:
    page = submit_import(console, name, CSV)
    assert page.status_int == 422
    assert ".csv" in file_error(page)  # the reason lists what is accepted


def test_the_import_page_refuses_oversized_files(
    console: webtest.TestApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "MAX_UPLOAD_BYTES", 1024)
    page = submit_import(console, "big.csv", CSV + b"9" * 2048)
    assert page.status_int == 422
    assert "MB" in file_error(page) or "1024" in file_error(page)


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("../../../etc/cron.d/list.csv", "list.csv"),
        ("/etc/passwd.csv", "passwd.csv"),
        ("C:\\Windows\\system32\\list.csv", "list.csv"),
        ("..\\..\\boot.ini.csv", "boot.ini.csv"),
        ("list\x00.csv", "list.csv"),
        ("长" * 300 + ".csv", None),
    ],
    ids=["dotdot", "absolute", "windows", "backslash-dotdot", "nul", "very-long"],
)
def test_the_import_page_keeps_only_a_harmless_base_name(
    console: webtest.TestApp, data: Session, name: str, kept: str | None
) -> None:
    page = submit_import(console, name, CSV)
    assert page.status_int in (303, 422), page.status_int
    if page.status_int == 422:  # refused with a reason, never a server error
        file_error(page)
        return
    data.expire_all()
    stored = data.scalars(select(BackgroundJob.input_name)).all()
    assert len(stored) == 1
    (input_name,) = stored
    assert "/" not in input_name and "\\" not in input_name and "\x00" not in input_name
    assert not input_name.startswith(".") and len(input_name) <= 255
    if kept is not None:
        assert input_name == kept


# --- the resumable-upload API: names only tell the kind, never a path -----------------------


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../etc/passwd.jpg",
        "/var/lib/suijian/evidence/x.jpg",
        "photo\x00.jpg",
        "x" * 300,
        "..",
    ],
)
def test_upload_names_with_path_tricks_are_inert(
    testapp: webtest.TestApp,
    data: Session,
    web_app: Router,
    make_user: Callable[..., User],
    filename: str,
) -> None:
    officer = make_user("tricky", Role.INSPECTOR, inspector_id=factories.InspectorFactory().id)
    secret = TokenService(data).issue(officer).secret
    data.commit()
    answer = testapp.post_json(
        "/api/v1/uploads",
        {"size": 1000, "sha256": "ab" * 32, "filename": filename, "kind": "photo"},
        headers={"Authorization": f"Bearer {secret}"},
        expect_errors=True,
    )
    assert answer.status_int in (201, 422), answer.text
    root = Path(web_app.registry.settings["suijian.var_dir"])
    names = [p.name for p in root.rglob("*")]
    assert "passwd.jpg" not in names and "x.jpg" not in names
    assert not any("\x00" in n or len(n) > 255 for n in names)
    assert not Path("/var/lib/suijian/evidence/x.jpg").exists()
