"""The outcome of one health check (doctor, MCP servers, the local model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was looked at, and what to do if it is not ok."""

    name: str
    level: Level
    detail: str
    fix: str = ""
