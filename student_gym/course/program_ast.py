"""Normalized ASTs: when are two programs "the same program"?

The rule (docs/dialogs.md): the normalized AST is ``ast.dump`` of the parsed program without positions,
with docstrings dropped and identifiers renamed in order of first appearance. It decides three
things: collapsing repeated submissions in a dialog, the DPO "same program" skip and the DAPO
2.0 reward. So it must ignore what a student cannot be told apart by (names, comments,
docstrings, formatting) and keep everything that changes behaviour.

What is renamed (to ``v0``, ``v1``, ... in order of first appearance, one shared counter):

* names the program binds or reads (``ast.Name``), function and class names, arguments,
  ``global``/``nonlocal`` names, ``except ... as e`` names, ``import x as y`` aliases (the
  alias, not the module) and ``match`` capture names.

What is kept as written, because renaming it would make different programs equal or change
what they do:

* builtins that the program never assigns (``print``, ``len``, ``range``...): a program calling
  ``sum`` is not the same as one calling ``max``;
* attribute names (``math.sqrt``, ``xs.append``): they name the API, not the student's choice;
* imported module names and ``from m import name`` names (``sqrt`` in ``from math import
  sqrt``): they are fixed by the module, so ``sqrt`` stays ``sqrt`` everywhere in the program;
* keyword argument names at call sites (``print(x, end="")``, ``sorted(key=...)``), unless
  the name is a parameter of a function the program defines (``area(width=2)`` for ``def
  area(width)``), where it follows the parameter's renaming;
* string, number and other constants.

A name is renamed consistently everywhere it appears, whatever its scope: that is coarser than
Python's scoping but deterministic, and two programs that differ only by a consistent renaming
compare equal.
"""

from __future__ import annotations

import ast
import builtins
import warnings
from functools import lru_cache

_BUILTINS = frozenset(dir(builtins))


def _drop_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    """Remove a leading string-constant statement (a docstring); keep bodies non-empty."""
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:] or [ast.Pass()]
    return body


def _fixed_names(tree: ast.AST) -> set[str]:
    """Names that must stay as written: unassigned builtins and names imported from modules."""
    assigned: set[str] = set()
    fixed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            assigned.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            assigned.add(node.name)
        elif isinstance(node, ast.arg):
            assigned.add(node.arg)
        elif isinstance(node, ast.Import):
            # `import math` binds the module's own name: keep it; `import numpy as np` binds a
            # student-chosen alias: rename it.
            for alias in node.names:
                if alias.asname is None:
                    fixed.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname is None:
                    fixed.add(alias.name)
    fixed |= {name for name in _BUILTINS if name not in assigned}
    return fixed


class _Normalizer(ast.NodeTransformer):
    """Drops docstrings and renames student-chosen identifiers in order of first appearance."""

    def __init__(self, fixed: set[str], parameters: set[str]) -> None:
        self.fixed = fixed
        self.parameters = parameters  # parameter names of the program's own functions
        self.names: dict[str, str] = {}

    def rename(self, name: str) -> str:
        if name in self.fixed:
            return name
        if name not in self.names:
            self.names[name] = f"v{len(self.names)}"
        return self.names[name]

    # -- scopes with docstrings ----------------------------------------------------------

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node.body = _drop_docstring(node.body)
        return self.generic_visit(node)

    def _visit_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.AST:
        # The name comes first in source order, so it is renamed before the body's names.
        node.name = self.rename(node.name)
        node.body = _drop_docstring(node.body)
        return self.generic_visit(node)

    visit_FunctionDef = _visit_def
    visit_AsyncFunctionDef = _visit_def
    visit_ClassDef = _visit_def

    # -- identifiers ---------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.rename(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.rename(node.arg)
        return self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        if node.arg is not None and node.arg in self.parameters:
            node.arg = self.rename(node.arg)
        return self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> ast.AST:
        node.names = [self.rename(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        # `type` comes before `name` in source order.
        if node.type is not None:
            node.type = self.visit(node.type)
        if node.name is not None:
            node.name = self.rename(node.name)
        node.body = [self.visit(s) for s in node.body]
        return node

    def visit_alias(self, node: ast.alias) -> ast.AST:
        if node.asname is not None:
            node.asname = self.rename(node.asname)
        return node

    def visit_MatchAs(self, node: ast.MatchAs) -> ast.AST:
        if node.pattern is not None:
            node.pattern = self.visit(node.pattern)
        if node.name is not None:
            node.name = self.rename(node.name)
        return node

    def visit_MatchStar(self, node: ast.MatchStar) -> ast.AST:
        if node.name is not None:
            node.name = self.rename(node.name)
        return node

    def visit_MatchMapping(self, node: ast.MatchMapping) -> ast.AST:
        self.generic_visit(node)
        if node.rest is not None:
            node.rest = self.rename(node.rest)
        return node


@lru_cache(maxsize=4096)
def normalized_ast(code: str) -> str | None:
    """The normalized AST of a program, or None when it does not parse.

    Args:
        code: program text.

    Returns:
        ``ast.dump`` of the normalized tree (no positions), or None on a syntax error (or any
        other reason ``ast.parse`` refuses the text, such as a null byte).
    """
    try:
        with warnings.catch_warnings():
            # Novice code is full of "\d" in strings: SyntaxWarning is noise here.
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    parameters = {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    tree = _Normalizer(_fixed_names(tree), parameters).visit(tree)
    return ast.dump(tree, annotate_fields=True, include_attributes=False)


def _plain_text(code: str) -> str:
    """Programs that do not parse are compared by text, trailing whitespace ignored."""
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


def same_program(a: str, b: str) -> bool:
    """Whether two programs are the same program (equal normalized ASTs).

    When neither parses, they are the same only if their texts are equal up to trailing
    whitespace; a program that parses is never the same as one that does not.
    """
    ast_a, ast_b = normalized_ast(a), normalized_ast(b)
    if ast_a is None and ast_b is None:
        return _plain_text(a) == _plain_text(b)
    return ast_a == ast_b
