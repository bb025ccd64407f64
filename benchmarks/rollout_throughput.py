"""Rollout throughput: the batched rollout vs one episode at a time, with the tiny LM.

Both runs evaluate the same protocol episodes of the held-out term with the same greedy tiny
Qwen3 (``student_gym_agents.tiny``, random weights, offline): once with ``batch_size=1`` (one episode at
a time: one ``generate`` and one grade per step) and once batched (every live episode in one
``generate`` call and one ``grade_many``). It prints steps per second of each and the ratio.

Run: ``python benchmarks/rollout_throughput.py [--limit 8] [--batch-size 16]
[--max-new-tokens 48]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from student_gym.course.resolve import resolve_course
from student_gym.evaluation import protocol_starts, rollout


def timed(agent, course, starts, batch_size: int) -> tuple[float, int]:
    t = time.perf_counter()
    records = rollout(agent, course, starts, batch_size=batch_size)
    return time.perf_counter() - t, sum(len(r.steps) for r in records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=None, help="native course path (default: bundled)")
    parser.add_argument("--limit", type=int, default=8, help="trajectories evaluated")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--model-dir", default=None, help="where the tiny model is built/reused")
    args = parser.parse_args()

    from student_gym_agents.lm import LMAgent
    from student_gym_agents.tiny import build_tiny_model

    course = resolve_course(args.course)
    starts = protocol_starts(course, "test", limit=args.limit)
    model_dir = Path(args.model_dir or Path(tempfile.gettempdir()) / "student-gym-tiny-bench")
    path = build_tiny_model(model_dir)
    agent = LMAgent(
        path, max_new_tokens=args.max_new_tokens, max_prompt_tokens=1024, batch_size=args.batch_size
    )
    timed(agent, course, starts[:2], 2)  # warm up (first generate, fork server)

    one_s, one_steps = timed(agent, course, starts, 1)
    many_s, many_steps = timed(agent, course, starts, args.batch_size)
    print(
        f"episodes: {len(starts)} ({args.limit} trajectories), max_new_tokens {args.max_new_tokens}"
    )
    print(f"one at a time : {one_steps} steps in {one_s:7.2f} s = {one_steps / one_s:6.2f} steps/s")
    print(
        f"batched ({args.batch_size:>3}) : {many_steps} steps in {many_s:7.2f} s = "
        f"{many_steps / many_s:6.2f} steps/s"
    )
    print(f"speed-up      : {(many_steps / many_s) / (one_steps / one_s):.2f}x")


if __name__ == "__main__":
    main()
