"""Lazily built settings, engine and sessions shared by the sub-commands."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from enforcement.db import engine_from_settings, session_factory
from enforcement.settings import SettingsError, load_settings


class DatabaseUnavailableError(click.ClickException):
    """The database cannot be reached or cannot serve now; the same command may work later."""

    exit_code = 75  # EX_TEMPFAIL (sysexits.h): a temporary failure, try again

    @classmethod
    def from_error(cls, error: BaseException, app: AppContext | None) -> DatabaseUnavailableError:
        cause = getattr(error, "orig", None) or error
        detail = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        url = (app.settings_if_loaded() if app is not None else {}).get("sqlalchemy.url")
        where = f" at {make_url(str(url)).render_as_string(hide_password=True)}" if url else ""
        return cls(
            f"the database{where} cannot be reached or cannot serve now ({detail}); "
            "check sqlalchemy.url or DATABASE_URL and try again"
        )


class AppContext:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def settings(self) -> dict[str, Any]:
        try:
            return load_settings(self.config_path)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from exc

    def settings_if_loaded(self) -> dict[str, Any]:
        """The settings if a command has read them, else nothing (never reads them)."""
        return self.__dict__.get("settings") or {}

    @cached_property
    def engine(self) -> Engine:
        return engine_from_settings(self.settings)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)


pass_app = click.make_pass_decorator(AppContext)
