"""What counts as equal when the grader compares a result with what a test expects.

Values are compared with exact types and float tolerance (:func:`floats_close`); printed
output after normalising line ends and trailing whitespace (:func:`normalize_output`). Both
run in the parent, on values decoded from the child's bounded tagged JSON.
"""

from __future__ import annotations

import math
from typing import Any


def normalize_output(text: str) -> str:
    """Normalise program output for IO comparison.

    Line endings become ``\\n``, trailing whitespace is stripped from every line, and trailing
    blank lines are dropped. Leading whitespace and inner blank lines still count.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def floats_close(got: Any, expected: Any, rel_tol: float, abs_tol: float) -> bool:
    """Exact-type comparison with float tolerance, recursing through containers.

    ``bool`` is not an ``int`` here and a submission's own types never equal anything (they
    arrive as :class:`~student_gym.grader.tagged_json.Opaque`). An ``int`` result is accepted where a
    float is expected (``2`` for ``2.0``), as graders usually do.
    """
    te, tg = type(expected), type(got)
    if te is float:
        if tg not in (float, int):
            return False
        if math.isnan(expected):
            return tg is float and math.isnan(got)
        return math.isclose(got, expected, rel_tol=rel_tol, abs_tol=abs_tol)
    if te is not tg:
        return False
    if te in (list, tuple):
        return len(got) == len(expected) and all(
            floats_close(g, e, rel_tol, abs_tol) for g, e in zip(got, expected, strict=True)
        )
    if te is dict:
        return got.keys() == expected.keys() and all(
            floats_close(got[k], expected[k], rel_tol, abs_tol) for k in expected
        )
    return bool(got == expected)
