"""Read a plant file into the schema of ``smartfab.model.plant`` and report every problem in it.

The YAML is read as PyYAML's node tree (``yaml.compose``) rather than straight into Python data,
so that every value keeps its line and column: schema errors (pydantic) and semantic errors
(unknown units, overlapping Modbus registers, ...) are reported at the value they are about, with
the field path, the offending value and why. All problems are collected, never only the first.

Semantic checks need a schema-valid plant to look at: when the schema finds problems, the parts
they are in (the list item holding a bad value, an unknown field) are left out and the rest is
validated again, so that one run reports the schema problems and the semantic ones of everything
else. Only a YAML syntax error stops the reading, at the place where YAML cannot go on.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
import types
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NamedTuple, Protocol, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from smartfab.errors import SmartfabError
from smartfab.model.plant import (
    BIT_TABLES,
    FREE_FLOOR,
    STATE_NAMES,
    TABLE_SIZE_FIELD,
    TABLE_TITLES,
    WEEKDAYS,
    Agv,
    AgvFleet,
    Area,
    AsrsAisle,
    Charger,
    Chute,
    Conveyor,
    Crane,
    DigitalInventory,
    Dock,
    Economics,
    EmissionFactor,
    EnergySettings,
    EnergyTariff,
    Equipment,
    EquipmentAlarms,
    FaultAlarm,
    FlatlineAlarm,
    FlatlineRule,
    Floor,
    GtpStation,
    LimitAlarm,
    Line,
    LineMaterial,
    ModbusBinding,
    ModbusConnection,
    MqttBinding,
    MqttConnection,
    OpcUaBinding,
    OpcUaConnection,
    OrderDemand,
    PlannedStop,
    Plant,
    ProcessParameter,
    ProcessSettings,
    QualityRange,
    QualityRules,
    Rack,
    RateAlarm,
    Shift,
    ShiftBreak,
    Signal,
    SignalAlarms,
    SignalRef,
    Site,
    Sku,
    Slug,
    Software,
    Sorter,
    Source,
    SpikeRule,
    StaleAlarm,
    StaleRule,
    StateAlarm,
    StorageZone,
    TariffPeriod,
    WorkCell,
)
from smartfab.model.units import UnknownUnitError, lookup_unit

# Where a value sits in the plain data (and, list for list, in the model): keys and list indexes
# from the root. Keys are whatever YAML made of them, e.g. ints in ``states:``.
DataPath = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class PlantIssue:
    """One problem in a plant file."""

    file: str
    line: int | None  # 1-based; None when the problem is the file itself (missing, unreadable)
    column: int | None  # 1-based
    field: str  # e.g. "site.areas[0].lines[1].cells[0].equipment[2].signals[3].unit"; "" if none
    value: str | None  # repr of the offending value; None when there is none (a missing field)
    reason: str
    section: str = ""  # where docs/plant-file.md explains the field (an anchor), if known

    @property
    def location(self) -> str:
        """``file:line:column``, or only the file when the problem has no line."""
        return self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"

    @property
    def see(self) -> str:
        """The reference's section that explains the field, e.g. "docs/plant-file.md#modbus"."""
        return f"{REFERENCE}#{self.section}" if self.section else ""

    def __str__(self) -> str:
        what = self.field if self.value is None else f"{self.field} = {self.value}"
        text = (
            f"{self.location}: {what}: {self.reason}" if what else f"{self.location}: {self.reason}"
        )
        return f"{text} (see {self.see})" if self.section else text


REFERENCE = "docs/plant-file.md"  # every field of the plant file, with examples per protocol

# The section of the reference that documents each model's fields, by heading (a test holds the
# reference to it: every model has one, and every field is in its section's table).
DOC_SECTIONS: dict[type[BaseModel], str] = {
    Plant: "The file",
    Site: "Site",
    Area: "Areas, lines and cells",
    Line: "Areas, lines and cells",
    WorkCell: "Areas, lines and cells",
    Equipment: "Equipment",
    Signal: "Signals",
    Source: "Sources",
    OpcUaConnection: "OPC UA",
    OpcUaBinding: "OPC UA",
    ModbusConnection: "Modbus TCP",
    ModbusBinding: "Modbus TCP",
    MqttConnection: "MQTT",
    MqttBinding: "MQTT",
    Shift: "Shifts and planned stops",
    ShiftBreak: "Shifts and planned stops",
    PlannedStop: "Shifts and planned stops",
    SignalAlarms: "Alarms",
    LimitAlarm: "Alarms",
    RateAlarm: "Alarms",
    StaleAlarm: "Alarms",
    FlatlineAlarm: "Alarms",
    EquipmentAlarms: "Alarms",
    StateAlarm: "Alarms",
    FaultAlarm: "Alarms",
    QualityRules: "Data quality rules",
    QualityRange: "Data quality rules",
    StaleRule: "Data quality rules",
    FlatlineRule: "Data quality rules",
    SpikeRule: "Data quality rules",
    DigitalInventory: "Digital transformation",
    Software: "Digital transformation",
    LineMaterial: "Line materials",
    Sku: "SKUs",
    StorageZone: "Warehouse",
    Floor: "Warehouse floor",
    Rack: "Storage units",
    AsrsAisle: "Storage units",
    Crane: "Storage units",
    GtpStation: "Storage units",
    Sorter: "Storage units",
    Chute: "Storage units",
    Conveyor: "Storage units",
    Dock: "Storage units",
    AgvFleet: "AGV fleet",
    Agv: "AGV fleet",
    Charger: "AGV fleet",
    OrderDemand: "Customer demand",
    ProcessSettings: "Process optimisation",
    ProcessParameter: "Process optimisation",
    EnergySettings: "Energy",
    EnergyTariff: "Energy",
    TariffPeriod: "Energy",
    EmissionFactor: "Energy",
    Economics: "Economics",
}


