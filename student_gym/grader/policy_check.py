"""The static half of assignment policies, and the optional guarded execution: RestrictedPython.

:class:`PolicyTransformer` is a ``RestrictingNodeTransformer`` (RestrictedPython's policy
machinery) configured for novice code. RestrictedPython's own default policy is not a sandbox
(the kernel layers are) and refuses ordinary programs: ``if __name__ == "__main__":`` ("invalid
variable name because it starts with _"), ``print`` (rewritten to a collector), ``counts[k] +=
1``, ``from math import *``, ``nonlocal``, ``match``, annotated assignments. Here every such
check is turned off and only what the assignment's :class:`~.policy.Policy` forbids is
reported, with its line: builtins (``sum(...)``, ``builtins.sum``, ``__builtins__["sum"]``,
``getattr(__builtins__, "sum")``), methods (``xs.sort()``), imports (statements,
``__import__("os")``, ``importlib.import_module("os")``) and constructs (``while``, ``for``,
comprehensions, ``lambda``, ``global``, ``try``, classes, recursion).

With ``guarded`` the transformer also does RestrictedPython's rewriting (``a.b`` ->
``_getattr_(a, "b")``, ``a[i]`` -> ``_getitem_(a, i)``, writes through ``_write_``, iteration
through ``_getiter_``) and :func:`guards` supplies those hooks in the child: dunder attributes
that lead out of the program (``__subclasses__``, ``__globals__``, frames, ...) are refused,
modules and the builtins cannot be written. This is defence in depth against a program reaching
around the policy's run-time checks; it is not the sandbox and adds cost to every attribute
access, so it is off unless a course asks for it.
"""

from __future__ import annotations

import ast
import operator
import types
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer

from student_gym.grader.policy import (
    Policy,
    ProgramRuntime,
    Violation,
    guarded_message,
)

# The hooks the guarded rewriting calls: a program that binds one of them would bypass it.
GUARD_NAMES = frozenset({"_getattr_", "_getitem_", "_write_", "_getiter_", "_apply_",
                         "_iter_unpack_sequence_", "_unpack_sequence_", "__builtins__"})
# Dunder attributes novice programs use; every other dunder is refused under guarded execution.
SAFE_DUNDERS = frozenset({
    "__name__", "__qualname__", "__doc__", "__class__", "__module__", "__init__", "__str__",
    "__repr__", "__len__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__hash__", "__contains__", "__iter__", "__next__", "__getitem__", "__setitem__",
    "__delitem__", "__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__",
    "__pow__", "__neg__", "__abs__", "__bool__", "__call__", "__enter__", "__exit__"})
_CONSTRUCT_NODES: dict[type, str] = {
    ast.While: "while", ast.For: "for", ast.AsyncFor: "for", ast.ListComp: "comprehension",
    ast.SetComp: "comprehension", ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension", ast.Lambda: "lambda", ast.Global: "global",
    ast.Nonlocal: "global", ast.Try: "try", ast.TryStar: "try", ast.ClassDef: "class"}
_BUILTIN_HOLDERS = frozenset({"builtins", "__builtins__"})


