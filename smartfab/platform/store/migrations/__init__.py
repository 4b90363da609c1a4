"""Schema migrations of the PostgreSQL store (alembic). The store runs :func:`upgrade` when it
opens, so a database made by an older smartfab is brought to the current schema before use; each
revision in ``versions/`` keeps what the previous one held (tested in
``tests/platform/store/test_migrations.py``).

Revisions are frozen history: they hold their own SQL instead of importing the store's, so that
changing the store later cannot change what an old upgrade does.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

_HERE = Path(__file__).parent
# One upgrade at a time per database: two workers opening the store together must not both run
# the same revision. Any constant works; this one spells "sfab".
_LOCK_KEY = 0x73666162


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


@cache
def head() -> str:
    """The newest revision (cached: reading the versions folder imports every revision)."""
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    if rev is None:
        raise RuntimeError(f"{_HERE / 'versions'}: no migration revisions")
    return rev


def current(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    """The revision the database (the first schema of the search path) is at; None when new."""
    row = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    rev = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(rev[0]) if rev else None


def upgrade(url: str, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (in ``schema``, else the connection's default schema) to
    ``revision``, in one transaction under an advisory lock."""
    # A creator instead of a SQLAlchemy URL: any libpq connection string works unchanged, and
    # SQLAlchemy talks through the same psycopg 3 driver as the store.
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(url), poolclass=NullPool
    )
    cfg = _config()
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            if schema is not None:
                quoted = sql.Identifier(schema).as_string(None)
                connection.exec_driver_sql(f"SET search_path TO {quoted}")
            cfg.attributes["connection"] = connection
            cfg.attributes["version_table_schema"] = schema
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
