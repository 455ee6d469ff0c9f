"""Lazily built settings, engine and sessions shared by the sub-commands."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from enforcement.db import engine_from_settings, session_factory
from enforcement.settings import SettingsError, load_settings


class AppContext:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def settings(self) -> dict[str, Any]:
        try:
            return load_settings(self.config_path)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from exc

    @cached_property
    def engine(self) -> Engine:
        return engine_from_settings(self.settings)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)


pass_app = click.make_pass_decorator(AppContext)
