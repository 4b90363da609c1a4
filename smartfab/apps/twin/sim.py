"""The discrete-event simulation of one line twin, on SimPy.

Every machine is a SimPy process that loops: take a part from its input buffer (waiting, starved,
while it is empty), change over when its lot is done, work the cycle, then put the part into its
output buffer (waiting, blocked, while it is full) unless it is scrap. A cycle is one timeout unless
something cuts it: a random stop (failure, minor stop or exogenous idling, drawn in *running* time,
so a machine that waits does not fail) or the shift calendar closing; the work left resumes after.
Repairs go on whatever the calendar says; setups and cycles pause outside production time.

Speed is the point of the design, since a year of a 20-station line is millions of cycles: buffers
are deques of the parts' line-entry times (lead time is exact, also with parallel machines), a
waiting machine parks one SimPy event that the other side fires, random numbers come from NumPy in
chunks, and a state change is booked only when the state really changes, so a machine that keeps
running costs one timeout per cycle and a few comparisons.

Time is in seconds from the start of the run; ``start_week_s`` says where in the local week (Monday
00:00 = 0) the run starts, so the calendar lines up.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from smartfab.apps.twin.model import WEEK_S, Dist, LineTwin, Station, TwinError

# Machine states inside the simulation. RUN..IDLE are "active" in the sense of the active-period
# bottleneck method: the machine itself is the reason it is not passing parts on.
RUN, SETUP, DOWN, IDLE, STARVED, BLOCKED, PLANNED, OFF = range(8)
STATE_NAMES = (
    "running", "setup", "unplanned_down", "idle", "starved", "blocked", "planned_stop", "off",
)  # fmt: skip
ACTIVE = frozenset({RUN, SETUP, DOWN, IDLE})
_N = len(STATE_NAMES)
_EPS = 1e-9
_CHUNK = 4096


def draws(d: Dist, rng: np.random.Generator) -> Iterator[float]:
    """An endless stream of draws of ``d``, generated in NumPy chunks: a Python-level draw per
    cycle would cost more than the SimPy event it feeds."""
    if d.cv == 0:
        while True:
            yield d.mean
    sigma = math.sqrt(math.log1p(d.cv * d.cv))
    mu = math.log(d.mean) - sigma * sigma / 2  # so that the mean is d.mean
    while True:
        yield from rng.lognormal(mu, sigma, _CHUNK).tolist()


class _Calendar:
    """The line's calendar as it stands now, shared by all its machines."""

    def __init__(self, env: simpy.Environment) -> None:
        self.state = OFF  # RUN (production), PLANNED or OFF
        self.is_open = False  # state == RUN, kept as a plain attribute for the machines' hot loop
        self.close_at = 0.0  # while in production: when it ends
        self.opened = env.event()  # fires when production next begins

    def set(self, state: int) -> None:
        self.state = state
        self.is_open = state == RUN


def _change_points(line: LineTwin) -> list[tuple[int, int]]:
    """(second of the week, calendar state from then on), sorted, consecutive states differing."""
    points: list[tuple[int, int]] = []
    for start, end, kind in line.calendar.windows():
        points.append((start % WEEK_S, RUN if kind == "production" else PLANNED))
        points.append((end % WEEK_S, OFF))
    # A window's OFF end is dropped when the next window starts at that very second.
    by_time: dict[int, int] = {}
    for t, s in points:
        if s == OFF and t in by_time:
            continue
        by_time[t] = s
    out: list[tuple[int, int]] = []
    for t in sorted(by_time):
        if not out or out[-1][1] != by_time[t]:
            out.append((t, by_time[t]))
    if len(out) > 1 and out[0][1] == out[-1][1]:
        out.pop(0)  # the last change of the week carries over past Monday 00:00
    return out or [(0, OFF)]


