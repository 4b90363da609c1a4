"""How the running system reports to whoever runs it: a line of text, and the progress of a long
job. The command line shows them on the console (with a progress bar); benchmarks and tests log
them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

log = logging.getLogger("smartfab")

# completed, total (may grow: a backfill chasing the clock), detail
Advance = Callable[[int, int, str], None]


class Output(Protocol):
    def say(self, text: str, *, emphasis: bool = False) -> None:
        """A line for the person running smartfab; ``emphasis`` for what must not be missed."""
        ...

    def progress(self, description: str, total: int) -> AbstractContextManager[Advance]:
        """A long job: the context yields the function that reports how far it got."""
        ...


class LogOutput:
    """Reports to the ``smartfab`` log: lines at INFO, progress at DEBUG."""

    def say(self, text: str, *, emphasis: bool = False) -> None:
        log.log(logging.WARNING if emphasis else logging.INFO, "%s", text)

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Advance]:
        def advance(completed: int, total: int, detail: str) -> None:
            log.debug("%s: %d of %d %s", description, completed, total, detail)

        yield advance
