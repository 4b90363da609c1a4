"""Changes to a plant file that keep it as people wrote it: comments, key order, quoting and flow
style survive (ruamel.yaml's round trip), and only what a change touches is rewritten.

A change is a list of operations on the file's data, each addressed by a location: the keys from
the top, where a list item is chosen by its ``name`` (``{"name": "cnc-01"}``) or, for lists of
things without one, by its index::

    ["site", "areas", {"name": "machining"}, "lines", {"name": "cnc-line-1"}, ...]

The operations are ``set`` (a mapping key, made with the mappings on its way if missing, or a
list item), ``remove`` (a key or an item), ``insert`` (an item into a list, made if missing) and
``move`` (an item, with its comments, into another list). Applying a change gives the new text
and the change that undoes it: each operation's inverse, located by names in the file as that
operation left it, in reverse order. Undoing is applying the inverse, so it works after other,
unrelated changes too, and its own inverse redoes.

Nothing here judges the result: the loader does (:func:`check`), exactly as ``plant check``, and
its issues are handed back per operation, with the field relative to what the operation wrote, so
that a form can show each one beside its input.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    PlainScalarString,
    ScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.util import load_yaml_guess_indent

from smartfab.errors import SmartfabError
from smartfab.model.loader import PlantIssue, format_path, read_plant_text
from smartfab.model.plant import Plant

Step = str | int | dict[str, str]
DataPath = tuple[object, ...]  # keys and list indexes, as the loader's issues name them


class Operation(BaseModel):
    """One operation of a change (see the module's description)."""

    op: Literal["set", "remove", "insert", "move"]
    at: list[Step] = Field(
        min_length=1, description="Where: keys, list items by {name: ...} or by index"
    )
    value: Any = Field(default=None, description="set, insert: the new value (JSON)")
    to: list[Step] | None = Field(default=None, description="move: the list the item goes to")
    index: int | None = Field(
        default=None, ge=0, description="insert, move: the position in the list (default: last)"
    )
    style: Literal["plain", "single", "double"] | None = Field(
        default=None,
        description="set, text value: how it is quoted (default: as the text it replaces, "
        "quoted where YAML would read it as something else)",
    )


@dataclass(frozen=True, slots=True)
class EditIssue:
    """A problem of a change: at operation ``op`` (None: not one operation's), ``field`` relative
    to what that operation wrote (empty: the operation itself), and the line of the new text."""

    op: int | None
    field: str
    value: str | None
    reason: str
    line: int | None = None
    column: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "op": self.op, "field": self.field, "value": self.value, "reason": self.reason,
            "line": self.line, "column": self.column,
        }  # fmt: skip

    def __str__(self) -> str:
        where = f"operation {self.op}" if self.op is not None else "the plant file"
        what = f"{self.field} = {self.value}" if self.value is not None else self.field
        return f"{where}: {what + ': ' if what else ''}{self.reason}"


class EditError(SmartfabError):
    """A change refused; ``issues`` says where and why. Nothing was written."""

    def __init__(self, issues: Sequence[EditIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(str(i) for i in self.issues))


@dataclass(frozen=True, slots=True)
class Change:
    """One saved edit (or undo), from the audit log."""

    seq: int
    ts_us: int
    actor: str
    summary: str
    base: str  # the revision it was made on
    revision: str  # the revision it made
    diff: str
    undo_of: int | None = None  # the edit it undid
    undone_by: int | None = None  # the undo that undid it

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "ts_us": self.ts_us, "actor": self.actor, "summary": self.summary,
            "base": self.base, "revision": self.revision, "diff": self.diff,
            "undo_of": self.undo_of, "undone_by": self.undone_by,
        }  # fmt: skip


class EditConflict(SmartfabError):
    """The file is no longer at the revision a change was based on; ``changes`` are the edits
    saved since (empty when the file was changed outside smartfab)."""

    def __init__(self, base: str, current: str, changes: Sequence[Change], why: str = "") -> None:
        self.base, self.current, self.changes = base, current, tuple(changes)
        by = ", ".join(sorted({c.actor for c in self.changes})) or "someone, outside smartfab"
        super().__init__(
            why
            or f"the plant file changed since revision {base} (now {current}, by {by}): "
            "look at the change, then make yours again on the current file"
        )


