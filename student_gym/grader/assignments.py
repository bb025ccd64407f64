"""Assignments and their tests, and the JSON format for assignment sets.

An :class:`Assignment` is what a student is asked to do plus how the grader decides how well
they did it. Tests come in four kinds:

* :class:`CallTest` - call ``entry_point(*args)`` and compare with ``expected`` (exact types;
  floats within tolerance). The expected value never enters the sandboxed child.
* :class:`IOTest` - run the program as ``__main__`` with ``stdin`` and compare what it printed
  with ``expected_stdout`` after normalisation
  (:func:`student_gym.grader.comparison.normalize_output`).
* :class:`CheckTest` - HumanEval-style test code defining ``check(candidate)`` made of asserts
  (or bare ``assert`` lines); run by a judge outside the sandbox, which asks the child only for
  the calls the asserts make.
* :class:`ScriptTest` - a FalconCode-style scored script defining ``test_passed()`` that returns
  points in ``0..max_score``, with the ``cs110.autograder`` helpers; run by the judge too.

Everything is validated when loaded (types, ranges, test code that compiles and defines what it
must, script file names that are plain names); an :class:`AssignmentError` names the
assignment, the test and the field.

JSON format of an assignment set (one file; read and written by
:mod:`student_gym.grader.assignment_files`)::

    {"format": "student-gym/assignments", "version": 1,
     "assignments": [
       {"id": "sum_list", "title": "Sum a list", "statement": "markdown...",
        "entry_point": "sum_list",             # required when there are call tests
        "solution": "def sum_list(xs): ...",   # optional reference solution
        "provided_code": "def helper(x): ...",  # optional helpers the tests call
        "packages": ["numpy"],                  # optional installed packages it may import
        "limits": {"cpu_seconds": 2, "memory_mb": 512, "output_bytes": 65536},
        "tests": [
          {"kind": "call", "name": "empty", "args": [[]], "expected": 0, "hidden": false},
          {"kind": "io", "name": "t1", "stdin": "3\\n", "expected_stdout": "6\\n"},
          {"kind": "check", "name": "asserts", "code": "def check(candidate): ..."},
          {"kind": "script", "name": "autograder", "script": "...", "max_score": 100,
           "filename": "lab1.py", "seed": 0}]}]}

``args`` and ``expected`` use :mod:`student_gym.grader.tagged_json` (plain JSON lists, numbers and
strings are accepted as they are; ``{"$t": [...]}`` is a tuple, and so on).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from student_gym.grader import tagged_json

if TYPE_CHECKING:  # imported lazily below: the grader package imports this module
    from student_gym.grader.policy import Policy

FORMAT = "student-gym/assignments"


class AssignmentError(ValueError):
    """An assignment or assignment file is malformed; the message says where."""


_LIMIT_RANGES: dict[str, tuple[float, float]] = {  # positive and finite, never "unlimited"
    "cpu_seconds": (0.01, 3600), "wall_factor": (1, 100), "memory_mb": (16, 1 << 20),
    "output_bytes": (1, 1 << 30), "file_size_bytes": (0, 1 << 34), "open_files": (16, 4096),
    "code_bytes": (1, 1 << 26), "disk_bytes": (1 << 16, 1 << 34), "disk_files": (16, 1 << 20),
}
_SCRIPT_FILENAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.py")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (all tests of it together)."""

    cpu_seconds: float = 2.0  # RLIMIT_CPU: decides timeouts, so verdicts do not flip under load
    wall_factor: float = 4.0  # wall-clock backstop = cpu_seconds * wall_factor + 1 s
    memory_mb: int = 512  # RLIMIT_AS
    output_bytes: int = 64 * 1024  # captured stdout+stderr per run; more is output_limit
    file_size_bytes: int = 1024 * 1024  # RLIMIT_FSIZE
    open_files: int = 64  # RLIMIT_NOFILE
    code_bytes: int = 256 * 1024  # longer programs are too_large without running
    disk_bytes: int = 8 * 1024 * 1024  # the child's private directory, all files together
    disk_files: int = 256  # files and directories in it

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = _LIMIT_RANGES[f.name]
            kind = "a number" if f.type == "float" else "an integer"
            ok = (type(value) in ((int, float) if f.type == "float" else (int,))
                  and math.isfinite(value) and low <= value <= high)
            if not ok:
                raise AssignmentError(f"field 'limits.{f.name}' must be {kind} in "
                                      f"[{low:g}, {high:g}], got {value!r:.50}")