def anchor(heading: str) -> str:
    """The anchor a Markdown heading gets (GitHub's rule): lowercase, punctuation dropped,
    spaces as hyphens."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _section(path: tuple[object, ...]) -> str:
    """The anchor of the section documenting the value at ``path`` (the deepest model on it)."""
    for end in range(len(path), -1, -1):
        model = _model_at(tuple(p for p in path[:end] if isinstance(p, int | str)))
        if model is not None:
            return anchor(DOC_SECTIONS.get(model, "The file"))
    return anchor("The file")


class PlantError(SmartfabError):
    """A plant file with problems; ``issues`` holds all of them."""

    def __init__(self, issues: Sequence[PlantIssue]) -> None:
        self.issues = tuple(issues)
        lines = [str(issue) for issue in self.issues]
        if len(lines) > 1:
            lines.append(f"{len(lines)} problems in {self.issues[0].file}")
        super().__init__("\n".join(lines))


def load_plant(path: str | Path) -> Plant:
    """The plant described by the YAML file at ``path``; raises ``PlantError`` listing every
    problem if there is any."""
    plant, issues = _read(Path(path))
    if issues or plant is None:
        raise PlantError(issues)
    return plant


def check_plant(path: str | Path) -> list[PlantIssue]:
    """Every problem in the plant file at ``path``, in file order; empty when it is valid."""
    return _read(Path(path))[1]


def read_plant_text(text: str, file: str) -> tuple[Plant | None, list[PlantIssue]]:
    """The plant in ``text`` (the content of a plant file that is not on disk yet, named
    ``file`` in the issues) and every problem in it, checked exactly as a file is: the plant is
    None when there is any problem."""
    plant, issues = _read_text(text, file)
    return (None if issues else plant), issues


def format_path(path: DataPath) -> str:
    """``("site", "areas", 0, "name")`` -> ``"site.areas[0].name"``."""
    out = ""
    for part in path:
        if isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        elif isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f"[{part!r}]"
    return out


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _read(path: Path) -> tuple[Plant | None, list[PlantIssue]]:
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = f"cannot read plant file: {exc.strerror or exc}"
        return None, [PlantIssue(file, None, None, "", None, reason)]
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some Windows editors write
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        reason = (
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded; save the file as UTF-8"
        )
        return None, [PlantIssue(file, line, column, "", None, reason)]
    return _read_text(text, file)


def _read_text(text: str, file: str) -> tuple[Plant | None, list[PlantIssue]]:
    reader = _Reader(file)
    data = reader.parse(text)
    if data is None:
        return None, reader.issues
    issues = list(reader.issues)
    plant, schema, findings = _validate(data)
    issues += (i for e, path in schema if (i := reader.schema_issue(e, path)) is not None)
    issues += (reader.finding_issue(f) for f in findings)
    issues.sort(key=lambda i: (i.line or 0, i.column or 0))
    return (plant if not schema else None), issues


_MAX_ROUNDS = 10  # each round leaves out at least one more part; the plant tree is ~7 levels deep


def _validate(
    data: dict[object, object],
) -> tuple[Plant | None, list[tuple[ErrorDetails, DataPath]], list[_Finding]]:
    """The plant (None unless all of it is valid), the schema errors with their data paths, and the
    semantic findings of the valid part, all paths in ``data``'s coordinates.

    Each round validates ``data`` without the parts that held the errors found so far, until what
    is left is valid; its semantic checks then run. Errors that only leaving parts out causes (a
    list emptied, a required field removed) are not reported."""
    drop: set[DataPath] = set()  # list items left out
    remove: set[DataPath] = set()  # mapping keys left out
    errors: list[tuple[ErrorDetails, DataPath]] = []
    for _ in range(_MAX_ROUNDS):
        view = _Pruned(data, drop, remove)
        try:
            plant = Plant.model_validate(view.data)
        except ValidationError as exc:
            progress = False
            for err in exc.errors(include_url=False):
                path = view.original(_data_path(view.data, err["loc"]))
                if not view.caused(path):
                    errors.append((err, path))
                part, is_item = _part_of(data, path, extra=err["type"] == "extra_forbidden")
                if part is not None and part not in (drop if is_item else remove):
                    (drop if is_item else remove).add(part)
                    progress = True
            if not progress:
                return None, errors, []
            continue
        incomplete = view.shortened
        findings = [
            f._replace(
                path=view.original(f.path),
                first=None if f.first is None else view.original(f.first),
            )
            for f in _findings(plant, incomplete)
        ]
        return plant, errors, findings
    return None, errors, []


def _part_of(data: object, path: DataPath, *, extra: bool) -> tuple[DataPath | None, bool]:
    """The part of ``data`` to leave out for an error at ``path``, and whether it is a list item:
    an unknown field itself, else the innermost list item holding the value, else the value's
    key; None when there is nothing to leave out (a required field missing outside any list)."""
    containers = [data]
    for part in path:
        found, child = _child(containers[-1], part)
        if not found:
            break
        containers.append(child)
    if extra and len(containers) == len(path) + 1 and path:
        return path, False
    for end in range(len(containers) - 1, 0, -1):
        if isinstance(containers[end - 1], list):
            return path[:end], True
    if len(containers) == len(path) + 1 and path:
        return path, False
    return None, False


class _Pruned:
    """``data`` without some list items and mapping keys, and the way back from its paths (whose
    list indexes shift when items are left out) to those of ``data``."""

    def __init__(self, data: dict[object, object], drop: set[DataPath], remove: set[DataPath]):
        self._drop = drop
        self._remove = remove
        self._kept: dict[DataPath, list[int]] = {}  # shortened list -> original index of each item
        self._cut: set[DataPath] = set()  # original paths of what was left out
        # Paths, in the pruned data, of the lists and mappings that lost something.
        self.shortened: set[DataPath] = set()
        copy = self._copy(data, (), ())
        assert isinstance(copy, dict)
        self.data: dict[object, object] = copy

    def _copy(self, value: object, old: DataPath, new: DataPath) -> object:
        if isinstance(value, dict):
            out: dict[object, object] = {}
            for key, item in value.items():
                if (*old, key) in self._remove:
                    self._cut.add((*old, key))
                    self.shortened.add(new)
                else:
                    out[key] = self._copy(item, (*old, key), (*new, key))
            return out
        if isinstance(value, list):
            kept = [i for i in range(len(value)) if (*old, i) not in self._drop]
            if len(kept) < len(value):
                self._kept[new] = kept
                self._cut.update((*old, i) for i in range(len(value)) if i not in kept)
                self.shortened.add(new)
            return [self._copy(value[i], (*old, i), (*new, j)) for j, i in enumerate(kept)]
        return value

    def original(self, path: DataPath) -> DataPath:
        """The path in the original data of ``path`` in the pruned data."""
        out: list[object] = []
        for i, part in enumerate(path):
            kept = self._kept.get(path[:i])
            if kept is not None and isinstance(part, int) and 0 <= part < len(kept):
                part = kept[part]
            out.append(part)
        return tuple(out)

    def caused(self, path: DataPath) -> bool:
        """Whether an error at ``path`` (original coordinates) may come only from leaving parts
        out: it is at a part left out (a required key) or around one (its list, their models)."""
        return any(cut[: len(path)] == path for cut in self._cut)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- YAML to plain data, with positions ---------------------------------------------------------

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"


class _Reader:
    """Plain Python data from a YAML node tree, remembering the node of every value and key, and
    turning problems at a data path into issues at the matching line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[PlantIssue] = []
        self._values: dict[DataPath, yaml.Node] = {}
        self._keys: dict[DataPath, yaml.Node] = {}
        self._open: set[int] = set()  # collections being built, to stop recursive aliases
        # Values that could not be read (already reported): the schema errors they cause are noise.
        self._unreadable: set[DataPath] = set()
        self._constructor = yaml.constructor.SafeConstructor()

    def parse(self, text: str) -> dict[object, object] | None:
        """The top-level mapping, or None when there is none to validate (issues say why)."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            self._syntax_error(exc)
            return None
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow in a file
            line = text.count("\n", 0, exc.position) + 1
            column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
            reason = f"character #x{exc.character:04x} is not allowed in YAML"
            self.issues.append(PlantIssue(self.file, line, column, "", None, reason))
            return None
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == _NULL_TAG):
            reason = "the file is empty; a plant file needs at least site: with its areas"
            self.issues.append(PlantIssue(self.file, None, None, "", None, reason))
            return None
        if not isinstance(root, yaml.MappingNode):
            kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
            reason = f"a plant file must be a mapping (site:, connections:), not {kind}"
            self._issue(root, (), None, reason)
            return None
        data = self._build(root, ())
        return data if isinstance(data, dict) else None

    def _syntax_error(self, exc: yaml.MarkedYAMLError) -> None:
        mark = exc.problem_mark or exc.context_mark
        reason = f"invalid YAML: {exc.problem or exc.context}"
        if exc.context and exc.problem and exc.context_mark is not None:
            reason = (
                f"invalid YAML: {exc.context} on line {exc.context_mark.line + 1}: {exc.problem}"
            )
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        self.issues.append(PlantIssue(self.file, line, column, "", None, reason))

    def _build(self, node: yaml.Node, path: DataPath) -> object:
        self._values[path] = node
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        expected = _MAP_TAG if isinstance(node, yaml.MappingNode) else _SEQ_TAG
        if node.tag != expected:
            self._unreadable_value(node, path, None, f"unsupported YAML tag {node.tag!r}")
            return None
        if id(node) in self._open:
            self._unreadable_value(node, path, None, "recursive alias: this value contains itself")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [self._build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: DataPath) -> object:
        try:
            return self._constructor.construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            reason = f"invalid YAML value: {exc.problem}"
            self._unreadable_value(node, path, _show(node.value), reason)
            return None

    def _unreadable_value(
        self, node: yaml.Node, path: DataPath, value: str | None, reason: str
    ) -> None:
        self._issue(node, path, value, reason)
        self._unreadable.add(path)

    def _mapping(self, node: yaml.MappingNode, path: DataPath) -> dict[object, object]:
        # Merge keys (<<: *defaults) first, so that the explicit keys' positions win.
        result: dict[object, object] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else []
                for source in sources or [value_node]:
                    merged = self._build(source, path)
                    if not isinstance(merged, dict):
                        reason = "a merge key (<<) takes a mapping or a list of mappings"
                        self._issue(source, path, None, reason)
                        continue
                    for key, value in merged.items():
                        result.setdefault(key, value)
        self._values[path] = node  # building the merged mappings pointed it at them
        explicit: dict[object, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in explicit:
                first = explicit[key].start_mark.line + 1
                reason = f"duplicate key, already set on line {first}; YAML would keep only one"
                self._issue(key_node, (*path, key), None, reason)
                continue
            explicit[key] = key_node
            self._keys[(*path, key)] = key_node
            result[key] = self._build(value_node, (*path, key))
        return result

    def _key(self, node: yaml.Node, path: DataPath) -> object:
        """The key's value, or None (and an issue) when it cannot be one."""
        if not isinstance(node, yaml.ScalarNode):
            self._issue(node, path, None, "a mapping key must be a single value")
            return None
        if node.tag == _NULL_TAG:
            self._issue(node, path, None, "empty mapping key")
            return None
        return self._scalar(node, path)

    def _issue(self, node: yaml.Node, path: DataPath, value: str | None, reason: str) -> None:
        self.issues.append(self._issue_at_node(node, path, value, reason))

    def _issue_at_node(
        self, node: yaml.Node, path: DataPath, value: str | None, reason: str
    ) -> PlantIssue:
        mark = node.start_mark
        return PlantIssue(
            self.file, mark.line + 1, mark.column + 1, format_path(path), value, reason
        )

    def _node_at(self, path: DataPath, *, key: bool = False) -> yaml.Node:
        """The node of ``path``, of its key if asked and known, else of the nearest ancestor
        (a value left to its default is not in the file; its mapping is)."""
        if key and path in self._keys:
            return self._keys[path]
        for end in range(len(path), -1, -1):
            node = self._values.get(path[:end])
            if node is not None:
                return node
        raise AssertionError("the root is always known")

    def _issue_at(
        self,
        path: DataPath,
        value: str | None,
        reason: str,
        *,
        key: bool = False,
        loc: tuple[object, ...] | None = None,
    ) -> PlantIssue:
        """The issue at ``path``, naming the reference's section for ``loc`` (the schema's
        location, which tells the protocol of a connection; default: ``path``)."""
        issue = self._issue_at_node(self._node_at(path, key=key), path, value, reason)
        return dataclasses.replace(issue, section=_section(path if loc is None else loc))

    def finding_issue(self, finding: _Finding) -> PlantIssue:
        reason = finding.reason
        if finding.first is not None:
            reason += f" on line {self._node_at(finding.first).start_mark.line + 1}"
        return self._issue_at(finding.path, finding.value, reason)

    def schema_issue(self, err: ErrorDetails, path: DataPath) -> PlantIssue | None:
        """The issue for a pydantic error at ``path`` of the data, or None when it only repeats a
        YAML issue."""
        loc = err["loc"]
        kind = err["type"]
        if any(path[:end] in self._unreadable for end in range(len(path) + 1)):
            return None
        value: str | None = _show(err["input"])
        reason = _first_lower(err["msg"].removeprefix("Value error, "))
        if kind == "missing":
            return self._issue_at(path, None, "required field is missing", loc=loc)
        if kind == "extra_forbidden":
            return self._issue_at(path, value, _unknown_field(loc), key=True, loc=loc)
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            ctx = err.get("ctx", {})
            path = (*path, str(ctx["discriminator"]).strip("'"))
            if kind == "union_tag_not_found":
                return self._issue_at(path, None, "required field is missing", loc=loc)
            reason = f"must be one of {ctx['expected_tags']}"
            return self._issue_at(path, _show(ctx["tag"]), reason, loc=loc)
        if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == _SLUG:
            reason = (
                "not a valid name: use up to 63 lowercase letters, digits, '-' and '_', "
                "starting with a letter or digit"
            )
        if loc and loc[-1] == "[key]":
            return self._issue_at(path, _show(path[-1]), reason, key=True, loc=loc)
        node = self._node_at(path)
        if kind == "string_type" and node.tag == _BOOL_TAG and isinstance(node, yaml.ScalarNode):
            # YAML 1.1 reads unquoted off/on/yes/no as booleans: the classic "state off" trap.
            reason += f"; YAML reads an unquoted {node.value} as a boolean, write '{node.value}'"
        elif kind == "string_type" and isinstance(node, yaml.ScalarNode) and ":" in node.value:
            # YAML 1.1 reads an unquoted 14:00 as a base-60 number (840): the clock-time trap.
            reason += f"; YAML reads an unquoted {node.value} as a number, write '{node.value}'"
        return self._issue_at(path, value, reason, loc=loc)


