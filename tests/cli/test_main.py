"""The command line as a user meets it: every command explains itself, failures are one line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [
    [],
    ["demo"],
    ["simulate"],
    ["serve"],
    ["browse"],
    ["plant"],
    ["plant", "check"],
    ["plant", "show"],
    ["plant", "units"],
    ["bench"],
    ["bench", "ingest"],
    ["bench", "scheduling"],
]


def smartfab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartfab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "smartfab")
def test_every_command_has_help(command: list[str]) -> None:
    r = smartfab(*command, "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage:" in r.stdout
    # Each command's help says what it does in a sentence of its own, not just its options.
    description = r.stdout.split("Usage:", 1)[1].split("Options")[0]
    assert len(description.split()) >= 5


def test_version() -> None:
    from smartfab import __version__

    assert smartfab("--version").stdout.strip() == f"smartfab {__version__}"


def test_failure_is_one_line_and_nonzero(tmp_path: Path) -> None:
    r = smartfab("simulate", "--days", "1", "--plant", str(tmp_path / "missing.yaml"))
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "missing.yaml" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_bad_option_value_is_a_usage_error(tmp_path: Path) -> None:
    r = smartfab("simulate", "--days", "-3", "--data-dir", str(tmp_path))
    assert r.returncode == 2
    assert "--days" in r.stderr


def test_bad_end_time(tmp_path: Path) -> None:
    r = smartfab("simulate", "--end", "last tuesday", "--data-dir", str(tmp_path))
    assert r.returncode == 2
    assert "ISO 8601" in r.stderr


def _command_paths() -> list[list[str]]:
    """Every command and command group of ``smartfab``, read from the command tree itself."""
    import typer

    from smartfab.cli import main

    main._register()
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(main.app), [])
    return paths


def test_no_help_loses_its_text() -> None:
    """Bracketed help such as "[default: 42]" is shown as written, never swallowed as Rich markup
    (which left "Seed of the virtual factory ." with an empty default)."""
    from typer.testing import CliRunner

    from smartfab.cli.main import app

    paths = _command_paths()
    assert len(paths) > 30  # the walk found the whole tree, groups and their commands
    runner = CliRunner()
    for path in paths:
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "300"}, prog_name="smartfab")
        assert r.exit_code == 0, (path, r.output)
        # " ." where a text was dropped; an ellipsis (" ...") or a path (" ./x") is fine
        assert not re.search(r" \.(?![./\w])", r.output), (path, r.output)
        assert "[default: ]" not in r.output, (path, r.output)
    demo = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "300"}).output
    assert "Folder of the store [default: ./smartfab-data]." in demo
    assert "Seed of the virtual factory [default: 42]." in demo
