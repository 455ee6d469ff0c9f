"""A bare Pyramid hello-world: the baseline that ``suijian bench api`` serves with the same
server and settings as the real application (``[app:main] use = call:mobile_api.bench_hello:main``).

Nothing else on purpose: no transaction manager, database, session, security or templates, so
it measures what the server and Pyramid's router cost on their own.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router


def hello(request: Request) -> Response:
    return Response(body=b"Hello, world!", content_type="text/plain", charset="utf-8")


def main(global_config: dict[str, Any] | None = None, **settings: Any) -> Router:
    """``paste.app_factory``: the settings are accepted (the ini is shared) and ignored."""
    with Configurator() as config:
        config.add_route("hello", "/")
        config.add_view(hello, route_name="hello")
    return config.make_wsgi_app()
