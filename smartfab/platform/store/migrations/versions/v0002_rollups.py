"""Rollups: per-signal 1-minute and 1-hour min, max, sum, count and last of the points that are
not BAD, so that trends over months read thousands of rows instead of millions. Filled here from
the points already stored; the store keeps them up to date from then on.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_LEVELS = {"rollup_1m": "1 minute", "rollup_1h": "1 hour"}


def upgrade() -> None:
    for table, width in _LEVELS.items():
        op.execute(
            f"""
            CREATE TABLE {table} (
                signal_id integer NOT NULL,
                bucket timestamptz NOT NULL,
                min double precision NOT NULL,
                max double precision NOT NULL,
                sum double precision NOT NULL,
                count bigint NOT NULL,
                last_ts timestamptz NOT NULL,
                last_value double precision NOT NULL,
                PRIMARY KEY (signal_id, bucket)
            );
            INSERT INTO {table}
            SELECT signal_id, date_bin('{width}', ts, TIMESTAMPTZ '1970-01-01 00:00+00'),
                min(value), max(value), sum(value), count(*), max(ts),
                (array_agg(value ORDER BY ts DESC))[1]
            FROM points WHERE quality < 2 GROUP BY 1, 2;
            """
        )


def downgrade() -> None:
    op.execute(f"DROP TABLE {', '.join(_LEVELS)}")
