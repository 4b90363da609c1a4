"""The dashboards of a server: each with its owner, and shared or not, in the platform's SQLite
database beside users and tokens (:mod:`~smartfab.platform.security.database`), for the same
reasons: a few hundred small records updated in place and read by several processes, which the
time-series store is not made for. Each change is written with its audit entry in one
transaction.

Who sees and changes what:

* a dashboard of one's own (personal) is seen and changed by its owner only: any role may keep
  them, since a saved view changes nothing that anyone else sees;
* a shared dashboard is shared with a least role and a part of the plant: every user of that
  role or above whose own part of the plant overlaps it sees it (without what lies outside their
  part, see :func:`~smartfab.platform.dashboards.paths.narrowed`); it is changed, unshared or
  deleted by those holding ``dashboards.share`` whose part of the plant holds all of it;
* sharing needs ``dashboards.share`` and a part of the plant within one's own, and every path of
  the dashboard must lie in it.

A change names the revision it was made on; when somebody else saved the dashboard since, it is
refused (409) rather than overwriting their change."""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from smartfab.errors import SmartfabError
from smartfab.platform.dashboards.paths import DashboardError, below
from smartfab.platform.dashboards.schema import Dashboard
from smartfab.platform.security import audit
from smartfab.platform.security.database import SecurityDB, now_us
from smartfab.platform.security.roles import Principal, Role, check_scope

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dashboards (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    shared_role TEXT,
    shared_scope TEXT,
    document TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dashboards_owner ON dashboards (owner);
"""
SHARE = "dashboards.share"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sharing:
    role: Role  # the least role that sees it
    scope: str  # the part of the plant it is about; '' the whole plant

    def public(self) -> dict[str, str]:
        return {"role": self.role.value, "scope": self.scope}


@dataclass(frozen=True, slots=True)
class Stored:
    id: str
    owner: str
    sharing: Sharing | None
    document: Dashboard
    revision: int
    created_us: int
    updated_us: int
    updated_by: str


def overlap(a: str, b: str) -> bool:
    """Whether two parts of the plant share any asset (one lies in the other)."""
    return below(a, b) or below(b, a)


def sees(who: Principal, d: Stored) -> bool:
    if d.owner == who.actor:
        return True
    s = d.sharing
    return s is not None and who.role.rank >= s.role.rank and overlap(who.scope, s.scope)


def may_change(who: Principal, d: Stored) -> bool:
    if d.sharing is None:
        return d.owner == who.actor
    return who.allows(SHARE) and (
        not who.scope or (bool(d.sharing.scope) and who.covers(d.sharing.scope))
    )


class Dashboards:
    def __init__(self, db: SecurityDB) -> None:
        self._db = db
        with db.transaction() as con:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    con.execute(statement)

    def visible(self, who: Principal) -> list[Stored]:
        """The dashboards ``who`` sees: their own, then the shared ones, by title."""
        found = []
        for row in self._db.rows("SELECT * FROM dashboards"):
            try:
                d = _stored(row)
            except DashboardError as exc:  # one unreadable record must not hide the others
                log.warning("%s", exc)
                continue
            if sees(who, d):
                found.append(d)
        return sorted(found, key=lambda d: (d.owner != who.actor, d.document.title.lower(), d.id))

    def get(self, who: Principal, dashboard_id: str) -> Stored:
        """A dashboard ``who`` sees (404 for one they do not: its existence is not theirs)."""
        rows = self._db.rows("SELECT * FROM dashboards WHERE id = ?", (dashboard_id,))
        found = _stored(rows[0]) if rows else None
        if found is None or not sees(who, found):
            raise DashboardError(404, f"unknown dashboard {dashboard_id!r}")
        return found

    def create(self, who: Principal, doc: Dashboard) -> Stored:
        """A new dashboard of ``who``'s own."""
        dashboard_id, now = secrets.token_hex(6), now_us()
        text = doc.model_dump_json()
        with self._db.transaction() as con:
            con.execute(
                "INSERT INTO dashboards (id, owner, document, revision, created_us, updated_us, "
                "updated_by) VALUES (?, ?, ?, 1, ?, ?, ?)",
                (dashboard_id, who.actor, text, now, now, who.actor),
            )
            audit.append(
                con, who.actor, "dashboard.create", _target(dashboard_id), None, _audited(doc, None)
            )
        return self.get(who, dashboard_id)

    def replace(self, who: Principal, dashboard_id: str, revision: int, doc: Dashboard) -> Stored:
        """Save ``doc`` over the dashboard, if it is still at ``revision``."""
        with self._db.transaction() as con:
            d = self._changeable(con, who, dashboard_id, revision)
            con.execute(
                "UPDATE dashboards SET document = ?, revision = revision + 1, updated_us = ?, "
                "updated_by = ? WHERE id = ?",
                (doc.model_dump_json(), now_us(), who.actor, dashboard_id),
            )
            audit.append(
                con,
                who.actor,
                "dashboard.change",
                _target(dashboard_id),
                _audited(d.document, d.sharing),
                _audited(doc, d.sharing),
            )
        return self.get(who, dashboard_id)

    def share(
        self, who: Principal, dashboard_id: str, revision: int, sharing: Sharing | None
    ) -> Stored:
        """Share the dashboard (``sharing``), or make it its owner's own again (None). The
        caller has checked that its paths lie in the sharing's part of the plant."""
        if sharing is not None:
            try:
                scope = check_scope(sharing.scope)
            except SmartfabError as exc:
                raise DashboardError(422, str(exc)) from None
            if who.scope and not (scope and who.covers(scope)):
                raise DashboardError(
                    403,
                    f"you may share with {who.scope!r} or a part of it, not "
                    f"{scope or 'the whole plant'!r}",
                )
            sharing = Sharing(sharing.role, scope)
        with self._db.transaction() as con:
            d = self._changeable(con, who, dashboard_id, revision)
            if not who.allows(SHARE):
                raise DashboardError(403, f"sharing a dashboard needs {SHARE}")
            con.execute(
                "UPDATE dashboards SET shared_role = ?, shared_scope = ?, revision = revision + 1,"
                " updated_us = ?, updated_by = ? WHERE id = ?",
                (
                    sharing.role.value if sharing else None,
                    sharing.scope if sharing else None,
                    now_us(),
                    who.actor,
                    dashboard_id,
                ),
            )
            audit.append(
                con,
                who.actor,
                "dashboard.share",
                _target(dashboard_id),
                _audited(d.document, d.sharing),
                _audited(d.document, sharing),
            )
        if sharing is None and d.owner != who.actor:
            # Back to its owner: the one who unshared it no longer sees it.
            rows = self._db.rows("SELECT * FROM dashboards WHERE id = ?", (dashboard_id,))
            return _stored(rows[0])
        return self.get(who, dashboard_id)

    def delete(self, who: Principal, dashboard_id: str, revision: int) -> None:
        with self._db.transaction() as con:
            d = self._changeable(con, who, dashboard_id, revision)
            con.execute("DELETE FROM dashboards WHERE id = ?", (dashboard_id,))
            audit.append(
                con,
                who.actor,
                "dashboard.delete",
                _target(dashboard_id),
                _audited(d.document, d.sharing),
                None,
            )

    def _changeable(
        self, con: sqlite3.Connection, who: Principal, dashboard_id: str, revision: int
    ) -> Stored:
        row = con.execute("SELECT * FROM dashboards WHERE id = ?", (dashboard_id,)).fetchone()
        d = _stored(row) if row is not None else None
        if d is None or not sees(who, d):
            raise DashboardError(404, f"unknown dashboard {dashboard_id!r}")
        if not may_change(who, d):
            whose = (
                f"{d.owner}'s own"
                if d.sharing is None
                else f"shared with {d.sharing.scope or 'the whole plant'!r}: changing it needs "
                f"{SHARE} for all of that part of the plant"
            )
            raise DashboardError(403, f"dashboard {dashboard_id!r} is {whose}")
        if d.revision != revision:
            raise DashboardError(
                409,
                f"dashboard {dashboard_id!r} was changed by {d.updated_by} meanwhile "
                f"(revision {d.revision}, yours {revision}): load it again",
            )
        return d


def _target(dashboard_id: str) -> str:
    return f"dashboard:{dashboard_id}"


def _audited(doc: Dashboard, sharing: Sharing | None) -> dict[str, Any]:
    return {"sharing": sharing.public() if sharing else None, "document": doc.model_dump()}


def _stored(row: sqlite3.Row) -> Stored:
    try:
        doc = Dashboard.model_validate(json.loads(row["document"]))
    except (ValueError, ValidationError) as exc:
        # Only a file edited by hand, or written by a newer server, holds such a document.
        raise DashboardError(
            409, f"dashboard {row['id']!r} as stored is not readable: {exc}"
        ) from None
    role = row["shared_role"]
    return Stored(
        id=row["id"],
        owner=row["owner"],
        sharing=Sharing(Role(role), row["shared_scope"] or "") if role else None,
        document=doc,
        revision=row["revision"],
        created_us=row["created_us"],
        updated_us=row["updated_us"],
        updated_by=row["updated_by"],
    )
