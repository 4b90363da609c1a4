"""MQTT ingestion: JSON on a Unified-Namespace topic tree and Sparkplug B, over MQTT 3.1.1 or 5."""
