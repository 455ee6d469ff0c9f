"""One migration tree, both backends: upgrade, check against the models, downgrade, upgrade."""

from __future__ import annotations

from sqlalchemy import inspect

from enforcement import migrate
from enforcement.db import make_engine
from enforcement.models import Base


def _our_tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    return set(inspect(engine).get_table_names()) & set(Base.metadata.tables)


def test_upgrade_check_downgrade_roundtrip(backend: str, new_database_url) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(new_database_url(backend))
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert _our_tables(engine) == set(Base.metadata.tables)
        assert migrate.schema_differences(engine) == []

        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert _our_tables(engine) == set()

        migrate.upgrade(engine)
        assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()


def test_check_detects_drift(backend: str, new_database_url) -> None:  # type: ignore[no-untyped-def]
    """A column the models have but the database lacks is reported."""
    engine = make_engine(new_database_url(backend))
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE departments DROP COLUMN name_en")
        differences = migrate.schema_differences(engine)
        assert any("name_en" in repr(diff) for diff in differences)
    finally:
        engine.dispose()
