"""A tiny hand-written course for the env, agent and evaluation tests (no tests here).

Three assignments (call tests and an IO test), real-looking trajectories in a test term and a
train term, graded by the real grader once per test process.
"""

from __future__ import annotations

from functools import lru_cache

from student_gym import Assignment, CallTest, IOTest, grade_many
from student_gym.course.model import Course, Submission, Trajectory

ADD = Assignment(
    id="add",
    title="Add",
    statement="Write a function add(a, b) that returns the sum of a and b.",
    entry_point="add",
    solution="def add(a, b):\n    return a + b\n",
    tests=(CallTest("small", (1, 2), 3), CallTest("zero", (0, 0), 0), CallTest("neg", (-1, 5), 4)),
)
EVENS = Assignment(
    id="count_evens",
    title="Count evens",
    statement="Write count_evens(xs) returning how many numbers in the list xs are even.",
    entry_point="count_evens",
    solution=(
        "def count_evens(xs):\n    count = 0\n    for i in range(len(xs)):\n"
        "        if xs[i] % 2 == 0:\n            count = count + 1\n    return count\n"
    ),
    tests=(
        CallTest("empty", ([],), 0),
        CallTest("mixed", ([1, 2, 3, 4],), 2),
        CallTest("odd", ([1, 3],), 0),
        CallTest("even", ([2, 4, 6],), 3),
    ),
)
GREET = Assignment(
    id="greet",
    title="Greet",
    statement="Read a name from input and print Hello, NAME!",
    solution="name = input()\nprint('Hello, ' + name + '!')\n",
    tests=(IOTest("ann", "Ann\n", "Hello, Ann!\n"), IOTest("bo", "Bo\n", "Hello, Bo!\n")),
)

# (trajectory id, student, assignment, term, programs)
TRAJECTORIES = (
    (
        "F24/s1/add",
        "s1",
        "add",
        "F24",
        [
            "def add(a, b)\n    return a + b\n",
            "def add(a, b):\n    return a - b\n",
            "def add(a, b):\n    return a + b\n",
        ],
    ),
    (
        "F24/s2/add",
        "s2",
        "add",
        "F24",
        [
            "def add(a, b):\n    print(a + b)\n",
            "def add(x, y):\n    return x + y\n",
        ],
    ),
    (
        "F24/s1/count_evens",
        "s1",
        "count_evens",
        "F24",
        [
            "def count_evens(xs):\n    return len(xs)\n",
            "def count_evens(xs):\n    c = 0\n    for x in xs:\n        if x % 2 == 1:\n            c += 1\n    return c\n",
            "def count_evens(xs):\n    c = 0\n    for x in xs:\n        if x % 2 == 0:\n            c += 1\n    return c\n",
        ],
    ),
    (
        "F24/s3/greet",
        "s3",
        "greet",
        "F24",
        [
            "name = input()\nprint('Hello ' + name)\n",
            "name = input()\nprint('Hello, ' + name + '!')\n",
        ],
    ),
    (
        "F24/s4/count_evens",
        "s4",
        "count_evens",
        "F24",
        [
            "def count_evens(xs):\n    return 0\n",
            "def count_evens(ys):\n    return 0\n",  # same normalized AST: collapsed
            "def count_evens(xs):\n    return sum(1 for x in xs if x % 2)\n",
        ],
    ),
    (
        "S24/s5/add",
        "s5",
        "add",
        "S24",
        [
            "def add(a, b):\n    return a * b\n",
            "def add(a, b):\n    return a + b\n",
        ],
    ),
    (
        "S24/s6/greet",
        "s6",
        "greet",
        "S24",
        [
            "print('Hello, ' + input())\n",
            "print('Hello, ' + input() + '!')\n",
        ],
    ),
)


@lru_cache(maxsize=1)
def tiny_course() -> Course:
    """The course, graded by the real grader (cached per process)."""
    assignments = {a.id: a for a in (ADD, EVENS, GREET)}
    pairs = [(code, assignments[aid]) for _, _, aid, _, codes in TRAJECTORIES for code in codes]
    reports = iter(grade_many(pairs))
    trajectories = []
    for tid, student, aid, term, codes in TRAJECTORIES:
        subs = tuple(
            Submission(student, aid, i, code, logged_score=None, report=next(reports))
            for i, code in enumerate(codes)
        )
        trajectories.append(Trajectory(tid, student, aid, term, subs))
    return Course("tiny", assignments, trajectories, splits={"S24": "train", "F24": "test"})
