"""The signal catalogue as the plant model defines it: what the store must know of each signal."""

from __future__ import annotations

from smartfab.model.plant import Plant
from smartfab.platform.store.base import SignalInfo, Store


def signal_infos(plant: Plant) -> list[SignalInfo]:
    """One SignalInfo per signal of the plant, with its lineage (protocol:connection)."""
    out = []
    for ref in plant.iter_signals():
        sig, src = ref.signal, ref.signal.source
        low, high = sig.range if sig.range is not None else (None, None)
        out.append(
            SignalInfo(
                path=ref.path,
                equipment=ref.owner.path,
                name=sig.name,
                unit=sig.unit,
                data_type=sig.type,
                role=sig.role,
                low=low,
                high=high,
                source=f"{src.protocol}:{src.connection}" if src.connection else src.protocol,
                length=sig.length,
            )
        )
    return out


def register_plant(store: Store, plant: Plant) -> dict[str, int]:
    """Make sure the store knows every signal of the plant; return path -> id."""
    return store.register_signals(signal_infos(plant))
