"""Texts and arrays: the points of string signals (``text_points``, value ``text``) and of array
signals (``array_points``, value ``double precision[]``), a row per point with the primary key
(signal_id, ts), which keeps each point once however often it is sent; their newest values
(``text_latest``, ``array_latest``); and the length a string or array signal declares
(``signals.length``). The point tables are partitioned by day as the numbers' chunks are, one
partition for each day the chunks have, so that retention drops the days of every kind together.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

_KINDS = {"text": "text", "array": "double precision[]"}
_DAYS = """
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'point_chunks'::regclass ORDER BY 1
"""


def upgrade() -> None:
    op.execute("ALTER TABLE signals ADD COLUMN length integer")
    days = [(str(n), str(b)) for n, b in op.get_bind().execute(text(_DAYS)).fetchall()]
    for kind, sql_type in _KINDS.items():
        op.execute(
            f"""
            CREATE TABLE {kind}_points (
                signal_id integer NOT NULL,
                ts timestamptz NOT NULL,
                quality smallint NOT NULL,
                value {sql_type} NOT NULL,
                PRIMARY KEY (signal_id, ts)
            ) PARTITION BY RANGE (ts);
            CREATE TABLE {kind}_latest (
                signal_id integer PRIMARY KEY,
                ts timestamptz NOT NULL,
                quality smallint NOT NULL,
                value {sql_type} NOT NULL
            );
            """
        )
        for name, bound in days:
            day = name.removeprefix("point_chunks_")
            op.execute(f"CREATE TABLE {kind}_points_{day} PARTITION OF {kind}_points {bound}")


def downgrade() -> None:
    for kind in _KINDS:
        op.execute(f"DROP TABLE {kind}_points; DROP TABLE {kind}_latest")
    op.execute("ALTER TABLE signals DROP COLUMN length")
