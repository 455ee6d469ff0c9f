"""The OpenAPI document: loaded and checked at start-up, served as YAML and JSON, and used
by pyramid_openapi3 to validate every API view's request and response (views declared with
``mobile_api.api.api_view``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pyramid.config import Configurator
from pyramid.request import Request

SPEC_PATH = Path(str(files("mobile_api").joinpath("openapi.yaml")))


def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def spec_json(request: Request) -> dict[str, Any]:
    request.response.cache_control = "public, max-age=300"
    return request.registry["suijian.openapi"]


def includeme(config: Configurator) -> None:
    config.include("pyramid_openapi3")
    config.pyramid_openapi3_spec(
        str(SPEC_PATH), route="/api/v1/openapi.yaml", route_name="api.openapi.yaml"
    )
    config.registry["suijian.openapi"] = load_spec()
    config.add_route("api.openapi.json", "/api/v1/openapi.json")
    config.add_view(spec_json, route_name="api.openapi.json", renderer="json")