class _Machine:
    """Bookkeeping of one machine: seconds per shown state, and optionally its active periods."""

    __slots__ = ("acc", "active", "cal", "ends", "since", "starts", "state", "stops")

    def __init__(self, cal: _Calendar, record: bool) -> None:
        self.cal = cal
        self.acc = [0.0] * _N
        self.state = STARVED
        self.since = 0.0
        self.active = False
        self.starts: list[float] | None = [] if record else None
        self.ends: list[float] = []
        self.stops = 0  # unplanned stops begun

    def shown(self) -> int:
        # Outside production a machine is in the calendar's state, unless it is being repaired.
        s = self.state
        return s if self.cal.state == RUN or s == DOWN else self.cal.state

    def set(self, state: int, now: float) -> None:
        self.flush(now)
        self.state = state
        self._track(now)

    def flush(self, now: float) -> None:
        self.acc[self.shown()] += now - self.since
        self.since = now

    def _track(self, now: float) -> None:
        if self.starts is None:
            return
        active = self.shown() in ACTIVE
        if active != self.active:
            (self.starts if active else self.ends).append(now)
            self.active = active


@dataclass(slots=True)
class _StationRt:
    spec: Station
    machines: list[_Machine]
    inbuf: deque[float] | None  # None: raw material, always there
    outbuf: deque[float] | None  # None: the line's exit
    capacity: int
    in_waiters: deque[simpy.Event] = field(default_factory=deque)  # starved machines
    out_waiters: deque[simpy.Event] = field(default_factory=deque)  # blocked machines
    good: int = 0
    scrap: int = 0


@dataclass(frozen=True, slots=True)
class StationResult:
    name: str
    machines: int
    state_s: dict[str, float]  # seconds per state (STATE_NAMES), summed over the machines
    produced: int
    good: int
    scrap: int
    stops: int  # unplanned stops (failures and minor stops) begun

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "machines": self.machines, "state_s": self.state_s,
            "produced": self.produced, "good": self.good, "scrap": self.scrap,
            "stops": self.stops,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimResult:
    """What one run measured over [warm-up, horizon)."""

    line: str
    seconds: float  # simulated time measured (horizon minus warm-up)
    stations: list[StationResult]
    good_out: int  # good parts that left the line
    lead_time_s: float  # mean time from entering the line to leaving it, of those parts
    wip: float  # time-average number of parts in the line
    events: int  # SimPy events scheduled (timeouts, wake-ups, process steps)
    wall_s: float  # wall-clock seconds the run took
    # Per station, its active periods as (starts, ends) arrays, if recorded.
    activity: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] | None = None

    @property
    def throughput_per_h(self) -> float:
        return self.good_out / self.seconds * 3600

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line, "seconds": self.seconds, "good_out": self.good_out,
            "throughput_per_h": self.throughput_per_h, "lead_time_s": self.lead_time_s,
            "wip": self.wip, "events": self.events, "wall_s": self.wall_s,
            "stations": [s.to_dict() for s in self.stations],
        }  # fmt: skip


