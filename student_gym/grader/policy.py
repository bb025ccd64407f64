"""Assignment policies: what a course forbids, and how a broken rule becomes a verdict.

CS1 assignments routinely forbid things ("don't use ``sum()``", "no imports", "write it with a
loop, not recursion"). An assignment's ``policy`` lists them, each with the message the student
reads. It is enforced in two places:

* before the program runs, in the grading process: :func:`static_violation` parses the program
  and walks it with :mod:`.policy_check` (a RestrictedPython ``RestrictingNodeTransformer``
  configured for novice code) and names the first line that breaks a rule;
* while it runs, in the child: :class:`ProgramRuntime` gives the program builtins in which a
  forbidden builtin raises with the same message, and an ``__import__`` that refuses forbidden
  modules (also through ``import builtins``, ``__import__(...)`` and ``importlib``). Calls that
  slip past the static check (``getattr(__builtins__, "sum")``) are caught there.

A violation is the status ``policy_violation`` and scores 0, unless the policy says
``tests_run``: then the tests run as usual, the score stands and the status still says the rule
was broken. JSON format (every part optional; a list of names takes the default messages)::

    "policy": {
      "builtins": {"sum": "Add the numbers with a loop: sum() is not allowed here."},
      "methods": ["sort"],
      "imports": {"allow": ["math"], "message": "Only the math module may be imported."},
      "constructs": {"recursion": "Write this with a loop, not recursion."},
      "tests_run": false,
      "guarded": false
    }

``imports`` takes either ``"forbid"`` (names, or names to messages) or ``"allow"`` (every other
import is refused with ``"message"``). ``guarded`` adds RestrictedPython's guarded execution
in the child (see :mod:`.policy_check`): defence in depth, never the sandbox.

This module must stay light: the fork server imports it (through the harness) before forking.
"""

from __future__ import annotations

import builtins
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from student_gym.grader.report import GradeReport, TestResult

STATUS = "policy_violation"
ERROR_TYPE = "PolicyViolation"
CONSTRUCTS: dict[str, str] = {
    "recursion": "Recursion is not allowed in this assignment: use a loop.",
    "while": "`while` loops are not allowed in this assignment.",
    "for": "`for` loops are not allowed in this assignment.",
    "comprehension": "Comprehensions and generator expressions are not allowed in this "
                     "assignment: write the loop out.",
    "lambda": "`lambda` is not allowed in this assignment: define a function with `def`.",
    "global": "`global` and `nonlocal` are not allowed in this assignment.",
    "try": "`try`/`except` is not allowed in this assignment.",
    "class": "Classes are not allowed in this assignment.",
    "eval": "eval(), exec() and compile() are not allowed in this assignment.",
}
EVAL_BUILTINS = ("eval", "exec", "compile")  # what the "eval" construct forbids
_MAX_NAME, _MAX_MESSAGE, _MAX_RULES = 100, 500, 200  # an assignment file is validated input


class PolicyError(ValueError):
    """A malformed policy; the message names the assignment and the field."""


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``rule`` is ``"builtin:sum"``, ``"import:os"``, ``"construct:while"``,
    ``"method:sort"`` or ``"guarded:NAME"``; ``line`` is a line of the student's program."""

    rule: str
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "line": self.line}


