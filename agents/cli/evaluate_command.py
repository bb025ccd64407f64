"""``student-gym evaluate``: the 5-step rollout evaluation of one or more agents.

Examples::

    student-gym evaluate --agent replay --agent novice --limit 20 --out runs/eval
    student-gym evaluate --agent lm:runs/sft/merged --out runs/eval
    student-gym evaluate --agent api:gpt-5-mini --allow-remote-course-data \\
        --max-cost-usd 5 --input-price 0.25 --output-price 2 --temperature none --out runs/eval
    student-gym evaluate --compare runs/eval/PARA runs/eval/SFT
    student-gym evaluate --agent replay --agent novice --compare   # compare the two just run

Each agent's run goes to ``OUT/<agent>/`` (episodes.jsonl, run.json, results.json); running the
same command again resumes it. The tables are printed (pooled Coverage first) and
``OUT/per_step.png`` drawn. With ``--compare``, every run is compared with the first one by a
paired bootstrap over the same students (refused when course, split, steps, seed or students
differ) and ``OUT/compare.json`` is written. ``student-gym report RUN_DIR...`` makes the page.
A course with logged grades only is refused (evaluation replays need tests); a course with
tests for some problems is evaluated on those, and the results' provenance says how many
trajectories were left out. Exit status 2, with one line, for any bad option or course.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "evaluate",
        help=help_text,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="SPEC",
        help="replay | novice | lm:PATH | api:MODEL (repeat to compare several)",
    )
    p.add_argument("--course", default="bundled", help="'bundled' or a native course path")
    p.add_argument("--split", default="test", help="split or term to evaluate (default: test)")
    p.add_argument("--steps", type=int, default=5, help="step limit per episode (default 5)")
    p.add_argument("--limit", type=int, default=None, help="evaluate N students drawn with --seed (all trajectories of each; default: all)")
    p.add_argument(
        "--feedback-level",
        default="summary",
        choices=("none", "grade", "summary", "detailed"),
        help="grader feedback in the dialogs (default summary)",
    )
    p.add_argument("--para", action="store_true", help="PARA dialogs: neutral feedback turns")
    p.add_argument(
        "--score-source",
        default="regraded",
        choices=("regraded", "logged"),
        help="the student's grade that counts (default: regraded by our grader)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="live episodes advanced together")
    p.add_argument("--out", default="runs/eval", help="output directory (default runs/eval)")
    p.add_argument("--no-resume", action="store_true", help="redo finished episodes")
    p.add_argument(
        "--compare",
        nargs="*",
        default=None,
        metavar="RUN",
        help="run directories (or their results.json) to compare; every run (these, then the "
        "--agent runs) is compared with the first by a paired bootstrap over students",
    )
    p.add_argument(
        "--validity",
        default="paper",
        choices=("paper", "strict"),
        help="which learner steps are programs: paper (non-empty python block, or non-empty "
        "text without a block; the default) or strict (unfenced text must also parse)",
    )
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for CIs")
    p.add_argument(
        "--seed", type=int, default=0, help="seed (the --limit students, bootstrap, novice plans, few-shot picks)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plot", action="store_true", help="do not draw per_step.png")
    p.add_argument(
        "--fewshot",
        type=int,
        default=0,
        metavar="K",
        help="wrap lm/api agents with K training-term trajectories",
    )
    lm = p.add_argument_group("lm agents")
    lm.add_argument("--adapter", default=None, help="LoRA adapter directory for lm:PATH")
    lm.add_argument("--max-new-tokens", type=int, default=512)
    lm.add_argument("--max-prompt-tokens", type=int, default=3072)
    lm.add_argument("--load-in-4bit", action="store_true")
    lm.add_argument(
        "--no-prefill",
        action="store_true",
        help="do not prefill replies with an empty think block and ```python (the paper does)",
    )
    api = p.add_argument_group("api agents")
    api.add_argument(
        "--api-base", default=None, help="OpenAI-compatible base URL (default: OpenAI)"
    )
    api.add_argument(
        "--allow-remote-course-data",
        action="store_true",
        help="allow sending course dialogs (statements, student programs) to the endpoint",
    )
    api.add_argument("--max-total-tokens", type=int, default=None, help="token cap for the run")
    api.add_argument("--max-cost-usd", type=float, default=None, help="dollar cap for the run")
    api.add_argument("--input-price", type=float, default=0.0, help="USD per million prompt tokens")
    api.add_argument(
        "--output-price", type=float, default=0.0, help="USD per million completion tokens"
    )
    api.add_argument("--temperature", default="0", help="a float, or 'none' to leave it out")
    api.add_argument("--concurrency", type=int, default=4, help="API requests in flight")
    p.set_defaults(func=run)
    return p


def build_agent(spec: str, course: Any, args: argparse.Namespace) -> Any:
    """An agent from its CLI spec (lazy imports: torch only for lm:)."""
    kind, _, arg = spec.partition(":")
    if kind == "lm" and arg and _looks_like_path(arg) and not Path(arg).exists():
        raise ValueError(f"--agent {spec!r}: no model directory {arg}")
    if kind == "replay" and not arg:
        from student_gym.learners.replay import ReplayAgent

        return ReplayAgent()
    if kind == "novice" and not arg:
        from student_gym.learners.novice import NoviceAgent

        return NoviceAgent(course, seed=args.seed)
    if kind == "lm" and arg:
        from student_gym_agents.lm import LMAgent

        agent = LMAgent(
            arg,
            adapter=args.adapter,
            max_new_tokens=args.max_new_tokens,
            max_prompt_tokens=args.max_prompt_tokens,
            load_in_4bit=args.load_in_4bit,
            prefill=not args.no_prefill,
        )
    elif kind == "api" and arg:
        from student_gym_agents.api import ApiAgent

        temperature = None if args.temperature.lower() == "none" else float(args.temperature)
        agent = ApiAgent(
            arg,
            base_url=args.api_base,
            allow_course_data=args.allow_remote_course_data,
            max_total_tokens=args.max_total_tokens,
            max_cost_usd=args.max_cost_usd,
            input_price_per_million=args.input_price,
            output_price_per_million=args.output_price,
            max_new_tokens=args.max_new_tokens,
            temperature=temperature,
            max_prompt_tokens=args.max_prompt_tokens,
            concurrency=args.concurrency,
        )
    else:
        raise ValueError(f"--agent {spec!r}: expected replay, novice, lm:PATH or api:MODEL")
    if args.fewshot:
        from student_gym_agents.fewshot import FewShotAgent

        agent = FewShotAgent(agent, course, k=args.fewshot, seed=args.seed)
    return agent


def _looks_like_path(arg: str) -> bool:
    """A local path rather than a hub name (``org/model``)."""
    return arg.startswith(("/", ".", "~")) or arg.count("/") > 1


def _check_options(args: argparse.Namespace) -> str | None:
    """The first bad numeric option, as a message, or None."""
    checks = [
        ("--steps", args.steps, 1), ("--limit", args.limit, 1),
        ("--batch-size", args.batch_size, 1), ("--bootstrap", args.bootstrap, 0),
        ("--fewshot", args.fewshot, 0), ("--concurrency", args.concurrency, 1),
        ("--max-new-tokens", args.max_new_tokens, 1),
        ("--max-prompt-tokens", args.max_prompt_tokens, 1),
    ]
    for flag, value, lowest in checks:
        if value is not None and value < lowest:
            return f"{flag} {value}: must be >= {lowest}"
    return None


def _warn_mixed_courses(runs: list[Any], err: Any) -> None:
    """Say so when the compared runs were made on different courses or splits."""
    seen: dict[tuple[Any, Any], list[str]] = {}
    for r in runs:
        course = (r.provenance or {}).get("course", {})
        split = (r.provenance or {}).get("settings", {}).get("split")
        seen.setdefault((course.get("sha256"), split), []).append(
            f"{r.agent} ({course.get('name')}, {split})")
    if len(seen) > 1:
        groups = "; ".join(", ".join(names) for names in seen.values())
        err.print(f"[yellow]evaluate: the compared runs use different courses or splits, so "
                  f"their numbers are not comparable: {groups}[/yellow]")


def run_dir_name(label: str) -> str:
    """A directory name for an agent label (``api:gpt-5-mini`` -> ``api_gpt-5-mini``)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", label).strip("_") or "agent"


