"""stdio MCP servers in the sandbox (real bubblewrap, real SDK servers): the same
confinement as commands, with the network allowed per server."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.config import SandboxConfig
from hermes.execution.spec import ToolContext, ToolRegistry
from hermes.mcp.client import McpManager
from tests.mcp.test_client import LoopThread, _started, mcp_config
from tests.mcp_servers import stdio_server
from tests.sandbox.support import outside_dir, requires_bwrap

pytestmark = requires_bwrap


@pytest.fixture
def outside() -> Iterator[Path]:
    with outside_dir() as path:
        yield path


def test_stdio_servers_run_sandboxed_with_network_per_server(
    workspace: Path, outside: Path
) -> None:
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen(4)
    target = f"127.0.0.1:{host.getsockname()[1]}"
    config = mcp_config(
        {
            "boxed": stdio_server("--connect", target, cwd=str(outside)),
            "online": stdio_server("--connect", target, sandbox={"network": "on"}),
        }
    )
    loop = LoopThread()
    manager = McpManager(config, ToolRegistry(), workspace=workspace, sandbox=SandboxConfig())
    try:
        loop.run(_started(manager))
        assert {s.name: s.state for s in manager.statuses()} == {
            "boxed": "ready",
            "online": "ready",
        }
        # network off: the host's own loopback is out of reach; on: reachable
        assert f"connect: errno {errno.ECONNREFUSED}" in manager.status("boxed").stderr_tail
        assert "connect: connected" in manager.status("online").stderr_tail
        ctx = ToolContext(workspace=workspace, call_id="c1")
        wrote = manager.call_blocking("mcp__boxed__write_thing", ctx, {"key": "k", "value": "v"})
        assert not wrote.ok  # the SDK keeps the OSError (EROFS) to itself
        assert not (outside / "thing-k.txt").exists()
        inside = manager.call_blocking("mcp__online__write_thing", ctx, {"key": "k", "value": "v"})
        assert inside.ok and (workspace / "thing-k.txt").read_text() == "v"
    finally:
        loop.run(manager.stop())
        loop.close()
        host.close()


def test_a_missing_server_program_is_named_when_sandboxed(workspace: Path) -> None:
    config = mcp_config({"missing": {"command": str(workspace / "no-such-server")}})
    loop = LoopThread()
    manager = McpManager(config, ToolRegistry(), workspace=workspace, sandbox=SandboxConfig())
    try:
        loop.run(_started(manager))
        status = manager.status("missing")
        assert status.state == "failed"
        assert status.detail == (
            f"cannot start '{workspace / 'no-such-server'}': No such file or directory"
        )
    finally:
        loop.run(manager.stop())
        loop.close()
