"""Modbus TCP: the connector and the register maps it reads."""
