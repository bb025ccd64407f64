"""A re-implementation of the ``cs110.autograder`` helpers FalconCode test scripts call.

Behaviour follows the course's module as DESIGN.md describes it. A test script gets its own
:class:`Autograder` (see :mod:`student_gym.grader.replay`): in the sandboxed child its
``execute`` really runs the student's program in-process as ``__main__`` (logged); in the parent
the same script is replayed with ``execute`` answering from the log. Everything the helpers
print goes through ``write``, so both sides print the same feedback text. The module-level
functions are the child's default instance, for programs that import ``autograder`` themselves.
"""

from __future__ import annotations

import builtins
import sys
import types
from collections.abc import Callable
from typing import Any

from student_gym.grader import harness


def execute_program(filename: str, input_list: list[Any], runtime: Any = None) -> tuple[str, str]:
    """Run the student's file as ``__main__`` feeding ``input_list`` to ``input()``.

    ``runtime``: the assignment policy's :class:`~student_gym.grader.policy.ProgramRuntime`
    (its builtins and compile), if any. Returns ``(stdout, traceback)``; the traceback is empty
    when the program did not raise.
    """
    with open(filename, encoding="utf-8") as handle:
        source = handle.read()
    stdin = "".join(f"{item}\n" for item in input_list)
    saved = sys.stdout, sys.stderr, sys.stdin
    # The program's output draws from the same per-run budget as the script's own prints.
    budget = getattr(sys.stdout, "_budget", None) or [64 * 1024]
    out, err = harness.CappedText(budget), harness.CappedText(budget)
    sys.stdout, sys.stderr, sys.stdin = out, err, harness.text_stdin(stdin)
    traceback_text = ""
    try:
        code = runtime.compile(source, filename) if runtime else compile(
            source, filename, "exec", dont_inherit=True)
        exec(code, {"__name__": "__main__", "__file__": filename,
                    "__builtins__": runtime.builtins if runtime else builtins})
    except SystemExit:
        pass
    except (harness.OutputLimitExceeded, harness.ForbiddenResult):
        raise
    except BaseException as exc:  # noqa: BLE001 - the student's error becomes the stderr text
        traceback_text = harness.student_traceback(exc, frozenset({filename}))
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
    if out.exceeded or err.exceeded:
        raise harness.OutputLimitExceeded("output limit exceeded")
    return out.getvalue(), traceback_text


def file_compiles(filename: str) -> bool:
    """Whether the file compiles."""
    try:
        with open(filename, encoding="utf-8") as handle:
            compile(handle.read(), filename, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return False
    return True


class Autograder:
    """The helpers, bound to how the program runs (``execute``) and where prints go (``write``)."""

    def __init__(self, execute: Callable[[str, list[Any]], tuple[str, str]] = execute_program,
                 compiles: Callable[[str], bool] = file_compiles,
                 write: Callable[[str], Any] | None = None) -> None:
        self._execute = execute
        self._compiles = compiles
        self._write = write or (lambda text: sys.stdout.write(text))

    def _print(self, text: str = "", end: str = "\n") -> None:
        self._write(f"{text}{end}")

    def run_script(self, filename: str, input_list: list[Any] | None = None,
                   timeout_in_seconds: float = 5) -> tuple[str, str]:
        """Run the student's program, print ``Error Occurred:`` + traceback if it raised, then
        ``Feedback:``; return ``(stdout, stderr)``. The timeout argument is accepted for
        compatibility; the submission's CPU limit applies instead."""
        del timeout_in_seconds
        stdout, traceback_text = self._execute(filename, list(input_list or []))
        if traceback_text:
            self._print("Error Occurred:")
            self._print(traceback_text)
        self._print("Feedback:")
        return stdout, traceback_text

    def equals(self, value: Any, expected: Any, delta: float = 0.01) -> bool:
        """Both as floats within ``delta``; if either is not a number, plain ``==``."""
        try:
            return abs(float(value) - float(expected)) <= delta
        except (TypeError, ValueError):
            return bool(value == expected)

    def compare_strings(self, student_lines: list[str], expected_lines: list[str],
                        auto_trim: bool = True, check_order: bool = True) -> int:
        """Print a per-line verdict and ``N out of M lines match``; return N."""
        student = [s.strip() if auto_trim else s for s in student_lines]
        expected = [e.strip() if auto_trim else e for e in expected_lines]
        matches = 0
        if check_order:
            for i, want in enumerate(expected):
                if i < len(student) and student[i] == want:
                    matches += 1
                    self._print(f"Line {i + 1}: CORRECT")
                else:
                    self._print(f"Line {i + 1}: INCORRECT (Expected: '{want}')")
            for i in range(len(expected), len(student)):
                self._print(f"Line {i + 1}: INCORRECT (Unexpected Line: '{student[i]}')")
        else:
            remaining = list(student)
            for i, want in enumerate(expected):
                if want in remaining:
                    remaining.remove(want)
                    matches += 1
                    self._print(f"Line {i + 1}: CORRECT")
                else:
                    self._print(f"Line {i + 1}: INCORRECT (Expected: '{want}')")
            for line in remaining:
                self._print(f"INCORRECT (Unexpected Line: '{line}')")
        self._print(f"{matches} out of {len(expected)} lines match")
        return matches

    def code_compiles(self, filename: str) -> bool:
        """Whether the file compiles."""
        return self._compiles(filename)

    def print_styled(self, style: Any, text: str, last_char: str = "\n") -> None:
        """Print ``text`` (styles are terminal colours in the course's module; plain here)."""
        del style
        self._print(text, end=last_char)

    def modules(self) -> dict[str, types.ModuleType]:
        """``cs110``, ``cs110.autograder`` and ``autograder`` as a script imports them."""
        module = types.ModuleType("cs110.autograder")
        for name in ("run_script", "equals", "compare_strings", "code_compiles", "print_styled"):
            setattr(module, name, getattr(self, name))
        package = types.ModuleType("cs110")
        package.__path__ = []  # a package, so "import cs110.autograder" resolves
        package.autograder = module  # type: ignore[attr-defined]
        return {"cs110": package, "cs110.autograder": module, "autograder": module}


_DEFAULT = Autograder()
run_script = _DEFAULT.run_script
equals = _DEFAULT.equals
compare_strings = _DEFAULT.compare_strings
code_compiles = _DEFAULT.code_compiles
print_styled = _DEFAULT.print_styled