class LineSim:
    """One run of a line twin. Build it, then call :meth:`run` once."""

    def __init__(
        self,
        line: LineTwin,
        *,
        seed: int = 0,
        start_week_s: float = 0.0,
        record_activity: bool = False,
    ) -> None:
        self.line = line
        self.env = env = simpy.Environment()
        self._seed = np.random.SeedSequence(seed)
        self._start_week_s = start_week_s % WEEK_S
        self.cal = _Calendar(env)
        self._record = record_activity
        self._wip = 0
        self._wip_area = 0.0
        self._wip_t = 0.0
        self._lead_sum = 0.0
        self._out = 0
        n = len(line.stations)
        bufs: list[deque[float]] = [deque([0.0] * b.initial) for b in line.buffers]
        self._wip = sum(b.initial for b in line.buffers)
        self.stations = [
            _StationRt(
                spec=st,
                machines=[_Machine(self.cal, record_activity) for _ in range(st.machines)],
                inbuf=bufs[i - 1] if i > 0 else None,
                outbuf=bufs[i] if i < n - 1 else None,
                capacity=line.buffers[i].capacity if i < n - 1 else 0,
            )
            for i, st in enumerate(line.stations)
        ]
        self._points = _change_points(line)
        self._set_calendar_at_start()

    # --- the calendar -------------------------------------------------------------------------

    def _next_change(self, week_t: float) -> tuple[float, int, int]:
        """Seconds from ``week_t`` (second of the week) to the next change point, its index."""
        for i, (t, _) in enumerate(self._points):
            if t > week_t:
                return t - week_t, i, self._points[i][1]
        t0, s0 = self._points[0]
        return WEEK_S - week_t + t0, 0, s0

    def _state_at(self, week_t: float) -> int:
        state = self._points[-1][1]
        for t, s in self._points:
            if t <= week_t:
                state = s
        return state

    def _set_calendar_at_start(self) -> None:
        self.cal.set(self._state_at(self._start_week_s))
        self.cal.close_at = self._close_after(0.0) if self.cal.is_open else 0.0

    def _close_after(self, now: float) -> float:
        """When production, open at ``now``, next ends."""
        week_t = (self._start_week_s + now) % WEEK_S
        ahead = 0.0
        for _ in range(len(self._points) + 1):
            dt, _, state = self._next_change(week_t)
            ahead += dt
            if state != RUN:
                return now + ahead
            week_t = (week_t + dt) % WEEK_S
        return math.inf  # production all week round

    def _calendar(self) -> Generator[simpy.Event, Any, None]:
        env, cal = self.env, self.cal
        if len(self._points) < 2:
            return  # the same all week: nothing ever changes
        machines = [m for st in self.stations for m in st.machines]
        while True:
            dt, _, state = self._next_change((self._start_week_s + env.now) % WEEK_S)
            yield env.timeout(dt)
            now = env.now
            for m in machines:
                m.flush(now)
            was_open = cal.is_open
            cal.set(state)
            if cal.is_open and not was_open:
                cal.close_at = self._close_after(now)
                opened, cal.opened = cal.opened, env.event()
                opened.succeed()
            for m in machines:
                m._track(now)

    # --- the machines -------------------------------------------------------------------------

    def _machine(
        self, st: _StationRt, m: _Machine, seed: np.random.SeedSequence
    ) -> Generator[simpy.Event, Any, None]:
        env, cal, spec = self.env, self.cal, st.spec
        timeout = env.timeout
        # One stream per source of randomness (common random numbers): cycles, the uniform draws,
        # lots, setups, then each stop kind. A shared stream would be consumed in an order that
        # depends on what happens, so a change elsewhere in the line would reshuffle every draw.
        cyc_seed, rnd_seed, lot_seed, setup_seed, *stop_seeds = seed.spawn(4 + len(spec.stops))
        cycles = draws(spec.cycle_s, np.random.default_rng(cyc_seed))
        rnd = random.Random(int(rnd_seed.generate_state(1, np.uint64)[0])).random
        inbuf, outbuf, capacity = st.inbuf, st.outbuf, st.capacity
        in_waiters, out_waiters = st.in_waiters, st.out_waiters
        # The neighbours' waiting machines: who waits for room in our input, parts in our output.
        i = self.stations.index(st)
        up_waiters = self.stations[i - 1].out_waiters if i > 0 else None
        down_waiters = self.stations[i + 1].in_waiters if outbuf is not None else None
        scrap_p = spec.scrap
        stop_rate = sum(1 / (s.mtbf_h * 3600) for s in spec.stops)
        stop_cum = np.cumsum([1 / (s.mtbf_h * 3600) for s in spec.stops]).tolist()
        stop_durations = [
            draws(s.duration_s, np.random.default_rng(q))
            for s, q in zip(spec.stops, stop_seeds, strict=True)
        ]
        stop_states = [DOWN if s.state == "unplanned_down" else IDLE for s in spec.stops]

        def to_stop() -> float:
            return -math.log(1.0 - rnd()) / stop_rate if stop_rate > 0 else math.inf

        setup = spec.setup
        lots = draws(setup.lot_parts, np.random.default_rng(lot_seed)) if setup else None
        setups = draws(setup.duration_s, np.random.default_rng(setup_seed)) if setup else None
        # A run starts part-way through a machine's lot and its time to the next stop.
        lot_left = math.ceil(next(lots) * rnd()) if lots else math.inf
        until_stop = to_stop()

        while True:
            # 1. Take a part.
            if inbuf is None:
                entry = env.now
                self._wip_change(entry, 1)
            else:
                if not inbuf:
                    m.set(STARVED, env.now)
                    while not inbuf:
                        ev = env.event()
                        in_waiters.append(ev)
                        yield ev
                entry = inbuf.popleft()
                if up_waiters:
                    up_waiters.popleft().succeed()
            # 2. Change over when the lot is done: setup time counts only in production time.
            if lot_left <= 0 and lots is not None and setups is not None:
                m.set(SETUP, env.now)
                work = next(setups)
                while work > _EPS:
                    if not cal.is_open:
                        yield cal.opened
                        continue
                    seg = min(work, cal.close_at - env.now)
                    yield timeout(seg)
                    work -= seg
                lot_left = max(1, round(next(lots)))
            # 3. The cycle, cut by stops and by the calendar.
            if m.state != RUN:
                m.set(RUN, env.now)
            work = next(cycles)
            while True:
                if not cal.is_open:
                    yield cal.opened
                    continue
                seg = work
                if until_stop < seg:
                    seg = until_stop
                room = cal.close_at - env.now
                if room < seg:
                    seg = room
                yield timeout(seg)
                work -= seg
                until_stop -= seg
                if until_stop <= _EPS:
                    k = 0
                    if len(stop_cum) > 1:
                        pick = rnd() * stop_rate
                        while k < len(stop_cum) - 1 and stop_cum[k] < pick:
                            k += 1
                    state = stop_states[k]
                    m.set(state, env.now)
                    if state == DOWN:
                        m.stops += 1
                    yield timeout(next(stop_durations[k]))
                    m.set(RUN, env.now)
                    until_stop = to_stop()
                if work <= _EPS:
                    break
            lot_left -= 1
            # 4. Pass the part on, unless it is scrap.
            if scrap_p and rnd() < scrap_p:
                st.scrap += 1
                self._wip_change(env.now, -1)
                continue
            st.good += 1
            if outbuf is None:
                self._out += 1
                self._lead_sum += env.now - entry
                self._wip_change(env.now, -1)
                continue
            if len(outbuf) >= capacity:
                m.set(BLOCKED, env.now)
                while len(outbuf) >= capacity:
                    ev = env.event()
                    out_waiters.append(ev)
                    yield ev
            outbuf.append(entry)
            if down_waiters:
                down_waiters.popleft().succeed()

    def _wip_change(self, now: float, delta: int) -> None:
        self._wip_area += self._wip * (now - self._wip_t)
        self._wip_t = now
        self._wip += delta

    # --- running ------------------------------------------------------------------------------

    def _reset(self) -> None:
        """At the end of the warm-up: forget what was measured so far."""
        now = self.env.now
        for st in self.stations:
            st.good = st.scrap = 0
            for m in st.machines:
                m.flush(now)
                m.acc = [0.0] * _N
                m.stops = 0
                if m.starts is not None:
                    m.starts, m.ends = ([now], []) if m.active else ([], [])
        self._wip_change(now, 0)
        self._wip_area = 0.0
        self._lead_sum = 0.0
        self._out = 0

    def run(self, horizon_s: float, warmup_s: float = 0.0) -> SimResult:
        """Simulate ``horizon_s`` seconds and measure from ``warmup_s`` on."""
        if not 0 <= warmup_s < horizon_s:
            raise TwinError(f"warm-up {warmup_s} s must be shorter than the horizon {horizon_s} s")
        env = self.env
        # Seeds per station, then per machine: a machine added to one station leaves the random
        # numbers of every other machine as they were (common random numbers across scenarios).
        for st, station_seed in zip(
            self.stations, self._seed.spawn(len(self.stations)), strict=True
        ):
            for m, seed in zip(st.machines, station_seed.spawn(len(st.machines)), strict=True):
                env.process(self._machine(st, m, seed))
        env.process(self._calendar())
        t0 = time.perf_counter()
        if warmup_s > 0:
            env.run(until=warmup_s)
            self._reset()
        env.run(until=horizon_s)
        wall = time.perf_counter() - t0
        return self._result(horizon_s, horizon_s - warmup_s, wall)

    def _result(self, now: float, seconds: float, wall: float) -> SimResult:
        stations = []
        activity: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] | None = (
            [] if self._record else None
        )
        for st in self.stations:
            acc = [0.0] * _N
            for m in st.machines:
                m.flush(now)
                acc = [a + b for a, b in zip(acc, m.acc, strict=True)]
            stations.append(
                StationResult(
                    st.spec.name, len(st.machines), dict(zip(STATE_NAMES, acc, strict=True)),
                    st.good + st.scrap, st.good, st.scrap, sum(m.stops for m in st.machines),
                )
            )  # fmt: skip
            if activity is not None:
                activity.append(_station_activity(st.machines, now))
        self._wip_change(now, 0)
        return SimResult(
            line=self.line.line,
            seconds=seconds,
            stations=stations,
            good_out=self._out,
            lead_time_s=self._lead_sum / self._out if self._out else math.nan,
            wip=self._wip_area / seconds,
            events=_events_scheduled(self.env),
            wall_s=wall,
            activity=activity,
        )


