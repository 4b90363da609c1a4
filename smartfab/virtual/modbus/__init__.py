"""The virtual plant's Modbus face: its equipment served as Modbus TCP servers."""