@dataclass(frozen=True)
class CallTest:
    """Call ``entry_point(*args)`` and compare the result with ``expected``."""

    name: str
    args: tuple[Any, ...]
    expected: Any
    hidden: bool = False
    rel_tol: float = 1e-6
    abs_tol: float = 1e-9
    kind: str = field(default="call", init=False)

    def __post_init__(self) -> None:
        _check_common(self)
        if not isinstance(self.args, tuple):
            raise AssignmentError(f"test {self.name!r}: field 'args' must be a list")
        for key in ("rel_tol", "abs_tol"):
            value = getattr(self, key)
            if type(value) not in (int, float) or not (math.isfinite(value) and value >= 0):
                raise AssignmentError(f"test {self.name!r}: field {key!r} must be a finite "
                                      f"number >= 0, got {value!r:.50}")


@dataclass(frozen=True)
class IOTest:
    """Run the program with ``stdin`` and compare its normalised stdout."""

    name: str
    stdin: str
    expected_stdout: str
    hidden: bool = False
    kind: str = field(default="io", init=False)

    def __post_init__(self) -> None:
        _check_common(self)
        for key in ("stdin", "expected_stdout"):
            if not isinstance(getattr(self, key), str):
                raise AssignmentError(f"test {self.name!r}: field {key!r} must be a string, "
                                      f"got {type(getattr(self, key)).__name__}")


@dataclass(frozen=True)
class CheckTest:
    """HumanEval-style: ``code`` defines ``check(candidate)``; it passes if no assert fails."""

    name: str
    code: str
    hidden: bool = False
    kind: str = field(default="check", init=False)

    def __post_init__(self) -> None:
        _check_common(self)
        tree = _parse(self.code, f"test {self.name!r}: field 'code'")
        defined = _top_level_functions(tree)
        acts = any(not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                      ast.Import, ast.ImportFrom, ast.Expr)) for n in tree.body) \
            or any(isinstance(n, ast.Expr) and not isinstance(n.value, ast.Constant)
                   for n in tree.body)
        if "check" not in defined and not acts:
            raise AssignmentError(f"test {self.name!r}: field 'code' defines no check(candidate) "
                                  "and runs no statement: it would pass every program")


@dataclass(frozen=True)
class ScriptTest:
    """FalconCode-style scored script: ``test_passed()`` returns points in 0..max_score."""

    name: str
    script: str
    max_score: float = 100.0
    filename: str = "main.py"  # the name the script uses for the student's program file
    seed: int = 0  # random is seeded with this before the script runs
    hidden: bool = True
    kind: str = field(default="script", init=False)

    def __post_init__(self) -> None:
        _check_common(self)
        if "test_passed" not in _top_level_functions(
                _parse(self.script, f"test {self.name!r}: field 'script'")):
            raise AssignmentError(f"test {self.name!r}: field 'script' defines no test_passed()")
        if not (isinstance(self.filename, str) and _SCRIPT_FILENAME.fullmatch(self.filename)):
            raise AssignmentError(f"test {self.name!r}: field 'filename' must be a plain module "
                                  f"file name like 'lab1.py', got {self.filename!r:.100}")
        if type(self.seed) is not int:
            raise AssignmentError(f"test {self.name!r}: field 'seed' must be an integer")
        if type(self.max_score) not in (int, float) or not (
                math.isfinite(self.max_score) and self.max_score > 0):
            raise AssignmentError(f"test {self.name!r}: field 'max_score' must be a positive "
                                  f"number, got {self.max_score!r:.50}")


def _check_common(test: Any) -> None:
    if not isinstance(test.name, str) or not test.name:
        raise AssignmentError("a test's field 'name' must be a non-empty string")
    if type(test.hidden) is not bool:
        raise AssignmentError(f"test {test.name!r}: field 'hidden' must be true or false")


def _parse(source: Any, where: str) -> ast.Module:
    if not isinstance(source, str):
        raise AssignmentError(f"{where} must be a string, got {type(source).__name__}")
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise AssignmentError(f"{where} does not compile: {type(exc).__name__}: {exc}") from None


def _top_level_functions(tree: ast.Module) -> set[str]:
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


