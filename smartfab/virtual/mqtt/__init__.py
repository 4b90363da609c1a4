"""The virtual plant's MQTT face: its equipment published as a Unified Namespace and
Sparkplug B nodes."""
