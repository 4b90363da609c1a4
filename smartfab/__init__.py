"""smartfab: an open-source, self-hosted smart-manufacturing platform."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smartfab.platform.queries import PlantData

__version__ = "0.1.0"


def connect(data: str | Path, plant: str | Path | None = None) -> PlantData:
    """Open a smartfab data folder for queries (see ``smartfab.platform.queries``)."""
    from smartfab.platform.queries import connect as _connect

    return _connect(data, plant)
