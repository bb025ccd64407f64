"""Check and script tests judged outside the sandbox: record in the child, replay in the parent.

Assert-style (``check``) tests and FalconCode scripts are code, not values, so they must run
beside the program. If the child also decided whether they passed, a program that finds the
harness in its own memory (``gc.get_objects()``) could send "passed" itself. So the child only
*records* what crossed from the program to the test code, and the parent decides:

* In the child, the test code runs with the program's functions wrapped by a :class:`CallLog`.
  Each call the test code makes into the program is logged: the function's name, its arguments
  and what came back (a tagged value, an exception, arguments it changed in place). For scripts,
  ``autograder.run_script`` (the program's run: its stdout and traceback), importing the
  program as a module and reading files are logged the same way.
* In the parent (:class:`Replay`), the same test code runs again, in a fresh scope where every
  function of the program is a stub that checks its arguments against the log and hands back
  the logged result. The asserts that decide the test run here, in a process the program never
  touched.

Whatever a program forges in the log, the parent's own test code computes the arguments and
checks the answers, so a forged log can only give answers the program could have returned
itself. Values cross as tagged JSON, so an object whose ``__eq__`` always says True arrives as
an :class:`~student_gym.tagged_json.Opaque` that equals nothing.

Both sides build the test code's builtins with :func:`judge_builtins` from a copy taken before
any submission ran, with a private ``random`` module seeded per test: the program drawing from
the global ``random`` cannot shift the test's random inputs, and the parent's replay leaves the
caller's ``random`` alone.
"""

from __future__ import annotations

import builtins
import collections.abc
import functools
import io
import json
import random
import re
import types
from collections.abc import Callable
from typing import Any

from student_gym import tagged_json

_PRISTINE_BUILTINS = dict(vars(builtins))  # taken in the fork server, before any submission
_MAX_ITEMS = 100_000  # items of a returned iterator that are recorded
_MAX_VALUE_JSON = 1 << 20  # an encoded value larger than this is recorded as a marker
_MAX_LOG_JSON = 4 << 20  # a whole log larger than this is not sent (the relay keeps 8 MiB)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_MUTABLE = (list, dict, set, bytearray)
_CONTAINERS = (list, tuple, dict, set, frozenset)


class ReplayMismatch(BaseException):
    """The test's calls differ from what the program answered (BaseException: test code's
    ``except Exception`` must not swallow it)."""


# -- shared by both sides --------------------------------------------------------------------


def private_random(seed: int, share_seed: bool = False) -> types.ModuleType:
    """A ``random`` module of the test's own, seeded: ``random.randint`` etc. and the classes.

    ``share_seed``: the script's ``random.seed(x)`` also seeds the process's ``random``, which
    the program draws from (FalconCode scripts seed the program's random numbers that way, then
    seed again to compute the expected ones). Only in the child; the replay has no program.
    """
    module = types.ModuleType("random")
    generator = random.Random(seed)
    for name in random.__all__:
        value = getattr(generator, name, None)
        setattr(module, name, value if callable(value) else getattr(random, name))
    module.Random, module.SystemRandom = random.Random, random.SystemRandom
    if share_seed:
        def seed_both(*args: Any, **kwargs: Any) -> None:
            generator.seed(*args, **kwargs)
            random.seed(*args, **kwargs)

        module.seed = seed_both  # type: ignore[attr-defined]
    return module


def judge_builtins(modules: dict[str, types.ModuleType],
                  importer: Callable[[str], types.ModuleType | None] | None = None,
                  **overrides: Any) -> dict[str, Any]:
    """Builtins for test code: pristine, with ``import`` of ``modules`` served from the dict.

    ``importer(name)`` may serve other top-level names (the program imported as a module).
    """
    real_import = _PRISTINE_BUILTINS["__import__"]

    def test_import(name: str, globals_: Any = None, locals_: Any = None,
                    fromlist: Any = (), level: int = 0) -> Any:
        top = name.partition(".")[0]
        if level == 0 and top in modules:
            return modules[name] if fromlist and name in modules else modules[top]
        if level == 0 and importer is not None:
            served = importer(top)
            if served is not None:
                return served
        return real_import(name, globals_, locals_, fromlist, level)

    scope = dict(_PRISTINE_BUILTINS, __import__=test_import)
    scope.update(overrides)
    return scope


def canonical(tagged: Any) -> str:
    """Comparable text of a tagged value (object addresses in reprs are not deterministic)."""
    return _ADDRESS.sub("", json.dumps(tagged, sort_keys=True, separators=(",", ":")))


def encode(value: Any) -> Any:
    """A tagged value, or a marker when it is too large to record."""
    tagged = tagged_json.to_tagged(value)
    if _maybe_large(value) and len(json.dumps(tagged)) > _MAX_VALUE_JSON:
        return {"$r": {"type": "TooLarge", "repr": "<value too large to record>"}}
    return tagged