Test = CallTest | IOTest | CheckTest | ScriptTest
_TEST_TYPES: dict[str, type] = {"call": CallTest, "io": IOTest, "check": CheckTest, "script": ScriptTest}


@dataclass(frozen=True)
class Assignment:
    """One programming assignment: statement, optional reference solution, tests, limits."""

    id: str
    title: str
    statement: str
    tests: tuple[Test, ...]
    entry_point: str | None = None
    solution: str | None = None
    limits: Limits = field(default_factory=Limits)
    # Helper code the tests may call (HumanEval: the prompt's code other than the entry
    # point). Test code sees these names, never the submission's redefinitions of them.
    provided_code: str | None = None
    # Installed packages a submission may import and read (e.g. "numpy"); nothing else of
    # site-packages is readable in the sandbox.
    packages: tuple[str, ...] = ()
    policy: Policy | None = None  # what the course forbids (student_gym.grader.policy)

    def __post_init__(self) -> None:
        where = f"assignment {self.id!r}"
        if not self.id or not isinstance(self.id, str):
            raise AssignmentError("assignment: field 'id' must be a non-empty string")
        if self.entry_point is not None and not (
                isinstance(self.entry_point, str) and self.entry_point.isidentifier()):
            raise AssignmentError(f"{where}: field 'entry_point' must be a Python identifier")
        if self.provided_code is not None:
            _parse(self.provided_code, f"{where}: field 'provided_code'")
        if not isinstance(self.packages, tuple) or not all(
                isinstance(p, str) and p.isidentifier() for p in self.packages):
            raise AssignmentError(f"{where}: field 'packages' must be a list of package names")
        if not isinstance(self.limits, Limits):
            raise AssignmentError(f"{where}: field 'limits' must be Limits")
        if not self.tests:
            raise AssignmentError(f"{where}: field 'tests' is empty; an assignment needs tests")
        names = [t.name for t in self.tests]
        if len(set(names)) != len(names):
            raise AssignmentError(f"{where}: field 'tests' has duplicate test names")
        if any(isinstance(t, CallTest) for t in self.tests) and not self.entry_point:
            raise AssignmentError(f"{where}: field 'entry_point' is required by call tests")

    # -- conversions ---------------------------------------------------------------------

    @classmethod
    def from_humaneval(cls, row: Mapping[str, Any], *, hidden: bool = False) -> Assignment:
        """Build an assignment from a HumanEval/MBPP-like row.

        Args:
            row: a mapping with ``task_id`` (or ``id``), ``prompt`` (signature + docstring),
                ``test`` (code defining ``check(candidate)``), ``entry_point`` and optionally
                ``canonical_solution`` (the body that completes ``prompt``).
            hidden: whether the check test is hidden from detailed feedback.
        """
        for key in ("prompt", "test", "entry_point"):
            if key not in row:
                raise AssignmentError(f"humaneval row {row.get('task_id', '?')!r}: missing field {key!r}")
        task_id = str(row.get("task_id", row.get("id", row["entry_point"])))
        solution = None
        if row.get("canonical_solution"):
            solution = row["prompt"] + row["canonical_solution"]
        statement = (
            f"Complete the function `{row['entry_point']}`:\n\n```python\n{row['prompt'].rstrip()}\n```"
        )
        return cls(
            provided_code=provided_code(row["prompt"], row["entry_point"]),
            id=task_id,
            title=task_id,
            statement=statement,
            tests=(CheckTest(name="check", code=row["test"], hidden=hidden),),
            entry_point=row["entry_point"],
            solution=solution,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form used in assignment files."""
        tests = []
        for t in self.tests:
            d = {"kind": t.kind, **{k: v for k, v in asdict(t).items() if k != "kind"}}
            if isinstance(t, CallTest):
                d["args"] = tagged_json.to_tagged(list(t.args))
                d["expected"] = tagged_json.to_tagged(t.expected)
            tests.append(d)
        out: dict[str, Any] = {"id": self.id, "title": self.title, "statement": self.statement}
        if self.entry_point:
            out["entry_point"] = self.entry_point
        if self.solution is not None:
            out["solution"] = self.solution
        if self.limits != Limits():
            out["limits"] = asdict(self.limits)
        if self.provided_code:
            out["provided_code"] = self.provided_code
        if self.packages:
            out["packages"] = list(self.packages)
        if self.policy:
            out["policy"] = self.policy.to_dict()
        out["tests"] = tests
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "") -> Assignment:
        """Parse and validate one assignment; errors name ``where``, the id and the field."""
        prefix = f"{where}: " if where else ""
        if not isinstance(data, Mapping):
            raise AssignmentError(f"{prefix}assignment must be an object, got {type(data).__name__}")
        aid = data.get("id")
        if not isinstance(aid, str) or not aid:
            raise AssignmentError(f"{prefix}assignment: field 'id' must be a non-empty string")
        here = f"{prefix}assignment {aid!r}"
        for key in ("title", "statement"):
            if not isinstance(data.get(key, ""), str):
                raise AssignmentError(f"{here}: field {key!r} must be a string")
        raw_tests = data.get("tests")
        if not isinstance(raw_tests, list) or not raw_tests:
            raise AssignmentError(f"{here}: field 'tests' must be a non-empty list")
        tests = tuple(_test_from_dict(t, f"{here}: tests[{i}]") for i, t in enumerate(raw_tests))
        limits = Limits()
        if "limits" in data:
            known = {f.name for f in fields(Limits)}
            raw = data["limits"]
            if not isinstance(raw, Mapping):
                raise AssignmentError(f"{here}: field 'limits' must be an object")
            if set(raw) - known:
                raise AssignmentError(f"{here}: field 'limits' has unknown keys {sorted(set(raw) - known)}")
        packages = data.get("packages", [])
        if not isinstance(packages, list):
            raise AssignmentError(f"{here}: field 'packages' must be a list of package names")
        for key in ("entry_point", "solution", "provided_code"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise AssignmentError(f"{here}: field {key!r} must be a string")
        policy = None
        if data.get("policy") is not None:
            from student_gym.grader.policy import Policy, PolicyError

            try:
                policy = Policy.from_dict(data["policy"], where=f"{here}: policy")
            except PolicyError as exc:
                raise AssignmentError(str(exc)) from None
        try:
            if "limits" in data:
                limits = replace(limits, **data["limits"])
            return cls(
                id=aid,
                title=data.get("title") or aid,
                statement=data.get("statement", ""),
                tests=tests,
                entry_point=data.get("entry_point"),
                solution=data.get("solution"),
                limits=limits,
                provided_code=data.get("provided_code"),
                packages=tuple(packages),
                policy=policy,
            )
        except AssignmentError as exc:
            text = str(exc)
            raise AssignmentError(text if text.startswith(here) else f"{here}: {text}") from None


def _test_from_dict(data: Any, where: str) -> Test:
    if not isinstance(data, Mapping):
        raise AssignmentError(f"{where}: must be an object")
    kind = data.get("kind")
    if kind not in _TEST_TYPES:
        raise AssignmentError(f"{where}: field 'kind' must be one of {sorted(_TEST_TYPES)}, got {kind!r}")
    cls = _TEST_TYPES[kind]
    allowed = {f.name for f in fields(cls) if f.init}
    unknown = set(data) - allowed - {"kind"}
    if unknown:
        raise AssignmentError(f"{where}: unknown field(s) {sorted(unknown)}")
    kwargs = {k: v for k, v in data.items() if k != "kind"}
    if not isinstance(kwargs.get("name"), str) or not kwargs["name"]:
        raise AssignmentError(f"{where}: field 'name' must be a non-empty string")
    try:
        if cls is CallTest:
            for key in ("args", "expected"):
                if key not in kwargs:
                    raise AssignmentError(f"{where}: missing field {key!r}")
            args = tagged_json.from_tagged(kwargs["args"])  # bounded: deep nesting is refused
            if not isinstance(args, (list, tuple)):
                raise AssignmentError(f"{where}: field 'args' must be a list")
            kwargs["args"] = tuple(args)
            kwargs["expected"] = tagged_json.from_tagged(kwargs["expected"])
        return cls(**kwargs)
    except AssignmentError as exc:
        raise AssignmentError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise AssignmentError(f"{where}: {exc}") from None


def provided_code(prompt: str, entry_point: str) -> str | None:
    """A HumanEval prompt's code other than the entry point: imports and helper functions
    (``poly`` for ``find_zero``, ``encode_cyclic`` for ``decode_cyclic``); None if none."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return None
    lines = prompt.splitlines(True)
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a module docstring
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        keep.append("".join(lines[start - 1 : node.end_lineno]))
    code = "\n".join(keep).strip()
    return code + "\n" if code else None
