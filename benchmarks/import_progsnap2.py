"""Import time and peak memory of a large synthetic ProgSnap2 dataset (default 1M events).

Writes a ProgSnap2 directory shaped like the CSEDM 2018 release (MainTable.csv with
CodeState.csv beside it, Correct TRUE/FALSE, no TermID, 5% X-HintRequest events) with
``--rows`` events, ``--students`` students and ``--problems`` problems, then imports it in a
fresh Python process and reports wall time and that process's peak resident memory
(``ru_maxrss``). The baseline is a fresh process that only imports student_gym.course, run in
the same session, so the import's own cost is the difference. Saving the course (gzipped
native JSONL) is timed in the same process.

Run: ``python benchmarks/import_progsnap2.py [--rows 1000000] [--dir /tmp/ps2_bench]``
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from student_gym.course import import_progsnap2, save_course
t1 = time.perf_counter()
if sys.argv[1] == "import":
    course, report = import_progsnap2(sys.argv[2], salt="bench")
    t2 = time.perf_counter()
    save_course(course, sys.argv[3])
    t3 = time.perf_counter()
    out = {"import_s": t2 - t1, "save_s": t3 - t2, "submissions": report.submissions_kept,
           "trajectories": report.trajectories, "rows": sum(report.rows_read.values()),
           "events": sum(len(t.events) for t in course.trajectories), "splits": report.splits}
else:
    out = {"load_package_s": t1 - t0}
usage = resource.getrusage(resource.RUSAGE_SELF)
out["peak_rss_mb"] = usage.ru_maxrss / 1024
out["cpu_s"] = usage.ru_utime + usage.ru_stime  # what the machine's other load cannot inflate
print(json.dumps(out))
"""


def write_dataset(folder: Path, rows: int, students: int, problems: int, seed: int) -> None:
    """A synthetic ITAP-like ProgSnap2 directory; code states are distinct small programs."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    header = ["EventType", "EventID", "Order", "SubjectID", "ToolInstances", "ServerTimestamp",
              "ServerTimezone", "AssignmentID", "ProblemID", "CodeStateID", "Correct"]
    states = 0
    with (folder / "MainTable.csv").open("w", newline="") as main, \
            (folder / "CodeState.csv").open("w", newline="") as codes:
        mw, cw = csv.writer(main), csv.writer(codes)
        mw.writerow(header)
        cw.writerow(["CodeStateID", "Code"])
        for i in range(rows):
            student, problem = f"u{rng.randrange(students)}", f"p{rng.randrange(problems)}"
            stamp = f"2018-{1 + i * 12 // rows:02d}-01T10:{(i // 60) % 60:02d}:{i % 60:02d}"
            if rng.random() < 0.05:
                mw.writerow(["X-HintRequest", f"e{i}", i, student, "ITAP; Python", stamp, "0",
                             "a1", problem, "", ""])
                continue
            states += 1
            code = (f"def f{problem}(xs):\n    total = {rng.randrange(100)}\n"
                    f"    for x in xs:\n        total += x * {rng.randrange(10)}\n    return total\n")
            cw.writerow([f"c{states}", code])
            correct = "TRUE" if rng.random() < 0.3 else "FALSE"
            mw.writerow(["Submit", f"e{i}", i, student, "ITAP; Python", stamp, "0", "a1",
                         problem, f"c{states}", correct])


def child(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--students", type=int, default=2_000)
    parser.add_argument("--problems", type=int, default=50)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/student_gym_ps2_bench"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    write_dataset(args.dir / "data", args.rows, args.students, args.problems, args.seed)
    size = sum(p.stat().st_size for p in (args.dir / "data").iterdir()) / 2**20
    print(f"wrote {args.rows:,} events ({size:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    base = child("baseline")
    t1 = time.perf_counter()
    run = child("import", str(args.dir / "data"), str(args.dir / "course.jsonl.gz"))
    wall = time.perf_counter() - t1
    print(f"baseline process (import student_gym.course only): peak RSS "
          f"{base['peak_rss_mb']:.0f} MB")
    print(f"import: {run['rows']:,} rows read -> {run['submissions']:,} submissions, "
          f"{run['trajectories']:,} trajectories, {run['events']:,} tutor events, "
          f"splits {run['splits']}")
    print(f"import {run['import_s']:.1f} s ({run['rows'] / run['import_s']:,.0f} rows/s), "
          f"save {run['save_s']:.1f} s, process wall {wall:.1f} s, process CPU {run['cpu_s']:.1f} s")
    print(f"peak RSS {run['peak_rss_mb']:.0f} MB ({run['peak_rss_mb'] / base['peak_rss_mb']:.1f}x "
          f"the baseline process; {run['peak_rss_mb'] - base['peak_rss_mb']:.0f} MB over it)")


if __name__ == "__main__":
    main()
