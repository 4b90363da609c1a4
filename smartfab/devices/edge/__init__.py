"""Edge store-and-forward: an agent next to the machines that reads them with the usual connectors,
keeps every batch on disk until the broker has acknowledged it, and publishes to the broker as UNS
JSON (see ``agent`` and ``buffer``)."""
