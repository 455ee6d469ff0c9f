"""The inspectors' tablet app (掌上执法): an installable web app (PWA) under ``/tablet/``.

The app itself is static JavaScript (``static/tablet/``, plain ES modules, no build step) that
talks to the JSON API with a bearer token and keeps working offline: its service worker caches
the shell, and every change is queued in IndexedDB and replayed through ``POST /api/v1/batch``.
This module serves what cannot be a plain static file:

* the shell page, with an import map for the vendored npm modules (``static/vendor/``);
* the service worker from ``/tablet/sw.js``, so its scope covers ``/tablet/`` (a worker served
  from ``/static/`` could not control the app), with the list of files to cache and a version
  derived from their bytes: any change to the app gives a new worker, which replaces the cache;
* the web app manifest and its icons (drawn with Pillow: no binary files in the repository).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from pyramid.httpexceptions import HTTPMovedPermanently, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from gis.geofence import DEFAULT_RADIUS_M

PACKAGE = Path(__file__).resolve().parents[1]
STATIC = PACKAGE / "static"
APP_DIR = STATIC / "tablet"
SCOPE = "/tablet/"

#: Bare module names the app imports -> the file ``make vendor`` copies from node_modules.
VENDOR_MODULES: dict[str, str] = {
    "idb": "vendor/idb/index.js",
    "signature_pad": "vendor/signature_pad/signature_pad.js",
}

#: Icon name -> (size in pixels, maskable: drawn to the edge with the mark in the safe zone).
ICONS: dict[str, tuple[int, bool]] = {
    "icon-192": (192, False),
    "icon-512": (512, False),
    "maskable-512": (512, True),
}

THEME_COLOR = "#b3261e"  # the seal red of the desk pages
BACKGROUND_COLOR = "#f4f6f8"


def app_files() -> list[Path]:
    """The app's own static files (the service worker script is served by ``service_worker``)."""
    return sorted(path for path in APP_DIR.rglob("*") if path.is_file() and path.name != "sw.js")


def vendor_files() -> list[Path]:
    return [STATIC / relative for relative in VENDOR_MODULES.values()]


def missing_vendor_files() -> list[str]:
    """Vendored modules that are not there (``make vendor`` has not run)."""
    return [str(path.relative_to(PACKAGE)) for path in vendor_files() if not path.is_file()]


def _sources() -> list[Path]:
    templates = PACKAGE / "templates" / "tablet"
    return [*app_files(), *vendor_files(), *sorted(templates.glob("*")), APP_DIR / "sw.js"]


