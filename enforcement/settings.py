"""Settings: one Pyramid-style ini file, then environment overrides for URLs and secrets.

The ini file is the single source of configuration for the web app, the worker and the
command line; the environment wins over it so that production secrets never live in a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import plaster

#: Environment variable -> settings key. Documented in docs/configuration.md.
ENV_OVERRIDES: dict[str, str] = {
    "DATABASE_URL": "sqlalchemy.url",
    "BROKER_URL": "celery.broker_url",
    "RESULT_BACKEND": "celery.result_backend",
    "DATA_CENTER_URL": "data_center.url",
    "DATA_CENTER_SECRET": "suijian.feed.secret",
    "SECRET_KEY": "suijian.secret_key",
    "SPATIALITE_LIBRARY_PATH": "spatialite.library_path",
}

DEFAULT_INI = "development.ini"

# Values that mark a setting as "must come from the environment".
_REQUIRED_FROM_ENV = "env:required"


class SettingsError(RuntimeError):
    """The configuration is incomplete or contradictory."""


def config_uri(path: str | os.PathLike[str] | None = None) -> str:
    """The ini file to use: the argument, else $SUIJIAN_INI, else ./development.ini."""
    chosen = Path(path or os.environ.get("SUIJIAN_INI") or DEFAULT_INI)
    if not chosen.is_file():
        raise SettingsError(f"configuration file not found: {chosen}")
    return str(chosen.resolve())


def apply_env_overrides(
    settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return a copy of ``settings`` with environment overrides applied and checked."""
    environ = os.environ if environ is None else environ
    merged = dict(settings)
    for variable, key in ENV_OVERRIDES.items():
        value = environ.get(variable)
        if value:
            merged[key] = value
    missing = sorted(
        key for key, value in merged.items() if str(value).strip() == _REQUIRED_FROM_ENV
    )
    if missing:
        wanted = {key: var for var, key in ENV_OVERRIDES.items()}
        names = ", ".join(f"{key} (set ${wanted.get(key, key)})" for key in missing)
        raise SettingsError(f"settings must come from the environment: {names}")
    return merged


def load_settings(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the ``[app:main]`` section of the ini file and apply environment overrides."""
    uri = config_uri(path)
    settings = dict(plaster.get_settings(uri, "app:main"))
    settings["suijian.config_file"] = uri
    return apply_env_overrides(settings)


def as_bool(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}
