"""Reward terms for one environment step, and the DAPO reward (docs/training.md).

A term is a function ``StepOutcome -> float``. The env builds one :class:`StepOutcome` per
step (the reply, the program parsed from it, the grader's report, and the real student's next
submission when replaying a trajectory) and calls the reward made by :func:`make_reward`.

The DAPO reward (the paper's values):

* -1.0 when the reply has no fenced code block (``format_ok`` False), whatever the grader made
  of the text, or when the program breaks a rule of the assignment's policy (status
  ``policy_violation``): a rule is part of the required form of an answer, so breaking one is
  the format penalty, never a grade or AST match;
* -0.5 when the program is a syntax error;
* 2.0 when its normalized AST equals the real next submission's;
* 1.0 when its grade equals the real grade (within 1e-9);
* 0.0 otherwise (and when there is no real next submission to compare with, as in free mode).

DAPO's soft over-length penalty is not an env term: it needs the learner's own token count,
which only the trainer has (TRL's ``get_soft_overlong_punishment`` on the completion ids; see
``docs/training.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from student_gym.course.program_ast import normalized_ast
from student_gym.grader.report import GRADE_TOLERANCE, GradeReport

RewardTerm = Callable[["StepOutcome"], float]


@dataclass(frozen=True)
class StepOutcome:
    """Everything a reward may look at for one step.

    Attributes:
        reply: the learner's raw reply.
        code: the program parsed from it (:class:`student_gym.dialogs.replies.ReplyParser`).
        format_ok: whether the reply kept the fenced-block format.
        report: the grader's report on ``code``.
        target_code: the real student's next submission, when replaying a trajectory.
        target_score: its regraded grade.
    """

    reply: str
    code: str
    format_ok: bool
    report: GradeReport
    target_code: str | None = None
    target_score: float | None = None


def grade_reward(outcome: StepOutcome) -> float:
    """The program's grade, 0..1 (0 when every test of the assignment is broken: no signal)."""
    return float(outcome.report.score or 0.0)


def grade_match_reward(outcome: StepOutcome) -> float:
    """1.0 when the grade equals the real next submission's grade (within 1e-9), else 0.0."""
    if outcome.target_score is None or outcome.report.score is None:
        return 0.0
    return float(abs(outcome.report.score - outcome.target_score) <= GRADE_TOLERANCE)


def ast_match_reward(outcome: StepOutcome) -> float:
    """1.0 when the program's normalized AST equals the real next submission's, else 0.0.

    Two programs that do not parse never match (a syntax error is not a behaviour to copy).
    """
    if outcome.target_code is None:
        return 0.0
    mine = normalized_ast(outcome.code)
    return float(mine is not None and mine == normalized_ast(outcome.target_code))


def breaks_format(outcome: StepOutcome) -> bool:
    """No (closed) fenced code block, or a program that breaks the assignment's policy."""
    return not outcome.format_ok or outcome.report.status == "policy_violation"


def format_reward(outcome: StepOutcome) -> float:
    """0.0 when the reply kept the format, -1.0 when it did not (:func:`breaks_format`)."""
    return -1.0 if breaks_format(outcome) else 0.0


def is_syntax_error(outcome: StepOutcome) -> bool:
    """The grader's verdict decides; a program ``ast`` cannot parse counts too."""
    return outcome.report.status == "syntax_error" or normalized_ast(outcome.code) is None


def dapo_reward(outcome: StepOutcome) -> float:
    """The DAPO reward: -1 format, -0.5 syntax error, 2 same AST, 1 same grade, else 0."""
    if breaks_format(outcome):
        return -1.0
    if is_syntax_error(outcome):
        return -0.5
    if ast_match_reward(outcome):
        return 2.0
    if grade_match_reward(outcome):
        return 1.0
    return 0.0


TERMS: dict[str, RewardTerm] = {
    "dapo": dapo_reward,
    "grade": grade_reward,
    "grade_match": grade_match_reward,
    "ast_match": ast_match_reward,
    "format": format_reward,
}


def make_reward(spec: str | Sequence[tuple[str, float]]) -> RewardTerm:
    """A weighted sum of named terms.

    Args:
        spec: a term name ("dapo", "grade", "grade_match", "ast_match", "format"), names
            joined by "+" ("dapo+format", weight 1 each), or (name, weight) pairs such as
            ``[("dapo", 1.0), ("format", 0.5)]``.

    Raises:
        ValueError: an unknown term name (naming "overlong" says where that term lives).
    """
    if isinstance(spec, str):
        pairs = [(name.strip(), 1.0) for name in spec.split("+")]
    else:
        pairs = [(str(name), float(weight)) for name, weight in spec]
    if not pairs:
        raise ValueError("make_reward: empty reward spec")
    terms: list[tuple[RewardTerm, float]] = []
    for name, weight in pairs:
        if name == "overlong":
            raise ValueError(
                "make_reward: 'overlong' is not an env reward term: it needs the learner's "
                "token count, so training adds it (student-gym train dapo --reward dapo+overlong)"
            )
        if name not in TERMS:
            raise ValueError(f"make_reward: unknown reward term {name!r}; known: {', '.join(TERMS)}")
        terms.append((TERMS[name], weight))

    def reward(outcome: StepOutcome) -> float:
        return float(sum(weight * term(outcome) for term, weight in terms))

    reward.__name__ = "+".join(name for name, _ in pairs)
    return reward