def _constant_str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the program binds anywhere (a program's own ``sum`` is not the builtin)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).partition(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


class PolicyTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer, configured: novice code passes, the policy's rules fail.

    Args:
        errors, warnings, used_names: RestrictedPython's (``compile_restricted`` passes them).
        policy: the rules to check (None or empty: none).
        guarded: also rewrite attribute/item access, writes and iteration through the guards.
    """

    policy: Policy | None = None
    guarded: bool = False

    def __init__(self, errors: list[str] | None = None, warnings: list[str] | None = None,
                 used_names: dict[str, bool] | None = None) -> None:
        super().__init__(errors, warnings, used_names)
        self.violations: list[Violation] = []
        policy = self.policy or Policy()
        self.forbidden_builtins = policy.builtin_messages()
        self.methods = dict(policy.methods)
        self.constructs = dict(policy.constructs)
        self.bound: set[str] = set()

    def violation(self, node: ast.AST, rule: str, message: str) -> None:
        self.violations.append(Violation(rule, message, getattr(node, "lineno", None)))
        self.error(node, message)  # RestrictedPython's own error list: compile_restricted fails

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Module):
            self.bound = _bound_names(node)
        rule = _CONSTRUCT_NODES.get(type(node))
        if rule in self.constructs:
            self.violation(node, f"construct:{rule}", self.constructs[rule])
        return super().visit(node)

    # Everything RestrictedPython refuses by default that novice code does is accepted.
    def generic_visit(self, node: ast.AST) -> Any:  # match, annotated assignment, ...
        return self.node_contents_visit(node)

    visit_Nonlocal = visit_TryStar = generic_visit
    visit_AsyncFunctionDef = visit_Await = visit_AsyncFor = visit_AsyncWith = generic_visit
    visit_ClassDef = visit_AugAssign = generic_visit  # no metaclass rewrite; `xs[i] += 1` is fine

    def check_name(self, node: ast.AST, name: str | None, allow_magic_methods: bool = False) -> None:
        if self.guarded and name in GUARD_NAMES:
            self.violation(node, f"guarded:{name}", guarded_message(name))

    def check_forbidden_builtin(self, node: ast.AST, name: str | None) -> None:
        if name in self.forbidden_builtins:
            self.violation(node, f"builtin:{name}", self.forbidden_builtins[name])

    def check_import(self, node: ast.AST, module: str | None) -> None:
        refusal = (self.policy or Policy()).import_refusal(module) if module else None
        if refusal is not None:
            self.violation(node, refusal.rule, refusal.message)

    def visit_Name(self, node: ast.Name) -> Any:
        if isinstance(node.ctx, ast.Load) and node.id not in self.bound:
            self.check_forbidden_builtin(node, node.id)
        self.check_name(node, node.id)
        return node  # `print` stays print: no RestrictedPython print collector

    def visit_Import(self, node: ast.Import) -> Any:
        for alias in node.names:
            self.check_import(node, alias.name)
            self.check_name(node, alias.asname or alias.name)
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        if node.level == 0:
            self.check_import(node, node.module)
        for alias in node.names:
            self.check_name(node, alias.asname or alias.name)
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        func, first = node.func, node.args[0] if node.args else None
        name = func.id if isinstance(func, ast.Name) else None
        if name == "getattr" and len(node.args) > 1 and isinstance(first, ast.Name) and (
                first.id in _BUILTIN_HOLDERS):
            self.check_forbidden_builtin(node, _constant_str(node.args[1]))
        elif name == "getattr" and len(node.args) > 1 and _constant_str(node.args[1]) in self.methods:
            attr = _constant_str(node.args[1])
            self.violation(node, f"method:{attr}", self.methods[attr])
        elif name == "__import__" or (isinstance(func, ast.Attribute) and func.attr in (
                "import_module", "__import__")):
            self.check_import(node, _constant_str(first))
        node = self.node_contents_visit(node)
        if self.guarded and (any(isinstance(a, ast.Starred) for a in node.args)
                             or any(k.arg is None for k in node.keywords)):
            # RestrictedPython's `f(*args)` -> `_apply_(f, *args)`, without its eval/exec ban
            node.args.insert(0, node.func)
            node.func = ast.copy_location(ast.Name("_apply_", ast.Load()), node.func)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if isinstance(node.value, ast.Name) and node.value.id in _BUILTIN_HOLDERS:
            self.check_forbidden_builtin(node, node.attr)
        if node.attr in self.methods:
            self.violation(node, f"method:{node.attr}", self.methods[node.attr])
        node = self.node_contents_visit(node)
        if not self.guarded:
            return node
        if isinstance(node.ctx, ast.Load):  # RestrictedPython's rewriting, without its name rules
            new: ast.expr = ast.Call(func=ast.Name("_getattr_", ast.Load()),
                                     args=[node.value, ast.Constant(node.attr)], keywords=[])
            return ast.copy_location(new, node)
        node.value = ast.copy_location(ast.Call(func=ast.Name("_write_", ast.Load()),
                                                args=[node.value], keywords=[]), node.value)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        if isinstance(node.value, ast.Name) and node.value.id in _BUILTIN_HOLDERS:
            self.check_forbidden_builtin(node, _constant_str(node.slice))
        return super().visit_Subscript(node) if self.guarded else self.node_contents_visit(node)

    def guard_iter(self, node: Any) -> Any:
        return super().guard_iter(node) if self.guarded else self.node_contents_visit(node)

    def visit_Assign(self, node: ast.Assign) -> Any:
        return super().visit_Assign(node) if self.guarded else self.node_contents_visit(node)

    def visit_With(self, node: ast.With) -> Any:
        return super().visit_With(node) if self.guarded else self.node_contents_visit(node)


def transformer(policy: Policy | None, guarded: bool) -> type[PolicyTransformer]:
    """A transformer class bound to ``policy`` (RestrictedPython instantiates the class)."""
    return type("BoundPolicyTransformer", (PolicyTransformer,),
                {"policy": policy, "guarded": guarded})


def recursion_violations(tree: ast.AST, message: str) -> list[Violation]:
    """Calls by which a function reaches itself again (directly or through others it defines)."""
    functions = {n.name: n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    calls: dict[str, list[tuple[str, int]]] = {}
    for name, function in functions.items():
        calls[name] = []
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                callee = node.func.id if isinstance(node.func, ast.Name) else (
                    node.func.attr if isinstance(node.func, ast.Attribute) else None)
                if callee in functions:
                    calls[name].append((callee, node.lineno))

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(c for c, _ in calls.get(current, ()))
        return False

    return [Violation("construct:recursion", message, line)
            for name, edges in calls.items() for callee, line in edges if reaches(callee, name)]


def first_violation(code: str, policy: Policy) -> Violation | None:
    """The rule broken on the earliest line, or None (also when the code does not compile)."""
    try:
        tree = ast.parse(code, "main.py")
        compile(tree, "main.py", "exec", dont_inherit=True)  # the child's verdict wins
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    checker = transformer(policy, policy.guarded)()
    checker.visit(tree)
    found = checker.violations
    constructs = dict(policy.constructs)
    if "recursion" in constructs:
        found = found + recursion_violations(tree, constructs["recursion"])
    return min(found, key=lambda v: v.line or 0) if found else None


def compile_guarded(code: str, filename: str) -> types.CodeType:
    """The program compiled with RestrictedPython's guarded rewriting (in the child).

    The parent's check already refused a program that binds a guard name; the same refusal
    here is a SyntaxError for the harness (its compile step reports it).
    """
    tree = ast.parse(code, filename)
    checker = transformer(None, True)()
    tree = checker.visit(tree)
    if checker.errors:
        raise SyntaxError(checker.errors[0])
    ast.fix_missing_locations(tree)
    return compile(tree, filename, "exec", dont_inherit=True)


class _NamespaceWriter:
    """``_write_(globals())``: items may change, except the guards and ``__builtins__``."""

    def __init__(self, namespace: dict[str, Any], runtime: ProgramRuntime) -> None:
        self._namespace, self._runtime = namespace, runtime

    def __getitem__(self, key: Any) -> Any:
        return self._namespace[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check(key)
        self._namespace[key] = value

    def __delitem__(self, key: Any) -> None:
        self._check(key)
        del self._namespace[key]

    def _check(self, key: Any) -> None:
        if key in GUARD_NAMES:
            self._runtime.refuse(f"guarded:{key}", guarded_message(key), always=True)


def guards(runtime: ProgramRuntime) -> dict[str, Any]:
    """The hooks guarded code calls, refusing through ``runtime`` (reported, then raised)."""
    methods = dict(runtime.policy.methods)
    program_builtins = vars(runtime.builtins)

    def is_namespace(obj: Any) -> bool:
        return obj is program_builtins or (type(obj) is dict and "__builtins__" in obj)

    def guarded_getattr(obj: Any, name: Any, *default: Any) -> Any:
        if type(name) is not str:
            raise TypeError("attribute name must be string")
        dunder = name.startswith("__") and name.endswith("__")
        if name in INSPECT_ATTRIBUTES or (dunder and name not in SAFE_DUNDERS) or (
                is_namespace(obj) and name in ("update", "setdefault", "pop", "popitem", "clear")):
            runtime.refuse(f"guarded:.{name}", guarded_message(f".{name}"), always=True)
        if name in methods and not isinstance(obj, types.ModuleType):
            runtime.refuse(f"method:{name}", methods[name])
        return getattr(obj, name, *default)

    def guarded_write(obj: Any) -> Any:
        if isinstance(obj, types.ModuleType):  # the builtins too: they are a module here
            name = str(getattr(obj, "__name__", "module"))[:80]
            runtime.refuse(f"guarded:{name}", guarded_message(name), always=True)
        return _NamespaceWriter(obj, runtime) if is_namespace(obj) else obj

    return {"_getattr_": guarded_getattr, "_getitem_": operator.getitem, "_write_": guarded_write,
            "_getiter_": iter, "_apply_": lambda f, *args, **kwargs: f(*args, **kwargs),
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence}
