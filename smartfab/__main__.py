"""`python -m smartfab` is the `smartfab` command."""

from smartfab.cli.main import main

main()
