"""The virtual plant as a device of the edge agent: ``VirtualSource`` stands in for devices with
the virtual factory over a fixed time range (numbers, texts and arrays, a batch each per step),
faster than real time if asked, and is replayable (``smartfab.devices.edge.agent.Replayable``):
a restarted agent continues where the last batch safe on disk ended."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from smartfab.devices.connector import Connector, PointSink, SignalIds
from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant
from smartfab.virtual.factory import VirtualFactory

VIRTUAL = "virtual"  # the virtual source's name


class VirtualSource(Connector):
    """The virtual factory from ``start_us`` to ``until_us`` as a device, at ``speed`` simulated
    seconds per second, from ``resume_us`` on if given (a restarted agent). Stops itself at
    ``until_us``."""

    protocol = "virtual"

    def __init__(
        self,
        plant: Plant,
        signal_ids: Mapping[str, int],
        *,
        seed: int,
        start_us: int,
        until_us: int,
        speed: float = 1.0,
        resume_us: int | None = None,
        step_s: float = 0.2,
    ) -> None:
        super().__init__(VIRTUAL, f"virtual:seed={seed}")
        if until_us <= start_us or speed <= 0:
            raise SmartfabError("virtual source: needs start < until and a positive speed")
        self._plant, self._ids, self._seed = plant, dict(signal_ids), seed
        self.start_us, self.until_us, self.speed, self.step_s = start_us, until_us, speed, step_s
        self.cursor_us = max(start_us, min(resume_us or start_us, until_us))

    @property
    def signal_ids(self) -> SignalIds:
        simulated = [
            ref
            for ref in self._plant.iter_signals()
            if ref.signal.sim is not None and ref.path in self._ids
        ]
        kinds = [ref.signal.kind for ref in simulated]
        return SignalIds.of([self._ids[ref.path] for ref in simulated], kinds)

    async def _connect(self) -> None:
        pass

    async def _disconnect(self) -> None:
        pass

    async def _stream(self, emit: PointSink) -> None:
        factory = VirtualFactory(self._plant, self._ids, seed=self._seed, start_us=self.start_us)
        if self.cursor_us > self.start_us:  # same seed, same start: the same samples up to here
            await asyncio.to_thread(factory.advance, self.cursor_us)
        wall0, sim0 = time.monotonic(), self.cursor_us
        while not self.stopping.is_set() and self.cursor_us < self.until_us:
            await self._sleep(self.step_s)
            target = sim0 + int((time.monotonic() - wall0) * self.speed * 1e6)
            target = min(max(target, self.cursor_us), self.until_us)
            done = factory.advance_all(target)
            # Every kind of value in a batch of its own; an empty step still moves the cursor.
            batches = [b for b in (done.points, done.texts, done.arrays) if len(b)]
            batches = batches or [done.points]
            for batch in batches[:-1]:  # a restart from the step's start repeats them
                await emit(batch)
            self.cursor_us = target  # read by the agent's sink with the step's last batch
            await emit(batches[-1])
        if self.cursor_us >= self.until_us:
            self.stop()
