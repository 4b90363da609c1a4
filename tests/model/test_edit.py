"""Edits of a plant file: the text outside the change stays as written (comments, order,
quoting), the inverse restores the file exactly, and every problem is named at the operation and
field that caused it, as ``plant check`` finds it."""

from __future__ import annotations

import pytest

from smartfab.model.edit import (
    EditError,
    Operation,
    apply,
    asset_location,
    check,
    revision,
    unified_diff,
    value_at,
)

PLANT = """\
# The works (a comment at the top)
site:
  name: works
  timezone: Europe/Berlin
  shifts:
  - {name: early, start: "06:00", end: "14:00"}
  areas:
  - name: hall
    lines:
    - name: line-1
      cells:
      - name: cell-1
        equipment:
        # the first press
        - name: press-1
          title: Press 1
          signals:
          - name: state  # the PLC's state register
            unit: "1"
            role: state
            source: {virtual: true}
          - name: force
            description: Press force
            unit: kN
            range: [0, 2000]
            source: {virtual: true}
      - name: cell-2
        equipment:
        - name: press-2
          signals:
          - {name: force, unit: kN, source: {virtual: true}}
"""
PRESS = asset_location("works/hall/line-1/cell-1/press-1")
SIGNALS = [*PRESS, "signals"]


def op(kind: str, at: list[object], **more: object) -> Operation:
    return Operation.model_validate({"op": kind, "at": at, **more})


def test_an_edit_rewrites_only_what_it_changes_and_its_inverse_restores_the_file() -> None:
    ops = [
        op(
            "insert",
            SIGNALS,
            value={
                "name": "oil_temp",
                "unit": "degC",
                "range": [0, 90],
                "source": {"virtual": True},
            },
        ),
        op("set", [*SIGNALS, {"name": "force"}, "description"], value="off"),
        op(
            "set",
            [*SIGNALS, {"name": "oil_temp"}, "alarms", "high"],
            value={"limit": 80, "enabled": False},
        ),
        op("set", [*PRESS, "name"], value="press-1a"),
    ]
    done = apply(PLANT, ops)
    diff = unified_diff(PLANT, done.text, "plant.yaml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert changed == [
        "-        - name: press-1",
        "+        - name: press-1a",
        "-            description: Press force",
        "+            description: 'off'",  # quoted: YAML 1.1 would read off as false
        "+          - name: oil_temp",
        "+            unit: degC",
        "+            range: [0, 90]",
        "+            source:",
        "+              virtual: true",
        "+            alarms:",
        "+              high:",
        "+                limit: 80",
        "+                enabled: false",
    ]
    for kept in ("# The works (a comment at the top)", "# the first press",
                 "# the PLC's state register", 'start: "06:00"'):  # fmt: skip
        assert kept in done.text
    plant, issues = check(done.text, "plant.yaml", done.wrote)
    assert issues == [] and plant is not None
    signal = next(r.signal for r in plant.iter_signals() if r.path.endswith("press-1a/oil_temp"))
    assert signal.alarms is not None and signal.alarms.high is not None
    assert not signal.alarms.high.enabled
    # The inverse names items by their names in the edited file, newest first: undo is exact.
    assert apply(done.text, done.inverse).text == PLANT
    assert done.inverse[0].at[-2:] == [{"name": "press-1a"}, "name"]


def test_a_move_keeps_the_item_with_its_comments_and_moves_back() -> None:
    to = [*asset_location("works/hall/line-1/cell-2"), "equipment"]
    done = apply(PLANT, [op("move", PRESS, to=to, index=0)])
    cell2 = value_at(done.text, to)
    assert [e["name"] for e in cell2] == ["press-1", "press-2"]
    assert "# the PLC's state register" in done.text
    # The comment above the list's only item went with the emptied list (YAML has no place for
    # a comment in an empty flow list); everything else comes back as it was.
    assert "[]" in done.text
    assert apply(done.text, done.inverse).text == PLANT.replace("        # the first press\n", "")


@pytest.mark.parametrize(
    ("signal", "field", "reason"),
    [
        ({"name": "force", "unit": "kN", "source": {"virtual": True}}, "name",
         "duplicate"),
        ({"name": "speed", "unit": "furlong", "source": {"virtual": True}}, "unit",
         "unknown unit"),
        ({"name": "speed", "unit": "mm/s", "range": [5, 1], "writable": True,
          "source": {"virtual": True}}, "", "range"),
        ({"name": "Speed!", "unit": "mm/s", "source": {"virtual": True}}, "name",
         "not a valid name"),
    ],
)  # fmt: skip
def test_a_problem_is_named_at_its_operation_and_field(
    signal: dict[str, object], field: str, reason: str
) -> None:
    ops = [op("set", [*PRESS, "title"], value="Press one"), op("insert", SIGNALS, value=signal)]
    done = apply(PLANT, ops)
    plant, issues = check(done.text, "plant.yaml", done.wrote)
    assert plant is None
    assert [(i.op, i.field) for i in issues] == [(1, field)], issues
    assert reason in issues[0].reason
    assert issues[0].line is not None  # where in the new text, for the raw view


def test_a_place_that_does_not_exist_is_refused_naming_it() -> None:
    with pytest.raises(EditError) as caught:
        apply(PLANT, [op("set", [*asset_location("works/hall/line-1/cell-1/press-9"), "title"],
                         value="x")])  # fmt: skip
    (issue,) = caught.value.issues
    assert issue.op == 0 and "no such place" in issue.reason
    assert issue.value == "site.areas.hall.lines.line-1.cells.cell-1.equipment.press-9"


def test_the_revision_is_the_text_it_names() -> None:
    assert revision(PLANT) == revision(PLANT) != revision(PLANT + "\n")
    assert len(revision(PLANT)) == 16


def test_lines_another_tool_folded_stay_folded_unless_changed() -> None:
    # PyYAML (and people) fold a long plain text over lines; ruamel.yaml would join it.
    folded = PLANT.replace(
        "            description: Press force\n",
        "            description: Press force measured by the load cell under the\n"
        "              ram\n",
    )
    done = apply(folded, [op("set", [*SIGNALS, {"name": "force"}, "unit"], value="MN")])
    assert "load cell under the\n              ram\n            unit: MN\n" in done.text
    assert apply(done.text, done.inverse).text == folded
    joined = apply(folded, [op("set", [*SIGNALS, {"name": "force"}, "description"], value="x")])
    assert "ram" not in joined.text  # the text changed is written anew
