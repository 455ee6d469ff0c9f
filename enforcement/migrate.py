"""Schema migrations (Alembic) driven from code, and the models-versus-migrations check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine, text

from enforcement.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")

# Tables that SpatiaLite and PostGIS create for themselves; never ours to migrate.
SPATIAL_SYSTEM_TABLES = frozenset(
    {"KNN", "KNN2", "ElementaryGeometries", "SpatialIndex", "data_licenses", "sql_statements_log"}
)


def include_object(obj, name, obj_type, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Alembic filter: GeoAlchemy2's rules, plus the spatial engines' own tables."""
    if obj_type == "table" and reflected and compare_to is None and name in SPATIAL_SYSTEM_TABLES:
        return False
    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def _prepare(engine: Engine) -> None:
    """PostGIS must exist before the first spatial table; SpatiaLite is loaded per connection."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))


def _run(engine: Engine, fn, *args) -> None:  # type: ignore[no-untyped-def]
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        fn(config, *args)


def upgrade(engine: Engine, revision: str = "head") -> None:
    _prepare(engine)
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, command.downgrade, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the models (developers only)."""
    _run(engine, lambda cfg: command.revision(cfg, message=message, autogenerate=True))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def schema_differences(engine: Engine) -> list[object]:
    """Differences between the models and the migrated database; empty when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": include_object,
                "compare_type": True,
                "target_metadata": Base.metadata,
            },
        )
        return list(compare_metadata(context, Base.metadata))
