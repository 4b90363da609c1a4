"""Predictive maintenance: operating regimes and windowed features of any numeric sensors,
remaining useful life with an interval, a health index, streaming anomaly detection, failure
prediction from process data, failure warnings judged against recorded failures, and versioned
model storage. Evidence on public data behind `smartfab bench maintenance`."""