@dataclass(frozen=True)
class Policy:
    """What an assignment forbids. Pairs are ``(name, message)``; see the module docstring."""

    builtins: tuple[tuple[str, str], ...] = ()
    methods: tuple[tuple[str, str], ...] = ()
    forbidden_imports: tuple[tuple[str, str], ...] = ()
    allowed_imports: tuple[str, ...] | None = None  # None: no allow-list
    import_message: str = ""  # the message for imports outside the allow-list
    constructs: tuple[tuple[str, str], ...] = ()
    tests_run: bool = False  # the tests still run and the score stands
    guarded: bool = False  # RestrictedPython's guarded execution in the child

    def __bool__(self) -> bool:
        return bool(self.builtins or self.methods or self.forbidden_imports or self.constructs
                    or self.allowed_imports is not None or self.guarded)

    def builtin_messages(self) -> dict[str, str]:
        """Every forbidden builtin and its message (the ``eval`` construct included)."""
        out = dict(self.builtins)
        constructs = dict(self.constructs)
        if "eval" in constructs:
            out.update(dict.fromkeys(EVAL_BUILTINS, constructs["eval"]))
        return out

    def import_refusal(self, module: str) -> Violation | None:
        """The violation of importing ``module`` (a dotted name), or None when allowed."""
        top = module.partition(".")[0]
        for name, message in self.forbidden_imports:
            if top == name or module == name or module.startswith(name + "."):
                return Violation(f"import:{name}", message)
        if self.allowed_imports is not None and top not in self.allowed_imports:
            return Violation(f"import:{top}", self.import_message)
        return None

    def message_of(self, rule: str) -> str | None:
        """The student-facing message of a rule id, or None when the policy has no such rule."""
        kind, _, name = rule.partition(":")
        if kind == "builtin":
            return self.builtin_messages().get(name)
        if kind == "method":
            return dict(self.methods).get(name)
        if kind == "construct":
            return dict(self.constructs).get(name)
        if kind == "import":
            refusal = self.import_refusal(name)
            return refusal.message if refusal else None
        if kind == "guarded" and self.guarded:
            return guarded_message(name)
        return None

    # -- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON form read by :meth:`from_dict` (and sent to the child)."""
        out: dict[str, Any] = {}
        for key in ("builtins", "methods", "constructs"):
            if getattr(self, key):
                out[key] = dict(getattr(self, key))
        if self.allowed_imports is not None:
            out["imports"] = {"allow": list(self.allowed_imports), "message": self.import_message}
        elif self.forbidden_imports:
            out["imports"] = {"forbid": dict(self.forbidden_imports)}
        if self.tests_run:
            out["tests_run"] = True
        if self.guarded:
            out["guarded"] = True
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "policy") -> Policy:
        """Parse and validate; ``where`` prefixes errors (e.g. ``assignment 'x': field 'policy'``).

        Raises:
            PolicyError: naming ``where`` and the field at fault.
        """
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where}: must be an object, got {type(data).__name__}")
        known = {"builtins", "methods", "imports", "constructs", "tests_run", "guarded"}
        if set(data) - known:
            raise PolicyError(f"{where}: unknown key(s) {sorted(set(data) - known)}; "
                              f"known: {sorted(known)}")
        rules = {key: _named_messages(data.get(key), f"{where}.{key}", _default_builtin
                                      if key == "builtins" else _default_method)
                 for key in ("builtins", "methods")}
        constructs = _named_messages(data.get("constructs"), f"{where}.constructs",
                                     lambda name: CONSTRUCTS.get(name, ""))
        for name, _ in constructs:
            if name not in CONSTRUCTS:
                raise PolicyError(f"{where}.constructs: unknown construct {name!r}; "
                                  f"known: {sorted(CONSTRUCTS)}")
        forbidden, allowed, import_message = _imports(data.get("imports"), f"{where}.imports")
        flags = {}
        for key in ("tests_run", "guarded"):
            if not isinstance(data.get(key, False), bool):
                raise PolicyError(f"{where}.{key}: must be true or false")
            flags[key] = data.get(key, False)
        return cls(builtins=rules["builtins"], methods=rules["methods"],
                   forbidden_imports=forbidden, allowed_imports=allowed,
                   import_message=import_message, constructs=constructs, **flags)


def _default_builtin(name: str) -> str:
    return f"{name}() is not allowed in this assignment."


def _default_method(name: str) -> str:
    return f"The .{name}() method is not allowed in this assignment."


def _default_import(name: str) -> str:
    return f"Importing {name} is not allowed in this assignment."


def _checked_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name.replace(".", "_").isidentifier() or len(name) > _MAX_NAME:
        raise PolicyError(f"{where}: {name!r} is not a Python name")
    return name