def _events_scheduled(env: simpy.Environment) -> int:
    """How many events the run scheduled. SimPy numbers its events with a counter and keeps no
    other count; reading it costs nothing, unlike counting in the machines' hot loop."""
    counter = getattr(env, "_eid", None)
    return int(next(counter)) if counter is not None else -1


def _station_activity(
    machines: list[_Machine], now: float
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A station holds up the line only while none of its machines could take a part: its active
    periods are where *all* its machines are active. (While one of two machines waits, the station
    has spare capacity; taking the union instead made a station with a machine added look busier,
    so a second machine at the bottleneck never moved it.) Periods that touch are one period."""
    times: list[float] = []
    steps: list[int] = []
    for m in machines:
        assert m.starts is not None
        ends = m.ends + ([now] if len(m.ends) < len(m.starts) else [])
        times += m.starts + ends
        steps += [1] * len(m.starts) + [-1] * len(ends)
    if not times:
        return np.empty(0), np.empty(0)
    t = np.asarray(times)
    d = np.asarray(steps)
    # At equal times the starts come first, so that a machine going active just as another goes
    # idle does not open a zero-length gap (nor does one machine's hand-over between periods).
    order = np.lexsort((-d, t))
    t, busy = t[order], np.cumsum(d[order])
    full = busy >= len(machines)
    # A period opens at a step to all-active and closes at the next step away from it.
    opens = np.flatnonzero(full & ~np.concatenate(([False], full[:-1])))
    closes = np.flatnonzero(~full & np.concatenate(([False], full[:-1])))
    s, e = t[opens], t[closes]
    keep = e > s
    return s[keep], e[keep]


def simulate(
    line: LineTwin,
    horizon_s: float,
    *,
    seed: int = 0,
    warmup_s: float = 0.0,
    start_week_s: float = 0.0,
    record_activity: bool = False,
) -> SimResult:
    """One run of ``line`` over ``horizon_s`` seconds, measured after ``warmup_s``."""
    sim = LineSim(line, seed=seed, start_week_s=start_week_s, record_activity=record_activity)
    return sim.run(horizon_s, warmup_s)
