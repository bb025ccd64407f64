"""A rule-based novice learner: no model, no GPU, an honest lower baseline.

Its model of mistakes is its own (not the course generator's): it starts from the assignment's
reference solution, injects 1-3 typical novice errors, and then "reads" the grader's feedback
to fix exactly one error per step, so its grades climb like a (fast) student's:

* ``missing_colon`` - the colon of the first ``def``/``if``/``for``/``while`` header is missing
  (SyntaxError: nothing runs);
* ``name_typo`` - one use of a variable is misspelt (NameError);
* ``print_not_return`` - ``return x`` becomes ``print(x)`` (the function returns None);
* ``off_by_one`` - a ``range(..., n)`` stops one early;
* ``wrong_operator`` - ``+`` and ``-`` swapped, ``*`` made ``+``;
* ``comparison`` - ``<`` becomes ``<=`` (and the like), ``==`` becomes ``!=``;
* ``constant`` - an integer literal is off by one.

The agent is stateless: the error plan of an episode is a pure function of the assignment and
a variant number, so from the dialog alone it recognises its own last program (one of at most
``variants * 2**3`` candidates) and knows which errors are left. When the last program is not
its own (a replay prefix of a real student) it draws a fresh plan from a hash of the dialog.
Which error it fixes depends on what the feedback names: a ``SyntaxError`` points at the
missing colon, a ``NameError`` at the misspelt name, ``None`` results at the missing return,
a visible test's ``Expected``/``Got`` (detailed feedback) at a wrong value (the first wrong
operator, comparison, bound or constant left), any other exception at the first error left.
When the feedback names none of its remaining errors (a grade only, the neutral PARA line, a
count of failed tests) it cannot tell where to look: it guesses, and half of its guesses
(drawn from a hash of the dialog, so the agent stays stateless and deterministic) change
nothing, so it resubmits the same program. Reading detailed feedback therefore solves in
fewer attempts than reading the grade alone (tests/test_agents.py measures it).
"""

from __future__ import annotations

import ast
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from student_gym.course.model import Course
from student_gym.dialogs import format_program, statement_text
from student_gym.dialogs.replies import ReplyParser
from student_gym.learners.contract import Info, Observation

ERROR_TYPES = (
    "missing_colon",
    "name_typo",
    "print_not_return",
    "off_by_one",
    "wrong_operator",
    "comparison",
    "constant",
)
_SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add}
_SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq}
_HEADERS = ("def ", "if ", "for ", "while ", "elif ")


def _sites(tree: ast.AST, error: str) -> list[ast.AST]:
    """The nodes of ``tree`` where ``error`` can be injected, in a fixed walk order."""
    nodes = list(ast.walk(tree))
    if error == "name_typo":
        assigned = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assigned |= {a.arg for n in nodes if isinstance(n, ast.FunctionDef) for a in n.args.args}
        return [
            n
            for n in nodes
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in assigned
        ]
    if error == "print_not_return":
        return [
            n
            for n in nodes
            if isinstance(n, ast.FunctionDef)
            and any(isinstance(s, ast.Return) and s.value is not None for s in n.body)
        ]
    if error == "off_by_one":
        return [
            n
            for n in nodes
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id == "range"
            and n.args
        ]
    if error == "wrong_operator":
        return [n for n in nodes if isinstance(n, ast.BinOp) and type(n.op) in _SWAP_BINOP]
    if error == "comparison":
        return [n for n in nodes if isinstance(n, ast.Compare) and type(n.ops[0]) in _SWAP_CMP]
    if error == "constant":
        return [n for n in nodes if isinstance(n, ast.Constant) and type(n.value) is int]
    return []


def _inject(node: ast.AST, error: str) -> None:
    """Mutate one site in place."""
    if error == "name_typo":
        node.id = node.id + "_" if len(node.id) < 3 else node.id[:-1]  # type: ignore[attr-defined]
    elif error == "print_not_return":
        body = node.body  # type: ignore[attr-defined]
        for i, stmt in enumerate(body):
            if isinstance(stmt, ast.Return) and stmt.value is not None:
                call = ast.Call(func=ast.Name("print", ast.Load()), args=[stmt.value], keywords=[])
                body[i] = ast.Expr(call)
                break
    elif error == "off_by_one":
        last = node.args[-1]  # type: ignore[attr-defined]
        node.args[-1] = ast.BinOp(last, ast.Sub(), ast.Constant(1))  # type: ignore[attr-defined]
    elif error == "wrong_operator":
        node.op = _SWAP_BINOP[type(node.op)]()  # type: ignore[attr-defined]
    elif error == "comparison":
        node.ops[0] = _SWAP_CMP[type(node.ops[0])]()  # type: ignore[attr-defined]
    elif error == "constant":
        node.value = node.value + 1  # type: ignore[attr-defined]


def _drop_colon(code: str) -> str:
    lines = code.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith(_HEADERS) and line.rstrip().endswith(":"):
            lines[i] = line.rstrip()[:-1]
            break
    return "\n".join(lines)


@dataclass(frozen=True)
class Plan:
    """The errors of one episode: (error type, site index) pairs, in the order to fix them."""

    solution: str
    errors: tuple[tuple[str, int], ...]

    def program(self, remaining: frozenset[int]) -> str:
        """The solution with the errors whose positions are in ``remaining`` injected."""
        return _program(self, remaining)


