"""A re-implementation of the ``cs110.autograder`` helpers FalconCode test scripts call.

Behaviour follows the course's module as DESIGN.md describes it. Everything runs inside the
sandboxed child: ``run_script`` executes the student's program in-process as ``__main__``.
"""

from __future__ import annotations

import builtins
import sys
from typing import Any

from student_gym.grader import harness


def run_script(filename: str, input_list: list[Any] | None = None,
               timeout_in_seconds: float = 5) -> tuple[str, str]:
    """Run the student's program as ``__main__`` feeding ``input_list`` to ``input()``.

    Returns ``(stdout, stderr)``; stderr holds the traceback (empty when none). Prints
    ``Error Occurred:`` and the traceback when there is one, then ``Feedback:``. The timeout
    argument is accepted for compatibility; the submission's CPU limit applies instead.
    """
    del timeout_in_seconds
    with open(filename, encoding="utf-8") as handle:
        source = handle.read()
    stdin = "".join(f"{item}\n" for item in (input_list or []))
    saved = sys.stdout, sys.stderr, sys.stdin
    # The program's output draws from the same per-run budget as the script's own prints.
    budget = getattr(sys.stdout, "_budget", None) or [64 * 1024]
    out, err = harness.CappedText(budget), harness.CappedText(budget)
    sys.stdout, sys.stderr, sys.stdin = out, err, harness.text_stdin(stdin)
    traceback_text = ""
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
        exec(code, {"__name__": "__main__", "__file__": filename, "__builtins__": builtins})
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
    if traceback_text:
        print("Error Occurred:")
        print(traceback_text)
    print("Feedback:")
    return out.getvalue(), traceback_text


def equals(value: Any, expected: Any, delta: float = 0.01) -> bool:
    """Both as floats within ``delta``; if either is not a number, plain ``==``."""
    try:
        return abs(float(value) - float(expected)) <= delta
    except (TypeError, ValueError):
        return bool(value == expected)


def compare_strings(student_lines: list[str], expected_lines: list[str], auto_trim: bool = True,
                    check_order: bool = True) -> int:
    """Print a per-line verdict and ``N out of M lines match``; return N."""
    student = [s.strip() if auto_trim else s for s in student_lines]
    expected = [e.strip() if auto_trim else e for e in expected_lines]
    matches = 0
    if check_order:
        for i, want in enumerate(expected):
            if i < len(student) and student[i] == want:
                matches += 1
                print(f"Line {i + 1}: CORRECT")
            else:
                print(f"Line {i + 1}: INCORRECT (Expected: '{want}')")
        for i in range(len(expected), len(student)):
            print(f"Line {i + 1}: INCORRECT (Unexpected Line: '{student[i]}')")
    else:
        remaining = list(student)
        for i, want in enumerate(expected):
            if want in remaining:
                remaining.remove(want)
                matches += 1
                print(f"Line {i + 1}: CORRECT")
            else:
                print(f"Line {i + 1}: INCORRECT (Expected: '{want}')")
        for line in remaining:
            print(f"INCORRECT (Unexpected Line: '{line}')")
    print(f"{matches} out of {len(expected)} lines match")
    return matches


def code_compiles(filename: str) -> bool:
    """Whether the file compiles."""
    try:
        with open(filename, encoding="utf-8") as handle:
            compile(handle.read(), filename, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return False
    return True


def print_styled(style: Any, text: str, last_char: str = "\n") -> None:
    """Print ``text`` (styles are terminal colours in the course's module; plain text here)."""
    del style
    print(text, end=last_char)
