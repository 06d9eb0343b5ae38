"""The MCP client against real servers written with the SDK: stdio processes and a
streamable HTTP server on 127.0.0.1. Timeouts here are hang guards, never speed checks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hermes.config import McpConfig, parse_config
from hermes.execution.spec import ToolContext, ToolRegistry
from hermes.mcp.client import McpManager
from hermes.mcp.status import mcp_status_lines
from tests.mcp_servers import HTTP_SERVER, alive, stdio_server, until

T = TypeVar("T")


def mcp_config(servers: dict[str, Any], **settings: Any) -> McpConfig:
    return parse_config({"mcp": {"servers": servers, **settings}}, "test").mcp


class LoopThread:
    """An event loop in a thread, standing in for the engine's loop while the test thread
    plays the tool worker threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], limit: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(limit)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def _started(manager: McpManager) -> McpManager:
    manager.start()
    await manager.wait_settled()
    return manager


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[McpManager, ToolRegistry, LoopThread]]:
    """Servers that stay up for the module (calls time out after 5 s): trusted (with a
    secret in its env), untrusted (its own 60 s timeout), filtered, disabled, one that
    exits at start and one whose command does not exist."""
    workspace = tmp_path_factory.mktemp("ws")
    config = mcp_config(
        {
            "trusted": stdio_server(
                trust_annotations=True, env={"THE_SECRET": "${HERMES_TEST_SECRET}"}
            ),
            "plain": stdio_server(timeout=60.0),
            "only": stdio_server(tools={"include": ["read_*", "pic*"]}),
            "off": stdio_server(enabled=False),
            "broken": stdio_server("--exit-at-start"),
            "missing": {"command": str(workspace / "no-such-server")},
        },
        timeout=5.0,  # short for the timeout test, long enough for a loaded machine
    )
    registry = ToolRegistry()
    loop = LoopThread()
    env = {"HERMES_TEST_SECRET": "hunter2-secret"}
    manager = McpManager(config, registry, workspace=workspace, env=env)
    os.environ["HERMES_MCP_TEST_UNPASSED"] = "leak"
    try:
        loop.run(_started(manager))
    finally:
        del os.environ["HERMES_MCP_TEST_UNPASSED"]
    yield manager, registry, loop
    loop.run(manager.stop())
    loop.close()


def ctx(workspace: Path | None = None) -> ToolContext:
    return ToolContext(workspace=workspace or Path.cwd(), call_id="c1")


def test_discovery_naming_and_classes(shared: tuple[McpManager, ToolRegistry, LoopThread]) -> None:
    manager, registry, _ = shared
    states = {s.name: s.state for s in manager.statuses()}
    assert states == {
        "trusted": "ready",
        "plain": "ready",
        "only": "ready",
        "off": "disabled",
        "broken": "failed",
        "missing": "failed",
    }
    trusted = manager.status("trusted")
    assert trusted.detail == "hermes-test-tools 1.0"
    assert [t.name for t in trusted.tools][:3] == [
        "mcp__trusted__read_thing",
        "mcp__trusted__write_thing",
        "mcp__trusted__slow",
    ]
    classes = {t.server_tool: t.tool_class for t in trusted.tools}
    assert classes["read_thing"] == "read" and classes["write_thing"] == "exec"
    assert {t.tool_class for t in manager.status("plain").tools} == {"exec"}  # hints untrusted
    assert [t.server_tool for t in manager.status("only").tools] == ["read_thing", "picture"]
    spec = registry.get("mcp__trusted__read_thing")
    assert spec is not None and spec.tool_class == "read"
    assert spec.parameters == {
        "type": "object",
        "properties": {"key": {"type": "string"}},
        "required": ["key"],
    }
    assert registry.get("mcp__only__write_thing") is None


