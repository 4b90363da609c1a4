"""The twin's structure and parameters: one :class:`LineTwin` per production line of the plant.

A line twin is a flow line: its stations in line order (the plant model's cells in order, and the
equipment of each cell in order), a buffer between each pair of neighbours, and the shift calendar
the line works to. A station has a cycle-time distribution, a scrap probability, random stops that
strike while it runs (failures and minor stops with their MTBF/MTTR, exogenous idling), and
setups after every lot. The parameters are pydantic models, so the file ``smartfab twin
calibrate`` writes (YAML) is checked when read back after a person has edited it.

:func:`twin_from_plant` builds the twin from the plant model alone: design cycle times, nothing
known about losses. :mod:`~smartfab.apps.twin.calibrate` fills in what the history says.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant


class TwinError(SmartfabError):
    """A twin cannot be built, read or run as asked."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dist(_Model):
    """A positive random quantity by its mean and coefficient of variation (sd / mean): fixed
    when ``cv`` is 0, lognormal otherwise (durations are positive and right-skewed)."""

    mean: float = Field(gt=0)
    cv: float = Field(default=0.0, ge=0, le=5)


StopState = Literal["unplanned_down", "idle"]


class Stop(_Model):
    """A random stop while running: a failure or minor stop (``unplanned_down``, with the fault
    code the PLC reports) or an exogenous idle episode (no operator, material missing from outside
    the line). Its occurrence is operation dependent: ``mtbf_h`` counts running hours only, so a
    starved machine does not wear."""

    name: str
    state: StopState = "unplanned_down"
    fault_code: int | None = None
    mtbf_h: float = Field(gt=0)  # mean running hours between two stops of this kind
    duration_s: Dist  # time to repair (MTTR) or length of the idle episode


class Setup(_Model):
    """A changeover after every lot: lot sizes and changeover times."""

    lot_parts: Dist
    duration_s: Dist


class Station(_Model):
    name: str
    equipment: list[str] = Field(default_factory=list)  # paths of the plant's equipment
    machines: int = Field(default=1, ge=1, le=100)  # identical machines in parallel
    ideal_cycle_s: float = Field(gt=0)  # design cycle time (OEE performance)
    cycle_s: Dist  # actual cycle time
    scrap: float = Field(default=0.0, ge=0, lt=1)  # probability that a part is scrap
    stops: list[Stop] = Field(default_factory=list)
    setup: Setup | None = None


class Buffer(_Model):
    capacity: int = Field(ge=1)
    initial: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _fits(self) -> Buffer:
        if self.initial > self.capacity:
            raise ValueError(f"initial content {self.initial} exceeds capacity {self.capacity}")
        return self


CalendarKind = Literal["production", "planned_stop"]
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WINDOW = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)"
    r" (production|planned_stop)$"
)
WEEK_S = 7 * 86_400


def parse_window(text: str) -> tuple[int, int, CalendarKind]:
    """``"Mon 06:10-10:00 production"`` -> (start, end) in seconds of the local week (Monday
    00:00 = 0) and the kind; an end not after the start runs past midnight into the next day."""
    m = _WINDOW.match(text)
    if m is None:
        raise ValueError(
            f"calendar window {text!r}: expected 'Day HH:MM-HH:MM kind', e.g. "
            "'Mon 06:10-10:00 production' (kind production or planned_stop)"
        )
    day = _DAYS.index(m.group(1)) * 86_400
    start = day + int(m.group(2)) * 3600 + int(m.group(3)) * 60
    end = day + int(m.group(4)) * 3600 + int(m.group(5)) * 60
    if end <= start:
        end += 86_400
    kind: CalendarKind = "production" if m.group(6) == "production" else "planned_stop"
    return start, end, kind


def format_window(start_s: int, end_s: int, kind: CalendarKind) -> str:
    """The inverse of :func:`parse_window` for a window of at most a day."""
    day, clock = divmod(start_s % WEEK_S, 86_400)
    length = end_s - start_s
    stop = clock + length
    return (
        f"{_DAYS[day]} {clock // 3600:02d}:{clock % 3600 // 60:02d}-"
        f"{stop // 3600 % 24 if stop != 86_400 else 24:02d}:{stop % 3600 // 60:02d} {kind}"
    )


def _three_shifts() -> list[str]:
    # The common pattern when nothing else is known: three 8-hour shifts on weekdays, each
    # opening with a 10-minute handover and with a 30-minute break after four hours.
    out = []
    for day in _DAYS[:5]:
        for h in (6, 14, 22):
            out += [
                f"{day} {h:02d}:00-{h:02d}:10 planned_stop",
                f"{day} {h:02d}:10-{(h + 4) % 24:02d}:00 production",
                f"{day} {(h + 4) % 24:02d}:00-{(h + 4) % 24:02d}:30 planned_stop",
                f"{day} {(h + 4) % 24:02d}:30-{(h + 8) % 24:02d}:00 production",
            ]
    return out


