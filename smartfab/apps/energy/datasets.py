"""Public energy data sets the energy models are benchmarked on.

Steel industry energy consumption (UCI 851, Korea, 2018, 15-minute): ``Usage_kWh`` of a steel
plant with the reactive energies, power factors and CO2 measured with it, the time of day, the
weekday and the load type. Published protocols (see the data folder's README): predict
``Usage_kWh`` with a time-ordered split with and without the co-measured columns, and with a
random split with all columns; classify ``Load_Type``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from smartfab.errors import SmartfabError
from smartfab.platform.points import Float64Array, Int64Array

STEEL_FILE = "Steel_industry_data.csv"
TARGET = "Usage_kWh"
# Measured with the energy itself: they describe the same 15 minutes' electricity.
CO_MEASURED = (
    "Lagging_Current_Reactive.Power_kVarh",
    "Leading_Current_Reactive_Power_kVarh",
    "CO2(tCO2)",
    "Lagging_Current_Power_Factor",
    "Leading_Current_Power_Factor",
)
LOAD_TYPES = ("Light_Load", "Medium_Load", "Maximum_Load")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class DatasetError(SmartfabError):
    """A data set file missing or not as expected."""


@dataclass(frozen=True)
class Steel:
    ts: Int64Array  # end of each 15-minute interval, seconds since the epoch (local time)
    usage: Float64Array
    load_type: Int64Array  # index into LOAD_TYPES
    calendar: dict[str, Float64Array]  # NSM, weekday, weekend, day of year
    co_measured: dict[str, Float64Array]

    def __len__(self) -> int:
        return len(self.ts)

    def features(
        self, *, co_measured: bool, load_type: bool = True
    ) -> tuple[list[str], Float64Array]:
        cols = dict(self.calendar)
        if load_type:
            cols["load_type"] = self.load_type.astype(np.float64)
        if co_measured:
            cols |= self.co_measured
            # Active energy follows from reactive energy and power factor: P = Q * pf/sqrt(1-pf²).
            # Trees cannot multiply; given the product they need not.
            for side, q in (("Lagging", CO_MEASURED[0]), ("Leading", CO_MEASURED[1])):
                pf = self.co_measured[f"{side}_Current_Power_Factor"] / 100
                with np.errstate(divide="ignore", invalid="ignore"):
                    p = self.co_measured[q] * pf / np.sqrt(1 - pf * pf)
                cols[f"active_from_{side.lower()}"] = np.where(pf < 0.9999, p, np.nan)
        return list(cols), np.column_stack(list(cols.values()))


def load_steel(folder: str | Path) -> Steel:
    path = Path(folder) / STEEL_FILE
    if not path.is_file():
        raise DatasetError(f"{path}: not found (the steel industry data set, UCI 851)")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    needed = {"date", TARGET, "NSM", "WeekStatus", "Day_of_week", "Load_Type", *CO_MEASURED}
    if not rows or not needed <= set(rows[0]):
        raise DatasetError(f"{path}: expected the columns {sorted(needed)}")
    try:
        ts = np.array([datetime.strptime(r["date"], "%d/%m/%Y %H:%M").timestamp() for r in rows])
        day = [_DAYS.index(r["Day_of_week"]) for r in rows]
        doy = [datetime.strptime(r["date"], "%d/%m/%Y %H:%M").timetuple().tm_yday for r in rows]
        load = [LOAD_TYPES.index(r["Load_Type"]) for r in rows]
        num = {c: np.array([float(r[c]) for r in rows]) for c in (TARGET, "NSM", *CO_MEASURED)}
    except ValueError as e:
        raise DatasetError(f"{path}: {e}") from e
    return Steel(
        ts.astype(np.int64),
        num[TARGET],
        np.array(load, np.int64),
        {
            "nsm": num["NSM"],
            "weekday": np.array(day, np.float64),
            "weekend": np.array([r["WeekStatus"] == "Weekend" for r in rows], np.float64),
            "day_of_year": np.array(doy, np.float64),
        },
        {c: num[c] for c in CO_MEASURED},
    )
