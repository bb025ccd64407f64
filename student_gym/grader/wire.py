"""What crosses between the grader's processes, and how it is read: frames, lines, limits.

Every process boundary of the grader goes through this module: caller <-> fork server
(length-prefixed frames), server <-> zygote (datagrams carrying file descriptors), and the
newline-delimited JSON messages that a child or a judge writes. Messages that come from a
child are written by a process that ran a hostile program, so reading them is bounded
everywhere: :func:`read_message` refuses oversized lines, invalid UTF-8, JSON nested deeper
than a few levels or with too many members, and returns only a ``dict``; the schema checks in
:mod:`.verdict` and :mod:`.judge` then check every field's type. Nothing here imports or looks
up anything by a name a message chose, and nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")
MAX_LINE = 4 << 20  # bytes of one message line
MAX_CHANNEL = 6 << 20  # bytes of one process's channel relayed to the caller
MAX_DEPTH = 216  # JSON nesting of one message: a tagged value takes two levels per container
# (``{"$l": [...]}``), and tagged values are at most tagged_json.MAX_DEPTH containers deep
MAX_NODES = 400_000  # JSON values in one message

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # built once, not per message


class WireError(ValueError):
    """A message that is not what the protocol allows."""


def frame(message: dict[str, Any], payload: bytes = b"") -> bytes:
    """A frame: 4-byte length, JSON header, optional raw payload (its length in ``"n"``)."""
    if payload:
        message = {**message, "n": len(payload)}
    data = _ENCODE(message).encode("utf-8")
    return HEADER.pack(len(data)) + data + payload


def read_frames(buffer: bytearray) -> list[tuple[dict[str, Any], bytes]]:
    """Pop every complete frame (header, payload) off ``buffer``.

    Frames come only from our own fork server, which never runs student code; payloads
    (a child's raw channel) are returned as bytes for :func:`split_lines`.
    """
    frames = []
    while len(buffer) >= 4:
        (length,) = HEADER.unpack_from(buffer)
        if len(buffer) < 4 + length:
            break
        header = json.loads(bytes(buffer[4 : 4 + length]))
        size = int(header.get("n", 0)) if isinstance(header, dict) else 0
        if len(buffer) < 4 + length + size:
            break
        payload = bytes(buffer[4 + length : 4 + length + size])
        del buffer[: 4 + length + size]
        frames.append((header, payload))
    return frames


def encode_line(message: dict[str, Any]) -> bytes:
    """One newline-delimited message (leading newline: a partial line before it is cut off)."""
    return b"\n" + _ENCODE(message).encode("utf-8", "replace") + b"\n"


def split_lines(data: bytes, token: str = "") -> list[dict[str, Any]]:
    """Every well-formed message in a channel's bytes; malformed lines are dropped.

    With ``token``, only lines that begin with it (``{"k":"<token>",``, as :class:`Channel`
    writes them) are parsed at all: junk costs a prefix comparison, not a JSON parse.
    """
    prefix = b"{" if not token else b'{"k":' + json.dumps(token).encode() + b","
    messages = []
    for line in data.split(b"\n"):
        if line.startswith(prefix):
            try:
                messages.append(read_message(line))
            except WireError:
                continue
    return messages


def read_message(line: bytes) -> dict[str, Any]:
    """Parse one untrusted message line, bounded in size, depth and members.

    Raises:
        WireError: too long, not UTF-8, not JSON, not an object, too deep or too many members.
    """
    if len(line) > MAX_LINE:
        raise WireError(f"message of {len(line)} bytes (the limit is {MAX_LINE})")
    try:
        value = json.loads(line.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"not a JSON message: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise WireError("a message must be a JSON object")
    _check_shape(value)
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not allowed")


def _check_shape(value: Any) -> None:
    """Depth and member count, iteratively (a deep value must not exhaust the stack)."""
    stack = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise WireError(f"message with more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise WireError(f"message nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


class Channel:
    """Writes newline-delimited messages to one fd (a channel, or a pipe to the peer)."""

    def __init__(self, fd: int, token: str = "") -> None:
        self._fd = fd
        self._token = token
        self._write = os.write  # captured now: the program may patch the os module later

    def send(self, message: dict[str, Any]) -> None:
        if self._token:  # first, so that a reader can skip other lines unparsed
            message = {"k": self._token, **message}
        view = memoryview(encode_line(message))
        while view:
            view = view[self._write(self._fd, view) :]


class LineReader:
    """Reads newline-delimited messages from a pipe; None at its end (or past the line
    limit); a malformed line reads as ``{"op": "invalid"}``."""

    def __init__(self, fd: int, max_line: int = MAX_LINE) -> None:
        self._fd = fd
        self._buffer = b""
        self._read = os.read
        self._max_line = max_line

    def next(self) -> dict[str, Any] | None:
        while True:
            while b"\n" not in self._buffer:
                if len(self._buffer) > self._max_line:
                    return None
                chunk = self._read(self._fd, 1 << 16)
                if not chunk:
                    return None
                self._buffer += chunk
            line, _, self._buffer = self._buffer.partition(b"\n")
            if not line:
                continue  # messages start with a newline of their own
            try:
                return read_message(line)
            except WireError:
                return {"op": "invalid"}


def read_job(fd: int, limit: int = 64 << 20) -> dict[str, Any]:
    """A job, read from its pipe until the fork server closes it; the fd is closed in every
    case (our own data, never a child's: size-bounded all the same)."""
    chunks, size = [], 0
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ValueError("job too large")
    finally:
        os.close(fd)
    return json.loads(b"".join(chunks))


# -- field checks shared by the message schemas -------------------------------------------------


def text(message: dict[str, Any], key: str, limit: int = 1 << 20) -> str | None:
    """A string field (None when absent); any other type or an oversized one is refused."""
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise WireError(f"field {key!r} must be a string of at most {limit} characters")
    return value


def integer(message: dict[str, Any], key: str) -> int | None:
    value = message.get(key)
    if value is None:
        return None
    if type(value) is not int or abs(value) > 1 << 31:
        raise WireError(f"field {key!r} must be a small integer")
    return value


def flag(message: dict[str, Any], key: str) -> bool:
    value = message.get(key, False)
    if type(value) is not bool and value not in (0, 1):
        raise WireError(f"field {key!r} must be a boolean")
    return bool(value)


def error_of(message: dict[str, Any]) -> dict[str, Any]:
    """The ``error_type``/``error``/``line`` fields of a message, type-checked."""
    return {"error_type": text(message, "error_type", 200), "error": text(message, "error", 2000),
            "line": integer(message, "line")}
