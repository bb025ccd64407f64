"""The programming language of logged code: from metadata, checked against the code itself.

Logs say the language in metadata (ProgSnap2's ``ToolInstances``, e.g. ``"ITAP; Python"`` or
``"Web-CAT; Java 8"``; a table's language column; ``--language``). The metadata decides: code
that is not Python is kept and serialized with its own fence, and never graded as Python. A
parse check that disagrees with the metadata is a warning in the import report, not a
correction: novices' Python often fails to parse, so a parse failure alone says nothing.
"""

from __future__ import annotations

import ast
import re
import warnings
from functools import lru_cache

from student_gym.course.model import PYTHON

# Names as they appear in tool strings -> the language id we store (also the fence tag).
_KNOWN = {
    "python": "python", "python2": "python", "python3": "python", "py": "python",
    "java": "java", "javascript": "javascript", "js": "javascript", "typescript": "typescript",
    "c": "c", "c++": "cpp", "cpp": "cpp", "c#": "csharp", "csharp": "csharp", "kotlin": "kotlin",
    "scala": "scala", "ruby": "ruby", "go": "go", "rust": "rust", "r": "r", "matlab": "matlab",
    "haskell": "haskell", "racket": "racket", "scheme": "scheme", "sql": "sql", "php": "php",
}  # fmt: skip
# Lines that only C-family code has: a type before a method, braces, statements ending in ';'.
_C_FAMILY = re.compile(
    r"^\s*((public|private|protected|static)\b.*[({]|#include\b|import\s+java\.|"
    r".*\bSystem\.out\.|.*;\s*$|[{}]\s*$)",
    re.MULTILINE,
)


def language_name(text: str) -> str | None:
    """The language id for a user-given name (``"Python 3"`` -> ``"python"``), or None."""
    words = text.strip().lower().split()
    if not words:
        return None
    return _KNOWN.get(words[0])


@lru_cache(maxsize=1024)  # logs repeat a handful of tool strings millions of times
def language_from_tools(tool_instances: str) -> str | None:
    """The language a ProgSnap2 ``ToolInstances`` value names (``"ITAP; Python"``), or None."""
    for part in re.split(r"[;,|]", tool_instances):
        if (name := language_name(part)) is not None:
            return name
    return None


def parses_as_python(code: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in student code
        try:
            ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def language_disagreement(code: str, language: str) -> str | None:
    """Why the code does not look like ``language``, or None when nothing disagrees.

    Python-labelled code disagrees when it does not parse and most of its non-blank lines look
    like C-family code; other code disagrees when it has several lines and parses as Python.
    """
    # The regex first: parsing every submission of a million-row log would dominate the import.
    if language == PYTHON and ";" not in code and "{" not in code:
        return None  # no C-family line can match: the common case, decided without a regex
    lines = sum(1 for line in code.splitlines() if line.strip())
    if language == PYTHON:
        if len(_C_FAMILY.findall(code)) * 2 <= lines or parses_as_python(code):
            return None
        return "labelled python but does not parse and looks like C-family code"
    if lines >= 2 and not _C_FAMILY.search(code) and parses_as_python(code):
        return f"labelled {language} but parses as Python"
    return None
