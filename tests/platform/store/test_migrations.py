"""A database made by the first schema revision, holding data, is upgraded to the newest when the
store opens, and nothing it held is lost (upgrades that break databases are a top complaint about
other platforms)."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from psycopg import sql

from smartfab.platform.points import EventBatch, PointBatch
from smartfab.platform.store import migrations
from smartfab.platform.store.base import SignalInfo
from smartfab.platform.store.postgres import HOUR_US, PostgresStore
from tests.platform.store.points import EQ, T0, S, array_info, arrays, text_info, texts, ts_us

pytestmark = pytest.mark.services

N = 5_000  # seconds of one signal, over two days' partitions


def _fill_first_revision(url: str, schema: str) -> None:
    """Data as smartfab at revision 0001 stored it, written with that revision's SQL."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    migrations.upgrade(url, schema, "0001")
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        assert migrations.current(conn) == "0001"
        conn.execute(
            "INSERT INTO signals (path, equipment, name, unit, data_type, role, low, high, source)"
            " VALUES (%s, %s, 'temp', 'degC', 'float', 'measurement', 0, 100, 'virtual'),"
            " (%s, %s, 'state', '', 'int', 'state', NULL, NULL, 'virtual')",
            [f"{EQ}/temp", EQ, f"{EQ}/state", EQ],
        )
        for day in ("20231114", "20231115"):
            conn.execute(
                f"CREATE TABLE points_{day} PARTITION OF points "  # type: ignore[arg-type]
                f"FOR VALUES FROM ('{day}') TO ('{day}'::date + 1)"
            )
        conn.execute(
            "INSERT INTO points (ts, signal_id, quality, value) "
            "SELECT TIMESTAMPTZ 'epoch' + (%s::int8 + i * %s::int8) * INTERVAL '1 microsecond', "
            "1, (i %% 10 = 0)::int * 2, i FROM generate_series(0, %s - 1) AS i",
            [T0, S, N],
        )
        conn.execute(
            "INSERT INTO latest SELECT signal_id, ts, value, quality FROM points "
            "ORDER BY ts DESC LIMIT 1"
        )
        conn.execute(
            "INSERT INTO events (ts, equipment, kind, code, value, detail) VALUES "
            "(TIMESTAMPTZ 'epoch' + %s * INTERVAL '1 microsecond', %s, 'state', 'running', "
            "'NaN', '')",
            [T0, EQ],
        )
        conn.execute("INSERT INTO settings VALUES ('connectors', '{\"a\": 1}')")


def test_upgrading_a_filled_first_revision_database_loses_nothing(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    _fill_first_revision(url, schema)
    with PostgresStore(url, schema) as store:  # opening upgrades
        with psycopg.connect(url) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            assert migrations.current(conn) == migrations.head() != "0001"
        signals = {s.path: s for s in store.signals()}
        assert (signals[f"{EQ}/temp"].id, signals[f"{EQ}/temp"].high) == (1, 100.0)
        assert signals[f"{EQ}/state"].role == "state"
        assert store.count_points() == N
        raw = store.raw([1], 0, 2**62)
        assert ts_us(raw) == [T0 + i * S for i in range(N)]
        assert raw.column("value").to_pylist() == [float(i) for i in range(N)]
        assert ts_us(store.latest()) == [T0 + (N - 1) * S]
        assert store.events(0, 2**62).column("code").to_pylist() == ["running"]
        assert store.get_setting("connectors") == '{"a": 1}'
        # the new rollups hold the old points (BAD ones left out, as downsample does)
        hourly = store.downsample(1, T0 - T0 % HOUR_US, T0 + N * S, HOUR_US)
        assert hourly.equals(store.downsample_raw(1, T0 - T0 % HOUR_US, T0 + N * S, HOUR_US))
        assert sum(hourly.column("count").to_pylist()) == N - N // 10
        # and the upgraded database goes on working: new ids, idempotent appends
        new = store.register_signals([SignalInfo(f"{EQ}/force", EQ, "force", "N", "float")])
        assert new[f"{EQ}/force"] == 3
        again = PointBatch.of(T0 + np.arange(N - 5, N + 5) * S, 1, np.arange(10.0))
        assert store.append_points(again) == 5
        # texts and arrays, also on the days whose partitions were made before they existed
        lot, profile = store.register_signals([text_info("lot"), array_info("profile", 2)]).values()
        assert store.append(
            PointBatch.empty(), EventBatch.empty(), texts([0, N - 1], lot, ["Л-1", "批-2"]),
            arrays([0, N - 1], profile, [[1.0, 2.0], [3.0, 4.0]]),
        ) == (4, 0)  # fmt: skip
        assert ts_us(store.raw([lot], 0, 2**62, kind="text")) == [T0, T0 + (N - 1) * S]
        assert [s.length for s in store.signals()] == [None, None, None, None, 2]