def _named_messages(raw: Any, where: str,
                    default: Callable[[str], str]) -> tuple[tuple[str, str], ...]:
    """``["sum"]`` or ``{"sum": "message" | null}`` -> ``(("sum", message),)``."""
    if raw is None:
        return ()
    if isinstance(raw, list):
        raw = dict.fromkeys(raw)
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: must be a list of names or an object of name: message")
    if len(raw) > _MAX_RULES:
        raise PolicyError(f"{where}: more than {_MAX_RULES} names")
    out = []
    for name, message in raw.items():
        _checked_name(name, where)
        if message is None or message == "":
            message = default(name)
        if not isinstance(message, str) or len(message) > _MAX_MESSAGE:
            raise PolicyError(f"{where}.{name}: the message must be a string of at most "
                              f"{_MAX_MESSAGE} characters")
        out.append((name, message))
    return tuple(out)


def _imports(raw: Any, where: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...] | None, str]:
    if raw is None:
        return (), None, ""
    if not isinstance(raw, Mapping) or set(raw) - {"forbid", "allow", "message"}:
        raise PolicyError(f"{where}: must be an object with 'forbid' or 'allow' (and 'message')")
    if ("forbid" in raw) == ("allow" in raw):
        raise PolicyError(f"{where}: give exactly one of 'forbid' and 'allow'")
    if "forbid" in raw:
        if "message" in raw:
            raise PolicyError(f"{where}.message: only with 'allow' (give 'forbid' as name: message)")
        return _named_messages(raw["forbid"], f"{where}.forbid", _default_import), None, ""
    allowed = raw["allow"]
    if not isinstance(allowed, list) or len(allowed) > _MAX_RULES:
        raise PolicyError(f"{where}.allow: must be a list of module names")
    names = tuple(_checked_name(n, f"{where}.allow") for n in allowed)
    message = raw.get("message") or (
        f"Only these imports are allowed in this assignment: {', '.join(names)}." if names
        else "Imports are not allowed in this assignment.")
    if not isinstance(message, str) or len(message) > _MAX_MESSAGE:
        raise PolicyError(f"{where}.message: must be a string of at most {_MAX_MESSAGE} characters")
    return (), names, message


def guarded_message(name: str) -> str:
    return f"`{name}` may not be used in this course's programs."


# -- in the grading process ----------------------------------------------------------------------


def static_violation(code: str, policy: Policy | None) -> Violation | None:
    """The first rule the program breaks, found without running it (None: none, or no policy).

    A program that does not compile breaks no rule here: the child reports its syntax error,
    which takes precedence.
    """
    if not policy:
        return None
    from student_gym.grader import policy_check  # imports RestrictedPython: only when needed

    return policy_check.first_violation(code, policy)


def violation_report(assignment: Any, violation: Violation) -> GradeReport:
    """The report of a program refused before it ran: every test failed, score 0."""
    tests = tuple(TestResult(name=t.name, kind=t.kind, passed=False, hidden=t.hidden)
                  for t in assignment.tests)
    return GradeReport(score=0.0, passed=0, total=len(tests), status=STATUS, tests=tests,
                       error_type=ERROR_TYPE, error=violation.message, line=violation.line,
                       extra={"policy": {**violation.to_dict(), "tests_run": False}})


def with_violation(report: GradeReport, violation: Violation | None,
                   policy: Policy | None) -> GradeReport:
    """``report`` with the rule broken: ``policy_violation`` above every status but
    ``too_large`` and ``syntax_error``; score 0 unless the policy says ``tests_run``."""
    if violation is None or policy is None or report.status in ("too_large", "syntax_error"):
        return report
    return replace(report, status=STATUS, score=report.score if policy.tests_run else 0.0,
                   error_type=ERROR_TYPE, error=violation.message, line=violation.line,
                   extra={**report.extra,
                          "policy": {**violation.to_dict(), "tests_run": policy.tests_run}})


def child_violation(messages: list[dict[str, Any]], policy: Policy | None) -> Violation | None:
    """The first run-time violation the child reported (``{"ev": "policy", ...}``).

    The child names only the rule and the line; the message comes from the parent's own
    policy, and a rule the policy does not have is ignored (a forged message can only hurt
    the program that forged it anyway).
    """
    if not policy:
        return None
    for m in messages:
        if m.get("ev") != "policy" or not isinstance(m.get("rule"), str):
            continue
        message = policy.message_of(m["rule"][:_MAX_NAME + 20])
        line = m.get("line")
        if message is not None:
            return Violation(m["rule"], message, line if type(line) is int and line > 0 else None)
    return None


