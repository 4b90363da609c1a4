"""VDA 5050 2.1, the interface between AGVs and their fleet manager: JSON messages over MQTT,
checked against the standard's published schemas (``schemas/``, MIT licence)."""
