"""Env step overhead over bare grading (target: under 5%).

For the same (assignment, program) pairs taken from the course's held-out term, it times
(a) ``student_gym.grade(code, assignment)`` alone, and (b) ``env.step(reply)`` on an env reset
to the matching (trajectory, prefix), which parses, grades, computes the DAPO reward, renders
feedback and builds the observation and info. Rounds alternate (a) and (b) so that machine
load hits both alike; the best round of each is compared (the machine is shared, and the
minimum is the least disturbed estimate). The batched path (``step_many`` vs ``grade_many``)
is measured the same way. Because a difference of two noisy timings is itself noisy, the env's
own work is also timed directly: ``begin_step`` + ``end_step`` with the reports precomputed,
i.e. a step minus its grading.

Run: ``python benchmarks/env_overhead.py [--course PATH] [--pairs 200] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import time

from student_gym import grade, grade_many
from student_gym.course.resolve import resolve_course
from student_gym.dialogs import format_program
from student_gym.env import StudentProgrammingEnv, step_many
from student_gym.evaluation import protocol_starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=None, help="native course path (default: bundled)")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    course = resolve_course(args.course)
    starts = protocol_starts(course, "test")[: args.pairs]
    envs = [StudentProgrammingEnv(course=course) for _ in starts]
    options = [{"trajectory": s.trajectory, "prefix": s.prefix} for s in starts]
    for env, opt in zip(envs, options, strict=True):
        env.reset(options=opt)
    # The programs: the students' real next submissions (a realistic mix of verdicts).
    pairs = [(env.episode.targets[0].code, env.episode.assignment) for env in envs]
    replies = [format_program(code) for code, _ in pairs]
    grade_many(pairs[:8])  # start the fork server and warm caches outside the timings

    reports = grade_many(pairs)
    bare, stepped, bare_many, stepped_many, resets, own = [], [], [], [], [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        for code, assignment in pairs:
            grade(code, assignment)
        bare.append(time.perf_counter() - t)

        t = time.perf_counter()
        for env, opt in zip(envs, options, strict=True):
            env.reset(options=opt)
        resets.append(time.perf_counter() - t)
        t = time.perf_counter()
        for env, reply in zip(envs, replies, strict=True):
            env.step(reply)
        stepped.append(time.perf_counter() - t)

        t = time.perf_counter()
        grade_many(pairs)
        bare_many.append(time.perf_counter() - t)
        for env, opt in zip(envs, options, strict=True):
            env.reset(options=opt)
        t = time.perf_counter()
        step_many(envs, replies)
        stepped_many.append(time.perf_counter() - t)

        for env, opt in zip(envs, options, strict=True):
            env.reset(options=opt)
        t = time.perf_counter()
        for env, reply, report in zip(envs, replies, reports, strict=True):
            env.end_step(env.begin_step(reply), report)
        own.append(time.perf_counter() - t)

    n = len(pairs)
    b, s, bm, sm = min(bare), min(stepped), min(bare_many), min(stepped_many)
    r, o = min(resets), min(own)
    print(f"pairs: {n}, rounds: {args.rounds}, course: {course.name}")
    print(f"grade() one by one : {1e3 * b / n:8.3f} ms/program")
    print(f"env.step()         : {1e3 * s / n:8.3f} ms/step    overhead {100 * (s - b) / b:+.1f}%")
    print(f"env.reset(options) : {1e3 * r / n:8.3f} ms/reset  (not part of the step)")
    print(
        f"env work per step  : {1e3 * o / n:8.3f} ms/step    = {100 * o / b:.1f}% of grade(), "
        f"{100 * o / bm:.1f}% of grade_many() per program"
    )
    print(f"grade_many()       : {1e3 * bm / n:8.3f} ms/program")
    print(
        f"step_many()        : {1e3 * sm / n:8.3f} ms/step    overhead {100 * (sm - bm) / bm:+.1f}%"
    )


if __name__ == "__main__":
    main()
