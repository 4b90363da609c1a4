"""The digital twin: a SimPy model of each line, calibrated from the history, validated against it,
and run in what-if experiments."""
