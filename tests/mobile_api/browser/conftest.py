"""The tablet app in a real browser: Debian's Chromium driven by Playwright, against the real
application served by waitress on a free port (on each backend: SQLite file and PostGIS).

No browser is downloaded (never ``playwright install``): the tests use /usr/bin/chromium
(``scripts/system-deps.sh test`` installs it). Without Chromium, Playwright or the vendored
npm modules (``make vendor``) the tests skip, and fail under CI=true.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyramid.router import Router

from mobile_api.views.tablet import missing_vendor_files
from tests.conftest import _unavailable

# The desk pages' fixtures (issue 7), available to every browser test module.
from tests.mobile_api.browser.desk import desk_errors, desk_page  # noqa: F401
from tests.mobile_api.browser.harness import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LiveServer


@pytest.fixture(scope="session")
def live_server(web_app: Router) -> Iterator[LiveServer]:
    missing = missing_vendor_files()
    if missing:
        _unavailable(f"vendored npm modules missing (run `make vendor`): {', '.join(missing)}")
    server = LiveServer(web_app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
