"""VIRTUAL PLANT: a simulated factory that speaks the shop floor's protocols, beside the device
layer, not in it: equipment models and their state machines, the plant calendar, and one face per
protocol (OPC UA and Modbus servers, MQTT publishers), run in a process of its own."""
