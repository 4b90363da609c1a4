"""The warehouse in the plant model: storage zones and units, the floor, the AGV fleet, SKUs and
what the lines draw, with the loader's precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import check_plant, load_plant

ZONE = """
site:
  name: s
  skus:
    - {code: BRG-1, size_mm: [47, 47, 14], weight_kg: 0.1, demand_class: A, per_tote: 40}
  areas:
    - name: prod
      lines:
        - name: l
          materials:
            - {sku: BRG-1, per_part: 2, from_zone: wh, at: [0, 2], min_units: 10, max_units: 50}
          cells:
            - name: c
              equipment:
                - name: e
                  ideal_cycle_s: 10
                  signals:
                    - {name: good, unit: "1", type: int, role: good_count, source: {virtual: true}}
    - name: logistics
      storage_zones:
        - name: wh
          floor:
            grid:
              - "....."
              - ".@@@."
              - "....."
          racks:
            - {name: r1, bays: 4, levels: 3, at: [1, 0]}
          asrs:
            - name: a1
              bays: 20
              levels: 8
              at: [4, 1]
              crane:
                name: crane
                signals:
                  - {name: x, unit: m, source: {virtual: true}}
          docks:
            - {name: in, kind: inbound, at: [0, 0]}
            - {name: out, kind: outbound, at: [4, 2]}
          sorters:
            - {name: sorter, at: [2, 2], chutes: [{name: ch1, dock: out}]}
          fleet:
            manufacturer: acme
            agvs:
              - {name: agv-1, serial: A1, at: [0, 1]}
              - {name: agv-2, serial: A2, at: [2, 0]}
            chargers: [{name: c1, at: [3, 0]}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def issues(tmp_path: Path, text: str) -> list[str]:
    return [str(i) for i in check_plant(write(tmp_path, text))]


def test_a_zone_loads_with_its_units_fleet_and_materials(tmp_path: Path) -> None:
    plant = load_plant(write(tmp_path, ZONE))
    zone = plant.zone("wh")
    assert zone.floor.free((0, 1)) and not zone.floor.free((1, 1))
    assert [u.name for _, _, u in zone.units()] == ["r1", "a1", "sorter", "in", "out"]
    assert zone.fleet is not None and zone.fleet.connection is None
    assert plant.sku("BRG-1").demand_class == "A"
    # the crane is equipment whose signals are the plant's, after the lines'
    assert [r.path for r in plant.iter_signals()] == [
        "s/prod/l/c/e/good",
        "s/logistics/wh/a1/crane/x",
    ]
    assert [e.path for e in plant.iter_equipment()] == ["s/prod/l/c/e"]
    assert plant.work_calendar("s/logistics/wh/a1/crane").timezone == "UTC"


@pytest.mark.parametrize(
    ("old", "new", "where", "why"),
    [
        ("{name: r1, bays: 4, levels: 3, at: [1, 0]}", "{name: r1, bays: 4, levels: 3, at: [1, 1]}",
         "racks[0].at = [1, 1]", "a blocked cell ('@')"),
        ("{name: in, kind: inbound, at: [0, 0]}", "{name: in, kind: inbound, at: [9, 0]}",
         "docks[0].at = [9, 0]", "outside the floor of zone 'wh' (5 x 3 cells)"),
        ("- \".@@@.\"", "- \".@@@..\"", "floor.grid[1] = '.@@@..'",
         "row 1 has 6 cells, row 0 has 5"),
        ("- \".@@@.\"", "- \".@x@.\"", "floor.grid[1] = '.@x@.'", "'x' is no floor cell"),
        ("serial: A2", "serial: A1", "agvs[1].serial = 'A1'", "duplicate serial"),
        ("sku: BRG-1, per_part", "sku: BRG-2, per_part", "materials[0].sku = 'BRG-2'",
         "no such SKU; did you mean 'BRG-1'?"),
        ("from_zone: wh", "from_zone: wx", "materials[0].from_zone = 'wx'",
         "no such storage zone (zones: wh)"),
        ("dock: out}", "dock: in}", "chutes[0].dock = 'in'", "this one is inbound"),
        ("{name: in, kind: inbound", "{name: r1, kind: inbound", "docks[0].name = 'r1'",
         "duplicate unit name in this zone"),
        ("manufacturer: acme", "manufacturer: acme\n            connection: nowhere",
         "fleet.connection = 'nowhere'", "no such connection"),
    ],
)  # fmt: skip
def test_a_bad_warehouse_value_is_reported_at_its_line(
    tmp_path: Path, old: str, new: str, where: str, why: str
) -> None:
    assert old in ZONE
    text = ZONE.replace(old, new, 1)
    line = max(i for i, t in enumerate(text.splitlines(), 1) if new.split("\n")[-1] in t)
    (issue,) = issues(tmp_path, text)
    assert f"plant.yaml:{line}:" in issue and where in issue and why in issue, issue


def test_schema_errors_in_the_warehouse_name_their_field(tmp_path: Path) -> None:
    text = ZONE.replace("bays: 20", "bays: 0").replace("weight_kg: 0.1", "weight_kg: -1")
    found = issues(tmp_path, text)
    assert len(found) == 2, found
    assert "site.skus[0].weight_kg = -1" in found[0] and "#skus" in found[0]
    assert "asrs[0].bays = 0" in found[1] and "#storage-units" in found[1]
    floor = ZONE.replace("          floor:\n", "          floor:\n            nodes: {a: [0, 0]}\n")
    (both,) = issues(tmp_path, floor)
    assert "exactly one of grid: (rows) or nodes:" in both


def test_an_area_needs_lines_or_zones(tmp_path: Path) -> None:
    data = yaml.safe_load(ZONE)
    data["site"]["areas"][1]["storage_zones"] = []
    (issue,) = issues(tmp_path, yaml.safe_dump(data))
    assert "needs lines: or storage_zones:" in issue


def test_a_graph_floor(tmp_path: Path) -> None:
    data = yaml.safe_load(ZONE)
    zone = data["site"]["areas"][1]["storage_zones"][0]
    zone["floor"] = {"nodes": {"a": [0, 0], "b": [5, 0]}, "edges": [["a", "b"], ["a", "c"]]}
    found = issues(tmp_path, yaml.safe_dump(data))
    assert any("floor.edges[1] = 'c': no such node" in f for f in found), found
    assert any("no node of zone 'wh'" in f for f in found), found


def test_the_demo_warehouse() -> None:
    plant = load_plant(DEMO_PLANT)
    zone = plant.zone("central")
    assert zone.fleet is not None and len(zone.fleet.agvs) == 8
    assert len(zone.asrs) == 2 and zone.sorters[0].chutes
    line = plant.site.areas[2].lines[0]
    assert {m.sku for m in line.materials} <= {k.code for k in plant.site.skus}
