"""`smartfab users|tokens|audit ...`: users, API tokens and the audit log, on the security
database next to the store. They work while the server runs (the database admits several
processes), and what they change is in the audit log as done by ``cli:<login name>``."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from smartfab.cli.common import ConfigOpt, DataDirOpt, console, settings
from smartfab.errors import SmartfabError
from smartfab.platform.security.tokens import MAX_DAYS

if TYPE_CHECKING:
    from smartfab.platform.security import Security

users = typer.Typer(help="Users of the web app and the API.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens for machines and scripts.", no_args_is_help=True)
audit = typer.Typer(help="The audit log of every change.", no_args_is_help=True)

RoleOpt = Annotated[str, typer.Option("--role", "-r", help="viewer, operator, engineer or admin.")]
ScopeOpt = Annotated[
    str,
    typer.Option("--scope", "-s", help="Asset path the grant is limited to (site, area, line)."),
]


@contextmanager
def _security(config: ConfigOpt, data_dir: DataDirOpt) -> Iterator[Security]:
    from smartfab.platform.security import Security

    with Security(settings(config, data_dir, None).security_file) as sec:
        yield sec


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in a container
        return f"cli:uid-{os.getuid()}"


def _when(us: int | None) -> str:
    if not us:
        return ""
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _new_password(generate: bool) -> str | None:
    if generate:
        return None
    first = getpass.getpass("new password: ")
    if first != getpass.getpass("again: "):
        raise SmartfabError("the passwords differ; nothing changed")
    return first


# --- users ---------------------------------------------------------------------------------------


@users.command("add")
def users_add(
    name: str,
    role: RoleOpt = "viewer",
    scope: ScopeOpt = "",
    ask: Annotated[
        bool, typer.Option("--ask", help="Type the password instead of generating one.")
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a user; prints a generated password once (or asks for one with --ask)."""
    with _security(config, data_dir) as sec:
        password = sec.users.add(_actor(), name, role, scope, _new_password(not ask))
    console.print(f"added {name} ({role}{' of ' + scope if scope else ''})")
    if not ask:
        console.print(
            f"password (shown only now): [bold]{password}[/bold]", highlight=False, soft_wrap=True
        )


@users.command("list")
def users_list(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Users with their role, scope and state."""
    with _security(config, data_dir) as sec:
        found = sec.users.list()
    table = Table("name", "role", "scope", "state", "created")
    for u in found:
        state = "disabled" if u.disabled else "active"
        table.add_row(u.name, u.role.value, u.scope or "(all)", state, _when(u.created_us))
    console.print(table)


@users.command("passwd")
def users_passwd(
    name: str,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a password and print it once.")
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Set a user's password (asks for it, or --generate); ends the user's sessions and forgets
    their failed logins."""
    from smartfab.platform.security.users import generate_password

    password = _new_password(generate) or generate_password()
    with _security(config, data_dir) as sec:
        sec.users.update(_actor(), name, password=password)
    console.print(f"password of {name} changed; their sessions are ended")
    if generate:
        console.print(
            f"password (shown only now): [bold]{password}[/bold]", highlight=False, soft_wrap=True
        )


@users.command("disable")
def users_disable(
    name: str,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Disable a user (ends their sessions at once), or enable them again with --enable."""
    with _security(config, data_dir) as sec:
        sec.users.update(_actor(), name, disabled=not enable)
    console.print(f"{name} {'enabled' if enable else 'disabled'}")


# --- tokens --------------------------------------------------------------------------------------


@tokens.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="Who or what uses it, e.g. 'mes-export'.")],
    role: RoleOpt = "viewer",
    scope: ScopeOpt = "",
    permission: Annotated[
        list[str] | None,
        typer.Option("--permission", "-P", help="Only this permission of the role (repeatable)."),
    ] = None,
    days: Annotated[
        float,
        typer.Option(
            "--days", help="Expires after this many days; 0 for never.", min=0, max=MAX_DAYS
        ),
    ] = 90,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create an API token; prints it once (send it as `Authorization: Bearer <token>`)."""
    with _security(config, data_dir) as sec:
        token, secret = sec.tokens.create(
            _actor(), name, role, scope, permission or [], days or None
        )
    console.print(f"token {token.id} for {name}, expires {_when(token.expires_us) or 'never'}")
    console.print(f"token (shown only now): [bold]{secret}[/bold]", highlight=False, soft_wrap=True)


@tokens.command("list")
def tokens_list(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """API tokens (never their secrets)."""
    with _security(config, data_dir) as sec:
        found = sec.tokens.list()
    table = Table("id", "name", "role", "scope", "permissions", "expires", "state", "last used")
    for t in found:
        state = "revoked" if t.revoked_us else "active"
        table.add_row(
            t.id, t.name, t.role.value, t.scope or "(all)", ", ".join(t.permissions) or "(all)",
            _when(t.expires_us) or "never", state, _when(t.last_used_us),
        )  # fmt: skip
    console.print(table)


@tokens.command("revoke")
def tokens_revoke(token_id: str, config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Revoke an API token: it is refused from the next request on."""
    with _security(config, data_dir) as sec:
        sec.tokens.revoke(_actor(), token_id)
    console.print(f"token {token_id} revoked")


# --- audit ---------------------------------------------------------------------------------------


@audit.command("verify")
def audit_verify(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Check the audit log's hash chain: exits 1 naming each edited, deleted or reordered entry.
    Note the head hash it prints somewhere else: it anchors the log up to here."""
    with _security(config, data_dir) as sec:
        v = sec.audit.verify()
    for problem in v.problems:
        console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
    if not v.ok:
        raise SmartfabError(f"the audit log has been tampered with ({len(v.problems)} problems)")
    console.print(
        f"audit log intact: {v.entries} entries, head {v.head_seq} {v.head_hash}",
        highlight=False,
        soft_wrap=True,
    )


@audit.command("show")
def audit_show(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest entries.")] = 50,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """The newest audit entries: who, when, what, before and after."""
    with _security(config, data_dir) as sec:
        entries = sec.audit.entries(limit, actor)
    if as_json:
        for e in entries:
            print(json.dumps({"seq": e.seq, "ts": _when(e.ts_us), "actor": e.actor,
                              "action": e.action, "target": e.target, "before": e.before,
                              "after": e.after, "hash": e.hash}, ensure_ascii=False))  # fmt: skip
        return
    table = Table("seq", "when", "who", "what", "target", "before", "after")
    for e in entries:
        table.add_row(
            str(e.seq), _when(e.ts_us), e.actor, e.action, e.target,
            json.dumps(e.before, ensure_ascii=False), json.dumps(e.after, ensure_ascii=False),
        )  # fmt: skip
    console.print(table)
