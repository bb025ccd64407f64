"""Tagged JSON: the one value encoding that crosses process and file boundaries.

Plain JSON loses tuples, sets, bytes, NaN/inf and non-string dict keys, yet 52 HumanEval
asserts expect tuples and the parent must compare values with exact types. Every value that
leaves the grader's child, and every expected value stored in an assignment file, goes through
:func:`encode` / :func:`decode`. Never pickle: a pickle from the child could run code in the
parent.

Encoding: JSON scalars (None, bool, int, str) stay as they are; everything else is a one-key
object ``{"$tag": payload}``:

=========  ==============================================
``$f``     float, payload a number or "nan" / "inf" / "-inf"
``$l``     list, payload a list of encoded items
``$t``     tuple
``$s``     set (sorted by encoded text, so output is deterministic)
``$fs``    frozenset
``$d``     dict, payload a list of ``[key, value]`` pairs (keys need not be strings)
``$b``     bytes, payload latin-1 text
``$c``     complex, payload ``[real, imag]`` (each an encoded float)
``$r``     anything else: ``{"type": qualified type name, "repr": repr(value)}``
=========  ==============================================

Decoding ``$r`` gives an :class:`Opaque`, which equals nothing but another Opaque with the
same type and repr, so an unknown object can never compare equal to an expected value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

_MAX_DEPTH = 200


@dataclass(frozen=True)
class Opaque:
    """A value the encoding could not represent: its type name and repr."""

    type: str
    repr: str

    def __str__(self) -> str:
        return self.repr


def _float(value: float) -> Any:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def to_tagged(value: Any, _depth: int = 0) -> Any:
    """Turn a Python value into a JSON-ready tagged structure.

    Exact types only (``type(x) is int``): a subclass of int defined by a submission must not
    pass itself off as an int, so it is encoded as ``$r``.
    """
    if _depth > _MAX_DEPTH:
        return {"$r": {"type": "RecursionLimit", "repr": "<too deeply nested>"}}
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value
    if t is float:
        return {"$f": _float(value)}
    if t is list:
        return {"$l": [to_tagged(v, _depth + 1) for v in value]}
    if t is tuple:
        return {"$t": [to_tagged(v, _depth + 1) for v in value]}
    if t is set or t is frozenset:
        items = [to_tagged(v, _depth + 1) for v in value]
        items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return {"$s" if t is set else "$fs": items}
    if t is dict:
        return {"$d": [[to_tagged(k, _depth + 1), to_tagged(v, _depth + 1)] for k, v in value.items()]}
    if t is bytes:
        return {"$b": value.decode("latin-1")}
    if t is complex:
        return {"$c": [_float(value.real), _float(value.imag)]}
    if t is Opaque:
        return {"$r": {"type": value.type, "repr": value.repr}}
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - a hostile __repr__ must not break encoding
        text = "<unrepresentable>"
    return {"$r": {"type": f"{t.__module__}.{t.__qualname__}", "repr": text[:2000]}}


def _to_float(payload: Any) -> float:
    return float(payload)  # float("nan"), float("inf") and numbers all work


def from_tagged(data: Any) -> Any:
    """Inverse of :func:`to_tagged`."""
    if data is None or isinstance(data, (bool, int, str)):
        return data
    if isinstance(data, float):  # tolerate untagged floats in hand-written files
        return data
    if isinstance(data, list):  # tolerate untagged lists in hand-written files
        return [from_tagged(v) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(f"not a tagged value: {data!r:.200}")
    (tag, payload), = data.items()
    if tag == "$f":
        return _to_float(payload)
    if tag == "$l":
        return [from_tagged(v) for v in payload]
    if tag == "$t":
        return tuple(from_tagged(v) for v in payload)
    if tag == "$s":
        return {from_tagged(v) for v in payload}
    if tag == "$fs":
        return frozenset(from_tagged(v) for v in payload)
    if tag == "$d":
        return {from_tagged(k): from_tagged(v) for k, v in payload}
    if tag == "$b":
        return payload.encode("latin-1")
    if tag == "$c":
        return complex(_to_float(payload[0]), _to_float(payload[1]))
    if tag == "$r":
        return Opaque(str(payload["type"]), str(payload["repr"]))
    raise ValueError(f"unknown tag {tag!r}")


def encode(value: Any) -> str:
    """Encode a value as tagged JSON text."""
    return json.dumps(to_tagged(value), separators=(",", ":"), allow_nan=False)


def decode(text: str) -> Any:
    """Decode tagged JSON text."""
    return from_tagged(json.loads(text))
