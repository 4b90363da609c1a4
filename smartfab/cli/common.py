"""Options and helpers that several commands share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

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


class ConsoleOutput:
    """The running system's lines and progress (:class:`~smartfab.runtime.output.Output`) on the
    console, with a progress bar."""

    def say(self, text: str, *, emphasis: bool = False) -> None:
        console.print(
            text, style="bold" if emphasis else None, markup=False, highlight=False, soft_wrap=True
        )

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int, int, str], None]]:
        with progress_bar() as bar:
            task = bar.add_task(description, total=total, detail="")

            def advance(completed: int, total: int, detail: str) -> None:
                bar.update(task, completed=completed, total=total, detail=detail)

            yield advance