@dataclass(frozen=True, slots=True)
class Applied:
    """A change applied to a text: the new text, the change that undoes it, and where each
    operation wrote (a data path of the new text, for its issues)."""

    text: str
    inverse: list[Operation]
    wrote: list[DataPath] = field(default_factory=list)


def revision(text: str) -> str:
    """The revision of a plant file's text: what an edit says it was based on."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def unified_diff(before: str, after: str, name: str) -> str:
    """The change as a unified diff with three lines of context."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def asset_location(path: str) -> list[Step]:
    """The location of the asset or signal at an ISA-95 path (site/area/line/cell/equipment/
    signal), e.g. ``shenyang/machining`` -> ``["site", "areas", {"name": "machining"}]``."""
    parts = [p for p in path.strip("/").split("/") if p]
    levels = ("areas", "lines", "cells", "equipment", "signals")
    if not parts or len(parts) > len(levels) + 1:
        raise SmartfabError(f"{path!r} is not a path of site/area/line/cell/equipment/signal")
    out: list[Step] = ["site"]
    for level, name in zip(levels, parts[1:], strict=False):
        out += [level, {"name": name}]
    return out


# --- the document -----------------------------------------------------------------------------


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096  # never fold a long line the author wrote on one
    return y


class _Document:
    def __init__(self, text: str) -> None:
        self.text = text
        self._yaml = _yaml()
        try:
            data, indent, dash = load_yaml_guess_indent(text, yaml=self._yaml)
        except YAMLError as exc:
            issue = EditIssue(None, "", None, f"the plant file is not YAML: {exc}")
            raise EditError([issue]) from None
        if not isinstance(data, CommentedMap):
            raise EditError([EditIssue(None, "", None, "the plant file is not a mapping")])
        self.root: CommentedMap = data
        # Written as the author indents: "- " at the key's column or further in.
        indent, dash = indent or 2, dash or 0
        self._yaml.indent(mapping=max(indent - dash, 1), sequence=indent, offset=dash)

    def dump(self) -> str:
        """The text of the document as changed; every line the change did not touch as the
        original has it (ruamel.yaml writes a few things otherwise: a plain text another tool
        folded over lines, for one)."""
        edited = self._write(self.root)
        if self.text == edited:
            return edited
        baseline = self._write(_Document(self.text).root)
        return _keep_layout(self.text, baseline, edited)

    def _write(self, root: CommentedMap) -> str:
        out = io.StringIO()
        self._yaml.dump(root, out)
        return out.getvalue()

    def resolve(self, at: Sequence[Step], op: int) -> tuple[Any, object, DataPath]:
        """(the container, the key or index in it, the data path) of location ``at``: every step
        but the last must exist; the last names a key (which may be missing) or an item."""
        node: Any = self.root
        path: list[object] = []
        for i, step in enumerate(at):
            key = self._key(node, step, at[: i + 1], op)
            if i == len(at) - 1:
                return node, key, (*path, key)
            if not _has(node, key):
                raise _missing(op, at[: i + 1])
            node = node[key]
            path.append(key)
        raise AssertionError("a location has at least one step")

    def _key(self, node: Any, step: Step, where: Sequence[Step], op: int) -> object:
        if isinstance(node, CommentedMap):
            if isinstance(step, dict):
                raise _bad(op, where, "a mapping is addressed by its keys, not by name")
            return step
        if isinstance(node, CommentedSeq):
            if isinstance(step, int) and not isinstance(step, bool):
                if not 0 <= step < len(node):
                    raise _bad(op, where, f"no item {step}: the list has {len(node)}")
                return step
            if isinstance(step, dict) and len(step) == 1:
                ((field_, wanted),) = step.items()
                found = [
                    i for i, item in enumerate(node)
                    if isinstance(item, CommentedMap) and item.get(field_) == wanted
                ]  # fmt: skip
                if not found:
                    raise _missing(op, where)
                return found[0]
            raise _bad(op, where, "a list item is chosen by {name: ...} or by its index")
        raise _bad(op, where, "neither a mapping nor a list: nothing to address in it")

    def locate(self, path: DataPath) -> list[Step]:
        """``path`` (keys and indexes) as a location that names list items where they have a
        unique name, so that it still holds after items before them are added or removed."""
        node: Any = self.root
        out: list[Step] = []
        for key in path:
            if isinstance(node, CommentedSeq) and isinstance(key, int):
                item = node[key]
                name = item.get("name") if isinstance(item, CommentedMap) else None
                unique = name is not None and sum(
                    isinstance(x, CommentedMap) and x.get("name") == name for x in node
                ) == 1  # fmt: skip
                out.append({"name": str(name)} if unique else key)
            else:
                out.append(key)  # type: ignore[arg-type]  # YAML keys here are str or int
            node = node[key] if _has(node, key) else None
        return out


