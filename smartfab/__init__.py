"""smartfab: an open-source, self-hosted smart-manufacturing platform."""

__version__ = "0.1.0"
