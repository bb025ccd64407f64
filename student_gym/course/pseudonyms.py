"""Pseudonymous student ids: a salted hash, so imported courses carry no real ids by default."""

from __future__ import annotations

import hashlib
import secrets


class Pseudonymizer:
    """Maps real student ids to stable pseudonyms ``s`` + 10 hex digits of SHA-256(salt, id).

    Args:
        salt: secret salt; None draws a random one (pseudonyms then differ between imports,
            which is the safe default; pass a salt to get the same pseudonyms again).
        keep_ids: opt out: return the ids unchanged.
    """

    def __init__(self, salt: str | None = None, *, keep_ids: bool = False) -> None:
        self.keep_ids = keep_ids
        self.random_salt = salt is None
        self._salt = (secrets.token_hex(16) if salt is None else salt).encode("utf-8")

    def __call__(self, student_id: str) -> str:
        if self.keep_ids:
            return student_id
        digest = hashlib.sha256(self._salt + b"\x00" + student_id.encode("utf-8")).hexdigest()
        return "s" + digest[:10]

    def describe(self) -> str:
        """How ids were treated, for the import report (never the salt itself)."""
        if self.keep_ids:
            return "kept as in the source"
        return "salted SHA-256, " + (
            "random salt (not stored)" if self.random_salt else "given salt"
        )
