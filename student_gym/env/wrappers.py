"""Wrappers for StudentProgramming-v0.

:class:`RecordEpisodes` writes every episode to a JSONL file: the reset info (and optionally the
starting dialog), then each step's reply, reward, flags and info, one line per episode.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import gymnasium as gym


class RecordEpisodes(gym.Wrapper):
    """Record episodes to JSONL, one line per finished episode.

    A line is ``{"episode": n, "seed": s, "options": {...}, "reset_info": {...},
    "dialog": [...] (with include_dialog), "steps": [{"reply", "reward", "terminated",
    "truncated", "info"}], "finished": bool}``. An episode cut short by ``reset()`` or
    ``close()`` is written with ``"finished": false``.

    Args:
        env: the env to record.
        path: the JSONL file (appended to; parent directories are created).
        include_dialog: also store the starting dialog of each episode.
    """

    def __init__(self, env: gym.Env, path: str | os.PathLike[str], include_dialog: bool = True):
        super().__init__(env)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.include_dialog = include_dialog
        self._count = 0
        self._current: dict[str, Any] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._flush(finished=False)
        obs, info = self.env.reset(seed=seed, options=options)
        self._current = {
            "episode": self._count,
            "seed": seed,
            "options": dict(options or {}),
            "reset_info": info,
            "steps": [],
        }
        if self.include_dialog:
            self._current["dialog"] = [dict(m) for m in obs]
        self._count += 1
        return obs, info

    def step(self, action: str):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self._current is not None:
            self._current["steps"].append(
                {
                    "reply": action,
                    "reward": float(reward),
                    "terminated": bool(terminated),
                    "truncated": bool(truncated),
                    "info": info,
                }
            )
            if terminated or truncated:
                self._flush(finished=True)
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self._flush(finished=False)
        super().close()

    def _flush(self, finished: bool) -> None:
        if self._current is None:
            return
        if self._current["steps"] or finished:
            line = {**self._current, "finished": finished}
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._current = None


def read_recorded(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a file written by :class:`RecordEpisodes`; a broken line raises with its number."""
    out = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not a JSON line ({exc})") from None
    return out
