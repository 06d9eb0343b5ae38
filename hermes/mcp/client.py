"""MCP client: connects to the configured servers and offers their tools to the model.

One :class:`McpManager` per session. ``start()`` launches every server as a background
task on the engine's loop and returns at once, so a slow or broken server never delays
the prompt; a server that connects adds its tools to the registry, and from the next
model request on they are offered. A server that fails, times out or dies is shown as
``failed`` with the tail of its stderr, and ``reconnect(name)`` retries it. ``stop()``
ends every server, process groups included.

Tool handlers run in worker threads; an MCP call hops onto the loop with
``run_coroutine_threadsafe``, and is cancelled on ``mcp.timeout`` or an interrupt.
The SDK (slow to import) is imported in a worker thread the first time it is needed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hermes.config import McpConfig, SandboxConfig
from hermes.execution.spec import ToolContext, ToolRegistry, ToolResult
from hermes.mcp.connection import (
    Connection,
    McpServerStatus,
    McpSetupError,
    ServerState,
    describe_error,
    load_sdk,
    open_transport,
)
from hermes.mcp.tools import build_specs, render_result

__all__ = ["McpManager", "McpServerStatus", "McpSetupError", "ServerState"]


@dataclass(frozen=True)
class _Route:
    server: str
    tool: str


class McpManager:
    """The session's MCP servers: start, status, calls, reconnect and stop."""

    def __init__(
        self,
        config: McpConfig,
        registry: ToolRegistry | None,
        *,
        workspace: Path,
        env: Mapping[str, str] | None = None,
        notify: Callable[[str], None] | None = None,
        sandbox: SandboxConfig | None = None,
    ) -> None:
        self.config = config
        self.sandbox = sandbox  # stdio servers run in it (None: unconfined)
        self._registry = registry
        self._workspace = workspace
        self._env = env if env is not None else os.environ
        self._notify = notify
        self._conns: dict[str, Connection] = {}
        self._routes: dict[str, _Route] = {}
        self._listeners: list[Callable[[McpServerStatus], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Launch every enabled server in the background (call on the running loop)."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        for name, server in self.config.servers.items():
            conn = Connection(name, server)
            self._conns[name] = conn
            if server.enabled:
                self._launch(conn)
            else:
                conn.state, conn.detail = "disabled", "enabled: false in the config"
                conn.settled.set()

    def _launch(self, conn: Connection) -> None:
        conn.task = asyncio.create_task(self._serve(conn), name=f"mcp-{conn.name}")

    async def wait_settled(self, within: float | None = None) -> None:
        """Wait until no server is still starting (at most ``within`` seconds)."""
        waits = [c.settled.wait() for c in self._conns.values()]
        if not waits:
            return
        limit = within if within is not None else self.config.connect_timeout + 10
        try:
            await asyncio.wait_for(asyncio.gather(*waits), limit)
        except TimeoutError:
            pass

    async def reconnect(self, name: str) -> McpServerStatus:
        """Stop server ``name`` if it runs, start it again, and wait until it settles."""
        old = self._conns.get(name)
        if old is None:
            known = ", ".join(self._conns) or "none"
            raise ValueError(f"no MCP server named {name!r} (configured: {known})")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        await self._stop_conn(old)
        conn = Connection(name, old.config)
        self._conns[name] = conn
        self._changed(conn)
        self._launch(conn)
        await asyncio.wait_for(conn.settled.wait(), self.config.connect_timeout + 10)
        return self.status(name)

    async def stop(self) -> None:
        """Stop every server and its process group."""
        await asyncio.gather(*(self._stop_conn(c) for c in list(self._conns.values())))

    async def _stop_conn(self, conn: Connection) -> None:
        conn.stopping = True
        task = conn.task
        if task is None or task.done():
            if conn.state in ("starting", "ready"):
                conn.state = "stopped"
            return
        if conn.scope is not None:
            conn.scope.cancel()
        else:
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=10)
        if not done:  # the transport's stop is bounded; this is a last resort
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # ------------------------------------------------------------------ status

    def subscribe(self, listener: Callable[[McpServerStatus], None]) -> Callable[[], None]:
        """Call ``listener`` on the loop whenever a server changes state; returns unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def names(self) -> list[str]:
        """The configured server names."""
        return list(self.config.servers)

    def status(self, name: str) -> McpServerStatus:
        """The current status of one server."""
        conn = self._conns.get(name)
        server = self.config.servers[name]
        if conn is None:  # not started yet
            conn = Connection(name, server, state="disabled" if not server.enabled else "starting")
        if server.url is not None:
            transport: Literal["stdio", "http"] = "http"
            target = server.url
        else:
            transport, target = "stdio", " ".join([server.command or "", *server.args])
        proc = conn.proc
        return McpServerStatus(
            name=name,
            transport=transport,
            target=target,
            state=conn.state,
            tools=conn.tools,
            detail=conn.scrub(conn.detail),
            stderr_tail=conn.scrub(proc.stderr_tail()) if proc is not None else "",
            pid=proc.pid if proc is not None and conn.state in ("starting", "ready") else None,
        )

    def statuses(self) -> list[McpServerStatus]:
        """Every configured server's status, in config order."""
        return [self.status(name) for name in self.config.servers]

    def _changed(self, conn: Connection) -> None:
        if conn.state != "starting":
            conn.settled.set()
        if self._conns.get(conn.name) is not conn:
            return
        status = self.status(conn.name)
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:  # a front end's bug must not stop the server
                pass

    # ------------------------------------------------------------------ connection

    async def _serve(self, conn: Connection) -> None:
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None
        error = ""
        try:
            await load_sdk()
            import anyio
            from mcp.client.client import Client
            from mcp_types import Implementation

            from hermes import __version__

            with anyio.CancelScope() as scope:
                conn.scope = scope
                timer = loop.call_later(self.config.connect_timeout, self._timed_out, conn)
                async with AsyncExitStack() as stack:
                    transport = await open_transport(
                        conn, stack, self._env, self._workspace, self.sandbox
                    )
                    client = Client(
                        transport,
                        client_info=Implementation(name="hermes", version=__version__),
                        cache=None,
                    )
                    await stack.enter_async_context(client)
                    tools = await self._list_tools(client)
                    timer.cancel()
                    self._ready(conn, client, tools)
                    await conn.wake.wait()
                    self._going(conn)
        except McpSetupError as exc:
            error = str(exc)
        except asyncio.CancelledError:
            if not conn.stopping:
                raise
        except BaseException as exc:
            if not isinstance(exc, Exception | BaseExceptionGroup):
                raise
            error = describe_error(exc)
        finally:
            if timer is not None:
                timer.cancel()
            self._ended(conn, error)

    @staticmethod
    async def _list_tools(client: Any) -> list[Any]:
        tools: list[Any] = []
        cursor = None
        for _ in range(100):  # a paginator that never ends must not hang us
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    def _timed_out(self, conn: Connection) -> None:
        conn.timed_out = True
        if conn.scope is not None:
            conn.scope.cancel()

    def _ready(self, conn: Connection, client: Any, tools: list[Any]) -> None:
        registry = self._registry
        taken = {
            n
            for n in (registry.names() if registry is not None else [])
            if self._route_server(n) != conn.name
        }
        built = build_specs(conn.name, conn.config, self.config, tools, self._handler, taken)
        for spec, info in built:
            self._routes[spec.name] = _Route(conn.name, info.server_tool)
            if registry is not None and registry.get(spec.name) is None:
                registry.add(spec)
        conn.client = client
        conn.connected = True
        conn.tools = tuple(info for _, info in built)
        conn.state = "ready"
        server_info = getattr(client, "server_info", None)
        conn.detail = f"{server_info.name} {server_info.version}".strip() if server_info else ""
        self._changed(conn)

    def _going(self, conn: Connection) -> None:
        """The server went away (or is being stopped): no new calls from here on."""
        conn.client = None
        if not conn.stopping:
            conn.state, conn.detail = "failed", "the server went away"
            self._changed(conn)

    def _route_server(self, name: str) -> str | None:
        route = self._routes.get(name)
        return route.server if route is not None else None

    def _ended(self, conn: Connection, error: str) -> None:
        was_ready = conn.connected
        conn.client = None
        conn.scope = None
        rc = conn.proc.returncode if conn.proc is not None else None
        if conn.stopping:
            conn.state, conn.detail = "stopped", ""
        else:
            if conn.timed_out and not was_ready:
                error = (
                    f"did not start within {self.config.connect_timeout:g} s (mcp.connect_timeout)"
                )
            elif rc is not None and conn.proc is not None and conn.proc.closed_by_server:
                error = f"exited with code {rc}" + ("" if was_ready else " while starting")
            elif conn.http_error and (not error or "error response" in error):
                error = conn.http_error  # the SDK's message drops the status
            elif not error:
                error = "lost the connection" if conn.lost else "closed the connection"
            conn.state, conn.detail = "failed", error
            if self._notify is not None:
                when = "stopped working" if was_ready else "failed to start"
                self._notify(
                    f"MCP server {conn.name} {when}: {conn.scrub(error)}. "
                    f"/mcp shows details; /mcp reconnect {conn.name} retries it"
                )
        self._changed(conn)

    # ------------------------------------------------------------------ calls

    def _handler(self, name: str) -> Callable[[ToolContext, Mapping[str, Any]], ToolResult]:
        def handler(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
            return self.call_blocking(name, ctx, args)

        return handler

    async def _call(self, name: str, args: Mapping[str, Any]) -> tuple[Connection, Any]:
        route = self._routes.get(name)
        conn = self._conns.get(route.server) if route is not None else None
        if route is None or conn is None:
            raise _Unavailable(f"{name} is not an MCP tool of this session")
        if conn.state != "ready" or conn.client is None:
            why = f": {conn.detail}" if conn.detail else ""
            raise _Unavailable(
                f"MCP server {conn.name} is {conn.state}{why}; the user can retry it with "
                f"/mcp reconnect {conn.name}"
            )
        if not any(t.server_tool == route.tool for t in conn.tools):
            raise _Unavailable(f"MCP server {conn.name} no longer offers the tool {route.tool}")
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED

        try:
            return conn, await conn.client.call_tool(route.tool, dict(args))
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                conn.lost = True
                conn.wake.set()
            raise

    def call_timeout(self, name: str) -> tuple[float, str]:
        """Seconds a call of tool ``name`` may take, and the setting that says so."""
        route = self._routes.get(name)
        server = self.config.servers.get(route.server) if route is not None else None
        if route is not None and server is not None and server.timeout is not None:
            return server.timeout, f"mcp.servers.{route.server}.timeout"
        return self.config.timeout, "mcp.timeout"

    def call_blocking(self, name: str, ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        """Run one MCP tool call from a worker thread; cancelled on timeout or ``ctx.cancel``."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return ToolResult(ok=False, content="MCP servers are not running in this session")
        timeout, setting = self.call_timeout(name)
        future = asyncio.run_coroutine_threadsafe(self._call(name, args), loop)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        deadline = time.monotonic() + timeout
        while not done.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
            if ctx.cancel.is_set():
                future.cancel()
                return ToolResult(ok=False, content="the MCP call was cancelled")
            if time.monotonic() >= deadline:
                future.cancel()
                return ToolResult(
                    ok=False,
                    content=f"{name} timed out after {timeout:g} s ({setting}); "
                    "the call was cancelled",
                )
        try:
            conn, result = future.result()
        except _Unavailable as exc:
            return ToolResult(ok=False, content=str(exc))
        except BaseException as exc:  # cancelled by a stop, a protocol error, a lost link
            route = self._routes.get(name)
            conn_now = self._conns.get(route.server) if route is not None else None
            if isinstance(exc, asyncio.CancelledError | concurrent.futures.CancelledError):
                text = "the call was cancelled because the MCP server stopped"
            else:
                text = describe_error(exc)
            if conn_now is not None:
                text = conn_now.scrub(text)
            return ToolResult(ok=False, content=f"{name} failed: {text}")
        return render_result(result, ctx, conn.scrub)


class _Unavailable(Exception):
    """The tool cannot be called now (server not ready, tool gone)."""