@lru_cache(maxsize=65536)
def _program(plan: Plan, remaining: frozenset[int]) -> str:
    """Plan.program, cached: recognising its own last program re-renders many candidates."""
    tree = ast.parse(plan.solution)
    sites = {kind: _sites(tree, kind) for kind, _ in plan.errors}
    syntax = False
    for i in sorted(remaining):
        kind, site = plan.errors[i]
        if kind == "missing_colon":
            syntax = True
        elif sites[kind]:
            _inject(sites[kind][site % len(sites[kind])], kind)
    code = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    return _drop_colon(code) if syntax else code


@lru_cache(maxsize=4096)
def _plan(solution: str, seed_key: str) -> Plan:
    """A deterministic plan of 1-3 applicable errors for one (solution, variant)."""
    digest = hashlib.sha256(seed_key.encode()).digest()
    tree = ast.parse(solution)
    applicable = [e for e in ERROR_TYPES if e == "missing_colon" or _sites(tree, e)]
    count = 1 + digest[0] % 3
    order = sorted(applicable, key=lambda e: hashlib.sha256((seed_key + e).encode()).digest())
    errors = tuple((e, digest[1 + i]) for i, e in enumerate(order[:count]))
    return Plan(solution, errors)


class NoviceAgent:
    """The rule-based novice baseline (see the module docstring).

    Args:
        course: the course whose assignments (and reference solutions) it recognises.
        seed: varies the error plans.
        variants: distinct error plans per assignment.
    """

    name = "novice"

    def __init__(self, course: Course, seed: int = 0, variants: int = 4) -> None:
        self.seed = seed
        self.variants = max(1, variants)
        self._by_statement = {statement_text(a): a for a in course.assignments.values()}
        self._parser = ReplyParser()
        # Without a reference solution the baseline can only resubmit: say so wherever its
        # numbers go (the CLI prints it; results carry it in their provenance).
        self.without_solution = sorted(
            aid for aid, a in course.assignments.items() if not a.solution
        )

    def warning(self) -> str | None:
        """A line for users when some assignments have no reference solution, else None."""
        if not self.without_solution:
            return None
        n = len(self.without_solution)
        return (
            f"novice baseline: {n} assignment(s) have no reference solution "
            f"({', '.join(self.without_solution[:5])}{', ...' if n > 5 else ''}); on them it "
            "only resubmits the last program, so its numbers there are not a baseline"
        )

    def provenance(self) -> dict[str, object]:
        return {"assignments_without_solution": self.without_solution}

    def plans(self, solution: str, assignment_id: str) -> list[Plan]:
        return [_plan(solution, f"{self.seed}/{assignment_id}/{v}") for v in range(self.variants)]

    def act(self, observations: Sequence[Observation], infos: Sequence[Info]) -> list[str]:
        """One program per dialog (a fenced python block)."""
        return [format_program(self._next_program(obs)) for obs in observations]

    def reset(self) -> None:
        """Stateless: nothing to reset."""

    def _next_program(self, obs: Sequence[Mapping[str, str]]) -> str:
        statement = next((m["content"] for m in obs if m["role"] == "user"), "")
        programs = [self._parser.parse(m["content"]).code for m in obs if m["role"] == "assistant"]
        last = programs[-1] if programs else None
        assignment = self._by_statement.get(statement)
        if assignment is None or not assignment.solution:
            # No reference to work from: resubmit the last program (a stuck novice).
            return last if last is not None else "print('I do not know how to start')\n"
        plans = self.plans(assignment.solution, assignment.id)
        if last is not None:
            for plan in plans:
                for remaining in _subsets(len(plan.errors)):
                    if plan.program(remaining).strip() == last.strip():
                        fix = self._pick_fix(plan, remaining, obs[-1]["content"], _digest(obs))
                        return plan.program(remaining - {fix})
        text = "\n".join(m["content"] for m in obs)
        variant = int(hashlib.sha256(text.encode()).hexdigest(), 16) % len(plans)
        plan = plans[variant]
        return plan.program(frozenset(range(len(plan.errors))))

    @staticmethod
    def _pick_fix(plan: Plan, remaining: frozenset[int], feedback: str, digest: int) -> int:
        """Which remaining error to fix, reading the feedback like a novice would (-1: none).

        An error the feedback names is fixed first; with no such clue the novice guesses,
        and one guess in two (``digest``'s lowest bit) misses: it resubmits unchanged.
        """
        if not remaining:
            return -1  # nothing left: resubmit (the grader found it correct already)
        raised = "Error" in feedback and "SyntaxError" not in feedback
        for i in sorted(remaining):
            if _CLUES[plan.errors[i][0]](feedback):
                return i
        if raised:  # an exception with its line: a place to look, whatever the error
            return min(remaining)
        return min(remaining) if digest & 1 else -1


# What in the feedback points at each kind of error.
_CLUES = {
    "missing_colon": lambda text: "SyntaxError" in text,
    "name_typo": lambda text: "NameError" in text,
    "print_not_return": lambda text: "None" in text,
    "off_by_one": lambda text: "Expected" in text,
    "wrong_operator": lambda text: "Expected" in text,
    "comparison": lambda text: "Expected" in text,
    "constant": lambda text: "Expected" in text,
}


def _digest(obs: Sequence[Mapping[str, str]]) -> int:
    """A number from the whole dialog: the novice's 'guess', new at every step."""
    text = "\n".join(m["content"] for m in obs)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _subsets(n: int) -> list[frozenset[int]]:
    """All subsets of range(n), largest first (the novice's own programs start full)."""
    out = []
    for size in range(n, -1, -1):
        out.extend(frozenset(c) for c in itertools.combinations(range(n), size))
    return out