def build_version() -> str:
    """A digest of everything the service worker caches: a new app gives a new worker.

    Keyed on the files' sizes and times, so an edited file gives a new version without a
    restart and the bytes are read again only then."""
    stamps = tuple(
        (str(path), path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
        for path in _sources()
    )
    return _digest(stamps)


@functools.lru_cache(maxsize=4)
def _digest(stamps: tuple[tuple[str, int, int] | None, ...]) -> str:
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(str(path.relative_to(PACKAGE)).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:16]


def import_map(request: Request) -> str:
    imports = {
        name: request.static_path(f"mobile_api:static/{relative}")
        for name, relative in VENDOR_MODULES.items()
    }
    return json.dumps({"imports": imports}, separators=(",", ":"))


def _csp(inline_script: str) -> str:
    # The one inline script (the import map) is allowed by its hash; everything else is ours.
    script_hash = base64.b64encode(hashlib.sha256(inline_script.encode()).digest()).decode()
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'sha256-{script_hash}'",
            "img-src 'self' blob: data:",
            "style-src 'self'",
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


@view_config(route_name="tablet.bare", request_method="GET")
def bare(request: Request) -> Response:
    return HTTPMovedPermanently(location=request.route_path("tablet"))


@view_config(route_name="tablet", request_method="GET", renderer="tablet/shell.jinja2")
def shell(request: Request) -> dict[str, Any]:
    """The app shell; the same page for every screen (the app routes on the URL fragment)."""
    imports = import_map(request)
    response = request.response
    response.cache_control = "no-cache"
    response.headers["Content-Security-Policy"] = _csp(imports)
    response.headers["X-Content-Type-Options"] = "nosniff"
    settings = request.registry.settings
    version = build_version()
    return {
        "import_map": imports,
        "version": version,
        "config": {
            "api": "/api/v1",
            "version": version,
            "sw": request.route_path("tablet.sw"),
            "scope": SCOPE,
            # The server decides the verdict; the tablet's own check only lets it ask for the
            # reason while offline, so it uses the same radius.
            "geofence_radius_m": float(
                settings.get("suijian.geofence.radius_m") or DEFAULT_RADIUS_M
            ),
        },
    }


def precache_urls(request: Request) -> list[str]:
    static = [
        request.static_path(f"mobile_api:static/{path.relative_to(STATIC).as_posix()}")
        for path in [*app_files(), *vendor_files()]
    ]
    icons = [request.route_path("tablet.icon", name=name) for name in ICONS]
    return [request.route_path("tablet"), request.route_path("tablet.manifest"), *icons, *static]


@view_config(route_name="tablet.sw", request_method="GET")
def service_worker(request: Request) -> Response:
    config = {"version": build_version(), "precache": precache_urls(request), "scope": SCOPE}
    body = (
        f"// Suijian tablet service worker, build {config['version']}\n"
        f"self.SUIJIAN_SW = {json.dumps(config, ensure_ascii=False)};\n"
        + (APP_DIR / "sw.js").read_text(encoding="utf-8")
    )
    response = Response(body=body.encode(), content_type="text/javascript", charset="utf-8")
    # The browser checks for a new worker on every visit; never let a cache answer for it.
    response.cache_control = "no-cache"
    response.headers["Service-Worker-Allowed"] = SCOPE
    return response


@view_config(route_name="tablet.manifest", request_method="GET")
def manifest(request: Request) -> Response:
    document = {
        "id": SCOPE,
        "name": "随检 · 掌上执法",
        "short_name": "随检",
        "description": "双随机、一公开现场检查：签到、亮证、检查单、取证、签名、结果录入",
        "lang": "zh-CN",
        "start_url": request.route_path("tablet"),
        "scope": SCOPE,
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {
                "src": request.route_path("tablet.icon", name=name),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "maskable" if maskable else "any",
            }
            for name, (size, maskable) in ICONS.items()
        ],
    }
    response = Response(
        body=json.dumps(document, ensure_ascii=False).encode(),
        content_type="application/manifest+json",
        charset="utf-8",
    )
    response.cache_control = "no-cache"
    return response


@functools.cache
def draw_icon(size: int, maskable: bool) -> bytes:
    """The app icon: a white check mark in a ring on seal red (PNG bytes)."""
    scale = 4  # drawn large, then reduced: smooth edges without an anti-aliasing library
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (0xB3, 0x26, 0x1E, 255)
    white = (255, 255, 255, 255)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=red)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=red)
    # Maskable icons may be cut to a circle of 80 % of the side: keep the mark within it.
    mark = 0.56 if maskable else 0.7
    inset = big * (1 - mark) / 2
    ring = max(1, round(big * 0.045))
    draw.ellipse((inset, inset, big - inset, big - inset), outline=white, width=ring)
    span = big - 2 * inset
    points = [
        (inset + span * 0.27, inset + span * 0.52),
        (inset + span * 0.44, inset + span * 0.69),
        (inset + span * 0.75, inset + span * 0.34),
    ]
    draw.line(points, fill=white, width=round(big * 0.06), joint="curve")
    out = io.BytesIO()
    image.resize((size, size), Image.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


@view_config(route_name="tablet.icon", request_method="GET")
def icon(request: Request) -> Response:
    spec = ICONS.get(request.matchdict["name"])
    if spec is None:
        raise HTTPNotFound()
    response = Response(body=draw_icon(*spec), content_type="image/png")
    response.cache_control = "public, max-age=86400"
    return response
