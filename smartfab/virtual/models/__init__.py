"""The virtual equipment models: one module per kind of equipment, each defining ``MODEL``, an
:class:`EquipmentModel` table (see :mod:`.table` for what a table says). A new kind of virtual
equipment is a new module here; nothing else lists the kinds."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType

from smartfab.virtual.models.table import (
    ARRAY_QUANTITIES,
    DRIVERS,
    MODES,
    TEXT_QUANTITIES,
    TIMELINE_QUANTITIES,
    WEAR,
    EquipmentModel,
    FailureMode,
    MinorStop,
    Peak,
    Quantity,
    Spectrum,
    Term,
    quantity,
)


def _discover() -> Mapping[str, EquipmentModel]:
    found: dict[str, EquipmentModel] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        model = getattr(importlib.import_module(f"{__name__}.{info.name}"), "MODEL", None)
        if isinstance(model, EquipmentModel):
            if model.name in found:
                raise ValueError(f"two virtual models are named {model.name!r}")
            found[model.name] = model
    return MappingProxyType(found)


MODELS: Mapping[str, EquipmentModel] = _discover()


def known_quantities(model: str) -> frozenset[str]:
    """The quantities (``Signal.sim``) the virtual model simulates; empty for an unknown model."""
    m = MODELS.get(model)
    if m is None:
        return frozenset()
    return TIMELINE_QUANTITIES | frozenset(m.quantities) | m.other_quantities


__all__ = [
    "ARRAY_QUANTITIES",
    "DRIVERS",
    "MODELS",
    "MODES",
    "TEXT_QUANTITIES",
    "TIMELINE_QUANTITIES",
    "WEAR",
    "EquipmentModel",
    "FailureMode",
    "MinorStop",
    "Peak",
    "Quantity",
    "Spectrum",
    "Term",
    "known_quantities",
    "quantity",
]