def _keep_layout(original: str, baseline: str, edited: str) -> str:
    """``edited`` (the changed document as ruamel.yaml writes it), with the lines that ruamel.yaml
    writes otherwise than ``original`` (``baseline``: the unchanged document as it writes it)
    taken from ``original`` wherever the change left them alone.

    The baseline's lines are aligned with the original's (equal runs, and runs written
    otherwise) and with the edited lines. The baseline is cut into segments at the ends of its
    runs, except inside a changed part; a segment whose lines the change kept is written as the
    original has it, one it changed as ruamel.yaml writes it."""
    if original == baseline:
        return edited
    o, b, e = (x.splitlines(keepends=True) for x in (original, baseline, edited))
    runs = difflib.SequenceMatcher(None, b, o, autojunk=False).get_opcodes()
    edits = difflib.SequenceMatcher(None, b, e, autojunk=False).get_opcodes()
    changed = [(i1, i2) for tag, i1, i2, _, _ in edits if tag != "equal"]

    def at(k: int) -> int:
        """Where the baseline's line boundary ``k`` is in the edited lines (lines inserted at a
        boundary come before it)."""
        for tag, i1, i2, j1, _ in edits:
            if (tag == "equal" and i1 <= k < i2) or (tag != "equal" and i1 == k < i2):
                return j1 + k - i1 if tag == "equal" else j1
        return len(e)

    out: list[str] = []
    segment: list[tuple[str, int, int, int, int]] = []
    start = 0
    for run in runs:
        segment.append(run)
        end = run[2]
        if any(i1 < end < i2 for i1, i2 in changed) and run is not runs[-1]:
            continue
        new, old = e[at(start) : at(end)], b[start:end]
        kept = [line for _, _, _, j1, j2 in segment for line in o[j1:j2]]
        if all(tag == "equal" for tag, *_ in segment):
            out += new
        elif new == old:
            out += kept
        elif old and new[: len(old)] == old:
            out += kept + new[len(old) :]
        elif old and new[-len(old) :] == old:
            out += new[: -len(old)] + kept
        else:
            out += new
        segment, start = [], end
    return "".join(out)


def _has(node: Any, key: object) -> bool:
    if isinstance(node, CommentedMap):
        return key in node
    return isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node)


def _show(at: Sequence[Step]) -> str:
    return format_path(tuple(next(iter(s.values())) if isinstance(s, dict) else s for s in at))


def _missing(op: int, at: Sequence[Step]) -> EditError:
    return EditError([EditIssue(op, "", _show(at), "no such place in the plant file")])


def _bad(op: int, at: Sequence[Step], why: str) -> EditError:
    return EditError([EditIssue(op, "", _show(at), why)])


# --- values -------------------------------------------------------------------------------------

_INT_KEY = re.compile(r"-?\d+")


