"""Small generated run-to-failure fleets and process tables, written in the public data sets'
file formats or into a store, for tests that must not depend on the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smartfab.apps.maintenance.datasets import CMAPSS_SENSORS
from smartfab.platform.points import EventBatch, EventKind, PointBatch
from smartfab.platform.store.base import SignalInfo, Store

H = 3_600_000_000
DAYS = 30  # of a wearing fleet's history
LIFE_H = 100  # hours from a repair to the next failure
LINE = "site/area/line-1"

# Operating points (three settings each) of a multi-condition fleet, like C-MAPSS FD002.
REGIMES = np.array([[0.0, 0.0, 100.0], [20.0, 0.7, 100.0], [42.0, 0.84, 60.0]])


def fleet_rows(units: int, regimes: int, seed: int, truncate: bool) -> tuple[np.ndarray, list[int]]:
    """Rows of unit, cycle, 3 settings, 21 sensors; and each unit's RUL at its last row. Sensors
    0-2 are constant, the others move with the regime (by far the most) and with wear."""
    # The engine type (its sensors' levels and sensitivity to wear) is the same in every file;
    # the seed draws the units.
    kind = np.random.default_rng(0)
    offsets = kind.normal(0, 50, size=(len(REGIMES), CMAPSS_SENSORS))
    gains = kind.normal(0, 3, size=CMAPSS_SENSORS)
    rng = np.random.default_rng(seed)
    rows, ruls = [], []
    for u in range(1, units + 1):
        life = int(rng.integers(120, 250))
        seen = int(rng.integers(40, life - 5)) if truncate else life
        cycles = np.arange(1, seen + 1)
        wear = (cycles / life) ** 3
        r = rng.integers(0, regimes, size=seen)
        settings = REGIMES[r] + rng.normal(0, 0.002, size=(seen, 3))
        sensors = offsets[r] + wear[:, None] * gains * 10 + rng.normal(0, 0.5, (seen, 21))
        sensors[:, :3] = 7.0
        rows.append(np.column_stack([np.full(seen, u), cycles, settings, sensors]))
        ruls.append(life - seen)
    return np.vstack(rows), ruls


def write_cmapss(folder: Path, subset: str, regimes: int = 1, units: int = 30) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    train, _ = fleet_rows(units, regimes, seed=1, truncate=False)
    test, ruls = fleet_rows(units // 2, regimes, seed=2, truncate=True)
    np.savetxt(folder / f"train_{subset}.txt", train, fmt="%.4f")
    np.savetxt(folder / f"test_{subset}.txt", test, fmt="%.4f")
    np.savetxt(folder / f"RUL_{subset}.txt", np.array(ruls), fmt="%d")
    return folder


def write_ai4i(path: Path, rows: int = 1500, seed: int = 3) -> Path:
    """An AI4I-shaped CSV (BOM, CRLF) where failures come from too much or too little power."""
    rng = np.random.default_rng(seed)
    air = rng.normal(300, 2, rows)
    process = air + rng.normal(10, 1, rows)
    speed = rng.normal(1540, 180, rows)
    torque = rng.normal(40, 10, rows)
    wear = rng.integers(0, 250, rows)
    power = torque * speed * 2 * np.pi / 60
    failure = ((power < 3500) | (power > 9000)).astype(int)
    types = rng.choice(["L", "M", "H"], rows)
    header = ("UDI,Product ID,Type,Air temperature [K],Process temperature [K],"
              "Rotational speed [rpm],Torque [Nm],Tool wear [min],Machine failure,"
              "TWF,HDF,PWF,OSF,RNF")  # fmt: skip
    lines = [header] + [
        f"{i + 1},X{i},{types[i]},{air[i]:.1f},{process[i]:.1f},{speed[i]:.0f},{torque[i]:.1f},"
        f"{wear[i]},{failure[i]},0,0,{failure[i]},0,0"
        for i in range(rows)
    ]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def fill_wearing_fleet(store: Store, t0: int) -> None:
    """DAYS of hourly data from ``t0``: two machines of one kind wear out every LIFE_H hours (at
    different times), their temperature and vibration rising with the wear; a third, of another
    kind, stays healthy. At the last hour, m1 is 14 h from its next failure, m2 64 h."""
    machines = {f"{LINE}/m1": 66, f"{LINE}/m2": 16, f"{LINE}/ok": None}
    infos = [SignalInfo(f"{eq}/{n}", eq, n, "", "float") for eq in machines
             for n in (("temp", "vib") if machines[eq] is not None else ("flow",))]  # fmt: skip
    ids = store.register_signals(infos)
    rng = np.random.default_rng(1)
    hours = np.arange(DAYS * 24)
    ts = t0 + hours * H + H // 2
    points, failures = [], []
    for eq, shift in machines.items():
        if shift is None:
            points.append(PointBatch.of(ts, ids[f"{eq}/flow"], 10 + rng.normal(0, 0.1, len(ts))))
            continue
        age = (hours + shift) % LIFE_H
        wear = age / LIFE_H
        for name, gain in (("temp", 30.0), ("vib", 3.0)):
            value = 50 + gain * wear + rng.normal(0, 0.3, len(ts))
            points.append(PointBatch.of(ts, ids[f"{eq}/{name}"], value))
        failures += [(t0 + (h + 1) * H, eq) for h in hours[age == LIFE_H - 1]]
    batch = PointBatch(*(np.concatenate([getattr(p, c) for p in points])
                         for c in ("ts", "signal_id", "value", "quality")))  # fmt: skip
    events = EventBatch.of([t for t, _ in failures], [e for _, e in failures], EventKind.FAILURE,
                           "spindle_bearing")  # fmt: skip
    store.append(batch, events)
