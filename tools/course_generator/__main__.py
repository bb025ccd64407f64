"""``python -m tools.course_generator --out DIR [--seed N]``: write the generated course."""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter

from student_gym.course.native import save_course
from tools.course_generator import DEFAULT_SEED, generate_course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.course_generator",
        description="Generate the bundled CS1 course (simulated novices, graded by the grader).",
    )
    parser.add_argument(
        "--out", required=True, help="a .jsonl/.jsonl.gz file or a directory (gets course.jsonl)"
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)"
    )
    args = parser.parse_args(argv)
    course = generate_course(seed=args.seed)
    path = save_course(course, args.out)
    lengths = [len(t) for t in course.trajectories]
    per_term = Counter(t.term for t in course.trajectories)
    solved = sum(t.submissions[-1].report.status == "passed" for t in course.trajectories)
    print(
        f"wrote {path}: {len(course.assignments)} assignments, {len(lengths)} trajectories "
        f"({dict(per_term)}), {sum(lengths)} submissions, mean length "
        f"{statistics.mean(lengths):.2f}, solved {solved / len(lengths):.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
