"""`smartfab users|tokens|audit`: on the security database next to the store, each change in the
audit log, and `audit verify` failing (exit 1) on a log edited behind smartfab's back."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from smartfab.cli.main import _register, app
from smartfab.platform.security import Security

runner = CliRunner(env={"COLUMNS": "200"})
_register()


def run(*args: str, data: Path, code: int = 0, stdin: str | None = None) -> str:
    r = runner.invoke(app, [*args, "--data-dir", str(data)], input=stdin)
    assert r.exit_code == code, (r.output, r.exception)
    return r.output


def test_users_tokens_and_audit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = run("users", "add", "li", "--role", "operator", "--scope", "shenyang/pressing", data=data)
    password = re.search(r"password \(shown only now\): (\S+)", out)
    assert password
    with Security(data / "security.sqlite") as sec:
        assert sec.users.authenticate("li", password[1]).scope == "shenyang/pressing"
    again = runner.invoke(app, ["users", "add", "li", "--data-dir", str(data)])
    assert again.exit_code == 1 and "exists already" in str(again.exception)
    out = run("users", "list", data=data)
    assert "li" in out and "operator" in out and "shenyang/pressing" in out
    run("users", "passwd", "li", data=data, stdin="new-password-1\nnew-password-1\n")
    out = run("users", "passwd", "li", "--generate", data=data)
    assert re.search(r"password \(shown only now\): \S{20}", out)
    run("users", "disable", "li", data=data)
    assert "disabled" in run("users", "list", data=data)

    out = run("tokens", "create", "mes-export", "--role", "viewer", "--days", "30", data=data)
    token = re.search(r"token \(shown only now\): (sft_(\w{16})_\S+)", out)
    assert token
    with Security(data / "security.sqlite") as sec:
        assert sec.tokens.lookup(token[1]) is not None
    assert "mes-export" in run("tokens", "list", data=data)
    run("tokens", "revoke", token[2], data=data)
    with Security(data / "security.sqlite") as sec:
        assert sec.tokens.lookup(token[1]) is None

    out = run("audit", "verify", data=data)
    assert "audit log intact: 6 entries" in out
    out = run("audit", "show", "--json", data=data)
    assert [line.split('"action": ')[1].split('"')[1] for line in out.splitlines()] == [
        "user.add", "user.update", "user.update", "user.update", "token.create", "token.revoke"
    ]  # fmt: skip


def test_token_lifetimes_beyond_any_date_are_refused_before_saving(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for days in ("100000000", "1e308", "nan", "-1"):
        r = runner.invoke(app, ["tokens", "create", "x", "--days", days, "--data-dir", str(data)])
        assert r.exit_code != 0, days
    with Security(data / "security.sqlite") as sec:
        assert sec.tokens.list() == [] and sec.audit.entries() == []
    assert "never" not in run("tokens", "list", data=data)


def test_audit_verify_fails_on_a_tampered_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run("users", "add", "li", data=data)
    run("users", "add", "wang", data=data)
    con = sqlite3.connect(data / "security.sqlite")
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 1")
    con.commit()
    con.close()
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(data)])
    assert r.exit_code == 1
    assert "entry 1: its content does not match its hash (edited)" in r.output


def test_every_command_explains_itself() -> None:
    for group, commands in {
        "users": ("add", "list", "passwd", "disable"),
        "tokens": ("create", "list", "revoke"),
        "audit": ("verify", "show"),
    }.items():
        for command in ("", *commands):
            r = runner.invoke(app, [group, *([command] if command else []), "--help"])
            assert r.exit_code == 0 and "Usage" in r.output, (group, command, r.output)
