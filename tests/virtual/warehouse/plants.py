"""The demo plant's storage zones changed for a test: a light order demand (a few orders an hour,
so that the simulation is quick and the clock or the protocol is what is under test)."""

from __future__ import annotations

from collections.abc import Callable

from smartfab.model.plant import OrderDemand, Plant, StorageZone

LIGHT = OrderDemand(lines_per_day=150)


def with_zones(plant: Plant, change: Callable[[StorageZone], StorageZone]) -> Plant:
    """``plant`` with every storage zone replaced by ``change(zone)``."""
    areas = [
        a.model_copy(update={"storage_zones": [change(z) for z in a.storage_zones]})
        for a in plant.site.areas
    ]
    return plant.model_copy(update={"site": plant.site.model_copy(update={"areas": areas})})


def light_demand(plant: Plant) -> Plant:
    return with_zones(plant, lambda z: z.model_copy(update={"demand": LIGHT}))
