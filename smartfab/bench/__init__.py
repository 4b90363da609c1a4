"""Benchmarks behind `smartfab bench ...`; each prints its figures as one JSON object last."""
