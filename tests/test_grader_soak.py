"""Soak: thousands of submissions in a row; processes, fds, temp dirs and memory stay flat."""

from __future__ import annotations

import os

from student_gym import Assignment, grade, grade_many
from student_gym.grader.assignments import CallTest, Limits
from student_gym.grader.client import get_client

SQUARE = Assignment(
    id="square",
    title="Square",
    statement="Write square(x).",
    entry_point="square",
    tests=tuple(CallTest(f"t{i}", (i,), i * i) for i in range(4)),
    limits=Limits(cpu_seconds=1.0),
)
PROGRAMS = [  # cheap submissions with every common ending
    ("def square(x):\n    return x * x\n", "passed"),
    ("def square(x):\n    return x + x\n", "failed"),
    ("def square(x):\n    return 1 / 0\n", "failed"),
    ("def square(x)\n    return x * x\n", "syntax_error"),
    ("raise ValueError('top level')\n", "runtime_error"),
    (
        "import math\ndef square(x):\n    print('working on', x)\n    return int(math.pow(x, 2))\n",
        "passed",
    ),
    (
        "import os\ndef square(x):\n    open('scratch.txt', 'w').write('x')\n    os.fork()\n",
        "failed",
    ),
]


def _fd_count(pid: int | str) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_kib(pid: int | str) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _children(pid: int | str) -> list[str]:
    out: list[str] = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += f.read().split()
    return out


def _running(zygote: int | str) -> list[str]:
    """The zygote's children that are not judges the server keeps (one per slot)."""
    kept = set(map(str, get_client().judge_pids))
    return [c for c in _children(zygote) if c not in kept]


def _snapshot() -> dict[str, object]:
    server, zygote = get_client().pid, get_client().zygote_pid
    assert server is not None and zygote is not None
    return {
        "server_pid": server,
        "server_fds": _fd_count(server),
        "server_children": _children(server),  # the zygote, nothing else
        "zygote_fds": _fd_count(zygote),
        "zygote_children": _running(zygote),  # every child (kept judges aside)
        "zygote_rss": _rss_kib(zygote),
        "own_fds": _fd_count("self"),
        "own_children": _children("self"),
        "server_rss": _rss_kib(server),
        "own_rss": _rss_kib("self"),
    }


def test_two_thousand_submissions_leave_nothing_behind():
    where = grade("import os\ndef square(x):\n    return os.getcwd()\n", SQUARE).tests[0].got
    tmp_root = os.path.dirname(os.path.dirname(where.strip("'\"")))  # <root>/<slot>/w
    def batch(round_: int) -> list[tuple[str, Assignment]]:
        # 210 distinct submissions (grade_many grades a repeated pair only once)
        return [(f"{code}# {round_}.{n}\n", SQUARE) for n, (code, _) in enumerate(PROGRAMS * 30)]

    expected = [status for _, status in PROGRAMS] * 30
    assert [r.status for r in grade_many(batch(0))] == expected  # warm-up: caches, allocator
    before = _snapshot()
    for round_ in range(1, 11):  # 2100 submissions
        reports = grade_many(batch(round_))
        assert [r.status for r in reports] == expected
        assert _running(get_client().zygote_pid) == []
    after = _snapshot()
    assert after["server_pid"] == before["server_pid"]  # never restarted
    assert before["server_children"] == [str(get_client().zygote_pid)]
    for key in ("server_fds", "server_children", "zygote_fds", "zygote_children", "own_fds",
                "own_children"):
        assert after[key] == before[key], (key, before[key], after[key])
    # Flat memory: a leak of even 4 KiB per submission would add over 8 MiB here.
    assert after["server_rss"] - before["server_rss"] < 4096, (before, after)
    assert after["zygote_rss"] - before["zygote_rss"] < 4096, (before, after)
    assert after["own_rss"] - before["own_rss"] < 8192, (before, after)
    # Every child's directory is gone: slot bases hold only their (empty) mount point.
    for entry in os.listdir(tmp_root):
        path = os.path.join(tmp_root, entry)
        assert all(os.listdir(os.path.join(path, sub)) == [] for sub in os.listdir(path)), entry
