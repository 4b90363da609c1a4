"""The `smartfab` command line: thin commands that call into the layers."""