_SLUG: str = get_args(Slug)[1].pattern


def _data_path(data: dict[object, object], loc: tuple[int | str, ...]) -> DataPath:
    """The data path of a pydantic error location: the same keys and indexes, minus the union
    tags and ``[key]`` markers pydantic inserts, which are not in the data."""
    path: list[object] = []
    current: object = data
    for i, part in enumerate(loc):
        found, child = _child(current, part)
        if found:
            current = child
        elif i == len(loc) - 1 and part != "[key]":
            current = None  # a missing field: the path names it, the position is its mapping's
        else:
            continue
        path.append(part)
    return tuple(path)


def _child(container: object, part: object) -> tuple[bool, object]:
    if isinstance(container, dict) and part in container:
        return True, container[part]
    if isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container):
        return True, container[part]
    return False, None


def _unknown_field(loc: tuple[int | str, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown field"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    return f"unknown field; allowed here: {', '.join(allowed)}"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that validates the value at ``loc``, following the schema's types."""
    tp: Any = Plant
    for part in loc:
        tp = _unwrap(tp)
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif origin in (list, tuple):
            tp = get_args(tp)[0]
        elif origin is dict:
            tp = get_args(tp)[1]
        elif origin in (Union, types.UnionType):
            # pydantic names the chosen member of a tagged union by its tag, e.g. "modbus"
            members = [m for m in get_args(tp) if _tag_of(m) == part]
            if len(members) != 1:
                return None
            tp = members[0]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """``tp`` without ``Annotated`` metadata and without ``| None``."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, types.UnionType):
            others = [a for a in get_args(tp) if a is not type(None)]
            if len(others) == 1:
                tp = others[0]
                continue
        return tp


def _tag_of(model: object) -> object:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    protocol = model.model_fields.get("protocol")
    return get_args(protocol.annotation)[0] if protocol is not None else None


# --- semantic checks on a schema-valid plant ----------------------------------------------------


class _Finding(NamedTuple):
    path: DataPath
    value: str | None
    reason: str
    first: DataPath | None = None  # the earlier value a duplicate clashes with: its line is added


class _HasName(Protocol):
    @property
    def name(self) -> str: ...


class _Named(NamedTuple):
    path: DataPath
    label: str  # the site/area/line/cell/equipment[/signal] path people read


_SINGLE_ROLES = ("state", "fault", "good_count", "scrap_count")


def _findings(plant: Plant, incomplete: set[DataPath]) -> Iterator[_Finding]:
    """The semantic problems of ``plant``. ``incomplete`` holds the paths of the lists and
    mappings that lost parts with schema errors: what is missing from them is not reported."""
    yield from _duplicate_names(plant.connections, ("connections",), "connection")
    site = plant.site
    try:
        zoneinfo.ZoneInfo(site.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        reason = "unknown time zone: use an IANA name such as 'Asia/Shanghai' or 'UTC'"
        yield _Finding(("site", "timezone"), _show(site.timezone), reason)
    yield from _shift_findings(site.shifts, ("site", "shifts"))
    yield from _stop_findings(site.planned_stops, ("site", "planned_stops"))
    yield from _duplicate_names(site.areas, ("site", "areas"), "area")
    for ai, area in enumerate(site.areas):
        area_path = ("site", "areas", ai)
        yield from _duplicate_names(area.lines, (*area_path, "lines"), "line")
        for li, line in enumerate(area.lines):
            line_path = (*area_path, "lines", li)
            yield from _shift_findings(line.shifts or [], (*line_path, "shifts"))
            yield from _stop_findings(line.planned_stops or [], (*line_path, "planned_stops"))
            yield from _duplicate_names(line.cells, (*line_path, "cells"), "cell")
            for ci, cell in enumerate(line.cells):
                cell_path = (*line_path, "cells", ci)
                yield from _duplicate_names(cell.equipment, (*cell_path, "equipment"), "equipment")
    for equipment, eq_path in _equipment_paths(plant):
        yield from _equipment_findings(equipment, eq_path)
        yield from _alarm_findings(equipment, eq_path, incomplete)
    yield from _warehouse_findings(plant, incomplete)
    yield from _binding_findings(plant, ("connections",) in incomplete)


def _equipment_paths(plant: Plant) -> Iterator[tuple[Equipment, DataPath]]:
    """Every equipment with its data path, in the order of ``Plant.iter_signals``: the lines'
    first, then the storage zones' (cranes, then the sorters' machines)."""
    for ai, area in enumerate(plant.site.areas):
        for li, line in enumerate(area.lines):
            for ci, cell in enumerate(line.cells):
                path = ("site", "areas", ai, "lines", li, "cells", ci, "equipment")
                yield from ((e, (*path, ei)) for ei, e in enumerate(cell.equipment))
    for ai, area in enumerate(plant.site.areas):
        for zi, zone in enumerate(area.storage_zones):
            zone_path = ("site", "areas", ai, "storage_zones", zi)
            for ui, aisle in enumerate(zone.asrs):
                yield aisle.crane, (*zone_path, "asrs", ui, "crane")
            for ui, sorter in enumerate(zone.sorters):
                path = (*zone_path, "sorters", ui, "equipment")
                yield from ((e, (*path, ei)) for ei, e in enumerate(sorter.equipment))


def _warehouse_findings(plant: Plant, incomplete: set[DataPath]) -> Iterator[_Finding]:
    """SKU codes, zone and unit names, everything on a floor standing on a free cell of it, the
    AGV fleet's connection, and what the lines draw from where."""
    site = plant.site
    yield from _duplicate_codes(site.skus)
    zones: list[tuple[StorageZone, DataPath]] = [
        (z, ("site", "areas", ai, "storage_zones", zi))
        for ai, a in enumerate(site.areas)
        for zi, z in enumerate(a.storage_zones)
    ]
    first: dict[str, DataPath] = {}
    for z, path in zones:
        earlier = first.setdefault(z.name, path)
        if earlier is not path:  # zone names are unique in the site: lines name them alone
            reason = "duplicate storage zone name, already used"
            yield _Finding((*path, "name"), _show(z.name), reason, (*earlier, "name"))
        area = site.areas[int(str(path[2]))]
        if any(li.name == z.name for li in area.lines):
            reason = f"a line of area {area.name!r} has this name: their paths would be one"
            yield _Finding((*path, "name"), _show(z.name), reason)
        yield from _zone_findings(plant, z, path)
    by_name = {z.name: z for z, _ in zones}
    codes = {k.code for k in site.skus}
    skus_complete = ("site", "skus") not in incomplete
    # A zone left out with schema errors (or its area) may be the one a line names.
    zones_complete = not any(
        p == ("site", "areas") or (p[:2] == ("site", "areas") and p[-1] == "storage_zones")
        for p in incomplete
    )
    for ai, area in enumerate(site.areas):
        for li, line in enumerate(area.lines):
            counting = [
                e.name for c in line.cells for e in c.equipment
                if any(s.role == "good_count" for s in e.signals)
            ]  # fmt: skip
            for mi, m in enumerate(line.materials):
                path = ("site", "areas", ai, "lines", li, "materials", mi)
                if m.sku not in codes and skus_complete:
                    close = difflib.get_close_matches(m.sku, codes, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else " under site.skus"
                    yield _Finding((*path, "sku"), _show(m.sku), f"no such SKU{hint}")
                zone = by_name.get(m.from_zone)
                if zone is None and zones_complete:
                    known = ", ".join(by_name) or "none"
                    reason = f"no such storage zone (zones: {known})"
                    yield _Finding((*path, "from_zone"), _show(m.from_zone), reason)
                elif zone is not None:
                    yield from _floor_cell(zone, m.at, (*path, "at"))
                if m.equipment is not None and m.equipment not in counting:
                    reason = (
                        "not an equipment of this line with a good_count signal "
                        f"({', '.join(counting) or 'the line has none'})"
                    )
                    yield _Finding((*path, "equipment"), _show(m.equipment), reason)
                elif m.equipment is None and not counting:
                    reason = "the line has no equipment with a good_count signal to consume by"
                    yield _Finding((*path, "sku"), _show(m.sku), reason)


def _duplicate_codes(skus: Sequence[Sku]) -> Iterator[_Finding]:
    first: dict[str, int] = {}
    for i, sku in enumerate(skus):
        j = first.setdefault(sku.code, i)
        if j != i:
            path = ("site", "skus")
            yield _Finding((*path, i, "code"), _show(sku.code), "duplicate SKU code, already used",
                           (*path, j, "code"))  # fmt: skip


def _zone_findings(plant: Plant, zone: StorageZone, path: DataPath) -> Iterator[_Finding]:
    floor = zone.floor
    if floor.grid is not None:
        width = len(floor.grid[0])
        for y, row in enumerate(floor.grid):
            bad = next((c for c in row if c not in FREE_FLOOR and c not in "@OTW"), None)
            if len(row) != width:
                reason = f"row {y} has {len(row)} cells, row 0 has {width}: a grid is rectangular"
                yield _Finding((*path, "floor", "grid", y), _show(row), reason)
            elif bad is not None:
                reason = f"{bad!r} is no floor cell: '.' free, '@' 'O' 'T' 'W' blocked (MovingAI)"
                yield _Finding((*path, "floor", "grid", y), _show(row), reason)
    else:
        nodes = floor.nodes or {}
        for ei, edge in enumerate(floor.edges or []):
            for end in edge:
                if end not in nodes:
                    reason = "no such node of the floor"
                    yield _Finding((*path, "floor", "edges", ei), _show(end), reason)
    names: dict[str, DataPath] = {}
    for field, i, unit in zone.units():
        unit_path = (*path, field, i)
        earlier = names.setdefault(unit.name, unit_path)
        if earlier is not unit_path:
            reason = "duplicate unit name in this zone, already used"
            yield _Finding((*unit_path, "name"), _show(unit.name), reason, (*earlier, "name"))
        yield from _floor_cell(zone, unit.at, (*unit_path, "at"))
    docks = {d.name: d for d in zone.docks}
    for si, sorter in enumerate(zone.sorters):
        yield from _duplicate_names(sorter.chutes, (*path, "sorters", si, "chutes"), "chute")
        yield from _duplicate_names(
            sorter.equipment, (*path, "sorters", si, "equipment"), "equipment"
        )
        for ci, chute in enumerate(sorter.chutes):
            if chute.dock is not None and chute.dock not in docks:
                reason = f"no such dock in zone {zone.name!r} ({', '.join(docks) or 'none'})"
                yield _Finding((*path, "sorters", si, "chutes", ci, "dock"), _show(chute.dock),
                               reason)  # fmt: skip
            elif chute.dock is not None and docks[chute.dock].kind != "outbound":
                reason = "a chute feeds an outbound dock, and this one is inbound"
                yield _Finding((*path, "sorters", si, "chutes", ci, "dock"), _show(chute.dock),
                               reason)  # fmt: skip
    for ci, conveyor in enumerate(zone.conveyors):
        for end in ("from_unit", "to_unit"):
            name = getattr(conveyor, end)
            if name not in names:
                reason = f"no such unit in zone {zone.name!r}"
                yield _Finding((*path, "conveyors", ci, end), _show(name), reason)
    fleet = zone.fleet
    if fleet is None:
        return
    fleet_path = (*path, "fleet")
    conn = next((c for c in plant.connections if c.name == fleet.connection), None)
    if fleet.connection is not None and (conn is None or conn.protocol != "mqtt"):
        reason = (
            _no_such_connection(fleet.connection, "mqtt", plant)
            if conn is None
            else f"connection {conn.name!r} is {conn.protocol}; VDA 5050 travels over MQTT"
        )
        yield _Finding((*fleet_path, "connection"), _show(fleet.connection), reason)
    serials: dict[str, int] = {}
    yield from _duplicate_names(fleet.agvs, (*fleet_path, "agvs"), "AGV")
    yield from _duplicate_names(fleet.chargers, (*fleet_path, "chargers"), "charger")
    for i, agv in enumerate(fleet.agvs):
        j = serials.setdefault(agv.serial, i)
        if j != i:
            at = (*fleet_path, "agvs")
            reason = "duplicate serial, already used"
            yield _Finding((*at, i, "serial"), _show(agv.serial), reason, (*at, j, "serial"))
        yield from _floor_cell(zone, agv.at, (*fleet_path, "agvs", i, "at"))
    for i, charger in enumerate(fleet.chargers):
        yield from _floor_cell(zone, charger.at, (*fleet_path, "chargers", i, "at"))


def _floor_cell(zone: StorageZone, cell: tuple[int, int], path: DataPath) -> Iterator[_Finding]:
    floor = zone.floor
    if floor.free(cell):
        return
    if floor.grid is not None:
        rows, cols = len(floor.grid), len(floor.grid[0])
        x, y = cell
        reason = (
            f"outside the floor of zone {zone.name!r} ({cols} x {rows} cells)"
            if y >= rows or x >= len(floor.grid[y])
            else f"a blocked cell ({floor.grid[y][x]!r}) of zone {zone.name!r}'s floor"
        )
    else:
        reason = f"no node of zone {zone.name!r}'s floor is at this cell"
    yield _Finding(path, _show(list(cell)), reason)


def _duplicate_names(items: Sequence[_HasName], path: DataPath, what: str) -> Iterator[_Finding]:
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        name = item.name
        if name in first:
            reason = f"duplicate {what} name, already used"
            yield _Finding((*path, i, "name"), _show(name), reason, (*path, first[name], "name"))
        else:
            first[name] = i


def _equipment_findings(equipment: Equipment, path: DataPath) -> Iterator[_Finding]:
    yield from _duplicate_names(equipment.signals, (*path, "signals"), "signal")
    known = ", ".join(sorted(STATE_NAMES))
    state_codes: dict[str, int] = {}
    for code, name in equipment.states.items():
        if name not in STATE_NAMES:
            close = difflib.get_close_matches(name, STATE_NAMES, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known states: {known}"
            yield _Finding((*path, "states", code), _show(name), f"unknown state; {hint}")
        elif name in state_codes:
            reason = f"state {name!r} already has code {state_codes[name]}; one code per state"
            yield _Finding((*path, "states", code), _show(name), reason)
        else:
            state_codes[name] = code

    role_at: dict[str, int] = {}
    for si, signal in enumerate(equipment.signals):
        sig_path = (*path, "signals", si)
        try:
            lookup_unit(signal.unit)
        except UnknownUnitError as exc:
            yield _Finding((*sig_path, "unit"), _show(signal.unit), exc.reason)
        if signal.range is not None and signal.range[0] >= signal.range[1]:
            yield _Finding(
                (*sig_path, "range"), _show(list(signal.range)), "low must be below high"
            )
        role = signal.role
        if role in _SINGLE_ROLES:
            if role in role_at:
                first = equipment.signals[role_at[role]].name
                reason = f"at most one {role} signal per equipment, and {first!r} is one"
                yield _Finding(
                    (*sig_path, "role"),
                    _show(role),
                    reason,
                    (*path, "signals", role_at[role], "role"),
                )
            else:
                role_at[role] = si
        if role == "fault" and not equipment.faults:
            reason = "a fault signal needs the equipment's faults: table (code: description)"
            yield _Finding((*sig_path, "role"), _show(role), reason)
    if "good_count" in role_at and equipment.ideal_cycle_s is None:
        good = equipment.signals[role_at["good_count"]].name
        reason = (
            f"required: signal {good!r} counts good parts, and OEE performance needs the "
            "ideal cycle time in seconds"
        )
        yield _Finding((*path, "ideal_cycle_s"), None, reason)


_WEEK_MIN = 7 * 24 * 60


def _shift_findings(shifts: Sequence[Shift], path: DataPath) -> Iterator[_Finding]:
    """Duplicate names, breaks outside their shift or overlapping, and shifts that overlap in the
    week (a night shift reaching into the next morning's early shift)."""
    yield from _duplicate_names(shifts, path, "shift")
    worked: list[tuple[int, int, DataPath, str]] = []  # (start, end) in minutes of the week
    for i, shift in enumerate(shifts):
        a, b = shift.minutes
        breaks: list[tuple[int, int, int]] = []
        for k, brk in enumerate(shift.breaks):
            x, y = shift.break_minutes(brk)
            if not (a <= x and y <= b):
                reason = (
                    f"break {brk.start}-{brk.end} is not within shift {shift.start}-{shift.end}"
                )
                yield _Finding((*path, i, "breaks", k, "start"), _show(brk.start), reason)
                continue
            clash = next((j for j, (p, q, _) in enumerate(breaks) if x < q and p < y), None)
            if clash is not None:
                reason = f"overlaps break {shift.breaks[breaks[clash][2]].start}-..."
                yield _Finding(
                    (*path, i, "breaks", k, "start"), _show(brk.start), reason,
                    (*path, i, "breaks", breaks[clash][2], "start"),
                )  # fmt: skip
                continue
            breaks.append((x, y, k))
        seen: set[str] = set()
        for day in shift.days:
            if day in seen:
                yield _Finding((*path, i, "days"), _show(day), "weekday listed twice")
                continue
            seen.add(day)
            offset = WEEKDAYS.index(day) * 24 * 60
            worked.append((a + offset, b + offset, (*path, i, "start"), f"{shift.name} {day}"))
    worked.sort()
    # The week wraps: Sunday's night shift meets Monday's early shift.
    wrapped = [*worked, *((x + _WEEK_MIN, y + _WEEK_MIN, p, n) for x, y, p, n in worked[:1])]
    for (_, end, first, name), (start, _, later, other) in itertools.pairwise(wrapped):
        if start < end:
            reason = f"shifts overlap: {other} starts before {name} ends"
            yield _Finding(later, None, reason, first)


def _stop_findings(stops: Sequence[PlannedStop], path: DataPath) -> Iterator[_Finding]:
    for i, stop in enumerate(stops):
        if stop.end <= stop.start:
            reason = f"a planned stop must end after it starts ({stop.start:%Y-%m-%d %H:%M})"
            yield _Finding((*path, i, "end"), _show(str(stop.end)), reason)


def _alarm_findings(
    equipment: Equipment, path: DataPath, incomplete: set[DataPath]
) -> Iterator[_Finding]:
    rules = equipment.alarms
    roles = {s.role for s in equipment.signals}
    if (*path, "signals") in incomplete:  # a signal with the role may be the one left out
        roles |= {"state", "fault"}
    if rules is not None:
        names = set(equipment.states.values())
        if rules.states and "state" not in roles:
            reason = "state alarms need a signal with role: state on this equipment"
            yield _Finding((*path, "alarms", "states"), None, reason)
        for name in rules.states:
            if name not in names:
                reason = f"no such state of this equipment; its states: {', '.join(sorted(names))}"
                yield _Finding((*path, "alarms", "states", name), _show(name), reason)
        faults = rules.faults
        if faults is not None:
            if "fault" not in roles:
                reason = "fault alarms need a signal with role: fault on this equipment"
                yield _Finding((*path, "alarms", "faults"), None, reason)
            known = ", ".join(map(str, equipment.faults)) or "none"
            for k, code in enumerate(faults.codes or []):
                if code not in equipment.faults:
                    reason = f"not a code of the equipment's faults: table ({known})"
                    yield _Finding((*path, "alarms", "faults", "codes", k), _show(code), reason)
            for code in faults.priorities:
                if code not in (faults.codes or equipment.faults):
                    reason = f"not one of the alarmed fault codes ({known})"
                    yield _Finding(
                        (*path, "alarms", "faults", "priorities", code), _show(code), reason
                    )
    for si, signal in enumerate(equipment.signals):
        yield from _limit_findings(signal, (*path, "signals", si, "alarms"))


def _limit_findings(signal: Signal, path: DataPath) -> Iterator[_Finding]:
    """Limits in the order low_low < low < high < high_high (where given)."""
    alarms = signal.alarms
    if alarms is None:
        return
    order = ("low_low", "low", "high", "high_high")
    given = [(k, r.limit) for k in order if (r := getattr(alarms, k)) is not None]
    for (lower, a), (upper, b) in itertools.pairwise(given):
        if not a < b:
            reason = f"{upper} limit must be above the {lower} limit ({a:g})"
            yield _Finding((*path, upper, "limit"), _show(b), reason, (*path, lower, "limit"))


def _binding_findings(plant: Plant, connections_incomplete: bool) -> Iterator[_Finding]:
    connections: dict[str, OpcUaConnection | ModbusConnection | MqttConnection] = {}
    for c in plant.connections:
        connections.setdefault(c.name, c)
    registers: dict[tuple[str, int, int, str], list[tuple[int, int, _Named]]] = {}
    bits: dict[tuple[str, int, int, str], list[tuple[int, int, _Named]]] = {}  # register bits
    first_read: dict[tuple[str, ...], _Named] = {}  # (connection, OPC UA node or MQTT topic, field)
    for ref, path in signal_paths(plant):
        source = ref.signal.source
        binding = source.opcua or source.modbus or source.mqtt
        if binding is None:
            continue
        protocol = source.protocol
        src_path = (*path, "source", protocol)
        conn = connections.get(binding.connection)
        if conn is None and connections_incomplete:
            continue  # its connection may be one with schema errors, reported already
        if conn is None or conn.protocol != protocol:
            reason = (
                _no_such_connection(binding.connection, protocol, plant)
                if conn is None
                else f"connection {conn.name!r} is {conn.protocol}, not {protocol}"
            )
            yield _Finding((*src_path, "connection"), _show(binding.connection), reason)
            continue
        if isinstance(binding, ModbusBinding):
            if isinstance(conn, ModbusConnection):  # it is, the protocols match; this tells mypy
                named = _Named((*src_path, "register"), ref.path)
                signal = ref.signal
                last = binding.register + binding.span(signal.kind, signal.length) - 1
                size = conn.table_size(binding.table)
                if last >= size:
                    layout = {
                        "number": binding.type,
                        "text": f"a string of {signal.length} characters",
                        "array": f"an array of {signal.length} {binding.type}",
                    }[signal.kind]
                    what = (
                        f"{binding.table} {binding.register} is"
                        if binding.table in BIT_TABLES
                        else f"{layout} needs registers {binding.register}-{last},"
                    )
                    reason = (
                        f"{what} past the end of {conn.name!r} "
                        f"({TABLE_SIZE_FIELD[binding.table]}: {size})"
                    )
                    yield _Finding(named.path, _show(binding.register), reason)
                # Keyed by device, not connection: two connections to one device share registers.
                unit = conn.unit if binding.unit is None else binding.unit
                device = (conn.host, conn.port, unit, binding.table)
                if binding.bit is not None:
                    register, shift = binding.bit_location
                    bits.setdefault(device, []).append((register, shift, named))
                else:
                    registers.setdefault(device, []).append((binding.register, last, named))
            continue
        address: tuple[str, ...]
        if isinstance(binding, OpcUaBinding):
            address, field, what = (conn.name, binding.node), "node", "node"
        else:
            address = (conn.name, binding.topic, binding.field)
            field, what = "field", "topic and field"
        named = _Named((*src_path, field), ref.path)
        earlier = first_read.setdefault(address, named)
        if earlier is not named:
            reason = f"{what} already read on this connection by {earlier.label}"
            yield _Finding(named.path, _show(address[-1]), reason, earlier.path)
    for key in sorted(registers.keys() | bits.keys()):
        host, port, unit, table = key
        where = f"{host}:{port} unit {unit}, {TABLE_TITLES[table]}"
        spans = registers.get(key, [])
        yield from _overlaps(spans, where)
        yield from _bit_clashes(bits.get(key, []), spans, where)


def _bit_clashes(
    bits: list[tuple[int, int, _Named]], spans: list[tuple[int, int, _Named]], device: str
) -> Iterator[_Finding]:
    """Register bit fields may share a register with each other, one bit each, but not with a
    whole value: a device image could not hold both."""
    taken: dict[tuple[int, int], _Named] = {}
    for register, shift, named in bits:
        whole = next((s for s in spans if s[0] <= register <= s[1]), None)
        if whole is not None:
            reason = (
                f"bit {shift} of register {register} is inside registers {whole[0]}-{whole[1]} "
                f"of {whole[2].label} ({device})"
            )
            yield _Finding(named.path, _show(register), reason, whole[2].path)
            continue
        earlier = taken.setdefault((register, shift), named)
        if earlier is not named:
            reason = f"bit {shift} of register {register} is already read by {earlier.label}"
            yield _Finding(named.path, _show(register), reason, earlier.path)


def _overlaps(spans: list[tuple[int, int, _Named]], device: str) -> Iterator[_Finding]:
    # Sweep in register order (file order among equal starts), tracking the span reaching furthest.
    reach: tuple[int, int, _Named] | None = None
    for start, end, named in sorted(spans, key=lambda s: s[0]):
        if reach is not None and start <= reach[1]:
            reason = (
                f"registers {start}-{end} overlap registers {reach[0]}-{reach[1]} of "
                f"{reach[2].label} ({device})"
            )
            yield _Finding(named.path, _show(start), reason, reach[2].path)
        if reach is None or end > reach[1]:
            reach = (start, end, named)


def signal_paths(plant: Plant) -> Iterator[tuple[SignalRef, DataPath]]:
    """Each signal's reference (as ``Plant.iter_signals`` yields it) with its data path."""
    paths = (
        (*path, "signals", si)
        for equipment, path in _equipment_paths(plant)
        for si in range(len(equipment.signals))
    )
    yield from zip(plant.iter_signals(), paths, strict=True)


def _no_such_connection(name: str, protocol: str, plant: Plant) -> str:
    same = [c.name for c in plant.connections if c.protocol == protocol]
    close = difflib.get_close_matches(name, same, n=1)
    if close:
        return f"no such connection; did you mean {close[0]!r}?"
    if same:
        return f"no such connection; {protocol} connections: {', '.join(same)}"
    return f"no such connection, and no {protocol} connection is declared under connections:"
