"""The `smartfab` command. Each command group lives in its own module and is imported only when
used, so that `smartfab --help` stays instant."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from smartfab import __version__
from smartfab.errors import SmartfabError

err = Console(stderr=True)


def _plain_help(command: Any) -> None:
    """Escape Rich markup in the help of ``command`` and of every command under it.

    Help texts here are plain text, and typer reads them as Rich markup: ``[default: 42]`` was
    taken for a style tag and dropped, leaving "Seed of the virtual factory ." in ``--help``.
    """
    if command.help:
        command.help = escape(command.help)
    for param in command.params:
        help_text = getattr(param, "help", None)  # options and typer's arguments have one
        if help_text:
            param.help = escape(help_text)
    # typer's commands are its own vendored click's, so groups are told by their subcommands
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class _Root(typer.core.TyperGroup):
    """The root command: typer builds the command tree afresh for every run, then calls this."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _plain_help(self)
        return super().main(*args, **kwargs)


app = typer.Typer(
    cls=_Root,
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
    from smartfab.cli import (
        bench,
        browse,
        certs,
        demo,
        edge,
        energy,
        governance,
        maintenance,
        plant,
        quality,
        report,
        security,
        serve,
        simulate,
        transformation,
        twin,
        warehouse,
    )

    app.command("demo")(demo.demo)
    app.command("simulate")(simulate.simulate)
    app.command("serve")(serve.serve)
    app.command("browse")(browse.browse)
    app.command("report")(report.report)
    app.command("lineage")(governance.lineage)
    app.command("export")(governance.export)
    app.add_typer(plant.app, name="plant")
    app.add_typer(bench.app, name="bench")
    app.add_typer(maintenance.app, name="maintenance")
    app.add_typer(twin.app, name="twin")
    app.add_typer(warehouse.app, name="warehouse")
    app.add_typer(energy.app, name="energy")
    app.add_typer(quality.app, name="quality")
    app.add_typer(security.users, name="users")
    app.add_typer(security.tokens, name="tokens")
    app.add_typer(security.audit, name="audit")
    app.add_typer(edge.app, name="edge")
    app.add_typer(certs.app, name="certs")
    app.add_typer(governance.retention, name="retention")
    app.add_typer(transformation.app, name="transformation")
    app.add_typer(transformation.insights, name="insights")


def main() -> None:
    """Entry point: usage errors are typer's (exit 2); expected errors become one line and exit
    code 1; anything unexpected too, with the traceback only under --verbose."""
    _register()
    try:
        app()
    except SmartfabError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:  # Ctrl-C before a command's own handler: what was sent is stored
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # the last resort: one line, never a traceback wall
        if logging.getLogger().isEnabledFor(logging.INFO):
            raise
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc} (run with -v for details)")
        sys.exit(1)