def test_failed_servers_show_why_with_their_stderr(
    shared: tuple[McpManager, ToolRegistry, LoopThread],
) -> None:
    manager, _, _ = shared
    broken = manager.status("broken")
    assert broken.detail == "exited with code 1 while starting"
    assert "cannot open the database (on purpose)" in broken.stderr_tail
    assert "No such file or directory" in manager.status("missing").detail
    lines = "\n".join(mcp_status_lines(manager))
    assert "broken" in lines and "cannot open the database" in lines
    assert "/mcp reconnect broken" in lines


def test_calls_text_error_image_and_write(
    shared: tuple[McpManager, ToolRegistry, LoopThread], tmp_path: Path
) -> None:
    manager, _, _ = shared
    read = manager.call_blocking("mcp__trusted__read_thing", ctx(), {"key": "k"})
    assert read.ok and read.content == "k = unset"
    wrote = manager.call_blocking("mcp__trusted__write_thing", ctx(), {"key": "k", "value": "v"})
    assert wrote.ok and wrote.content == "stored k"
    assert manager.call_blocking("mcp__plain__read_thing", ctx(), {"key": "k"}).content == "k = v"
    failed = manager.call_blocking("mcp__trusted__fail", ctx(), {"reason": "disk on fire"})
    assert not failed.ok and "disk on fire" in failed.content
    image = manager.call_blocking("mcp__trusted__picture", ctx(), {})
    assert image.ok and image.content == "[image: image/png, 1,032 bytes, not shown]"


def test_a_call_past_the_timeout_is_cancelled_and_the_server_goes_on(
    shared: tuple[McpManager, ToolRegistry, LoopThread],
) -> None:
    manager, _, _ = shared
    slow = manager.call_blocking("mcp__trusted__slow", ctx(), {"seconds": 30})
    assert not slow.ok
    assert slow.content == (
        "mcp__trusted__slow timed out after 5 s (mcp.timeout); the call was cancelled"
    )
    after = manager.call_blocking("mcp__trusted__read_thing", ctx(), {"key": "z"})
    assert after.ok and after.content == "z = unset"
    assert manager.call_timeout("mcp__plain__slow") == (60.0, "mcp.servers.plain.timeout")


def test_an_interrupt_cancels_a_running_call(
    shared: tuple[McpManager, ToolRegistry, LoopThread],
) -> None:
    manager, _, _ = shared
    context = ctx()
    timer = threading.Timer(0.2, context.cancel.set)
    timer.start()
    result = manager.call_blocking("mcp__plain__slow", context, {"seconds": 30})
    timer.join()
    assert not result.ok and result.content == "the MCP call was cancelled"


def test_a_failed_server_s_tool_says_how_to_retry(
    shared: tuple[McpManager, ToolRegistry, LoopThread],
) -> None:
    manager, _, _ = shared
    result = manager.call_blocking("mcp__nothing__here", ctx(), {})
    assert not result.ok and "not an MCP tool" in result.content


async def test_server_dies_mid_session_then_reconnects(workspace: Path) -> None:
    registry = ToolRegistry()
    warnings: list[str] = []
    manager = McpManager(
        mcp_config({"srv": stdio_server()}), registry, workspace=workspace, notify=warnings.append
    )
    await _started(manager)
    try:
        first_pid = manager.status("srv").pid
        assert first_pid is not None
        died = await asyncio.to_thread(manager.call_blocking, "mcp__srv__die", ctx(), {})
        assert not died.ok and died.content.startswith("mcp__srv__die failed: ")
        await until(lambda: manager.status("srv").state == "failed")
        await until(lambda: bool(warnings))
        status = manager.status("srv")
        assert status.detail == "exited with code 3" and "dying on request" in status.stderr_tail
        assert warnings == [
            "MCP server srv stopped working: exited with code 3. /mcp shows details; "
            "/mcp reconnect srv retries it"
        ]
        down = await asyncio.to_thread(
            manager.call_blocking, "mcp__srv__read_thing", ctx(), {"key": "a"}
        )
        assert not down.ok and "is failed: exited with code 3" in down.content
        assert "/mcp reconnect srv" in down.content
        status = await manager.reconnect("srv")
        assert status.state == "ready" and status.pid not in (None, first_pid)
        again = await asyncio.to_thread(
            manager.call_blocking, "mcp__srv__read_thing", ctx(), {"key": "a"}
        )
        assert again.ok and again.content == "a = unset"
        assert registry.names().count("mcp__srv__read_thing") == 1
    finally:
        await manager.stop()


