"""The ``cs110`` package that FalconCode test scripts import (``from cs110 import autograder``).

Only loaded inside the grader's fork server, where it is also registered under the top-level
names ``cs110`` and ``autograder``.
"""

from __future__ import annotations
