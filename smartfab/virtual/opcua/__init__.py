"""The virtual plant's OPC UA face: its equipment served as OPC UA servers."""
