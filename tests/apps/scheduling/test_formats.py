from __future__ import annotations

from pathlib import Path

import pytest

from smartfab.apps.scheduling.formats import (
    FormatError,
    instance_name,
    parse_fjsp,
    parse_jsp,
    read_fjsp,
    read_jsp,
)
from smartfab.apps.scheduling.problem import Alternative
from tests.apps.scheduling.data import shared

JSP = "2 3\n0 5 1 3 2 2\n2 4 0 1 1 6\n"

JSP_COMMENTED = """#+++++++++++++++
# instance tiny
#+++++++++++++++

2 3
# the first job
0 5 1 3 2 2

2 4 0 1 1 6
"""


def routing(text: str) -> list[list[tuple[int, int]]]:
    problem = parse_jsp(text)
    return [
        [(op.alternatives[0].machine, op.alternatives[0].duration) for op in job.operations]
        for job in problem.jobs
    ]


def test_jsp_reads_jobs_in_routing_order() -> None:
    problem = parse_jsp(JSP, name="tiny")
    assert problem.name == "tiny"
    assert len(problem.machines) == 3 and len(problem.jobs) == 2
    assert routing(JSP) == [[(0, 5), (1, 3), (2, 2)], [(2, 4), (0, 1), (1, 6)]]
    assert not problem.is_flexible


def test_jsp_comments_and_blank_lines_change_nothing() -> None:
    assert routing(JSP_COMMENTED) == routing(JSP)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", None, "no data"),
        ("# only a comment\n", None, "no data"),
        ("# c\n2\n0 1\n1 1\n", 2, "expected 'jobs machines'"),
        ("2 3 1\n0 1\n0 1\n", 1, "expected 'jobs machines'"),
        ("0 3\n", 1, "must be positive"),
        ("2 x\n", 1, "'x' is not an integer"),
        ("2 3\n0 5 1 3 2 2\n\n2 4 0 1 1\n", 4, "5 numbers"),
        ("2 3\n0 5 1 3 2 2\n# c\n2 4 0 1 3 6\n", 4, "machine 3 is not in 0..2"),
        ("2 3\n0 5 1 -3\n0 1\n", 2, "duration -3 is negative"),
        ("2 3\n0 5 1 3.5\n0 1\n", 2, "'3.5' is not an integer"),
        ("2 3\n# c\n0 5 1 3\n", 3, "file ends after 1 job lines, the header announces 2"),
        ("1 3\n0 5\n\n0 1\n", 4, "extra data after the 1 job lines"),
    ],
)
def test_jsp_malformed_input_names_file_and_line(text: str, line: int | None, message: str) -> None:
    with pytest.raises(FormatError) as error:
        parse_jsp(text, source="bad.txt")
    where = "bad.txt:" if line is None else f"bad.txt:{line}:"
    assert str(error.value).startswith(where)
    assert message in str(error.value)


FJSP_ZERO = "2 3 1.5\n2 1 0 5 2 1 4 2 3\n1 3 0 2 1 3 2 4\n"
FJSP_ONE = "2 3\n2 1 1 5 2 2 4 3 3\n1 3 1 2 2 3 3 4\n"


def test_fjsp_reads_alternatives_numbered_from_zero() -> None:
    problem = parse_fjsp(FJSP_ZERO)
    assert problem.is_flexible
    first, second = problem.jobs
    assert [op.alternatives for op in first.operations] == [
        (Alternative(0, 5),),
        (Alternative(1, 4), Alternative(2, 3)),
    ]
    assert second.operations[0].alternatives == (
        Alternative(0, 2),
        Alternative(1, 3),
        Alternative(2, 4),
    )


def test_fjsp_numbering_from_one_is_detected_and_can_be_given() -> None:
    assert parse_fjsp(FJSP_ONE) == parse_fjsp(FJSP_ZERO)
    assert parse_fjsp(FJSP_ONE, machine_base=1) == parse_fjsp(FJSP_ZERO, machine_base=0)
    # Machines 1..2 of 3 only: either numbering is valid; the original (from 1) is assumed.
    ambiguous = parse_fjsp("1 3\n1 2 1 5 2 4\n")
    assert ambiguous.jobs[0].operations[0].alternatives == (Alternative(0, 5), Alternative(1, 4))
    assert parse_fjsp("1 3\n1 2 1 5 2 4\n", machine_base=0).jobs[0].operations[0].alternatives == (
        Alternative(1, 5),
        Alternative(2, 4),
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("2\n", 1, "expected 'jobs machines'"),
        ("1 2\n2 1 0 5\n", 2, "line ends where the machine count of operation 2 was expected"),
        ("1 2\n1 2 0 5 1\n", 2, "line ends where a duration of operation 1 was expected"),
        ("1 2\n1 1 0 5 7\n", 2, "1 numbers after the 1 operations"),
        ("1 2\n0\n", 2, "at least one operation"),
        ("1 2\n1 0\n", 2, "operation 1 has 0 eligible machines"),
        ("1 2\n1 1 0 -5\n", 2, "duration -5 is negative"),
        ("2 2\n1 1 0 5\n\n1 1 2 5\n", 4, "machine 2 with machine 0 on line 2"),
        ("1 2\n1 1 3 5\n", 2, "machine 3 is not in 1..2"),
        ("2 2\n1 1 1 5\n", 2, "file ends after 1 job lines"),
    ],
)
def test_fjsp_malformed_input_names_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(FormatError) as error:
        parse_fjsp(text, source="bad.fjs")
    assert str(error.value).startswith(f"bad.fjs:{line}:")
    assert message in str(error.value)


def test_read_names_the_instance_after_its_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jsp"
    path.write_text(JSP_COMMENTED, encoding="utf-8")
    assert read_jsp(path).name == "tiny"
    assert instance_name(Path("x/mk01.txt")) == "mk01"
    binary = tmp_path / "blob"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FormatError, match="not a text file"):
        read_jsp(binary)


def test_reads_the_public_instances() -> None:
    ft06 = read_jsp(shared("jsp", "instances", "ft06"))
    assert (len(ft06.jobs), len(ft06.machines)) == (6, 6)
    # First line of ft06: 2 1  0 3  1 6 ...
    assert ft06.jobs[0].operations[0].alternatives == (Alternative(2, 1),)
    assert ft06.jobs[0].operations[1].alternatives == (Alternative(0, 3),)
    mk01 = read_fjsp(shared("fjsp", "brandimarte", "mk01.txt"))
    assert (mk01.name, len(mk01.jobs), len(mk01.machines)) == ("mk01", 10, 6)
    assert sum(len(job.operations) for job in mk01.jobs) == 55
    assert mk01.is_flexible
