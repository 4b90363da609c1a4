"""docs/plant-file.md against the schema, so that the reference cannot drift from it: every model
has its section, every field its row there, every example is a valid plant, and ``plant check``
names the section that explains a field it complains about."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from smartfab.model.loader import DOC_SECTIONS, REFERENCE, anchor, check_plant
from smartfab.model.plant import Plant

DOC = Path(__file__).parents[2] / REFERENCE
TEXT = DOC.read_text(encoding="utf-8")
HEADINGS = re.findall(r"^## (.+)$", TEXT, re.M)


def section(heading: str) -> str:
    """The text under ``## heading`` up to the next such heading."""
    start = TEXT.index(f"\n## {heading}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end >= 0 else None]


def models(tp: Any, seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """Every model the schema reaches from ``tp``."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp not in seen:
            seen.add(tp)
            for field in tp.model_fields.values():
                models(field.annotation, seen)
    elif get_origin(tp) is not None or isinstance(tp, types.UnionType):
        for arg in get_args(tp):
            models(arg, seen)
    return seen


def examples() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", TEXT, re.S)


def test_every_model_has_its_section() -> None:
    reached = models(Plant, set())
    assert reached - DOC_SECTIONS.keys() == set()
    assert set(DOC_SECTIONS.values()) <= set(HEADINGS)


@pytest.mark.parametrize("model", sorted(DOC_SECTIONS, key=str), ids=str)
def test_every_field_is_documented_in_its_models_section(model: type[BaseModel]) -> None:
    rows = set(re.findall(r"^\| `(\w+)` \|", section(DOC_SECTIONS[model]), re.M))
    assert set(model.model_fields) - rows == set(), DOC_SECTIONS[model]


# Fragments are checked inside this plant: their signals belong to equipment e, their connections
# and shifts are the plant's.
SKELETON = """
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
                  signals: []
"""


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.split("\n")[0][:30])
def test_every_example_is_a_valid_plant(example: str, tmp_path: Path) -> None:
    data = yaml.safe_load(example)
    if "site" not in data:
        plant = yaml.safe_load(SKELETON)
        assert set(data) <= {"connections", "signals", "shifts", "planned_stops"}, set(data)
        plant["connections"] = data.get("connections", [])
        site = plant["site"]
        for key in ("shifts", "planned_stops"):
            if key in data:
                site[key] = data[key]
        equipment = site["areas"][0]["lines"][0]["cells"][0]["equipment"][0]
        equipment["signals"] = data.get("signals") or [
            {"name": "x", "unit": "1", "source": {"virtual": True}}
        ]
        example = yaml.safe_dump(plant)
    path = tmp_path / "plant.yaml"
    path.write_text(example, encoding="utf-8")
    assert [str(i) for i in check_plant(path)] == []


def test_every_protocol_has_an_example() -> None:
    text = "\n".join(examples())
    for needle in ("opcua:", "table: coil", "table: discrete_input", "table: input", "bit:",
                   "word_order: little", "scale:", "offset:", "unit: 3", "uint64", "float64",
                   "topic: spBv1.0/", "field: values.", "type: enum", "type: string",
                   "type: array", "byte_order:"):  # fmt: skip
        assert needle in text


def test_plant_check_names_the_section_of_the_field(tmp_path: Path) -> None:
    plant = yaml.safe_load(SKELETON)
    plant["connections"] = [{"name": "plc", "protocol": "modbus", "host": "h"}]
    signal = {"name": "x", "unit": "1", "source": {"modbus": {"connection": "plc", "register": 0,
                                                              "table": "coils"}}}  # fmt: skip
    plant["site"]["areas"][0]["lines"][0]["cells"][0]["equipment"][0]["signals"] = [signal]
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(plant), encoding="utf-8")
    (issue,) = check_plant(path)
    assert "table" in issue.field and issue.see == "docs/plant-file.md#modbus-tcp"
    assert str(issue).endswith("(see docs/plant-file.md#modbus-tcp)")
    assert "modbus-tcp" in {anchor(h) for h in HEADINGS}