async def test_stop_ends_the_server_and_its_children(workspace: Path) -> None:
    manager = McpManager(
        mcp_config({"srv": stdio_server("--child")}), ToolRegistry(), workspace=workspace
    )
    await _started(manager)
    result = await asyncio.to_thread(manager.call_blocking, "mcp__srv__pids", ctx(), {})
    server_pid, child_pid = (int(x) for x in result.content.split())
    assert child_pid and alive(server_pid) and alive(child_pid)
    await manager.stop()
    assert manager.status("srv").state == "stopped"
    # SIGKILL went to the whole group; wait (bounded) for the kernel to finish them.
    await until(lambda: not alive(server_pid) and not alive(child_pid))


async def test_a_server_too_slow_to_start_fails_and_is_killed(workspace: Path) -> None:
    gate = workspace / "never"
    manager = McpManager(
        mcp_config({"slow": stdio_server("--wait-for", str(gate))}, connect_timeout=0.5),
        ToolRegistry(),
        workspace=workspace,
    )
    manager.start()
    await until(lambda: manager.status("slow").pid is not None)
    pid = manager.status("slow").pid
    assert pid is not None
    await manager.wait_settled()
    status = manager.status("slow")
    assert (status.state, status.detail) == (
        "failed",
        "did not start within 0.5 s (mcp.connect_timeout)",
    )
    await until(lambda: not alive(pid))
    await manager.stop()


def test_env_is_expanded_and_secrets_are_masked(
    shared: tuple[McpManager, ToolRegistry, LoopThread],
) -> None:
    manager, _, _ = shared
    got = manager.call_blocking("mcp__trusted__secret_echo", ctx(), {"name": "THE_SECRET"})
    assert got.ok and got.content == "***"  # the server got it; the model never sees it
    other = manager.call_blocking(
        "mcp__trusted__secret_echo", ctx(), {"name": "HERMES_MCP_TEST_UNPASSED"}
    )
    assert other.content == "unset"  # only the configured env reaches a server


@pytest.fixture
def http_server() -> Iterator[str]:
    env = {**os.environ, "MCP_TEST_TOKEN": "tok-123456"}
    proc = subprocess.Popen(
        [sys.executable, HTTP_SERVER], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY "), line
        yield line.split()[1]
    finally:
        proc.terminate()
        proc.wait(10)


async def test_streamable_http_with_a_header_from_the_environment(
    http_server: str, workspace: Path
) -> None:
    servers = {
        "web": {"url": http_server, "headers": {"Authorization": "Bearer ${WEB_TOKEN}"}},
        "nokey": {"url": http_server, "headers": {"Authorization": "Bearer ${WRONG_TOKEN}"}},
    }
    registry = ToolRegistry()
    env = {"WEB_TOKEN": "tok-123456", "WRONG_TOKEN": "not-the-token"}
    manager = McpManager(mcp_config(servers), registry, workspace=workspace, env=env)
    await _started(manager)
    try:
        web = manager.status("web")
        assert (web.state, web.transport, web.detail) == ("ready", "http", "hermes-test-http 2.0")
        assert [t.name for t in web.tools] == ["mcp__web__hello", "mcp__web__shout"]
        hello = await asyncio.to_thread(
            manager.call_blocking, "mcp__web__hello", ctx(), {"name": "ada"}
        )
        assert hello.ok and hello.content == "hello, ada"
        nokey = manager.status("nokey")
        assert nokey.state == "failed" and "401" in nokey.detail
        shown = "\n".join(mcp_status_lines(manager)) + repr(manager.statuses())
        assert "tok-123456" not in shown and "not-the-token" not in shown
        assert "${WEB_TOKEN}" not in shown  # headers are not part of the status at all
    finally:
        await manager.stop()
