"""The alarm life cycle of ISA-18.2 (ANSI/ISA-18.2-2016, the alarm state transition diagram).

::

                      activate                       acknowledge
      +--------+  -------------->  +-----------------+  ------------>  +-------------------+
      | NORMAL |                   | UNACKNOWLEDGED  |                 | ACKNOWLEDGED      |
      |        |  <-------+        | (active)        |                 | (active)          |
      +--------+          |        +-----------------+                 +-------------------+
          ^               |            |        ^                               |
          | acknowledge   |   clear    |        | activate again                | clear
          |               |            v        |                               |
      +--------------------------+                                             |
      | CLEARED_UNACKNOWLEDGED   |                NORMAL  <----------------------+
      +--------------------------+

    any state --shelve(until)--> SHELVED --unshelve / expiry--> UNACKNOWLEDGED if the condition
    is active then, else NORMAL

A shelved alarm is not annunciated but its condition is still followed (``active``), so that
unshelving it tells the truth. Every change is a :class:`Record`: the journal stores records, and
:func:`fold` rebuilds an alarm's status from them, live and when replaying after a restart alike.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import StrEnum

from smartfab.apps.monitoring.alarms.rules import Alarm


class State(StrEnum):
    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"  # active, not acknowledged
    ACKNOWLEDGED = "acknowledged"  # active, acknowledged
    CLEARED_UNACKNOWLEDGED = "cleared_unacknowledged"  # returned to normal, not acknowledged
    SHELVED = "shelved"


class Action(StrEnum):
    ACTIVATE = "activate"  # the condition became true
    CLEAR = "clear"  # the condition returned to normal
    ACKNOWLEDGE = "acknowledge"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    EXPIRE = "expire"  # the shelving ran out


@dataclass(frozen=True, slots=True)
class Record:
    """One transition of one alarm, as the journal stores it."""

    ts: int  # epoch microseconds
    alarm_id: str
    equipment: str
    action: Action
    state: State  # the state after the transition
    active: bool  # the condition after the transition
    priority: str
    value: float = math.nan  # the signal's value (activate, clear)
    user: str = ""  # who acknowledged, shelved, unshelved
    comment: str = ""  # acknowledgement comment, shelving reason
    until: int | None = None  # end of shelving (epoch microseconds)


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """Where one alarm stands now."""

    id: str
    equipment: str
    priority: str
    message: str
    state: State = State.NORMAL
    active: bool = False  # the condition holds (also while shelved)
    since: int | None = None  # ts of the last transition
    activated_at: int | None = None  # start of the current or last episode
    cleared_at: int | None = None  # its return to normal (None while active)
    value: float = math.nan  # the signal's value at activation or clearing
    acked_by: str = ""
    acked_at: int | None = None
    ack_comment: str = ""
    shelved_by: str = ""
    shelved_until: int | None = None
    shelve_reason: str = ""
    value_is_code: bool = False  # a state or fault code: a whole number, not a measurement

    @classmethod
    def of(cls, alarm: Alarm) -> AlarmStatus:
        return cls(
            alarm.id, alarm.equipment, alarm.priority, alarm.message,
            value_is_code=alarm.value_is_code,
        )  # fmt: skip

    @property
    def needs_ack(self) -> bool:
        return self.state in (State.UNACKNOWLEDGED, State.CLEARED_UNACKNOWLEDGED)


def step(
    status: AlarmStatus,
    action: Action,
    ts: int,
    *,
    value: float = math.nan,
    user: str = "",
    comment: str = "",
    until: int | None = None,
) -> Record | None:
    """The transition ``action`` causes, or None when it changes nothing (acknowledging an alarm
    that needs no acknowledgement, activating an active one, unshelving one not shelved)."""
    s, on = status.state, status.active
    new: State | None = None
    if action is Action.ACTIVATE and not on:
        new = State.SHELVED if s is State.SHELVED else State.UNACKNOWLEDGED
        on = True
    elif action is Action.CLEAR and on:
        new = {
            State.UNACKNOWLEDGED: State.CLEARED_UNACKNOWLEDGED,
            State.ACKNOWLEDGED: State.NORMAL,
            State.SHELVED: State.SHELVED,
        }.get(s, s)
        on = False
    elif action is Action.ACKNOWLEDGE and status.needs_ack:
        new = State.ACKNOWLEDGED if s is State.UNACKNOWLEDGED else State.NORMAL
    elif action is Action.SHELVE:
        new = State.SHELVED
    elif action in (Action.UNSHELVE, Action.EXPIRE) and s is State.SHELVED:
        new = State.UNACKNOWLEDGED if on else State.NORMAL
    if new is None:
        return None
    return Record(
        ts, status.id, status.equipment, action, new, on, status.priority, value, user, comment,
        until if action is Action.SHELVE else None,
    )  # fmt: skip


def fold(status: AlarmStatus, record: Record) -> AlarmStatus:
    """``status`` after ``record``."""
    change: dict[str, object] = {
        "state": record.state, "active": record.active, "since": record.ts,
        "priority": record.priority,
    }  # fmt: skip
    a = record.action
    if a is Action.ACTIVATE:
        change.update(
            activated_at=record.ts, cleared_at=None, value=record.value, acked_by="",
            acked_at=None, ack_comment="",
        )  # fmt: skip
    elif a is Action.CLEAR:
        change.update(cleared_at=record.ts, value=record.value)
    elif a is Action.ACKNOWLEDGE:
        change.update(acked_by=record.user, acked_at=record.ts, ack_comment=record.comment)
    elif a is Action.SHELVE:
        change.update(
            shelved_by=record.user, shelved_until=record.until, shelve_reason=record.comment
        )
    else:
        change.update(shelved_by="", shelved_until=None, shelve_reason="")
    return dataclasses.replace(status, **change)  # type: ignore[arg-type]