def _maybe_large(value: Any) -> bool:
    """Cheap pre-check (most values are small; measuring every one would double the cost)."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) > _MAX_VALUE_JSON // 8
    if isinstance(value, _CONTAINERS):
        # Nested containers are always measured: many small ones can add up to a lot.
        items = value.values() if isinstance(value, dict) else value
        return len(value) > 256 or any(isinstance(v, _CONTAINERS) or _maybe_large(v)
                                       for v in items)
    return False


def decode(tagged: Any) -> Any:
    """Decode a logged value; a malformed one (e.g. forged) becomes an Opaque."""
    try:
        return tagged_json.from_tagged(tagged)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return tagged_json.Opaque("Undecodable", "<undecodable value>")


# -- the child: record -----------------------------------------------------------------------


class CallLog:
    """Wraps the program's functions for test code and records every call across.

    Args:
        error_fields: ``exc -> {"error_type", "error", "line"}`` for the program's exceptions.
        guard: called with every value the program returns to test code; raises to refuse it
            (the ``forbidden`` verdict for objects of the submission's own types).
    """

    def __init__(self, error_fields: Callable[[BaseException], dict[str, Any]],
                 guard: Callable[[Any], None]) -> None:
        self.calls: list[dict[str, Any]] = []
        self.names: dict[str, Any] = {}
        self.modules: dict[str, dict[str, Any]] = {}
        self.files: dict[str, str] = {}
        self._error_fields = error_fields
        self._guard = guard

    def message(self) -> dict[str, Any]:
        log = {"calls": self.calls, "names": self.names, "modules": self.modules,
               "files": self.files}
        if len(json.dumps(log)) > _MAX_LOG_JSON:  # the parent could not receive it whole
            return {"overflow": True}
        return log

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def proxy(*args: Any, **kwargs: Any) -> Any:
            before = encode(list(args))
            record: dict[str, Any] = {"f": name, "a": before}
            if kwargs:
                record["k"] = encode(kwargs)
            self.calls.append(record)
            try:
                value = function(*args, **kwargs)
            except BaseException as exc:
                record["x"] = _exception_record(exc, self._error_fields)
                raise
            self._guard(value)
            value, record["r"] = _recorded_value(value)
            if isinstance(value, collections.abc.Iterator):
                record["it"] = 1
            if any(isinstance(arg, _MUTABLE) for arg in args):
                after = encode(list(args))
                if after != before:
                    record["m"] = after
            return value

        proxy.__name__ = proxy.__qualname__ = name
        return proxy

    def scope(self, namespace: dict[str, Any], into: dict[str, Any] | None = None) -> dict[str, Any]:
        """The program's names as test code sees them, recorded in ``self.names``."""
        listing, scope = self.names if into is None else {}, {}
        for name, value in list(namespace.items()):
            if not _exposed(name):
                continue
            if isinstance(value, types.ModuleType):
                listing[name] = {"module": getattr(value, "__name__", name)}
                scope[name] = value
            elif callable(value):
                listing[name] = {"callable": 1}
                scope[name] = self.wrap(name, value)
            else:
                listing[name] = {"value": _small_value(value)}
                scope[name] = value
        if into is not None:
            into.update(listing)
        return scope

    def module_proxy(self, module: types.ModuleType) -> types.ModuleType:
        """The program imported as a module by a script: its functions wrapped."""
        listing: dict[str, Any] = {}
        proxy = types.ModuleType(module.__name__)
        vars(proxy).update(self.scope(vars(module), into=listing))
        self.modules[module.__name__] = listing
        return proxy

    def import_failed(self, name: str, exc: BaseException) -> None:
        """Importing the program raised: the replay's import raises the same."""
        self.modules[name] = {"$error": _exception_record(exc, self._error_fields)}

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        """``open`` for scripts: text read by the script is recorded for the replay."""
        handle = _PRISTINE_BUILTINS["open"](file, mode, *args, **kwargs)
        if set(mode) <= {"r", "t"} and isinstance(file, str):
            with handle:
                text = handle.read(_MAX_VALUE_JSON)
            self.files[file] = text
            return io.StringIO(text)
        return handle


def _exception_record(exc: BaseException,
                      error_fields: Callable[[BaseException], dict[str, Any]]) -> dict[str, Any]:
    base = next((k for k in type(exc).__mro__ if _PRISTINE_BUILTINS.get(k.__name__) is k),
                BaseException)
    try:
        text = str(exc)[:1000]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        text = ""
    return {"type": type(exc).__name__[:100], "base": base.__name__, "text": text,
            **error_fields(exc)}


def _recorded_value(value: Any) -> tuple[Any, Any]:
    """What test code gets back and what is logged; iterators are drained once into a list."""
    if isinstance(value, collections.abc.Iterator) and not isinstance(value, (str, bytes)):
        items = []
        for item in value:
            items.append(item)
            if len(items) > _MAX_ITEMS:
                return iter(items), {"$r": {"type": "TooLong", "repr": "<iterator too long>"}}
        return iter(items), encode(items)
    return value, encode(value)


def _small_value(value: Any) -> Any:
    """A data name of the program as the replay sees it (large ones become a marker)."""
    if isinstance(value, (list, tuple, dict, set, frozenset)) and len(value) > 1000:
        return {"$r": {"type": type(value).__name__, "repr": "<large value>"}}
    return encode(value)


# -- the parent: replay ----------------------------------------------------------------------


class Replay:
    """Runs test code against the logged answers of one test. The parent's side."""

    def __init__(self, log: Any) -> None:
        log = log if isinstance(log, dict) else {}
        if log.get("overflow"):
            raise ReplayMismatch("the program's answers were too large to check")
        self.calls = [c for c in log.get("calls") or [] if isinstance(c, dict)]
        self.names = _as_dict(log.get("names"))
        self.modules = {k: _as_dict(v) for k, v in _as_dict(log.get("modules")).items()}
        self.files = {k: v for k, v in _as_dict(log.get("files")).items() if isinstance(v, str)}
        self.position = 0

    def stub(self, name: str) -> Callable[..., Any]:
        def stub(*args: Any, **kwargs: Any) -> Any:
            if self.position >= len(self.calls):
                raise ReplayMismatch(f"the test called {name}() more often than the program "
                                     "answered")
            record = self.calls[self.position]
            self.position += 1
            if record.get("f") != name or not (
                    _same(tagged_json.to_tagged(list(args)), record.get("a"))
                    and _same(tagged_json.to_tagged(kwargs) if kwargs else None, record.get("k"))):
                raise ReplayMismatch(f"call {self.position} of the test ({name}) is not the one "
                                     "the program answered")
            if "m" in record:
                _apply_mutations(args, decode(record["m"]))
            if "x" in record:
                raise _replayed_exception(record["x"])
            value = decode(record.get("r"))
            return iter(value) if record.get("it") and isinstance(value, list) else value

        stub.__name__ = stub.__qualname__ = name
        return stub

    def scope(self, listing: dict[str, Any]) -> dict[str, Any]:
        scope: dict[str, Any] = {}
        for name, entry in listing.items():
            if not isinstance(name, str) or not _exposed(name) or not isinstance(entry, dict):
                continue
            if "callable" in entry:
                scope[name] = self.stub(name)
            elif "module" in entry:
                module = _stdlib_module(str(entry["module"]))
                if module is not None:
                    scope[name] = module
            elif "value" in entry:
                scope[name] = decode(entry["value"])
        return scope

    def import_program(self, name: str) -> types.ModuleType | None:
        if name not in self.modules:
            return None
        if "$error" in self.modules[name]:
            raise _replayed_exception(self.modules[name]["$error"])
        module = types.ModuleType(name)
        vars(module).update(self.scope(self.modules[name]))
        return module

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        """Reads get what the script read in the child; writes go nowhere."""
        if set(mode) <= {"r", "t"}:
            if file not in self.files:
                raise FileNotFoundError(2, "No such file or directory", file)
            return io.StringIO(self.files[file])
        return io.BytesIO() if "b" in mode else io.StringIO()


def _same(tagged: Any, logged: Any) -> bool:
    return tagged == logged or canonical(tagged) == canonical(logged)


def _exposed(name: str) -> bool:
    """Whether test code sees this name of the program. Never a dunder, and never one that
    shadows a builtin: a program defining ``abs`` must not answer the test's own ``abs(...)``.
    """
    return not (name.startswith("__") and name.endswith("__")) and name not in _PRISTINE_BUILTINS


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _stdlib_module(name: str) -> types.ModuleType | None:
    import importlib
    import sys

    if name.partition(".")[0] not in sys.stdlib_module_names:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _apply_mutations(args: tuple[Any, ...], after: Any) -> None:
    """Arguments the program changed in place (e.g. sorted a list) change here too."""
    if not isinstance(after, list):
        return
    for arg, new in zip(args, after, strict=False):
        if type(arg) is not type(new) or not isinstance(arg, _MUTABLE):
            continue
        if isinstance(arg, (list, bytearray)):
            arg[:] = new
        else:
            arg.clear()
            arg.update(new)


def _replayed_exception(record: Any) -> BaseException:
    """The program's exception as test code can catch it: its builtin base, its message."""
    record = _as_dict(record)
    base = _PRISTINE_BUILTINS.get(str(record.get("base")))
    if not (isinstance(base, type) and issubclass(base, BaseException)):
        base = Exception
    kind = _exception_class(str(record.get("type") or base.__name__), base)
    try:
        exc = kind(str(record.get("text", "")))
    except BaseException:  # noqa: BLE001 - a base whose constructor wants other arguments
        exc = kind()
    exc.student_fields = {k: record.get(k) for k in ("error_type", "error", "line")}  # type: ignore[attr-defined]
    return exc


@functools.lru_cache(maxsize=256)
def _exception_class(name: str, base: type[BaseException]) -> type[BaseException]:
    if _PRISTINE_BUILTINS.get(name) is base:
        return base
    return type(name if name.isidentifier() else base.__name__, (base,), {})
