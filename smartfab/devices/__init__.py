"""DEVICE LAYER: protocol connectors (OPC UA, Modbus TCP, MQTT), their codecs and the edge agent."""
