"""PLATFORM LAYER: bus, ingestion, storage, data quality."""
