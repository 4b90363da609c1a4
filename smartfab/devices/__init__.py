"""DEVICE LAYER: protocol connectors and the virtual factory that speaks the same protocols."""
