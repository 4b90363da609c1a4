"""The plant, the store and the security database, as the settings name them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smartfab.config import Settings
from smartfab.errors import SmartfabError
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.security import Security
from smartfab.platform.store import open_store
from smartfab.platform.store.base import Store
from smartfab.platform.store.shared import SharedStore
from smartfab.runtime.output import Output


@contextmanager
def plant_and_store(s: Settings, *, writes: bool = False) -> Iterator[tuple[Plant, Store]]:
    """The checked plant file and the open store: PostgreSQL when ``store_url`` names it, else the
    embedded DuckDB file (its folder made if missing), read through the running smartfab that
    holds it, if one does. A caller that ``writes`` fails at once then, not halfway."""
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


def open_security(s: Settings, out: Output) -> Security:
    """The security database next to the store. On the very first start it holds no user: then
    ``admin`` is created with a generated password, told this once (there is no default password
    to forget to change)."""
    sec = Security(s.security_file)
    password = sec.users.ensure_admin()
    if password is not None:
        out.say(
            f"first start: created the user admin with the password {password}\n"
            "it is shown only this once: keep it safe, or set another with "
            "`smartfab users passwd admin`",
            emphasis=True,
        )
    return sec
