"""The composition root: the one place that builds the running system from ``Settings`` and
wires its parts together (store, security, ingestion with the alarm engine, the applications'
services, the API; the virtual plant for the demo). Commands, benchmarks and test fixtures ask it
for what they need; nothing here imports the command line.

``system``: plant, store and security from the settings; ``ingestion``: the running data path
(connectors -> bus -> writer -> store, alarms beside it); ``serve``: the server until stopped;
``backfill``: history from the virtual plant; ``demo``: the whole platform on the virtual plant;
``output``: how the root reports to whoever runs it (the console, a log). Each is imported by
what needs it, so that a light command never loads the heavy parts."""
