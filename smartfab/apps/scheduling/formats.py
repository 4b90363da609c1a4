"""Readers for the public benchmark formats, producing a `Problem`.

- OR-Library job shop: a line "jobs machines", then one line per job with its operations as
  pairs "machine duration" in routing order; machines are numbered from 0.
- Brandimarte flexible job shop: a line "jobs machines [average machines per operation]", then
  one line per job: the number of operations, then per operation the number k of eligible
  machines followed by k pairs "machine duration". The original files number machines from 1,
  some redistributed copies from 0; `machine_base=None` tells them apart from the data.

In both, blank lines and lines starting with `#` are ignored. Malformed input raises
`FormatError` naming the file and the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from smartfab.apps.scheduling.problem import Alternative, Job, Machine, Operation, Problem
from smartfab.errors import SmartfabError


class FormatError(SmartfabError):
    """An instance file that does not follow its format."""


MAX_MACHINES = 10_000  # benchmark instances have at most a few hundred


def _content_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped line) of every line that carries data."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def _ints(tokens: list[str], source: str, line: int) -> list[int]:
    values = []
    for token in tokens:
        try:
            values.append(int(token))
        except ValueError:
            raise FormatError(f"{source}:{line}: {token!r} is not an integer") from None
    return values


def _header(
    lines: Iterator[tuple[int, str]], source: str, extra_allowed: bool
) -> tuple[int, int, int]:
    """(jobs, machines, line number) from the first data line."""
    try:
        number, line = next(lines)
    except StopIteration:
        raise FormatError(f"{source}: no data, expected a line 'jobs machines'") from None
    tokens = line.split()
    # Brandimarte headers may carry a third, informative figure (average machines per
    # operation, possibly fractional); it is not needed to read the file.
    if len(tokens) != 2 and not (extra_allowed and len(tokens) == 3):
        raise FormatError(f"{source}:{number}: expected 'jobs machines', got {line!r}")
    jobs, machines = _ints(tokens[:2], source, number)
    if jobs < 1 or machines < 1:
        raise FormatError(f"{source}:{number}: jobs and machines must be positive, got {line!r}")
    # Every machine is built before any job line is read: a hostile header must not cost memory.
    if machines > MAX_MACHINES:
        raise FormatError(f"{source}:{number}: {machines} machines, at most {MAX_MACHINES}")
    return jobs, machines, number


def _job_lines(
    lines: Iterator[tuple[int, str]], jobs: int, source: str, header_line: int
) -> list[tuple[int, list[str]]]:
    found: list[tuple[int, list[str]]] = []
    last = header_line
    for number, line in lines:
        if len(found) == jobs:
            raise FormatError(f"{source}:{number}: extra data after the {jobs} job lines")
        found.append((number, line.split()))
        last = number
    if len(found) < jobs:
        raise FormatError(
            f"{source}:{last}: file ends after {len(found)} job lines, the header announces {jobs}"
        )
    return found


def _machines(count: int) -> tuple[Machine, ...]:
    return tuple(Machine(name=f"m{i}") for i in range(count))


def parse_jsp(text: str, source: str = "<text>", name: str = "") -> Problem:
    """A job shop in OR-Library format; `source` names the input in error messages."""
    lines = _content_lines(text)
    n_jobs, n_machines, header_line = _header(lines, source, extra_allowed=False)
    jobs = []
    for j, (number, tokens) in enumerate(_job_lines(lines, n_jobs, source, header_line)):
        values = _ints(tokens, source, number)
        if len(values) % 2:
            raise FormatError(
                f"{source}:{number}: {len(values)} numbers, expected pairs 'machine duration'"
            )
        operations = []
        for k in range(0, len(values), 2):
            machine, duration = values[k], values[k + 1]
            if not 0 <= machine < n_machines:
                raise FormatError(
                    f"{source}:{number}: machine {machine} is not in 0..{n_machines - 1}"
                )
            if duration < 0:
                raise FormatError(f"{source}:{number}: duration {duration} is negative")
            operations.append(Operation((Alternative(machine, duration),)))
        jobs.append(Job(name=f"j{j}", operations=tuple(operations)))
    return Problem(machines=_machines(n_machines), jobs=tuple(jobs), name=name)


# One job line of a flexible job shop as read: its line number and, per operation, the
# (machine as written, duration) pairs.
_RawJob = tuple[int, list[list[tuple[int, int]]]]


def _parse_fjsp_job(number: int, values: list[int], source: str) -> _RawJob:
    def at(i: int, what: str) -> int:
        if i >= len(values):
            raise FormatError(f"{source}:{number}: line ends where {what} was expected")
        return values[i]

    n_ops = at(0, "the number of operations")
    if n_ops < 1:
        raise FormatError(f"{source}:{number}: a job needs at least one operation, got {n_ops}")
    i = 1
    operations = []
    for k in range(n_ops):
        n_alt = at(i, f"the machine count of operation {k + 1}")
        if n_alt < 1:
            raise FormatError(f"{source}:{number}: operation {k + 1} has {n_alt} eligible machines")
        i += 1
        pairs = []
        for _ in range(n_alt):
            machine = at(i, f"a machine of operation {k + 1}")
            duration = at(i + 1, f"a duration of operation {k + 1}")
            if duration < 0:
                raise FormatError(f"{source}:{number}: duration {duration} is negative")
            pairs.append((machine, duration))
            i += 2
        operations.append(pairs)
    if i != len(values):
        raise FormatError(
            f"{source}:{number}: {len(values) - i} numbers after the {n_ops} operations"
        )
    return number, operations


def _detect_base(raw_jobs: list[_RawJob], n_machines: int, source: str) -> int:
    """0 if machine 0 occurs, 1 if machine `n_machines` occurs; a file where neither occurs
    reads the same either way up to machine names, and is taken as the original 1-based."""
    zero = next((n for n, ops in raw_jobs for p in ops for m, _ in p if m == 0), None)
    top = next((n for n, ops in raw_jobs for p in ops for m, _ in p if m == n_machines), None)
    if zero is not None and top is not None:
        raise FormatError(
            f"{source}:{top}: machine {n_machines} with machine 0 on line {zero}: numbering "
            f"neither from 0 nor from 1 for {n_machines} machines"
        )
    return 0 if zero is not None else 1


def parse_fjsp(
    text: str, source: str = "<text>", name: str = "", machine_base: int | None = None
) -> Problem:
    """A flexible job shop in Brandimarte format. `machine_base` is 0 or 1 for files whose
    numbering is known, None to detect it."""
    if machine_base not in (None, 0, 1):
        raise ValueError(f"machine_base must be 0, 1 or None, got {machine_base}")
    lines = _content_lines(text)
    n_jobs, n_machines, header_line = _header(lines, source, extra_allowed=True)
    raw_jobs = [
        _parse_fjsp_job(number, _ints(tokens, source, number), source)
        for number, tokens in _job_lines(lines, n_jobs, source, header_line)
    ]
    base = _detect_base(raw_jobs, n_machines, source) if machine_base is None else machine_base
    jobs = []
    for j, (number, raw_ops) in enumerate(raw_jobs):
        operations = []
        for pairs in raw_ops:
            alternatives = []
            for machine, duration in pairs:
                if not base <= machine < n_machines + base:
                    raise FormatError(
                        f"{source}:{number}: machine {machine} is not in "
                        f"{base}..{n_machines - 1 + base}"
                    )
                alternatives.append(Alternative(machine - base, duration))
            operations.append(Operation(tuple(alternatives)))
        jobs.append(Job(name=f"j{j}", operations=tuple(operations)))
    return Problem(machines=_machines(n_machines), jobs=tuple(jobs), name=name)


def instance_name(path: Path) -> str:
    """The name benchmarks use for an instance file: its name without extension."""
    return path.name.split(".", 1)[0]


def read_jsp(path: str | Path) -> Problem:
    path = Path(path)
    return parse_jsp(_read(path), source=str(path), name=instance_name(path))


def read_fjsp(path: str | Path, machine_base: int | None = None) -> Problem:
    path = Path(path)
    return parse_fjsp(
        _read(path), source=str(path), name=instance_name(path), machine_base=machine_base
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{path}: not a text file ({e.reason})") from None
