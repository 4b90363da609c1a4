"""The plant model: ISA-95 hierarchy, signals, units, bindings and their validation."""
