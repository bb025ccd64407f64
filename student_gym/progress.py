"""Progress bars for long work (import, regrade, serialize, evaluate, training), drawn with rich.

One bar style for every step: :func:`new_bar` builds it, :func:`progress_bar` wraps it for a
loop over items, the evaluation runner and the training callback drive it themselves. Bars go
to stderr, so tables printed on stdout stay clean when piped; :func:`progress_bar` draws only
when stderr is a terminal (tests and CI logs get none).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def progress_wanted(enabled: bool | None = None) -> bool:
    """``enabled`` when given, else whether stderr is a terminal."""
    return sys.stderr.isatty() if enabled is None else enabled


def new_bar(*extra_columns: Any) -> Any:
    """A rich ``Progress`` on stderr: description, bar, done/total, elapsed, remaining, then
    ``extra_columns`` (e.g. a ``TextColumn`` with the last loss). Not started yet."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra_columns,
        console=Console(stderr=True),
    )


@contextmanager
def progress_bar(
    description: str, total: int | None, enabled: bool | None = None, completed: int = 0
) -> Iterator[Callable[..., None]]:
    """A bar over ``total`` items; yields ``update(done=None, advance=1)``.

    ``update(done)`` sets the count, ``update()`` advances it by one; with no bar it does
    nothing, so callers need not check.
    """
    if not progress_wanted(enabled):
        yield lambda done=None, advance=1: None
        return
    bar = new_bar()
    task = bar.add_task(description, total=total, completed=completed)

    def update(done: int | None = None, advance: int = 1) -> None:
        if done is None:
            bar.advance(task, advance)
        else:
            bar.update(task, completed=done)

    with bar:
        yield update
