"""MCP server status for people: lines for ``/mcp``, JSON for ``hermes mcp list --json``,
checks for ``hermes doctor``, and a one-shot probe that connects, lists and stops."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hermes.checks import Check
from hermes.config import McpConfig, SandboxConfig
from hermes.mcp.client import McpManager, McpServerStatus

STDERR_LINES = 8


def status_lines(
    statuses: Sequence[McpServerStatus], *, tools: bool = False, reconnect_hint: bool = True
) -> list[str]:
    """Plain lines describing each server; with ``tools``, one line per tool too."""
    if not statuses:
        return [
            "No MCP servers are configured. Add them under mcp.servers in "
            "~/.hermes/config.yaml or .hermes/config.yaml (see config.example.yaml)."
        ]
    width = max(len(s.name) for s in statuses)
    lines: list[str] = []
    for s in statuses:
        count = f"{len(s.tools)} tool{'s' if len(s.tools) != 1 else ''}"
        who = f" ({s.detail})" if s.state == "ready" and s.detail else ""
        lines.append(f"{s.name:<{width}}  {s.state:<8}  {count:>9}  {s.transport}: {s.target}{who}")
        pad = " " * (width + 2)
        if s.state in ("failed", "disabled") and s.detail:
            lines.append(f"{pad}{s.detail}")
        if s.state == "failed" and s.stderr_tail:
            tail = s.stderr_tail.splitlines()[-STDERR_LINES:]
            lines.append(f"{pad}stderr (last {len(tail)} lines):")
            lines.extend(f"{pad}  | {line}" for line in tail)
        if s.state == "failed" and reconnect_hint:
            lines.append(f"{pad}retry with /mcp reconnect {s.name}")
        if tools:
            lines.extend(f"{pad}{t.name}  [{t.tool_class}]  {t.description}" for t in s.tools)
    return lines


def mcp_status_lines(manager: McpManager, *, tools: bool = False) -> list[str]:
    """What ``/mcp`` shows: every configured server, its state, tool count and problems."""
    return status_lines(manager.statuses(), tools=tools)


def status_json(status: McpServerStatus) -> dict[str, Any]:
    """One server as a JSON-ready dict (``hermes mcp list --json``)."""
    data = dataclasses.asdict(status)
    data["tools"] = [dataclasses.asdict(t) for t in status.tools]
    return data


async def probe(
    config: McpConfig,
    workspace: Path,
    within: float | None = None,
    sandbox: SandboxConfig | None = None,
) -> list[McpServerStatus]:
    """Connect to every configured server (``within`` seconds each; stdio ones in
    ``sandbox``, as a session runs them), list, and stop them."""
    if within is not None:
        config = dataclasses.replace(config, connect_timeout=within)
    manager = McpManager(config, None, workspace=workspace, sandbox=sandbox)
    manager.start()
    try:
        await manager.wait_settled()
        return manager.statuses()
    finally:
        await manager.stop()


def probe_sync(
    config: McpConfig,
    workspace: Path,
    within: float | None = None,
    sandbox: SandboxConfig | None = None,
) -> list[McpServerStatus]:
    """:func:`probe` for synchronous callers (``hermes mcp list``, ``hermes doctor``)."""
    return asyncio.run(probe(config, workspace, within, sandbox))


def doctor_checks(
    config: McpConfig, workspace: Path, sandbox: SandboxConfig | None = None
) -> list[Check]:
    """``hermes doctor`` lines: every configured server probed (``mcp.connect_timeout``
    each, in parallel); a failed one is FAIL with its reason and the end of its stderr."""
    checks = []
    for s in probe_sync(config, workspace, sandbox=sandbox):
        name = f"mcp {s.name}"
        if s.state == "ready":
            checks.append(Check(name, "ok", f"{len(s.tools)} tools from {s.target}"))
        elif s.state == "disabled":
            checks.append(Check(name, "ok", "disabled (enabled: false)"))
        else:
            tail = s.stderr_tail.splitlines()[-3:]
            stderr = f"; stderr: {' | '.join(tail)}" if tail else ""
            checks.append(
                Check(
                    name,
                    "FAIL",
                    f"{s.target}: {s.detail or s.state}{stderr}",
                    f"check mcp.servers.{s.name} in your config; 'hermes mcp list' shows more",
                )
            )
    return checks
