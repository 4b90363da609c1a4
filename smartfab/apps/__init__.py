"""APPLICATION LAYER: one package per capability, each reading the store."""
