"""Intelligent warehousing and logistics: AGV fleet management (``fleet``, with the multi-agent
path finder ``mapf``), storage and picking optimisation, tracking of every movement of goods as
GS1 EPCIS events with order status, ETA and logistics KPIs (``tracking``)."""
