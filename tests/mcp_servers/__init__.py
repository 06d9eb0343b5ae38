"""MCP servers written with the official SDK, run as real processes by the MCP tests,
and the helpers those tests share."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TOOLS_SERVER = str(HERE / "tools_server.py")
HTTP_SERVER = str(HERE / "http_server.py")


def stdio_server(*flags: str, **settings: Any) -> dict[str, Any]:
    """An ``mcp.servers.NAME`` mapping that runs the test tools server."""
    return {"command": sys.executable, "args": [TOOLS_SERVER, *flags], **settings}


def alive(pid: int) -> bool:
    """Is ``pid`` a live process (a zombie waiting to be reaped counts as gone)?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


async def until(check: Callable[[], bool], limit: float = 20) -> None:
    """Wait until ``check()`` is true: a hang guard of ``limit`` seconds, not a speed check."""

    async def poll() -> None:
        while not check():  # noqa: ASYNC110 - a predicate on process state, no event exists
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), limit)
