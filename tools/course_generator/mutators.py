"""Generic novice mistakes as line edits, applicable to any program.

Problem-specific bugs (the bank) capture misreadings of one statement; these capture the
mistakes novices make everywhere: off-by-one loop bounds, wrong operators and comparisons,
forgotten ``int()``, ``print`` instead of ``return``, a missing ``return``, a wrong variable,
a misspelt name (NameError) and syntax slips (missing colon or parenthesis, ``=`` for ``==``, a misspelt keyword). Each
candidate is a :class:`~tools.course_generator.problem_bank.Bug` replacing one whole line,
so it can be applied to (and later removed from) a student's program like any other bug.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tools.course_generator.problem_bank import Bug

_CONTROL = re.compile(r"^(\s*)(for|if|elif|while|def|else)\b.*:\s*$")
_RANGE_STOP = re.compile(r"range\(([^(),]+(?:\([^()]*\))?[^(),]*)\)")
_OPERATORS = (
    (" + ", " - "),
    (" - ", " + "),
    (" * ", " + "),
    (" / ", " // "),
    (" % ", " // "),
    (" < ", " <= "),
    (" > ", " >= "),
    (" <= ", " < "),
    (" >= ", " > "),
    (" == ", " != "),
    (" and ", " or "),
)


def _off_by_one(line: str, code: str) -> list[tuple[str, str]]:
    out = []
    if m := _RANGE_STOP.search(line):
        stop = m.group(1).strip()
        if stop.endswith(" + 1"):
            out.append(("off-by-one", line.replace(m.group(0), f"range({stop[:-4]})", 1)))
        else:
            out.append(("off-by-one", line.replace(m.group(0), f"range({stop} + 1)", 1)))
    if "range(1, " in line:
        out.append(("wrong loop bounds", line.replace("range(1, ", "range(0, ", 1)))
    if "range(len(" in line:
        out.append(("wrong loop bounds", line.replace("range(len(", "range(1, len(", 1)))
    return out


def _wrong_operator(line: str, code: str) -> list[tuple[str, str]]:
    if "while" in code and ("+=" in line or "-=" in line or line.lstrip().startswith("while")):
        return []  # would make loops endless: a timeout per test, not a novice's typical output
    stripped = line.lstrip()
    if stripped.startswith(("def ", "print(")) or "'" in line or '"' in line:
        return []
    return [("wrong operator", line.replace(a, b, 1)) for a, b in _OPERATORS if a in line][:2]


def _forgot_int(line: str, code: str) -> list[tuple[str, str]]:
    m = re.search(r"\b(int|float)\((input\(\))\)", line)
    return [("forgot int()", line.replace(m.group(0), m.group(2), 1))] if m else []


def _return_slips(line: str, code: str) -> list[tuple[str, str]]:
    m = re.match(r"^(\s+)return (.+)$", line)
    if not m or line.count("(") != line.count(")"):
        return []  # a return spanning lines: editing one line would be a syntax error
    indent, value = m.groups()
    slips = [("print instead of return", f"{indent}print({value})")]
    if value.strip() != "None":  # a bare `None` line is not a mistake anyone makes
        slips.append(("missing return", f"{indent}{value}"))
    return slips


def _syntax_slips(line: str, code: str) -> list[tuple[str, str]]:
    out = []
    if _CONTROL.match(line):
        out.append(("syntax: missing colon", line.rstrip()[:-1]))
    if re.match(r"^\s*(if|elif|while) .* == ", line):
        out.append(("syntax: = for ==", line.replace(" == ", " = ", 1)))
    if line.rstrip().endswith(")") and line.count("(") == line.count(")"):
        out.append(("syntax: missing parenthesis", line.rstrip()[:-1]))
    if re.match(r"^\s+return ", line):
        out.append(("syntax: misspelt keyword", line.replace("return ", "retrun ", 1)))
    return out


def _wrong_variable(line: str, code: str) -> list[tuple[str, str]]:
    # Use another variable of the program in place of one on the right-hand side.
    assigned = sorted(set(re.findall(r"^\s*([a-z_]\w*)\s*[+\-*]?=", code, re.M)))
    m = re.match(r"^(\s*[a-z_]\w*\s*[+\-*]?=\s*)(.+)$", line)
    if not m or len(assigned) < 2:
        return []
    lhs, rhs = m.groups()
    for name in assigned:
        if re.search(rf"\b{name}\b", rhs):
            other = next(o for o in assigned if o != name)
            return [("wrong variable", lhs + re.sub(rf"\b{name}\b", other, rhs, count=1))]
    return []


def _misspelt_name(line: str, code: str) -> list[tuple[str, str]]:
    # A variable used on this line, misspelt (NameError): a letter dropped or doubled.
    assigned = set(re.findall(r"^\s*([a-z_]\w{2,})\s*[+\-*]?=", code, re.M))
    m = re.match(r"^(\s*)(?:return |print\(|if |while )?(.*)$", line)
    if not m or line.lstrip().startswith(("def ", "for ")):
        return []
    for name in sorted(assigned):
        used = re.search(rf"\b{name}\b", m.group(2))
        if used and not re.match(rf"^\s*{name}\s*=", line):
            typo = name[:-1] if len(name) > 3 else name + name[-1]
            start = len(m.group(1)) + (len(line) - len(m.group(1)) - len(m.group(2))) + used.start()
            return [("misspelt name", line[:start] + typo + line[start + len(name):])]
    return []


MUTATORS: tuple[tuple[str, Callable[[str, str], list[tuple[str, str]]]], ...] = (
    ("logic", _off_by_one),
    ("logic", _wrong_operator),
    ("runtime", _forgot_int),
    ("logic", _return_slips),
    ("logic", _wrong_variable),
    ("runtime", _misspelt_name),
    ("syntax", _syntax_slips),
)


def generic_bugs(code: str) -> list[Bug]:
    """Every generic mistake that applies to ``code``, as whole-line bugs."""
    out: list[Bug] = []
    seen: set[tuple[str, str]] = set()
    for line in code.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        for kind, mutator in MUTATORS:
            for label, new in mutator(line, code):
                if new != line and (line, new) not in seen:
                    seen.add((line, new))
                    out.append(
                        Bug(label, line, new, "syntax" if label.startswith("syntax") else kind)
                    )
    return out
