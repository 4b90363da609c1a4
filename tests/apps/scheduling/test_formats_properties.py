"""Hostile instance files (uploads through the scheduling API): any text either reads as a
problem whose every operation names a machine of it, or is refused with ``FormatError``; never
another exception, and never a header that makes the reader build millions of machines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartfab.apps.scheduling.formats import FormatError, parse_fjsp, parse_jsp
from smartfab.apps.scheduling.problem import Problem

JSP = "# tiny\n2 3\n0 5 1 3 2 2\n2 4 0 1 1 6\n"
FJSP = "2 3 1.5\n2 1 1 5 2 2 3 1 3 4\n1 2 1 2 3 6\n"
PARSERS = {"jsp": parse_jsp, "fjsp": parse_fjsp}

tokens = st.one_of(
    st.integers(-3, 12).map(str),
    st.sampled_from(["0", "1", "-1", "99999999999", "1e3", "1.5", "x", "#", "٣", "1_0", "", "\t"]),
    st.text(max_size=3),
)
generated = st.lists(st.lists(tokens, max_size=8).map(" ".join), max_size=6).map("\n".join)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines)))
        kind = draw(st.sampled_from(["insert", "delete", "edit"]))
        if kind == "insert" or i == len(lines):
            lines.insert(i, draw(st.lists(tokens, max_size=6).map(" ".join)))
        elif kind == "delete":
            del lines[i]
        else:
            words = lines[i].split() or [""]
            words[draw(st.integers(0, len(words) - 1))] = draw(tokens)
            lines[i] = " ".join(words)
    return "\n".join(lines)


def _check(fmt: str, text: str) -> None:
    try:
        problem = PARSERS[fmt](text, source="upload")
    except FormatError as exc:
        assert str(exc).startswith("upload")
        return
    assert isinstance(problem, Problem)
    assert problem.machines and problem.jobs
    for job in problem.jobs:
        for op in job.operations:
            for alt in op.alternatives:
                assert 0 <= alt.machine < len(problem.machines) and alt.duration >= 0


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(PARSERS)), st.data())
def test_mutated_instances_parse_or_fail_with_format_error(fmt: str, data: st.DataObject) -> None:
    _check(fmt, data.draw(mutated(JSP if fmt == "jsp" else FJSP)))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(PARSERS)), generated | st.text(max_size=80))
def test_any_text_parses_or_fails_with_format_error(fmt: str, text: str) -> None:
    _check(fmt, text)


def test_a_header_announcing_a_huge_plant_is_refused() -> None:
    # 900 kB of upload must not make the reader build a billion machines.
    for fmt, text in (("jsp", "1 1000000000\n0 1\n"), ("fjsp", "1 1000000000\n1 1 1 1\n")):
        try:
            PARSERS[fmt](text, source="upload")
        except FormatError as exc:
            assert "machines" in str(exc)
        else:
            raise AssertionError(f"{fmt}: a billion machines were read")
