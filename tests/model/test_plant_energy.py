"""The plant file's energy and process blocks: wrong units, overlapping or missing tariff
periods, and process signals that are not there are refused with file and line."""

from __future__ import annotations

from pathlib import Path

import yaml

from smartfab.model.loader import check_plant

PLANT = """
site:
  name: s
  areas:
    - name: a
      lines:
        - name: l
          cells:
            - name: c
              equipment:
                - name: e
                  signals:
                    - {name: feed, unit: mm/min, range: [1000, 3000], writable: true,
                       source: {opcua: {connection: plc, node: "ns=2;s=feed"}}}
                    - {name: inspection, unit: "1", type: enum, values: {0: good, 1: burn},
                       source: {virtual: true}}
connections:
  - {name: plc, protocol: opcua, endpoint: "opc.tcp://plc:4840"}
"""


def _check(tmp_path: Path, energy: object = None, process: object = None) -> list[str]:
    plant = yaml.safe_load(PLANT)
    if energy is not None:
        plant["energy"] = energy
    if process is not None:
        plant["site"]["areas"][0]["lines"][0]["cells"][0]["equipment"][0]["process"] = process
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(plant, sort_keys=False), encoding="utf-8")
    return [str(i) for i in check_plant(path)]


TARIFF = {"currency": "CNY", "unit": "CNY/kWh", "periods": [
    {"name": "valley", "start": "23:00", "end": "07:00", "price": 0.35},
    {"name": "day", "start": "07:00", "end": "23:00", "price": 0.9}]}  # fmt: skip


def test_a_valid_energy_and_process_block(tmp_path: Path) -> None:
    energy = {"tariff": TARIFF, "emission_factor": {"value": 0.57, "unit": "kgCO2e/kWh"}}
    process = {"parameters": [{"signal": "feed", "max_step": 200}], "inspection": "inspection",
               "max_defect_rate": 0.03, "takt_s": 120}  # fmt: skip
    assert _check(tmp_path, energy, process) == []


def test_a_price_per_mwh_is_refused_with_its_line(tmp_path: Path) -> None:
    (issue,) = _check(tmp_path, {"tariff": TARIFF | {"unit": "CNY/MWh"}})
    assert "plant.yaml:" in issue and "CNY/MWh" in issue and "per kWh" in issue


def test_overlapping_and_missing_periods_are_refused(tmp_path: Path) -> None:
    peak = {"name": "peak", "start": "10:00", "end": "12:00", "price": 1.2}
    overlap = TARIFF | {"periods": [*TARIFF["periods"], peak]}
    (issue,) = _check(tmp_path, {"tariff": overlap})
    assert "'day' and 'peak' overlap on mon at 10:00" in issue and "plant.yaml:" in issue
    gap = TARIFF | {"periods": TARIFF["periods"][:1]}
    (issue,) = _check(tmp_path, {"tariff": gap})
    assert "no period covers mon 07:00" in issue


def test_an_emission_factor_in_an_unknown_unit_is_refused(tmp_path: Path) -> None:
    (issue,) = _check(tmp_path, {"emission_factor": {"value": 0.57, "unit": "kg/kWh"}})
    assert "kgCO2e/kWh" in issue and "plant.yaml:" in issue


def test_process_signals_must_exist_and_be_writable(tmp_path: Path) -> None:
    process = {"parameters": [{"signal": "inspection", "max_step": 1}], "inspection": "inspection",
               "max_defect_rate": 0.03, "takt_s": 120}  # fmt: skip
    (issue,) = _check(tmp_path, process=process)
    assert "not a writable signal" in issue
