"""alembic's entry point: migrate over the connection that :func:`upgrade` opened (which holds the
advisory lock and the search path), inside its transaction."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run the store's migrations through smartfab.platform.store.migrations.upgrade(), "
        "not the alembic command line: it sets the schema and the lock"
    )
context.configure(
    connection=connection,
    version_table_schema=config.attributes.get("version_table_schema"),
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
