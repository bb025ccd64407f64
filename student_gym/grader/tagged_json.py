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

Decoding is bounded, because the grader decodes values a hostile program chose: nesting deeper
than :data:`MAX_DEPTH` and integers longer than :data:`MAX_INT_DIGITS` digits are refused, and a
set, frozenset or dict whose members share one hash too often (which would make building it
quadratic: 40,000 equal-hash integers take minutes) is refused too. Refusals raise
:class:`TaggedValueError` (a ``ValueError``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 100  # nesting levels accepted when decoding (encoding marks deeper values opaque)
MAX_INT_DIGITS = 4300  # CPython's own default limit for int <-> str conversion
MAX_SAME_HASH = 32  # members of one set/dict that may share a hash value


class TaggedValueError(ValueError):
    """A tagged value that is malformed or too costly to decode."""


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
    if _depth >= MAX_DEPTH:  # deeper values would not decode: mark them here
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


def from_tagged(data: Any, _depth: int = 0) -> Any:
    """Inverse of :func:`to_tagged`, bounded in depth, integer size and hashing work.

    Raises:
        TaggedValueError: the value is malformed, nested deeper than :data:`MAX_DEPTH`, holds
            an integer over :data:`MAX_INT_DIGITS` digits, or a set/dict of colliding hashes.
    """
    if _depth > MAX_DEPTH:
        raise TaggedValueError(f"tagged value nested deeper than {MAX_DEPTH} levels")
    if data is None or isinstance(data, (bool, str)):
        return data
    if isinstance(data, int):
        if data.bit_length() > MAX_INT_DIGITS * 3.33:
            raise TaggedValueError(f"integer longer than {MAX_INT_DIGITS} digits")
        return data
    if isinstance(data, float):  # tolerate untagged floats in hand-written files
        return data
    depth = _depth + 1
    if isinstance(data, list):  # tolerate untagged lists in hand-written files
        return [from_tagged(v, depth) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise TaggedValueError(f"not a tagged value: {data!r:.200}")
    (tag, payload), = data.items()
    try:
        if tag == "$f":
            return _to_float(payload)
        if tag in ("$l", "$t", "$s", "$fs"):
            if not isinstance(payload, list):
                raise TaggedValueError(f"{tag} payload must be a list")
            items = [from_tagged(v, depth) for v in payload]
            if tag == "$l":
                return items
            if tag == "$t":
                return tuple(items)
            _check_hashes(items)
            return set(items) if tag == "$s" else frozenset(items)
        if tag == "$d":
            if not isinstance(payload, list) or not all(
                    isinstance(p, list) and len(p) == 2 for p in payload):
                raise TaggedValueError("$d payload must be a list of [key, value] pairs")
            pairs = [(from_tagged(k, depth), from_tagged(v, depth)) for k, v in payload]
            _check_hashes([k for k, _ in pairs])
            return dict(pairs)
        if tag == "$b":
            return payload.encode("latin-1")
        if tag == "$c":
            return complex(_to_float(payload[0]), _to_float(payload[1]))
        if tag == "$r":
            return Opaque(str(payload["type"])[:200], str(payload["repr"])[:2000])
    except TaggedValueError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise TaggedValueError(f"malformed {tag} value: {exc}") from None
    raise TaggedValueError(f"unknown tag {tag!r:.50}")


def _to_float(payload: Any) -> float:
    if not isinstance(payload, (int, float, str)) or isinstance(payload, bool):
        raise TaggedValueError("$f payload must be a number or 'nan'/'inf'/'-inf'")
    if isinstance(payload, str) and payload not in ("nan", "inf", "-inf"):
        raise TaggedValueError("$f payload must be a number or 'nan'/'inf'/'-inf'")
    return float(payload)  # an int too large for a float raises OverflowError


def _check_hashes(items: list[Any]) -> None:
    """Refuse members that would make building a set or dict quadratic (equal hashes)."""
    if len(items) <= MAX_SAME_HASH:
        for item in items:
            hash(item)  # unhashable (a list in a set) raises TypeError -> malformed
        return
    counts: dict[int, int] = {}
    for item in items:
        h = hash(item)
        counts[h] = counts.get(h, 0) + 1
        if counts[h] > MAX_SAME_HASH:
            raise TaggedValueError(f"more than {MAX_SAME_HASH} members share one hash value")


def encode(value: Any) -> str:
    """Encode a value as tagged JSON text."""
    return json.dumps(to_tagged(value), separators=(",", ":"), allow_nan=False)


def decode(text: str) -> Any:
    """Decode tagged JSON text."""
    return from_tagged(json.loads(text))
