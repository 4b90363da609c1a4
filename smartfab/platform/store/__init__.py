"""Stores: one interface (base.py), an embedded DuckDB store and a PostgreSQL server store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smartfab.platform.store.base import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def open_store(location: str | Path) -> Store:
    """The store a URL or path names: ``postgresql://...`` (or ``postgres://``) opens PostgreSQL,
    ``duckdb:///PATH`` or a plain path opens that DuckDB file, shared with other processes (see
    ``store/shared.py``). Imports are deferred so that an embedded deployment never loads the
    PostgreSQL driver and migrations."""
    if is_postgres_url(location):
        from smartfab.platform.store.postgres import PostgresStore

        return PostgresStore(str(location))
    from smartfab.platform.store.duckdb import open_duckdb

    path = str(location)
    return open_duckdb(
        Path(path.removeprefix("duckdb://") if path.startswith("duckdb:///") else path)
    )
