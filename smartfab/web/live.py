"""Live values for the web app, pushed as server-sent events.

One :class:`LiveFeed` per app watches the store and fans out to every connected browser. It does
not subscribe to the bus: the bus has exactly one consumer, the writer, so that the slowest viewer
can never throttle ingestion (see :mod:`smartfab.platform.bus`). Instead it reads the store's
latest values, which is what the writer has just appended, and only when the writer reports a new
append (the ``stored`` counter of the running ingestion); a read-only server without ingestion
polls on a slower clock. Each tick sends only the signals whose newest point changed, and a
browser that has not taken its previous message gets the two merged: at most one message per
tick and browser, never one per point, however fast the data arrive. A browser may watch part of
the plant only (``under``): it receives nothing about the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from smartfab.model.plant import ValueKind
from smartfab.platform.points import now_us
from smartfab.platform.queries import PlantData
from smartfab.web.schemas import epoch_us, finite

log = logging.getLogger(__name__)

KEEPALIVE_S = 15.0  # proxies close idle connections; a comment line keeps them open


@dataclass(eq=False)  # identity: each browser is one entry of the client set
class _Client:
    under: str | None = None  # the asset path it watches (and below); None: the whole plant
    pending: dict[str, Any] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, update: dict[str, Any], first: bool = False) -> None:
        """Merge what of ``update`` lies under the client's path into what it has not received
        yet (newer values win). The ``first`` message is sent even when empty: it says the
        stream is open."""
        seen = False
        for key in ("values", "states"):
            mine = {k: v for k, v in update.get(key, {}).items() if self._watches(k)}
            self.pending.setdefault(key, {}).update(mine)
            seen = seen or bool(mine)
        if seen or first:
            self.pending["ts"] = update["ts"]
            self.ready.set()

    def _watches(self, path: str) -> bool:
        return self.under is None or path == self.under or path.startswith(self.under + "/")


class LiveFeed:
    """Coalesced changes of the newest value of every signal and of every equipment's state.

    ``stored`` returns a counter that grows whenever new data reach the store (the writer's
    appended batches); with it the feed reads the store only after something was appended,
    checking every ``interval_s``. Without it (no ingestion in this process) the feed reads the
    store every ``poll_s``.
    """

    def __init__(
        self,
        data: PlantData,
        stored: Callable[[], int] | None = None,
        interval_s: float = 0.5,
        poll_s: float = 2.0,
    ) -> None:
        self._data = data
        self._stored = stored
        self._interval_s = interval_s if stored is not None else poll_s
        self._clients: set[_Client] = set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._seen_stored: int | None = None
        # Per kind of value: the signal ids and timestamps of the last read.
        self._seen: dict[ValueKind, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}
        self._snapshot: dict[str, Any] = {"values": {}, "states": {}}
        self._state_of = self._state_signals()

    def _state_signals(self) -> dict[str, tuple[str, dict[int, str]]]:
        """State signal path -> (equipment path, state code -> name)."""
        if self._data.plant is None:
            return {}
        return {
            f"{eq.path}/{s.name}": (eq.path, eq.equipment.states)
            for eq in self._data.plant.iter_equipment()
            for s in eq.equipment.signals
            if s.role == "state"
        }

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def closed(self) -> bool:
        """The server is stopping: every stream ends (others, too, such as the warehouse's)."""
        return self._closed

    async def stream(self, under: str | None = None) -> AsyncGenerator[str, None]:
        """Server-sent events for one browser: first every value and state (of the signals and
        equipment at or below the asset path ``under``, when given), then the changes."""
        if self._closed:
            return
        client = _Client(under.strip("/") if under else None)
        self._clients.add(client)
        try:
            if self._task is None or self._task.done():
                await asyncio.to_thread(self._refresh)  # a current snapshot for the first one
                self._task = asyncio.create_task(self._run(), name="smartfab-live")
            client.offer({**self._snapshot, "ts": _iso_now()}, first=True)
            while not self._closed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(KEEPALIVE_S):
                        await client.ready.wait()
                if self._closed:
                    break
                if not client.ready.is_set():
                    yield ": keepalive\n\n"
                    continue
                message, client.pending = client.pending, {}
                client.ready.clear()
                yield f"event: update\ndata: {json.dumps(message, separators=(',', ':'))}\n\n"
        finally:
            self._clients.discard(client)
            if not self._clients and self._task is not None:
                self._task.cancel()  # nobody watches: stop reading the store

    async def close(self) -> None:
        """End every stream (the server is stopping) and the reader task."""
        self._closed = True
        for client in self._clients:
            client.ready.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._interval_s)
            if self._stored is not None:
                stored = self._stored()
                if stored == self._seen_stored:
                    continue  # nothing appended since the last read
                self._seen_stored = stored
            try:
                update = await asyncio.to_thread(self._refresh)
            except Exception:  # a failing read must not end the feed; the next tick retries
                log.exception("live feed: reading the latest values failed")
                continue
            if update["values"] or update["states"]:
                for client in self._clients:
                    client.offer(update)

    def _refresh(self) -> dict[str, Any]:
        """Read the newest values; return those that changed since the last read, and update the
        snapshot that new browsers start from."""
        values: dict[str, list[Any]] = {}
        states: dict[str, str] = {}
        for kind, table in self._data.latest_by_kind().items():
            ids = np.asarray(table.column("signal_id").to_numpy(), np.int64)
            ts = epoch_us(table.column("ts"))
            # Rows are ordered by signal id; look each up in the previous read, vectorised. A
            # new point has a new timestamp, so comparing timestamps finds every change.
            changed = np.ones(len(ids), np.bool_)
            before_ids, before_ts = self._seen.get(kind, (np.zeros(0, np.int64),) * 2)
            if len(before_ids):
                pos = np.searchsorted(before_ids, ids).clip(0, len(before_ids) - 1)
                changed = (before_ids[pos] != ids) | (before_ts[pos] != ts)
            self._seen[kind] = (ids, ts)
            self._rows(kind, table, np.flatnonzero(changed), values, states)
        self._snapshot["values"].update(values)
        self._snapshot["states"].update(states)
        return {"ts": _iso_now(), "values": values, "states": states}

    def _rows(
        self,
        kind: ValueKind,
        table: pa.Table,
        rows: npt.NDArray[np.intp],
        values: dict[str, list[Any]],
        states: dict[str, str],
    ) -> None:
        """Add the rows' values (and the states that number rows give) to ``values``
        (``states``)."""
        part = table.take(pa.array(rows, pa.int64()))
        for path, t, v, q in zip(
            part.column("path").to_pylist(),
            part.column("ts").to_pylist(),
            part.column("value").to_pylist(),
            part.column("quality").to_pylist(),
            strict=True,
        ):
            if kind == "text":
                values[path] = [t.isoformat(), v, q]
            elif kind == "array":
                values[path] = [t.isoformat(), [finite(x) for x in v or []], q]
            else:
                number = finite(v)
                values[path] = [t.isoformat(), number, q]
                if path in self._state_of and number is not None:
                    equipment, names = self._state_of[path]
                    states[equipment] = names.get(int(number), f"code {int(number)}")


def _iso_now() -> str:
    return str(np.datetime64(now_us(), "us")) + "Z"
