"""Options and helpers that several commands share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from smartfab.config import Settings, load_settings
from smartfab.errors import SmartfabError

if TYPE_CHECKING:
    from smartfab.model.plant import Plant
    from smartfab.platform.store.base import Store

console = Console()

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings file (YAML); SMARTFAB_* variables override it."),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", "-d", help="Folder of the store [default: ./smartfab-data]."),
]
PlantOpt = Annotated[
    Path | None,
    typer.Option("--plant", "-p", help="Plant file (YAML) [default: the bundled demo plant]."),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Seed of the virtual factory [default: 42].")
]


def settings(
    config: Path | None, data_dir: Path | None, plant: Path | None, seed: int | None = None
) -> Settings:
    return load_settings(config, data_dir=data_dir, plant=plant, seed=seed)


def progress_bar() -> Progress:
    """The progress bar of long jobs: what, bar, %, detail, elapsed, remaining."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@contextmanager
def plant_and_store(s: Settings, *, writes: bool = False) -> Iterator[tuple[Plant, Store]]:
    """The checked plant file and the open store: PostgreSQL when ``store_url`` names it, else the
    embedded DuckDB file (its folder made if missing), read through the running smartfab that
    holds it, if one does. A command that ``writes`` fails at once then, not halfway."""
    from smartfab.model.loader import load_plant
    from smartfab.platform.store import open_store
    from smartfab.platform.store.shared import SharedStore

    plant = load_plant(s.plant)
    location = s.store_location
    if isinstance(location, Path):
        location.parent.mkdir(parents=True, exist_ok=True)
    with open_store(location) as store:
        if writes and isinstance(store, SharedStore):
            raise SmartfabError(
                f"{location} is held by process {store.pid} (a running smartfab), which shares "
                "reads but not writes, and this command writes: stop that process first"
            )
        yield plant, store
