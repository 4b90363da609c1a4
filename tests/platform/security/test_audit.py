"""The audit chain, tampered with for real: the SQLite file is edited behind smartfab's back (as
someone with access to the disk would, dropping the append-only triggers first) and
verification names each edited, deleted, reordered or cut-off entry."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from smartfab.platform.security import Security


def _filled(sec: Security, n: int = 5) -> None:
    for i in range(n):
        sec.audit.record(
            "li", "connector.configure", f"connector:c{i}", {"poll_ms": i}, {"poll_ms": i + 1}
        )


def _tamper(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("DROP TRIGGER audit_no_delete")
    for sql in statements:
        con.execute(sql)
    con.commit()
    con.close()


def test_an_intact_log_verifies_and_keeps_what_changed(sec: Security) -> None:
    _filled(sec)
    v = sec.audit.verify()
    assert v.ok and v.entries == 5 and v.head_seq == 5
    entries = sec.audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].before == {"poll_ms": 0} and entries[0].after == {"poll_ms": 1}
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


def test_entries_of_some_actions_below_an_asset(sec: Security) -> None:
    """What the setpoint history reads: writes and refusals on the signals below an asset, the
    newest ``limit`` of them; a target that merely begins like the asset's path is another one,
    and '_' in a path is a letter, not a wildcard."""
    for actor, action, target in [
        ("li", "setpoint.write", "s/a/line_1/m/speed"),
        ("li", "user.add", "user:wang"),
        ("wang", "setpoint.refused", "s/a/line_1/m/speed"),
        ("li", "setpoint.write", "s/a/line_12/m/speed"),
        ("li", "setpoint.write", "s/a/lineX1/m/speed"),
        ("li", "setpoint.write", "s/a/line_1"),
    ]:
        sec.audit.record(actor, action, target, {"value": 1}, {"value": 2})
    both = ("setpoint.write", "setpoint.refused")
    assert [e.seq for e in sec.audit.entries(action=both, under="s/a/line_1")] == [1, 3, 6]
    assert [e.seq for e in sec.audit.entries(action=both, under="s/a/line_1/")] == [1, 3, 6]
    assert [e.seq for e in sec.audit.entries(2, action=both, under="s/a/line_1")] == [3, 6]
    assert [e.seq for e in sec.audit.entries(action=both)] == [1, 3, 4, 5, 6]
    assert [e.seq for e in sec.audit.entries(action="user.add")] == [2]
    assert [e.seq for e in sec.audit.entries(actor="wang", under="s")] == [3]


def test_sqlite_itself_refuses_updates_and_deletes(sec: Security) -> None:
    _filled(sec, 1)
    con = sqlite3.connect(sec.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE audit SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM audit")
    con.close()


@pytest.mark.parametrize(
    ("statements", "found"),
    [
        (["UPDATE audit SET after = '{\"poll_ms\":99}' WHERE seq = 3"],
         ["entry 3: its content does not match its hash (edited)"]),
        (["DELETE FROM audit WHERE seq = 2"],
         ["entry 3: expected entry 2 here (deleted or reordered entries)",
          "entry 3: does not link to the entry before it"]),
        # Reordered: entries 2 and 3 swap places (seq is the row id: the rows trade numbers).
        (["UPDATE audit SET seq = -2 WHERE seq = 2", "UPDATE audit SET seq = 2 WHERE seq = 3",
          "UPDATE audit SET seq = 3 WHERE seq = -2"],
         ["entry 2: does not link to the entry before it",
          "entry 2: its content does not match its hash (edited)"]),
        (["DELETE FROM audit WHERE seq = 5"],
         ["the log ends at entry 4 but its head records entry 5 (entries cut off the end, "
          "or the head edited)"]),
    ],
    ids=["edited", "deleted", "reordered", "cut-off"],
)  # fmt: skip
def test_tampering_is_detected(tmp_path: Path, statements: list[str], found: list[str]) -> None:
    path = tmp_path / "security.sqlite"
    with Security(path) as sec:
        _filled(sec)
    _tamper(path, *statements)
    with Security(path) as sec:
        v = sec.audit.verify()
    assert not v.ok
    for problem in found:
        assert problem in v.problems, v.problems


def test_a_recomputed_entry_still_breaks_the_next_link(tmp_path: Path) -> None:
    """Editing an entry and fixing its own hash is not enough: the next entry points to the old
    hash. (Rewriting the whole rest of the chain is what the head hash noted elsewhere is for.)"""
    path = tmp_path / "security.sqlite"
    with Security(path) as sec:
        _filled(sec)
    _tamper(path, "UPDATE audit SET hash = '" + "f" * 64 + "' WHERE seq = 2")
    with Security(path) as sec:
        v = sec.audit.verify()
    assert "entry 2: its content does not match its hash (edited)" in v.problems
    assert "entry 3: does not link to the entry before it" in v.problems
