"""Settings: ini file first, environment overrides for URLs and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from enforcement.settings import SettingsError, apply_env_overrides, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_development_ini_is_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BROKER_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(ROOT / "development.ini")
    assert settings["sqlalchemy.url"] == f"sqlite:///{ROOT}/var/suijian.sqlite"
    assert settings["celery.broker_url"] == "filesystem://"


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.example/suijian")
    monkeypatch.setenv("BROKER_URL", "redis://broker.example:6379/0")
    settings = load_settings(ROOT / "development.ini")
    assert settings["sqlalchemy.url"] == "postgresql+psycopg://db.example/suijian"
    assert settings["celery.broker_url"] == "redis://broker.example:6379/0"


def test_production_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BROKER_URL", "RESULT_BACKEND", "DATA_CENTER_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as excinfo:
        load_settings(ROOT / "production.ini")
    message = str(excinfo.value)
    assert "sqlalchemy.url (set $DATABASE_URL)" in message
    assert "suijian.secret_key (set $SECRET_KEY)" in message


def test_production_with_environment_is_complete() -> None:
    environ = {
        "DATABASE_URL": "postgresql+psycopg://db/suijian",
        "BROKER_URL": "redis://r/0",
        "RESULT_BACKEND": "redis://r/1",
        "DATA_CENTER_URL": "https://dc.example/api",
        "SECRET_KEY": "s" * 40,
    }
    settings = apply_env_overrides({"sqlalchemy.url": "env:required"}, environ)
    assert settings["sqlalchemy.url"] == "postgresql+psycopg://db/suijian"
    assert settings["suijian.secret_key"] == "s" * 40


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="configuration file not found"):
        load_settings(tmp_path / "nope.ini")
