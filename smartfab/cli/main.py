"""The `smartfab` command. Each command group lives in its own module and is imported only when
used, so that `smartfab --help` stays instant."""

from __future__ import annotations

import logging
import sys

import click
import typer
from rich.console import Console

from smartfab import __version__
from smartfab.errors import SmartfabError

err = Console(stderr=True)

app = typer.Typer(
    name="smartfab",
    help="smartfab: connect equipment, collect its data, run production better.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"smartfab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens, for debugging."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # asyncua logs its own retries as errors; our connectors report outages in their status
        # and as gap events, so its messages only matter when debugging.
        logging.getLogger("asyncua").setLevel(logging.CRITICAL)


def _register() -> None:
    from smartfab.cli import bench, demo, plant, serve, simulate

    app.command("demo")(demo.demo)
    app.command("simulate")(simulate.simulate)
    app.command("serve")(serve.serve)
    app.add_typer(plant.app, name="plant")
    app.add_typer(bench.app, name="bench")


def main() -> None:
    """Entry point: run the app and turn expected errors into one line and exit code 1."""
    _register()
    try:
        app(standalone_mode=False)
    except SmartfabError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
    except click.ClickException as exc:  # usage errors: click's own one-line message
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except (typer.Exit, SystemExit) as exc:
        code = exc.exit_code if isinstance(exc, typer.Exit) else exc.code
        sys.exit(code if isinstance(code, int) else 0)
    except Exception as exc:  # the last resort: one line, never a traceback wall
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc} (run with -v for details)")
        if logging.getLogger().isEnabledFor(logging.INFO):
            raise
        sys.exit(1)
