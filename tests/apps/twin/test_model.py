from pathlib import Path

import pytest

from smartfab.apps.twin.model import (
    Calendar,
    TwinError,
    TwinParams,
    format_window,
    parse_window,
    twin_from_plant,
)  # fmt: skip
from smartfab.model.plant import Plant


def test_windows_parse_and_format_round_trip() -> None:
    assert parse_window("Tue 06:10-10:00 production") == (
        86_400 + 6 * 3600 + 600,
        86_400 + 36_000,
        "production",
    )
    start, end, kind = parse_window("Sun 22:00-06:00 planned_stop")  # past midnight
    assert end - start == 8 * 3600 and kind == "planned_stop"
    assert (
        format_window(*parse_window("Fri 14:30-24:00 production")) == "Fri 14:30-24:00 production"
    )
    with pytest.raises(ValueError):
        parse_window("Monday 06:00-07:00 production")
    with pytest.raises(ValueError):
        Calendar(week=["Mon 06:00-08:00 production", "Mon 07:00-09:00 production"])


def test_twin_from_plant_keeps_line_order_and_params_round_trip(tmp_path: Path) -> None:
    plant = Plant.model_validate({"site": {"name": "s", "areas": [{"name": "a", "lines": [{
        "name": "l", "cells": [{"name": f"c{i}", "equipment": [{
            "name": f"m{i}{j}", "ideal_cycle_s": 10 + i + j,
            "signals": [{"name": "state", "unit": "1", "source": {"virtual": True}}],
        } for j in range(2)]} for i in range(2)]}]}]}})  # fmt: skip
    params = twin_from_plant(plant)
    line = params.line("l")
    assert [s.name for s in line.stations] == ["m00", "m01", "m10", "m11"]
    assert line.stations[3].cycle_s.mean == 12
    assert len(line.buffers) == 3
    f = tmp_path / "twin.yaml"
    params.save(f)
    assert TwinParams.load(f) == params
    f.write_text(f.read_text().replace("capacity: 10", "capacity: -1", 1))
    with pytest.raises(TwinError, match="capacity"):
        TwinParams.load(f)
    with pytest.raises(TwinError):
        params.line("nope")