# -- in the child ------------------------------------------------------------------------------


class PolicyViolationError(BaseException):
    """Raised in the program when it reaches a forbidden builtin or module at run time.

    A ``BaseException`` so a novice's ``except Exception`` does not swallow it; the violation
    is reported to the parent before it is raised, so catching it changes nothing.
    """


class ProgramRuntime:
    """What the child gives the program under a policy: its builtins and its compile.

    Args:
        data: the job's ``policy`` entry (:meth:`Policy.to_dict`).
        report: sends ``{"rule": ..., "line": ...}`` to the parent (the harness's channel).
    """

    def __init__(self, data: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
        self.policy = Policy.from_dict(data)
        self._report = report
        self.violation: dict[str, Any] | None = None
        namespace = dict(vars(builtins))
        self._real_import = builtins.__import__
        for name, message in self.policy.builtin_messages().items():
            if name in namespace:
                namespace[name] = self._guard(f"builtin:{name}", message, namespace[name])
        namespace["__import__"] = self._import
        # A module, as CPython gives a program run as a script: `builtins.x`,
        # `getattr(__builtins__, "x")` and `vars(__builtins__)["x"]` all reach this copy.
        self.builtins = self._module("builtins", namespace)
        import importlib

        self._modules = {"builtins": self.builtins, "importlib": self._module("importlib", {
            **vars(importlib), "import_module": self._import_module, "__import__": self._import})}
        if self.policy.guarded:
            from student_gym.grader import policy_check

            vars(self.builtins).update(policy_check.guards(self))

    def compile(self, code: str, filename: str) -> types.CodeType:
        """The program's code object: plain ``compile``, or guarded when the policy says so."""
        if self.policy.guarded:
            from student_gym.grader import policy_check

            return policy_check.compile_guarded(code, filename)
        return compile(code, filename, "exec", dont_inherit=True)

    def refuse(self, rule: str, message: str, always: bool = False) -> None:
        """Record (first one only) and report a violation, then raise unless ``tests_run``
        (``always``: raise anyway; a guard that let the call through would guard nothing)."""
        if self.violation is None:
            self.violation = {"rule": rule, "line": self._program_line()}
            self._report(dict(self.violation))
        if always or not self.policy.tests_run:
            raise PolicyViolationError(message)

    def _program_line(self) -> int | None:
        frame = sys._getframe(2)
        while frame is not None and frame.f_globals.get("__builtins__") is not self.builtins:
            frame = frame.f_back
        return frame.f_lineno if frame is not None else None

    def _guard(self, rule: str, message: str, real: Any) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            self.refuse(rule, message)
            return real(*args, **kwargs)  # only with tests_run: the call goes through

        refused.__name__ = refused.__qualname__ = getattr(real, "__name__", rule)
        return refused

    def _check_import(self, name: str) -> None:
        if isinstance(name, str):
            refusal = self.policy.import_refusal(name)
            if refusal is not None:
                self.refuse(refusal.rule, refusal.message)

    def _import(self, name: Any, globals_: Any = None, locals_: Any = None,
                fromlist: Any = (), level: int = 0) -> Any:
        if level != 0:
            return self._real_import(name, globals_, locals_, fromlist, level)
        self._check_import(name)
        if name in self._modules:
            return self._modules[name]
        module = self._real_import(name, globals_, locals_, fromlist, level)
        top = name.partition(".")[0] if isinstance(name, str) else None
        if not fromlist and top in self._modules:  # `import importlib.util` binds `importlib`
            return self._modules[top]
        return module

    def _import_module(self, name: Any, package: Any = None) -> Any:
        self._check_import(name)
        if name in self._modules:
            return self._modules[name]
        import importlib

        return importlib.import_module(name, package)

    @staticmethod
    def _module(name: str, namespace: dict[str, Any]) -> types.ModuleType:
        module = types.ModuleType(name)
        module.__dict__.update(namespace)
        module.__name__ = name
        return module
