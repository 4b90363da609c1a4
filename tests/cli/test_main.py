"""The command line as a user meets it: every command explains itself, failures are one line."""

from __future__ import annotations

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
