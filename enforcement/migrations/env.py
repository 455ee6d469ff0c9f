"""Alembic environment: one migration tree for SQLite+SpatiaLite and PostgreSQL+PostGIS."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

from enforcement.migrate import include_object
from enforcement.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table, on SQLite only.
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        compare_server_default=False,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
