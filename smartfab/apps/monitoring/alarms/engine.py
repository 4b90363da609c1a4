"""The alarm engine of a running smartfab process, and the service API the web layer calls.

:class:`AlarmEngine` receives every batch published on the bus (the runtime hands it a copy: see
``smartfab.runtime``), evaluates the plant's alarm rules on it in a worker thread
(:mod:`.evaluate`), moves each alarm through its ISA-18.2 life cycle (:mod:`.lifecycle`), writes
every transition to the journal in the store (:mod:`.journal`) and hands annunciated alarms to the
notifier (:mod:`.notify`). A timer checks, every ``check_interval_s``, for signals that stopped
reporting, frozen values reported by exception, and shelving that ran out.

At start the journal is replayed, so that alarms active, unacknowledged or shelved before a restart
are still so after it, and an alarm whose value returned to normal meanwhile clears on its first
sample.

Every change of status is journalled before it is visible: a service call returns once its
transition is stored (and raises, changing nothing, when the store refuses it); transitions from
evaluation are retried until the store takes them, as the writer does with points. Changes are
serialised by one lock, so the journal holds them in the order they happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from smartfab.apps.monitoring.alarms.evaluate import NEVER, Conditions, Evaluator
from smartfab.apps.monitoring.alarms.journal import AlarmJournal
from smartfab.apps.monitoring.alarms.lifecycle import Action, AlarmStatus, Record, State, fold, step
from smartfab.apps.monitoring.alarms.load import AlarmLoad, alarm_load
from smartfab.apps.monitoring.alarms.notify import Notifier, NotifySettings
from smartfab.apps.monitoring.alarms.rules import (
    PREDICTED_DEFECT,
    PREDICTED_FAILURE,
    PREDICTED_LATE,
    Alarm,
    AlarmTable,
    predicted_defect_alarm,
    predicted_failure_alarm,
    predicted_late_alarm,
    priority_rank,
)
from smartfab.model.plant import Plant, Priority
from smartfab.platform.bus import Bus, Subscription
from smartfab.platform.points import PointBatch, now_us
from smartfab.platform.store.base import Store, StoreError

log = logging.getLogger(__name__)
_US = 1_000_000


class UnknownAlarmError(KeyError):
    """No alarm of the plant file has this id."""


@dataclass
class EngineStats:
    points: int = 0  # points evaluated, their transitions journalled
    transitions: int = 0  # journalled
    retries: int = 0  # failed journal appends, retried
    last_error: str = ""


def _under(path: str, prefix: str | None) -> bool:
    if not prefix:
        return True
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


class AlarmEngine:
    """Alarm evaluation, life cycle, journal and notifications for one plant and store."""

    def __init__(
        self,
        plant: Plant,
        store: Store,
        signal_ids: dict[str, int],
        *,
        notify: NotifySettings | None = None,
        check_interval_s: float = 1.0,
        max_batch_points: int = 500_000,
        max_shelve_s: float = 7 * 86_400,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 10.0,
        clock: Callable[[], int] = now_us,
    ) -> None:
        """``signal_ids``: signal path -> store id (``register_plant``). ``clock`` gives the
        wall-clock time in epoch microseconds of acknowledgements, shelving and the timer."""
        self.table = AlarmTable.from_plant(plant, signal_ids)
        self.journal = AlarmJournal(store)
        self.intake = Bus()  # this engine's own copy of the bus traffic; it is its one consumer
        self.check_interval_s = check_interval_s
        self.max_batch_points = max_batch_points
        self.max_shelve_s = max_shelve_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.stats = EngineStats()
        self._clock = clock
        self._evaluator = Evaluator(self.table)
        self._status = {a.id: AlarmStatus.of(a) for a in self.table.alarms}
        self._row = {a.id: i for i, a in enumerate(self.table.alarms)}
        self._messages = {a.id: a.message for a in self.table.alarms}
        self.notifier = Notifier(notify or NotifySettings(), self._messages)
        self._lock = asyncio.Lock()
        # Held from evaluating a batch (or the timer's check) to applying what it found, so that
        # the rules (rows of ``table``) do not change in between.
        self._evaluating = asyncio.Lock()
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._live = False

    # --- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Started and still consuming its intake (False once stopped or failed)."""
        return self._task is not None and not self._task.done()

    async def start(self, live: bool = True) -> None:
        """Replay the journal and start evaluating. ``live``: data arrives in real time, so the
        timer may judge staleness and shelving by the wall clock; False for history imports."""
        if self._sub is not None:
            raise RuntimeError("the alarm engine was started already")
        self._status = await asyncio.to_thread(
            self.journal.replay, self.table.alarms, self._adopt_predicted
        )
        active = np.array([self._status[a.id].active for a in self.table.alarms], np.bool_)
        self._evaluator.prime(active)
        self._live = live
        self._evaluator.origin_us = self._clock() if live else NEVER
        self._sub = self.intake.subscribe()
        await self.notifier.start()
        self._task = asyncio.create_task(self._run(), name="smartfab-alarms")

    async def stop(self) -> None:
        """Evaluate everything received so far, then stop (and send pending notifications)."""
        await self.intake.close()
        if self._task is not None:
            try:
                await self._task
            finally:
                await self.notifier.stop()

    async def _run(self) -> None:
        assert self._sub is not None
        sub, loop = self._sub, asyncio.get_running_loop()
        next_check = loop.time() + self.check_interval_s
        try:
            while True:
                timeout = max(0.0, next_check - loop.time()) if self._live else None
                item = await sub.get(timeout)
                if isinstance(item, PointBatch):
                    batch = await self._gather(item)
                    async with self._evaluating:
                        conditions = await asyncio.to_thread(self._evaluator.evaluate, batch)
                        await self._apply(conditions)
                    self.stats.points += len(batch)
                if self._live and loop.time() >= next_check:
                    await self.tick()
                    next_check = loop.time() + self.check_interval_s
                if item is None and sub.drained:
                    return
        except Exception as exc:
            self.stats.last_error = f"alarm engine stopped: {exc!r}"
            log.exception("alarms: the engine stopped")
            raise

    async def _gather(self, first: PointBatch) -> PointBatch:
        """``first`` and the point batches waiting behind it (up to ``max_batch_points``), to be
        evaluated as one: under load a connector delivers every few hundred points, and a thread
        hand-off per delivery left the engine behind, its full intake holding up the connectors.
        The evaluator sorts a batch by time, so the points are judged in time order either way."""
        assert self._sub is not None
        batches, size = [first], len(first)
        while size < self.max_batch_points:
            item = await self._sub.get(0)
            if item is None:
                break
            if isinstance(item, PointBatch):
                batches.append(item)
                size += len(item)
        return PointBatch.concat(batches) if len(batches) > 1 else first

    async def tick(self) -> None:
        """The timer's work at the clock's time: raise stale and flatline alarms of signals that
        sent nothing, and end expired shelving. The running engine calls it every
        ``check_interval_s`` when live."""
        now = self._clock()
        async with self._evaluating:
            await self._apply(self._evaluator.check(now))
        expired = [
            s for s in self._status.values()
            if s.state is State.SHELVED and s.shelved_until is not None and s.shelved_until <= now
        ]  # fmt: skip
        if expired:
            async with self._lock:
                records = [
                    r for s in expired if (r := step(s, Action.EXPIRE, s.shelved_until or now))
                ]
                await self._commit(records, retry=True)

    async def reload(self, plant: Plant, signal_ids: dict[str, int]) -> None:
        """Evaluate the rules of an edited plant from the next batch on. An alarm whose rule
        stays (tuned or not) keeps its status and what the evaluator knew of it, with the rule's
        new priority and message; a new rule starts normal; an alarm whose rule is gone or
        disabled leaves the list. Predicted alarms, which no plant file declares, stay."""
        table = AlarmTable.from_plant(plant, signal_ids)
        async with self._evaluating, self._lock:
            old_table, old = self.table, self._evaluator
            evaluator = Evaluator(table, old.origin_us)
            before = {a.id: i for i, a in enumerate(old_table.alarms)}
            pairs = [(i, before[a.id]) for i, a in enumerate(table.alarms) if a.id in before]
            if pairs:
                rows, old_rows = (np.array(x, np.intp) for x in zip(*pairs, strict=True))
                for name in ("last_ts", "last_value", "cond", "run_start", "active", "changed_at"):
                    getattr(evaluator, name)[rows] = getattr(old, name)[old_rows]
            status = {
                a.id: AlarmStatus.of(a) if (s := self._status.get(a.id)) is None
                else replace(s, priority=a.priority, message=a.message)
                for a in table.alarms
            }  # fmt: skip
            kept = {k: s for k, s in self._status.items() if k not in before and k not in status}
            messages = {k: self._messages[k] for k in kept if k in self._messages}
            self._status = status | kept
            self.table, self._evaluator = table, evaluator
            self._row = {a.id: i for i, a in enumerate(table.alarms)}
            self._messages.clear()  # the notifier holds this dict
            self._messages.update({a.id: a.message for a in table.alarms} | messages)

    async def _apply(self, conditions: Conditions) -> None:
        if not len(conditions):
            return
        async with self._lock:
            records: list[Record] = []
            pending = dict[str, AlarmStatus]()
            for row, ts, on, value in zip(
                conditions.alarm.tolist(), conditions.ts.tolist(), conditions.active.tolist(),
                conditions.value.tolist(), strict=True,
            ):  # fmt: skip
                alarm_id = self.table.alarms[row].id
                status = pending.get(alarm_id, self._status[alarm_id])
                action = Action.ACTIVATE if on else Action.CLEAR
                record = step(status, action, ts, value=value)
                if record is not None:
                    records.append(record)
                    pending[alarm_id] = fold(status, record)
            await self._commit(records, retry=True)

    async def _commit(self, records: list[Record], *, retry: bool) -> None:
        """Journal ``records`` (under the lock), then make them the current status. With
        ``retry``, a failing store is retried with backoff until it takes them; without, its
        error is raised and nothing changes."""
        if not records:
            return
        delay = self.retry_initial_s
        while True:
            try:
                await asyncio.to_thread(self.journal.append, records)
                break
            except (StoreError, OSError) as exc:
                if not retry:
                    raise
                self.stats.retries += 1
                self.stats.last_error = f"journalling {len(records)} alarm transition(s): {exc}"
                log.error("alarms: %s; retrying in %.1f s", self.stats.last_error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
        for r in records:
            self._status[r.alarm_id] = fold(self._status[r.alarm_id], r)
        self.stats.transitions += len(records)
        self.notifier.submit(records)

    def _adopt_predicted(self, record: Record) -> Alarm | None:
        if record.alarm_id.endswith(f":{PREDICTED_FAILURE}"):
            alarm = predicted_failure_alarm(record.equipment)
        elif record.alarm_id.endswith(f":{PREDICTED_DEFECT}"):
            alarm = predicted_defect_alarm(record.equipment)
        elif record.alarm_id.startswith(f"{record.equipment}:{PREDICTED_LATE}:"):
            order = record.alarm_id.removeprefix(f"{record.equipment}:{PREDICTED_LATE}:")
            alarm = predicted_late_alarm(record.equipment, order)
        else:
            return None
        self._messages[alarm.id] = alarm.message
        return alarm

    async def predict_failure(
        self, equipment: str, failing: bool, ts: int, rul_h: float
    ) -> AlarmStatus | None:
        """Raise (``failing``) or clear the equipment's predicted-failure alarm at ``ts``; the
        operator acknowledges and shelves it like any other. The alarm exists from its first
        raise on (equipment never predicted to fail have none). Raises StoreError/OSError when
        the journal cannot take it (nothing changes)."""
        return await self._predicted(predicted_failure_alarm(equipment), failing, ts, rul_h)

    async def predict_defect(
        self, equipment: str, risky: bool, ts: int, risk: float, priority: Priority = "medium"
    ) -> AlarmStatus | None:
        """Raise (``risky``) or clear the equipment's predicted-defect alarm at ``ts``, as
        :meth:`predict_failure` does the predicted failure (``risk``: the predicted probability
        of a defect of the latest part)."""
        return await self._predicted(predicted_defect_alarm(equipment, priority), risky, ts, risk)

    async def predict_late_order(
        self, zone: str, order: str, late: bool, ts: int, hours_late: float
    ) -> AlarmStatus | None:
        """Raise (``late``) or clear the late-order alarm of ``order`` in the storage zone at
        path ``zone`` at ``ts`` (``hours_late``: how far its ETA is past its due time)."""
        return await self._predicted(predicted_late_alarm(zone, order), late, ts, hours_late)

    async def _predicted(
        self, alarm: Alarm, active: bool, ts: int, value: float
    ) -> AlarmStatus | None:
        async with self._lock:
            status = self._status.get(alarm.id)
            if status is None:
                if not active:
                    return None
                self._messages[alarm.id] = alarm.message
                status = self._status[alarm.id] = AlarmStatus.of(alarm)
            action = Action.ACTIVATE if active else Action.CLEAR
            record = step(status, action, ts, value=value)
            if record is not None:
                await self._commit([record], retry=False)
            return self._status[alarm.id]

    # --- service API (called by the web layer) --------------------------------------------------
    def alarms(
        self,
        *,
        under: str | None = None,
        states: Collection[str] | None = None,
        priorities: Collection[str] | None = None,
        include_normal: bool = False,
    ) -> list[AlarmStatus]:
        """The alarms' current status, most urgent first (priority, then newest change).

        ``under``: only alarms of this asset path or below (``"shenyang/machining"``).
        ``states``: only these states (:class:`State` values: ``"unacknowledged"``,
        ``"acknowledged"``, ``"cleared_unacknowledged"``, ``"shelved"``, ``"normal"``).
        ``priorities``: only these (``"low"``, ``"medium"``, ``"high"``, ``"urgent"``).
        Without ``states``, alarms in ``normal`` are left out unless ``include_normal``: the
        default answer is the operator's alarm list (active, unacknowledged or shelved)."""
        chosen = [
            s for s in self._status.values()
            if _under(s.equipment, under)
            and (s.state in states if states is not None
                 else include_normal or s.state is not State.NORMAL)
            and (priorities is None or s.priority in priorities)
        ]  # fmt: skip
        return sorted(chosen, key=lambda s: (-priority_rank(s.priority), -(s.since or 0), s.id))

    def status(self, alarm_id: str) -> AlarmStatus:
        """The current status of one alarm; raises UnknownAlarmError."""
        try:
            return self._status[alarm_id]
        except KeyError:
            raise UnknownAlarmError(alarm_id) from None

    async def acknowledge(
        self, alarm_ids: Sequence[str], user: str, comment: str = ""
    ) -> list[AlarmStatus]:
        """Acknowledge the alarms by ``user`` (required) with an optional ``comment``, now.
        Returns the new status of those that needed it (unacknowledged or cleared
        unacknowledged); the others are left as they are. Raises UnknownAlarmError (nothing
        acknowledged) for an id the plant does not define, ValueError for an empty user."""
        user = _user(user)
        for alarm_id in alarm_ids:
            self.status(alarm_id)
        async with self._lock:
            now = self._clock()
            records = [
                r for a in dict.fromkeys(alarm_ids)
                if (r := step(self._status[a], Action.ACKNOWLEDGE, now, user=user, comment=comment))
            ]  # fmt: skip
            await self._commit(records, retry=False)
        return [self._status[r.alarm_id] for r in records]

    async def shelve(self, alarm_id: str, user: str, until: int, reason: str) -> AlarmStatus:
        """Shelve an alarm until ``until`` (epoch microseconds, in the future and at most
        ``max_shelve_s`` ahead) by ``user`` for ``reason`` (both required): it is not
        annunciated meanwhile, its condition is still followed, and when the shelving ends
        (:meth:`unshelve` or expiry) it is unacknowledged again if still active. Shelving a
        shelved alarm changes its end and reason. Raises UnknownAlarmError, ValueError."""
        user = _user(user)
        if not reason.strip():
            raise ValueError("shelving needs a reason")
        self.status(alarm_id)
        async with self._lock:
            now = self._clock()
            if until <= now:
                raise ValueError("shelve until: the time must be in the future")
            if until - now > self.max_shelve_s * _US:
                raise ValueError(f"shelve until: at most {self.max_shelve_s:g} s ahead")
            record = step(self._status[alarm_id], Action.SHELVE, now, user=user, comment=reason,
                          until=until)  # fmt: skip
            await self._commit([record] if record else [], retry=False)
        return self._status[alarm_id]

    async def unshelve(self, alarm_id: str, user: str) -> AlarmStatus:
        """End the shelving of an alarm now (by ``user``); an alarm not shelved is returned
        unchanged. Raises UnknownAlarmError, ValueError for an empty user."""
        user = _user(user)
        self.status(alarm_id)
        async with self._lock:
            record = step(self._status[alarm_id], Action.UNSHELVE, self._clock(), user=user)
            await self._commit([record] if record else [], retry=False)
        return self._status[alarm_id]

    async def history(
        self,
        start: int,
        end: int,
        *,
        under: str | None = None,
        alarm_id: str | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        """Journalled transitions with start <= ts < end (epoch microseconds), oldest first:
        of the alarms under an asset path, or of one alarm; ``limit`` keeps the newest."""
        if alarm_id is not None:
            equipment = self.status(alarm_id).equipment
            records = await asyncio.to_thread(self.journal.records, start, end, under=equipment)
            records = [r for r in records if r.alarm_id == alarm_id]
            return records[-limit:] if limit else records
        return await asyncio.to_thread(self.journal.records, start, end, under=under, limit=limit)

    async def load(
        self,
        start: int,
        end: int,
        *,
        under: str | None = None,
        operators: int = 1,
        top: int = 10,
    ) -> AlarmLoad:
        """EEMUA 191 alarm-load figures over [start, end) for the alarms under an asset path,
        shared by ``operators`` operator positions, with the ``top`` bad actors."""
        records = await asyncio.to_thread(self.journal.records, start, end, under=under)
        return alarm_load(records, start, end, operators=operators, top=top)


def _user(user: str) -> str:
    user = user.strip()
    if not user:
        raise ValueError("who acts on an alarm must be named: the user is empty")
    return user
