"""What makes the tablet app installable and able to start offline, checked over HTTP: the
shell, its import map and Content-Security-Policy, the service worker (its scope and the
files it caches, each of which exists) and the manifest with its icons."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re

import pytest
import webtest
from PIL import Image

from mobile_api.views.tablet import APP_DIR, VENDOR_MODULES, missing_vendor_files
from tests.conftest import _unavailable


@pytest.fixture
def app(testapp: webtest.TestApp) -> webtest.TestApp:
    missing = missing_vendor_files()
    if missing:
        _unavailable(f"vendored npm modules missing (run `make vendor`): {', '.join(missing)}")
    return testapp


def test_the_shell_maps_the_vendored_modules_and_allows_only_its_own_scripts(
    app: webtest.TestApp,
) -> None:
    app.get("/tablet", status=301).follow(status=200)
    shell = app.get("/tablet/")
    assert shell.content_type == "text/html" and shell.headers["Cache-Control"] == "no-cache"
    html = shell.text
    assert '<html lang="zh-CN">' in html
    assert 'rel="manifest" href="/tablet/manifest.webmanifest"' in html
    inline = re.search(r'<script type="importmap">(.*?)</script>', html, re.S)
    assert inline is not None
    imports = json.loads(inline.group(1))["imports"]
    assert imports == {name: f"/static/{path}" for name, path in VENDOR_MODULES.items()}
    for url in imports.values():
        assert app.get(url).content_type in ("application/javascript", "text/javascript")
    # The import map is the one inline script, allowed by its hash and nothing else.
    digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
    policy = shell.headers["Content-Security-Policy"]
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    config = json.loads(re.search(r'id="tablet-config">(.*?)</script>', html, re.S).group(1))
    assert config["sw"] == "/tablet/sw.js" and config["scope"] == "/tablet/"
    assert config["geofence_radius_m"] == 200.0


def test_the_service_worker_covers_the_app_and_caches_every_file_it_needs(
    app: webtest.TestApp,
) -> None:
    worker = app.get("/tablet/sw.js")
    assert worker.content_type == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/tablet/"
    assert worker.headers["Cache-Control"] == "no-cache"
    header = re.match(r"// .*\nself\.SUIJIAN_SW = (\{.*\});\n", worker.text)
    assert header is not None
    config = json.loads(header.group(1))
    assert config["scope"] == "/tablet/"
    assert config["version"] == re.search(r'data-build="(\w+)"', app.get("/tablet/").text)[1]
    precache = config["precache"]
    own = {
        f"/static/tablet/{p.relative_to(APP_DIR).as_posix()}"
        for p in APP_DIR.rglob("*")
        if p.is_file() and p.name != "sw.js"
    }
    vendor = {f"/static/{path}" for path in VENDOR_MODULES.values()}
    assert own <= set(precache) and vendor <= set(precache)
    assert {"/tablet/", "/tablet/manifest.webmanifest"} <= set(precache)
    for url in precache:  # one missing file would make the worker's installation fail
        assert app.get(url).status_int == 200, url


def test_the_manifest_makes_the_app_installable(app: webtest.TestApp) -> None:
    answer = app.get("/tablet/manifest.webmanifest")
    assert answer.content_type == "application/manifest+json"
    manifest = answer.json
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == manifest["scope"] == "/tablet/"
    assert manifest["lang"] == "zh-CN" and manifest["short_name"] == "随检"
    sizes = set()
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(app.get(icon["src"]).body))
        assert image.format == "PNG" and icon["type"] == "image/png"
        assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    app.get("/tablet/icons/nope.png", status=404)
