"""Grids and MovingAI benchmark files: ``.map`` (the floor) and ``.scen`` (start and goal of each
agent), read with an error naming the file and line of the first problem.

A grid's free cells are its vertices, numbered row by row; moves are to the four neighbours (up,
down, left, right) or staying. Cells are ``(x, y)``: x the column, y the row, (0, 0) top left."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from smartfab.errors import SmartfabError

Cell = tuple[int, int]

FREE = frozenset(".GS")  # MovingAI: ground, ground, swamp (passable)
BLOCKED = frozenset("@OTW")  # out of bounds, out of bounds, trees, water


class MapfError(SmartfabError):
    """A bad map, scenario or request; ``where`` is ``file:line`` when it comes from a file."""

    def __init__(self, message: str, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True, eq=False)
class Grid:
    """A 4-connected grid. ``free`` is (height, width); ``index`` maps a flat cell ``y * width +
    x`` to its vertex (-1 on a wall); ``cells`` maps a vertex to its flat cell; ``neighbours``
    (V, 4) holds each vertex's neighbours, -1 padded."""

    free: npt.NDArray[np.bool_]
    name: str = ""
    index: npt.NDArray[np.int32] = field(init=False, repr=False)
    cells: npt.NDArray[np.int32] = field(init=False, repr=False)
    neighbours: npt.NDArray[np.int32] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        free = np.ascontiguousarray(self.free, dtype=np.bool_)
        if free.ndim != 2 or free.size == 0:
            raise MapfError(f"a grid is a non-empty 2-D array of cells, got shape {free.shape}")
        height, width = free.shape
        flat = free.ravel()
        cells = np.flatnonzero(flat).astype(np.int32)
        index = np.full(flat.size, -1, np.int32)
        index[cells] = np.arange(cells.size, dtype=np.int32)
        ys, xs = np.divmod(cells, width)
        neighbours = np.full((cells.size, 4), -1, np.int32)
        for k, (dx, dy) in enumerate(((0, -1), (1, 0), (0, 1), (-1, 0))):
            nx, ny = xs + dx, ys + dy
            inside = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
            target = np.full(cells.size, -1, np.int32)
            target[inside] = index[ny[inside] * width + nx[inside]]
            neighbours[:, k] = target
        object.__setattr__(self, "free", free)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "cells", cells)
        object.__setattr__(self, "neighbours", neighbours)

    @classmethod
    def from_rows(cls, rows: Sequence[str], name: str = "") -> Grid:
        """A grid from rows of MovingAI characters (``.`` free, ``@`` or ``T`` a wall, ...)."""
        if not rows or any(len(row) != len(rows[0]) for row in rows):
            raise MapfError("the rows of a grid must be non-empty and of one length")
        for y, row in enumerate(rows):
            bad = set(row) - FREE - BLOCKED
            if bad:
                raise MapfError(f"row {y}: unknown map character {sorted(bad)[0]!r}")
        return cls(np.array([[ch in FREE for ch in row] for row in rows], np.bool_), name)

    @property
    def width(self) -> int:
        return int(self.free.shape[1])

    @property
    def height(self) -> int:
        return int(self.free.shape[0])

    @property
    def vertices(self) -> int:
        """The number of free cells."""
        return int(self.cells.size)

    def vertex(self, cell: Cell) -> int:
        """The vertex of a free cell; ``MapfError`` off the grid or on a wall."""
        x, y = cell
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise MapfError(f"cell {cell} is off the {self.width}x{self.height} grid")
        v = int(self.index[y * self.width + x])
        if v < 0:
            raise MapfError(f"cell {cell} is a wall")
        return v

    def cell(self, vertex: int) -> Cell:
        """The ``(x, y)`` of a vertex."""
        y, x = divmod(int(self.cells[vertex]), self.width)
        return (x, y)

    def vertices_of(self, xy: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
        """Vertices of an (n, 2) array of ``(x, y)`` cells, all known to be free."""
        return self.index[xy[:, 1] * self.width + xy[:, 0]]

    def cells_of(self, vertices: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
        """The (..., 2) ``(x, y)`` cells of an array of vertices."""
        y, x = np.divmod(self.cells[vertices], self.width)
        return np.stack([x, y], axis=-1).astype(np.int32)


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MapfError(f"cannot read {path}: {e}") from e
    return text.splitlines()


def load_map(path: str | Path) -> Grid:
    """The grid of a MovingAI ``.map`` file: ``type octile``, ``height H``, ``width W``,
    ``map``, then H rows of W characters."""
    path = Path(path)
    lines = _lines(path)

    def where(line: int) -> str:
        return f"{path}:{line + 1}"

    parts = lines[0].split() if lines else []
    if len(parts) != 2 or parts[0] != "type":
        raise MapfError(f"expected 'type octile', got {lines[0] if lines else ''!r}", where(0))
    sizes: dict[str, int] = {}
    for at in (1, 2):  # height then width, or the other way round
        parts = lines[at].split() if at < len(lines) else []
        if (
            len(parts) != 2
            or parts[0] not in ("height", "width")
            or parts[0] in sizes
            or not parts[1].isdigit()
            or int(parts[1]) == 0
        ):
            got = repr(lines[at]) if at < len(lines) else "the end of the file"
            raise MapfError(f"expected 'height H' and 'width W' (positive numbers), got {got}",
                            where(at))  # fmt: skip
        sizes[parts[0]] = int(parts[1])
    height, width = sizes["height"], sizes["width"]
    if len(lines) < 4 or lines[3].strip() != "map":
        raise MapfError("expected 'map' before the rows", where(3))
    rows = lines[4:]
    while rows and not rows[-1].strip():
        rows.pop()
    if len(rows) != height:
        raise MapfError(
            f"wrong size: the header says height {height} but {len(rows)} rows follow",
            where(4 + min(len(rows), height)),
        )
    for y, row in enumerate(rows):
        if len(row) != width:
            raise MapfError(
                f"wrong size: row {y} has {len(row)} cells, the header says width {width}",
                where(4 + y),
            )
        bad = set(row) - FREE - BLOCKED
        if bad:
            ch = sorted(bad)[0]
            raise MapfError(
                f"unknown map character {ch!r} at x={row.index(ch)} (free: . G S; walls: @ O T W)",
                where(4 + y),
            )
    free = np.frombuffer("".join(rows).encode("latin-1"), np.uint8).reshape(height, width)
    mask = np.zeros(256, np.bool_)
    mask[[ord(c) for c in FREE]] = True
    return Grid(mask[free], path.stem)


@dataclass(frozen=True, eq=False)
class Scenario:
    """Agents of a ``.scen`` file in file order: ``starts`` and ``goals`` (n, 2) ``(x, y)``;
    ``lines`` the 1-based line of each agent; ``optimal`` the file's optimal-length column (0
    when the publisher left it to be computed)."""

    path: Path
    starts: npt.NDArray[np.int32]
    goals: npt.NDArray[np.int32]
    lines: npt.NDArray[np.int32]
    optimal: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def first(self, n: int) -> Scenario:
        """The instance of the first ``n`` agents (the MovingAI protocol)."""
        if not 0 < n <= len(self):
            raise MapfError(f"{self.path} has {len(self)} agents, cannot take the first {n}")
        return Scenario(
            self.path, self.starts[:n], self.goals[:n], self.lines[:n], self.optimal[:n]
        )

    def where(self, agent: int) -> str:
        """``file:line`` of an agent."""
        return f"{self.path}:{int(self.lines[agent])}"


def load_scenario(path: str | Path, grid: Grid) -> Scenario:
    """The agents of a MovingAI ``.scen`` file on ``grid``: ``version 1`` then tab-separated
    ``bucket map width height start_x start_y goal_x goal_y optimal_length``. A size other than
    the grid's, a start or goal off the grid or on a wall, and a start or goal taken by an
    earlier agent are errors naming the line."""
    path = Path(path)
    lines = _lines(path)
    if not lines or not lines[0].startswith("version"):
        raise MapfError(f"expected 'version 1', got {lines[0] if lines else ''!r}", f"{path}:1")
    rows: list[tuple[int, int, int, int, int, float]] = []
    starts: dict[Cell, int] = {}
    goals: dict[Cell, int] = {}
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) != 9:
            raise MapfError(
                f"expected 9 fields (bucket map width height start_x start_y goal_x goal_y "
                f"optimal_length), got {len(fields)}",
                where,
            )
        try:
            width, height, sx, sy, gx, gy = (int(f) for f in fields[2:8])
            optimal = float(fields[8])
        except ValueError:
            raise MapfError(
                f"a size, coordinate or length is not a number: {line!r}", where
            ) from None
        if (width, height) != (grid.width, grid.height):
            raise MapfError(
                f"wrong size: {width}x{height}, the map {grid.name or ''} is "
                f"{grid.width}x{grid.height}",
                where,
            )
        for what, cell, seen in (("start", (sx, sy), starts), ("goal", (gx, gy), goals)):
            try:
                grid.vertex(cell)
            except MapfError as e:
                raise MapfError(f"{what} {e}", where) from None
            if cell in seen:
                raise MapfError(f"duplicate {what} {cell}: line {seen[cell]} has it too", where)
            seen[cell] = n
        rows.append((sx, sy, gx, gy, n, optimal))
    if not rows:
        raise MapfError("no agents", f"{path}:2")
    table = np.array([r[:5] for r in rows], np.int32)
    return Scenario(
        path,
        np.ascontiguousarray(table[:, 0:2]),
        np.ascontiguousarray(table[:, 2:4]),
        np.ascontiguousarray(table[:, 4]),
        np.array([r[5] for r in rows], np.float64),
    )
