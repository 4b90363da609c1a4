"""The plant file, edited while smartfab runs: the one source of truth stays the YAML file, and
every change made in the web app goes through here.

A change (:mod:`smartfab.model.edit`) is saved only when

1. it is based on the file as it is now: the caller names the revision it read, and a file
   changed since (by another engineer, or by hand) refuses it with the changes made since
   (:class:`EditConflict`), never merged or lost;
2. the result passes ``plant check`` exactly (the loader's checks), each problem given to the
   operation and field it comes from;
3. each signal it adds or changes on an OPC UA server or a Modbus device fits what the device
   holds, as ``plant check --live`` checks it: the node exists, holds the declared type and
   states the declared unit; the registers are there (unless the caller opts out, for a device
   not yet on the network).

It is then written (atomically: a reader sees the old file or the new one), recorded in the
audit log with its diff and the change that undoes it, and applied to the running ingestion
and the API's view of the plant without a restart. Undoing an edit is saving its inverse the
same way, itself audited (and undoable). The audit log is the edits' history: nothing else
needs keeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from asyncua.ua.uaerrors import UaError

from smartfab.devices.connector import Connector, Mismatch
from smartfab.devices.modbus.connector import ModbusConnector
from smartfab.devices.opcua.connector import OpcUaConnector
from smartfab.errors import SmartfabError
from smartfab.model.edit import (
    Change,
    DataPath,
    EditConflict,
    EditError,
    EditIssue,
    Operation,
    apply,
    check,
    owner,
    revision,
    unified_diff,
)
from smartfab.model.loader import format_path, signal_paths
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security.audit import AuditEntry, AuditLog

EDIT, UNDO = "plant.edit", "plant.undo"
HISTORY = 500  # audit entries looked through for the history of edits


class PlantTarget(Protocol):
    """What runs the plant (the ingestion): takes an edited one without a restart."""

    async def apply_plant(self, plant: Plant) -> None: ...


class PlantEditor:
    """Edits of the plant file at ``file``, audited in ``audit``, applied to ``target`` and
    ``data`` (either may be absent: a server without ingestion, a test)."""

    def __init__(
        self,
        file: Path,
        audit: AuditLog,
        *,
        target: PlantTarget | None = None,
        data: PlantData | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.file = file
        self.audit = audit
        self.target = target
        self.data = data
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()  # one save at a time: the revision check and the write

    @property
    def name(self) -> str:
        return self.file.name

    def read(self) -> tuple[str, str]:
        """The file's text and revision."""
        text = self.file.read_text(encoding="utf-8")
        return text, revision(text)

    async def edit(
        self, actor: str, base: str, ops: Sequence[Operation], summary: str, *, devices: bool = True
    ) -> Change:
        """Save ``ops`` made on revision ``base`` (see the module's description); ``devices``:
        check added and changed bindings against the live devices. Raises EditConflict,
        EditError (nothing saved) or SmartfabError."""
        if not ops:
            raise EditError([EditIssue(None, "", None, "the change is empty")])
        return await self._save(actor, base, ops, summary.strip() or _summary(ops), devices)

    async def undo(self, actor: str, base: str, seq: int) -> Change:
        """Undo the edit (or undo) ``seq`` by saving its inverse on revision ``base``."""
        entries = {e.seq: e for e in self._entries()}
        entry = entries.get(seq)
        if entry is None:
            raise SmartfabError(f"no edit #{seq} of {self.name} in the audit log")
        done = next((e for e in entries.values() if e.after.get("undo_of") == seq), None)
        if done is not None:
            raise EditConflict(
                base, base, [], f"edit #{seq} was undone already, by #{done.seq} ({done.actor})"
            )
        inverse = [Operation.model_validate(op) for op in json.loads(entry.after["inverse"])]
        summary = f"undo #{seq}: {entry.after.get('summary', '')}"
        # What an undo changes was valid before: no device needs asking again.
        return await self._save(actor, base, inverse, summary, False, undo_of=seq)

    def history(self, limit: int = 50) -> list[Change]:
        """The newest ``limit`` edits and undos, newest first."""
        changes = self._changes()
        return changes[::-1][:limit]

    # --- saving -------------------------------------------------------------------------------

    async def _save(
        self,
        actor: str,
        base: str,
        ops: Sequence[Operation],
        summary: str,
        devices: bool,
        *,
        undo_of: int | None = None,
    ) -> Change:
        async with self._lock:
            text, current = await asyncio.to_thread(self.read)
            if base != current:
                raise EditConflict(base, current, self._since(base))
            applied = apply(text, ops)
            plant, issues = await asyncio.to_thread(check, applied.text, self.name, applied.wrote)
            if issues or plant is None:
                raise EditError(issues)
            if devices:
                found = await self._live_issues(plant, ops, applied.wrote)
                if found:
                    raise EditError(found)
            await asyncio.to_thread(self._write, applied.text)
            diff = unified_diff(text, applied.text, self.name)
            after = {
                "revision": revision(applied.text), "summary": summary, "diff": diff,
                # As text: the audit log writes its JSON with sorted keys, and the order of
                # a value's keys is the order its fields get in the file.
                "ops": _ops_text(ops),
                "inverse": _ops_text(applied.inverse),
                "undo_of": undo_of,
            }  # fmt: skip
            entry = await asyncio.to_thread(
                self.audit.record, actor, UNDO if undo_of else EDIT, f"plant:{self.name}",
                {"revision": current}, after,
            )  # fmt: skip
            if self.target is not None:
                await self.target.apply_plant(plant)
            if self.data is not None:
                self.data.plant = plant
                await asyncio.to_thread(self.data.refresh)
            return _change(entry)

    def _write(self, text: str) -> None:
        """Replace the file at once (a reader sees the old text or the new, never a part),
        keeping its permissions."""
        mode = self.file.stat().st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(prefix=f".{self.name}.", dir=self.file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, self.file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # --- the live devices -------------------------------------------------------------------

    async def _live_issues(
        self, plant: Plant, ops: Sequence[Operation], wrote: Sequence[DataPath]
    ) -> list[EditIssue]:
        """The problems the devices find with the signals the change added or bound anew: those
        it wrote whole (or with their equipment), or whose source, type or unit it set, and all
        of a connection it changed. Moves, removals and other fields ask no device."""
        writes = [w for op, w in zip(ops, wrote, strict=True) if op.op in ("set", "insert")]
        touched_connections = {
            plant.connections[p[1]].name
            for p in writes
            if len(p) >= 2 and p[0] == "connections" and isinstance(p[1], int)
            and p[1] < len(plant.connections)
        }  # fmt: skip
        chosen: dict[str, DataPath] = {}
        for ref, path in signal_paths(plant):
            conn = ref.signal.source.connection
            hit = any(_binds(path, w) for w in writes) or conn in touched_connections
            if hit and ref.signal.source.protocol in ("opcua", "modbus"):
                chosen[ref.path] = path
        if not chosen:
            return []
        by_connection: dict[str, list[str]] = {}
        for ref in plant.iter_signals():
            if ref.path in chosen:
                by_connection.setdefault(str(ref.signal.source.connection), []).append(ref.path)
        results = await asyncio.gather(
            *(self._check(plant, name, paths) for name, paths in by_connection.items())
        )
        issues = []
        for name, (mismatches, failure) in zip(by_connection, results, strict=True):
            if failure:
                first = chosen[by_connection[name][0]]
                op, rest = owner(format_path((*first, "source")), wrote)
                reason = (
                    f"cannot check against the device of connection {name!r}: {failure} (to "
                    "save without checking, for a device not yet reachable, turn the check off)"
                )
                issues.append(EditIssue(op, rest, None, reason))
            for m in mismatches:
                op, rest = owner(format_path(chosen[m.path]) + "." + m.field, wrote)
                issues.append(EditIssue(op, rest, m.where, m.problem))
        return issues

    async def _check(self, plant: Plant, name: str, paths: list[str]) -> tuple[list[Mismatch], str]:
        """The mismatches of ``paths`` on connection ``name``, or why the device was not asked."""
        ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
        connector: Connector
        if plant.connection(name).protocol == "opcua":
            full = OpcUaConnector.from_plant(plant, name, ids, timeout_s=self.timeout_s)
            wanted = set(paths)
            connector = OpcUaConnector(
                full.connection, [n for n in full.nodes if n.path in wanted],
                timeout_s=self.timeout_s,
            )  # fmt: skip
            connector.signals = full.signals
        else:
            connector = ModbusConnector.from_plant(plant, name, ids, timeout_s=self.timeout_s)
        try:
            found = await asyncio.wait_for(connector.check(), self.timeout_s * 2)
        except (OSError, TimeoutError, UaError, SmartfabError) as exc:
            return [], str(exc).strip() or type(exc).__name__
        return [m for m in found if m.path in paths], ""

    # --- history ------------------------------------------------------------------------------

    def _entries(self) -> list[AuditEntry]:
        target = f"plant:{self.name}"
        found = [
            e for action in (EDIT, UNDO) for e in self.audit.entries(HISTORY, action=action)
            if e.target == target
        ]  # fmt: skip
        return sorted(found, key=lambda e: e.seq)

    def _changes(self) -> list[Change]:
        entries = self._entries()
        undone = {e.after["undo_of"]: e.seq for e in entries if e.after.get("undo_of")}
        return [_change(e, undone.get(e.seq)) for e in entries]

    def _since(self, base: str) -> list[Change]:
        """The edits saved since the file was at revision ``base``: after the one that made it,
        or from the first made on it (none when smartfab never saw it: changed outside)."""
        changes = self._changes()
        made = [i for i, c in enumerate(changes) if c.revision == base]
        if made:
            return changes[made[-1] + 1 :]
        on = [i for i, c in enumerate(changes) if c.base == base]
        return changes[on[0] :] if on else []


def _change(entry: AuditEntry, undone_by: int | None = None) -> Change:
    after = entry.after
    return Change(
        entry.seq, entry.ts_us, entry.actor, str(after.get("summary", "")),
        str(entry.before.get("revision", "")), str(after.get("revision", "")),
        str(after.get("diff", "")), after.get("undo_of"), undone_by,
    )  # fmt: skip


_BINDING = frozenset({"source", "type", "unit", "length", "values"})  # what a device judges


def _binds(signal: DataPath, wrote: DataPath) -> bool:
    """A write at ``wrote`` sets how the signal at ``signal`` is read: it wrote the signal (or
    what holds it), or a field of it that the device judges."""
    if wrote == signal[: len(wrote)]:
        return True
    return wrote[: len(signal)] == signal and wrote[len(signal)] in _BINDING


def _ops_text(ops: Sequence[Operation]) -> str:
    return json.dumps([op.model_dump(exclude_none=True) for op in ops], ensure_ascii=False)


def _summary(ops: Sequence[Operation]) -> str:
    first = ops[0]
    where = "/".join(
        next(iter(s.values())) if isinstance(s, dict) else str(s) for s in first.at
    )  # fmt: skip
    more = f" and {len(ops) - 1} more" if len(ops) > 1 else ""
    return f"{first.op} {where}{more}"