def to_yaml(value: Any) -> Any:
    """A JSON value as ruamel.yaml writes it in a plant file: mappings and lists of mappings in
    block style, short lists of plain values in flow style ([0, 100]), codes as whole-number
    keys (JSON has only text keys), and text quoted wherever the loader (YAML 1.1) would read it
    plain as something else: off, yes, 06:00."""
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            key = int(k) if isinstance(k, str) and _INT_KEY.fullmatch(k) else k
            out[key] = to_yaml(v)
        return out
    if isinstance(value, list):
        seq = CommentedSeq(to_yaml(v) for v in value)
        if all(not isinstance(v, dict | list) for v in value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and _resolves_otherwise(value):
        return SingleQuotedScalarString(value)
    return value


_STYLES: dict[str, type[ScalarString]] = {
    "plain": PlainScalarString, "single": SingleQuotedScalarString,
    "double": DoubleQuotedScalarString,
}  # fmt: skip


def _styled(value: Any, style: str | None) -> Any:
    """A text value in the quoting ``style`` asked for (plain only where YAML reads it as text)."""
    if not isinstance(value, str) or style is None:
        return to_yaml(value)
    if style == "plain" and _resolves_otherwise(value):
        return SingleQuotedScalarString(value)
    return _STYLES[style](value)


def _style_of(value: Any) -> Literal["plain", "single", "double"] | None:
    if isinstance(value, SingleQuotedScalarString):
        return "single"
    if isinstance(value, DoubleQuotedScalarString):
        return "double"
    return "plain" if isinstance(value, str) else None


_RESOLVER = yaml.resolver.Resolver()  # the loader's (PyYAML, YAML 1.1) reading of plain scalars


def _resolves_otherwise(text: str) -> bool:
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag != "tag:yaml.org,2002:str" or text != text.strip() or not text


def to_json(value: Any) -> Any:
    """A value of the document as plain JSON data (keys as text)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)  # a date the file writes unquoted: as its text


# --- applying a change ------------------------------------------------------------------------


def apply(text: str, ops: Sequence[Operation]) -> Applied:
    """``text`` with the operations applied in order; raises EditError (naming the operation)
    when one cannot be: a place that does not exist, a key where an item is needed."""
    doc = _Document(text)
    inverse: list[Operation] = []
    wrote: list[DataPath] = []
    for i, op in enumerate(ops):
        undo, path = _apply_one(doc, op, i)
        inverse[:0] = undo
        wrote.append(path)
    return Applied(doc.dump(), inverse, wrote)


def _apply_one(doc: _Document, op: Operation, i: int) -> tuple[list[Operation], DataPath]:
    if op.op == "set":
        return _set(doc, op, i)
    if op.op == "remove":
        container, key, path = doc.resolve(op.at, i)
        if not _has(container, key):
            raise _missing(i, op.at)
        old = to_json(container[key])
        del container[key]
        _tidy(doc, container, path[:-1])
        parent = doc.locate(path[:-1])
        if isinstance(container, CommentedSeq):
            assert isinstance(key, int)
            return [Operation(op="insert", at=parent, value=old, index=key)], path[:-1]
        return [Operation(op="set", at=[*parent, key], value=old)], path[:-1]  # type: ignore[list-item]
    if op.op == "insert":
        seq, path = _list_at(doc, op.at, i, create=True)
        at = len(seq) if op.index is None else min(op.index, len(seq))
        seq.insert(at, to_yaml(op.value))
        return [Operation(op="remove", at=doc.locate((*path, at)))], (*path, at)
    # move: the item itself, comments and all
    container, key, path = doc.resolve(op.at, i)
    if not _has(container, key):
        raise _missing(i, op.at)
    if not isinstance(container, CommentedSeq):
        raise _bad(i, op.at, "move takes a list item")
    if op.to is None:
        raise _bad(i, op.at, "move needs to: the list the item goes to")
    assert isinstance(key, int)
    item = container.pop(key)
    _tidy(doc, container, path[:-1])
    try:
        seq, to_path = _list_at(doc, op.to, i, create=True)
    except EditError:
        container.insert(key, item)
        raise
    at = len(seq) if op.index is None else min(op.index, len(seq))
    seq.insert(at, item)
    back = Operation(op="move", at=doc.locate((*to_path, at)), to=doc.locate(path[:-1]), index=key)
    return [back], (*to_path, at)


def _set(doc: _Document, op: Operation, i: int) -> tuple[list[Operation], DataPath]:
    # Mappings missing on the way are made; the inverse then removes the outermost one made.
    node: Any = doc.root
    made: DataPath | None = None
    path: list[object] = []
    for n, step in enumerate(op.at[:-1]):
        key = doc._key(node, step, op.at[: n + 1], i)
        if not _has(node, key):
            if not isinstance(node, CommentedMap):
                raise _missing(i, op.at[: n + 1])
            node[key] = CommentedMap()
            made = made or (*path, key)
        node = node[key]
        path.append(key)
    key = doc._key(node, op.at[-1], op.at, i)
    if isinstance(node, CommentedSeq) and not _has(node, key):
        raise _missing(i, op.at)
    full = (*path, key)
    if made is None and _has(node, key):
        old, style = to_json(node[key]), _style_of(node[key])
        _replace(node, key, _styled(op.value, op.style))
        return [Operation(op="set", at=doc.locate(full), value=old, style=style)], full
    node[key] = _styled(op.value, op.style)
    return [Operation(op="remove", at=doc.locate(made or full))], full


def _replace(node: Any, key: Any, value: Any) -> None:
    """Set a value, keeping the style of a plain one it replaces (a scalar's quotes where the new
    one needs none, a flow list's flow style)."""
    old = node[key]
    if isinstance(old, CommentedSeq) and isinstance(value, CommentedSeq):
        if old.fa.flow_style():
            value.fa.set_flow_style()
        else:
            value.fa.set_block_style()
    if isinstance(old, CommentedMap) and isinstance(value, CommentedMap) and old.fa.flow_style():
        value.fa.set_flow_style()
    node[key] = value


def _tidy(doc: _Document, container: Any, path: DataPath) -> None:
    """An emptied list (at ``path``) written as [], without the comments that were about its
    items: left on it, or on its key, they would be written where YAML does not allow them."""
    if not isinstance(container, CommentedSeq) or container:
        return
    container.ca.comment = None
    container.ca.items.clear()
    container.fa.set_flow_style()
    parent: Any = doc.root
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, CommentedMap):
        parent.ca.items.pop(path[-1], None)


def _list_at(
    doc: _Document, at: Sequence[Step], i: int, *, create: bool
) -> tuple[CommentedSeq, DataPath]:
    container, key, path = doc.resolve(at, i)
    if not _has(container, key):
        if not (create and isinstance(container, CommentedMap)):
            raise _missing(i, at)
        container[key] = CommentedSeq()
    seq = container[key]
    if not isinstance(seq, CommentedSeq):
        raise _bad(i, at, "not a list")
    return seq, path


# --- judging the result -------------------------------------------------------------------------


def check(text: str, file: str, wrote: Sequence[DataPath]) -> tuple[Plant | None, list[EditIssue]]:
    """The plant of ``text`` and its problems as ``plant check`` finds them, each given to the
    operation whose written part holds it (the innermost), with the field relative to it."""
    plant, issues = read_plant_text(text, file)
    return plant, [issue_of(issue, wrote) for issue in issues]


def issue_of(issue: PlantIssue, wrote: Sequence[DataPath]) -> EditIssue:
    op, rest = owner(issue.field, wrote)
    return EditIssue(op, rest, issue.value, issue.reason, issue.line, issue.column)


def owner(field_: str, wrote: Sequence[DataPath]) -> tuple[int | None, str]:
    """The operation whose written part holds ``field_`` (a full field path, as an issue names
    it; the innermost one) and the field relative to it; (None, ``field_``) when none does."""
    best: tuple[int, int, str] | None = None  # (length of the written path, op, rest)
    for op, path in enumerate(wrote):
        prefix = format_path(path)
        rest = _below(field_, prefix)
        if rest is not None and (best is None or len(prefix) >= best[0]):
            best = (len(prefix), op, rest)
    return (None, field_) if best is None else (best[1], best[2])


def _below(field_: str, prefix: str) -> str | None:
    """``field_`` relative to ``prefix`` ("" for itself), or None when it is not at or below."""
    if field_ == prefix:
        return ""
    if field_.startswith(prefix + "."):
        return field_[len(prefix) + 1 :]
    if field_.startswith(prefix + "["):
        return field_[len(prefix) :]
    return None


def data_path(text: str, at: Sequence[Step]) -> DataPath | None:
    """The data path (keys and indexes) of location ``at`` in ``text``; None if it is not there."""
    try:
        container, key, path = _Document(text).resolve(at, 0)
    except EditError:
        return None
    return path if _has(container, key) else None


def value_at(text: str, at: Sequence[Step]) -> Any:
    """The value at location ``at`` of ``text`` as JSON data; raises EditError if it is not
    there."""
    container, key, _ = _Document(text).resolve(at, 0)
    if not _has(container, key):
        raise _missing(0, at)
    return to_json(container[key])
