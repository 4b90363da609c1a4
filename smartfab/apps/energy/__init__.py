"""Energy management in the spirit of ISO 50001 / ISO 50006: metered energy in 15-minute
intervals per asset (series.py), energy per good part by asset, line, shift and product
(intensity.py), the energy baseline regression, energy performance indicators and cumulative
savings (baseline.py), load profile and peak demand (profile.py), time-of-use cost and CO2 from
the plant file (costs.py), and the public data sets the models are benchmarked on (datasets.py)."""
