from __future__ import annotations

from smartfab.apps.monitoring.alarms.lifecycle import Action, AlarmStatus, Record, State, fold, step

A = AlarmStatus("m1/temp:high", "m1", "high", "temp high")


def run(
    status: AlarmStatus, *actions: Action, **kw: object
) -> tuple[AlarmStatus, list[Record | None]]:
    records: list[Record | None] = []
    for i, action in enumerate(actions):
        r = step(status, action, 100 + i, **kw)  # type: ignore[arg-type]
        records.append(r)
        if r is not None:
            status = fold(status, r)
    return status, records


def test_activate_acknowledge_clear() -> None:
    s, _ = run(A, Action.ACTIVATE)
    assert (s.state, s.active, s.activated_at) == (State.UNACKNOWLEDGED, True, 100)
    s, _ = run(s, Action.ACKNOWLEDGE, user="li.wei", comment="on it")
    assert (s.state, s.acked_by, s.acked_at, s.ack_comment) == (
        State.ACKNOWLEDGED, "li.wei", 100, "on it",
    )  # fmt: skip
    s, _ = run(s, Action.CLEAR)
    assert (s.state, s.active, s.cleared_at) == (State.NORMAL, False, 100)


def test_clear_before_acknowledge_waits_for_the_acknowledgement() -> None:
    s, _ = run(A, Action.ACTIVATE, Action.CLEAR)
    assert (s.state, s.active) == (State.CLEARED_UNACKNOWLEDGED, False)
    s2, _ = run(s, Action.ACTIVATE)  # comes back before anyone acknowledged
    assert (s2.state, s2.active, s2.acked_by) == (State.UNACKNOWLEDGED, True, "")
    s, _ = run(s, Action.ACKNOWLEDGE, user="ops")
    assert (s.state, s.acked_by) == (State.NORMAL, "ops")


def test_no_op_transitions_are_not_records() -> None:
    _, records = run(A, Action.CLEAR, Action.ACKNOWLEDGE, Action.UNSHELVE, Action.EXPIRE)
    assert records == [None, None, None, None]
    _, records = run(A, Action.ACTIVATE, Action.ACTIVATE, Action.ACKNOWLEDGE, Action.ACKNOWLEDGE)
    assert [r is None for r in records] == [False, True, False, True]


def test_shelving_follows_the_condition_and_unshelving_tells_the_truth() -> None:
    s, _ = run(A, Action.SHELVE, user="ops", comment="sensor replaced", until=10_000)
    assert (s.state, s.shelved_by, s.shelved_until, s.shelve_reason) == (
        State.SHELVED, "ops", 10_000, "sensor replaced",
    )  # fmt: skip
    s, _ = run(s, Action.ACTIVATE)
    assert (s.state, s.active) == (State.SHELVED, True)
    active_now, _ = run(s, Action.EXPIRE)
    assert (active_now.state, active_now.shelved_until) == (State.UNACKNOWLEDGED, None)
    s, _ = run(s, Action.CLEAR, Action.UNSHELVE)
    assert (s.state, s.active) == (State.NORMAL, False)


def test_an_active_acknowledged_alarm_can_be_shelved() -> None:
    s, _ = run(A, Action.ACTIVATE, Action.ACKNOWLEDGE, Action.SHELVE, until=5000)
    assert s.state is State.SHELVED
    s, _ = run(s, Action.UNSHELVE)
    assert s.state is State.UNACKNOWLEDGED  # still active: back to the operator


def test_a_fault_alarm_says_its_value_is_a_code_a_limit_alarm_does_not() -> None:
    from tests.apps.monitoring.alarms.conftest import EQ, table

    alarms = {a.id: a for a in table({"high": {"limit": 80}}, {"faults": {}}).alarms}
    fault, high = alarms[f"{EQ}:fault:7"], alarms[f"{EQ}/temp:high"]
    assert AlarmStatus.of(fault).value_is_code and not AlarmStatus.of(high).value_is_code
    # Through the life cycle: an activation at fault 212 still reads as a code.
    s, _ = run(AlarmStatus.of(fault), Action.ACTIVATE)
    assert s.value_is_code