def fail(err: Any, message: str) -> int:
    """Print one red line (never wrapped, never read as markup) and return exit code 2."""
    err.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    return 2


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from student_gym.evaluation import evaluate
    from student_gym.evaluation.compare import Run, compare_runs, load_run
    from student_gym.evaluation.plots import plot_per_step, plots_unavailable
    from student_gym.evaluation.tables import print_tables, wide_console
    from student_gym.learners.contract import agent_name

    console = wide_console()
    err = Console(stderr=True, highlight=False)

    def stop(message: object) -> int:
        return fail(err, f"evaluate: {message}")

    if not args.agent and not args.compare:
        return stop("give at least one --agent or --compare RUN...")
    if (problem := _check_options(args)) is not None:
        return stop(problem)
    loaded: list[Run] = []
    for path in args.compare or []:
        try:
            loaded.append(load_run(path, validity=args.validity, bootstrap=args.bootstrap))
        except (OSError, ValueError) as exc:
            return stop(f"--compare {path}: {exc}")
    runs = [r.results for r in loaded]
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return stop(f"--out {out} is an existing file; give a directory")
    if args.agent:
        from student_gym.course.native import CourseFormatError
        from student_gym.course.resolve import gradable_course, resolve_course

        try:
            full = resolve_course(None if args.course == "bundled" else args.course)
            course = gradable_course(full, "evaluate")
            if not course.split(args.split):
                return stop(f"course {course.name!r} has no trajectories with tests in split "
                            f"{args.split!r}")
        except (CourseFormatError, ValueError) as exc:  # NoTestsError is a ValueError
            return stop(exc)
        except KeyError as exc:
            return stop(exc.args[0])
        if left_out := len(full.trajectories) - len(course.trajectories):
            err.print(f"[yellow]evaluate: {left_out} trajectories have no tests (logged grades) "
                      "and are left out[/yellow]")
        for spec in args.agent:
            try:
                agent = build_agent(spec, course, args)
            except (ValueError, PermissionError, OSError) as exc:
                return stop(exc)
            if callable(getattr(agent, "warning", None)) and (note := agent.warning()):
                err.print(f"[yellow]{note}[/yellow]")
            label = agent_name(agent)
            try:
                results = evaluate(
                    agent,
                    course,
                    split=args.split,
                    steps=args.steps,
                    limit=args.limit,
                    feedback_level=args.feedback_level,
                    para=args.para,
                    score_source=args.score_source,
                    batch_size=args.batch_size,
                    out_dir=out / run_dir_name(label),
                    resume=not args.no_resume,
                    progress=not args.no_progress and sys.stderr.isatty(),
                    seed=args.seed,
                    bootstrap=args.bootstrap,
                    extra_provenance={"cli_agent_spec": spec, "argv": sys.argv[1:]},
                    validity=args.validity,
                )
            except ValueError as exc:  # a resume made with other settings
                return stop(exc)
            if results.stopped:
                err.print(
                    f"[yellow]{label}: stopped early ({results.stopped}); "
                    f"{results.counts['episodes']}/{results.counts['planned_episodes']} episodes "
                    "done. Run the same command again to resume.[/yellow]"
                )
            console.print(f"{label}: results in {out / run_dir_name(label) / 'results.json'}")
            runs.append(results)
            if args.compare is not None:
                loaded.append(load_run(out / run_dir_name(label), validity=args.validity,
                                       bootstrap=args.bootstrap))
    _warn_mixed_courses(runs, err)
    comparison = None
    if args.compare is not None:
        if len(loaded) < 2:
            return stop("--compare needs at least two runs in all")
        try:
            comparison = compare_runs(loaded, validity=args.validity, bootstrap=args.bootstrap)
        except ValueError as exc:
            return stop(exc)
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(json.dumps(comparison, indent=2) + "\n")
    print_tables(runs, console, comparison)
    if not args.no_plot and runs:
        if (reason := plots_unavailable()) is not None:
            console.print(f"per-step curves: not drawn ({reason})", markup=False)
        else:
            console.print(f"per-step curves: {plot_per_step(runs, out / 'per_step.png')}")
    return 0
