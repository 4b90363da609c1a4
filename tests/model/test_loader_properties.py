"""Hostile plant files: whatever the YAML holds, the loader either returns a plant or raises
``PlantError`` whose every issue has a reason (and a line, when the problem is in the text); never
another exception. Inputs are generated YAML documents and mutations of the demo plant: wrong
types, missing fields, unknown keys, huge numbers, unicode, duplicated names, garbled text."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import PlantError, check_plant, load_plant
from smartfab.model.plant import Plant

# The demo plant cut to its first cell (with every connection, shift and stop): the same schema
# and semantics at a small part of the load time (PyYAML's composer is pure Python), so that many
# mutations fit in the time budget.
_DEMO: dict[str, Any] = yaml.safe_load(DEMO_PLANT.read_text(encoding="utf-8"))
_SMALL = copy.deepcopy(_DEMO)
_SMALL["site"]["areas"] = _SMALL["site"]["areas"][:1]
_SMALL["site"]["areas"][0]["lines"] = _SMALL["site"]["areas"][0]["lines"][:1]
_SMALL["site"]["areas"][0]["lines"][0]["cells"] = _SMALL["site"]["areas"][0]["lines"][0]["cells"][
    :1
]

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond int64
    st.floats(),  # NaN and infinities too
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10),  # any unicode, also surrogates
    st.sampled_from(["14:00", "on", "no", "~", "1e999", "-.inf", ".nan", "0x1F", "ÿ"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _outcome(path: Path) -> Plant | PlantError:
    """The loader's answer, checked to be one of the two allowed ones."""
    try:
        plant = load_plant(path)
    except PlantError as exc:
        assert exc.issues, "a PlantError names at least one problem"
        for issue in exc.issues:
            assert issue.reason and str(issue)
            assert issue.line is None or issue.line >= 1
        assert [str(i) for i in check_plant(path)] == [str(i) for i in exc.issues]
        return exc
    assert isinstance(plant, Plant)
    assert check_plant(path) == []
    return plant


def _load_text(text: str | bytes) -> Plant | PlantError:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plant.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        return _outcome(path)


def _dump(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# --- mutations of the demo plant ----------------------------------------------------------------


def _containers(node: object, out: list[Any]) -> list[Any]:
    """Every mapping and list in the tree, depth first."""
    if isinstance(node, dict | list):
        out.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, out)
    return out


@st.composite
def mutated_plants(draw: st.DrawFn) -> dict[str, Any]:
    """The small demo plant with one to three mutations at random places."""
    data = copy.deepcopy(_SMALL)
    for _ in range(draw(st.integers(1, 3))):
        targets = _containers(data, [])
        target = draw(st.sampled_from(targets))
        keys: list[Any] = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["replace", "delete", "unknown", "duplicate", "rename"]))
        if not keys:
            action = "unknown"
        if action == "unknown":  # an unknown key, or an extra item of a list
            if isinstance(target, dict):
                target[draw(st.text(min_size=1, max_size=12))] = draw(values)
            else:
                target.append(draw(values))
            continue
        key = draw(st.sampled_from(keys))
        if action == "replace":  # wrong type, huge number, unicode, ...
            target[key] = draw(values)
        elif action == "delete":  # a missing field or item
            del target[key]
        elif action == "duplicate":  # duplicated names: a list item (or a value) twice
            if isinstance(target, list):
                target.append(copy.deepcopy(target[key]))
            else:
                target[draw(st.text(max_size=8))] = copy.deepcopy(target[key])
        elif isinstance(target[key], dict) and "name" in target[key]:  # rename
            target[key]["name"] = draw(scalars)
    return data


def test_the_unmutated_demo_plants_load() -> None:
    assert isinstance(_load_text(_dump(_SMALL)), Plant)
    assert isinstance(_load_text(DEMO_PLANT.read_bytes()), Plant)


@SETTINGS
@given(mutated_plants())
def test_mutated_demo_plants_load_or_fail_with_plant_error(data: dict[str, Any]) -> None:
    _load_text(_dump(data))


@settings(max_examples=4, deadline=None)
@given(st.data())
def test_mutations_of_the_whole_demo_plant(data: st.DataObject) -> None:
    # The full plant: more lines, shifts, alarms and register maps for the semantic checks.
    plant = copy.deepcopy(_DEMO)
    areas = plant["site"]["areas"]
    line = data.draw(st.sampled_from([li for a in areas for li in a.get("lines", [])]))
    equipment = data.draw(st.sampled_from([e for c in line["cells"] for e in c["equipment"]]))
    signal = data.draw(st.sampled_from(equipment["signals"]))
    key = data.draw(st.sampled_from(sorted(signal)))
    signal[key] = data.draw(values)
    equipment["signals"].append(copy.deepcopy(data.draw(st.sampled_from(equipment["signals"]))))
    _load_text(_dump(plant))


# --- garbled text and generated documents -------------------------------------------------------

_SMALL_TEXT = _dump(_SMALL).encode()


@SETTINGS
@given(st.data())
def test_garbled_demo_text_loads_or_fails_with_plant_error(data: st.DataObject) -> None:
    raw = bytearray(_SMALL_TEXT)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        kind = data.draw(st.sampled_from(["insert", "delete", "flip", "cut"]))
        if kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
                [b"\t", b"&a ", b"*a", b"<<: *a\n", b"!!python/object:os.system ", b"{", b"- ",
                 b": ", b"'", b"\xef\xbb\xbf", b"\x00", "名".encode()]
            ))  # fmt: skip
        elif kind == "delete":
            del raw[at : at + data.draw(st.integers(1, 20))]
        elif kind == "flip" and at < len(raw):
            raw[at] ^= data.draw(st.integers(1, 255))
        else:
            del raw[at:]
    _load_text(bytes(raw))


@SETTINGS
@given(values)
def test_any_yaml_document_loads_or_fails_with_plant_error(doc: object) -> None:
    _load_text(_dump(doc))


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_loads_or_fails_with_plant_error(text: str) -> None:
    assert isinstance(_load_text(text), PlantError)