class Calendar(_Model):
    """The line's weekly working pattern in the site's local time; time in no window is off."""

    timezone: str = "UTC"
    week: list[str] = Field(default_factory=_three_shifts)

    @model_validator(mode="after")
    def _valid(self) -> Calendar:
        self.windows()  # raises on a malformed or overlapping window
        return self

    def windows(self) -> list[tuple[int, int, CalendarKind]]:
        """The windows sorted by start, checked not to overlap (including across Sunday night)."""
        ws = sorted(parse_window(w) for w in self.week)
        for (_, e0, _), (s1, _, _) in itertools.pairwise(ws):
            if s1 < e0:
                raise ValueError(f"calendar windows overlap: {format_window(s1, e0, 'production')}")
        if ws and ws[-1][1] - WEEK_S > ws[0][0]:
            raise ValueError("the last calendar window of the week runs into the first")
        return ws


class LineTwin(_Model):
    """The twin of one line: ``buffers[i]`` sits between ``stations[i]`` and ``stations[i+1]``.
    The first station never starves (raw material is always there) and the last never blocks."""

    line: str  # path of the line in the plant, e.g. "shenyang/machining/cnc-line-1"
    stations: list[Station] = Field(min_length=1)
    buffers: list[Buffer]
    calendar: Calendar = Field(default_factory=Calendar)

    @model_validator(mode="after")
    def _shape(self) -> LineTwin:
        if len(self.buffers) != len(self.stations) - 1:
            raise ValueError(
                f"{len(self.stations)} stations need {len(self.stations) - 1} buffers between "
                f"them, not {len(self.buffers)}"
            )
        names = [s.name for s in self.stations]
        if len(set(names)) != len(names):
            raise ValueError(f"station names repeat: {names}")
        return self

    def deterministic(self) -> bool:
        """Whether every run is the same whatever the seed: fixed cycle times, no scrap, stops or
        setups (the twin from design data). Its replications agree, so their spread is zero."""
        return all(
            s.cycle_s.cv == 0 and s.scrap == 0 and not s.stops and s.setup is None
            for s in self.stations
        )

    def station_index(self, name: str) -> int:
        for i, s in enumerate(self.stations):
            if s.name == name:
                return i
        known = ", ".join(s.name for s in self.stations)
        raise TwinError(f"line {self.line}: no station {name!r} (stations: {known})")


class CalibrationInfo(_Model):
    """Where the parameters came from."""

    store: str
    start: str  # ISO 8601, UTC
    end: str


class TwinParams(_Model):
    """The parameter file: every line twin of a plant."""

    version: Literal[1] = 1
    calibrated_from: CalibrationInfo | None = None
    lines: list[LineTwin]

    def line(self, name: str | None) -> LineTwin:
        """A line by its path or last path segment; the only line when ``name`` is None."""
        if name is None:
            if len(self.lines) == 1:
                return self.lines[0]
            raise TwinError("several lines: choose one with --line (" + self._names() + ")")
        for li in self.lines:
            if name in (li.line, li.line.rsplit("/", 1)[-1]):
                return li
        raise TwinError(f"no line {name!r} (lines: {self._names()})")

    def _names(self) -> str:
        return ", ".join(li.line.rsplit("/", 1)[-1] for li in self.lines)

    def save(self, path: Path) -> None:
        text = yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, width=100)
        header = (
            "# smartfab digital-twin parameters (see docs/twin.md). Edit freely: the file is\n"
            "# checked when read. Times in seconds unless a name says _h (hours).\n"
        )
        path.write_text(header + text)

    @classmethod
    def load(cls, path: Path) -> TwinParams:
        try:
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise TwinError(f"{path}: cannot read twin parameters: {exc}") from exc
        try:
            return cls.model_validate(raw)
        except ValueError as exc:
            raise TwinError(f"{path}: invalid twin parameters: {exc}") from exc


def twin_from_plant(plant: Plant, *, buffer_capacity: int = 10) -> TwinParams:
    """Every line of the plant as a twin from its design data: stations at their ideal cycle
    time (equipment without one cannot be simulated and is an error), no losses known yet."""
    lines = []
    site = plant.site
    for area in site.areas:
        for li in area.lines:
            path = f"{site.name}/{area.name}/{li.name}"
            stations = []
            for cell in li.cells:
                for eq in cell.equipment:
                    if eq.ideal_cycle_s is None:
                        raise TwinError(
                            f"{path}/{cell.name}/{eq.name}: no ideal_cycle_s in the plant model, "
                            "so the twin cannot know how fast it works"
                        )
                    stations.append(
                        Station(
                            name=eq.name,
                            equipment=[f"{path}/{cell.name}/{eq.name}"],
                            ideal_cycle_s=eq.ideal_cycle_s,
                            cycle_s=Dist(mean=eq.ideal_cycle_s),
                        )
                    )
            buffers = [Buffer(capacity=buffer_capacity) for _ in stations[1:]]
            lines.append(
                LineTwin(
                    line=path,
                    stations=stations,
                    buffers=buffers,
                    calendar=Calendar(timezone=site.timezone),
                )
            )
    if not lines:
        raise TwinError("the plant has no lines")
    return TwinParams(lines=lines)
