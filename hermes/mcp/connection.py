"""One MCP server connection attempt: its settings (``${VAR}`` expanded, secrets kept for
masking), its transport (stdio process or streamable HTTP), its state, and the helpers
that describe failures. The manager in :mod:`hermes.mcp.client` drives these."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hermes.config import McpServerConfig, SandboxConfig
from hermes.mcp.tools import McpToolInfo

if TYPE_CHECKING:
    import anyio

    from hermes.mcp.stdio import StdioServerProcess

ServerState = Literal["disabled", "starting", "ready", "failed", "stopped"]
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_MIN = 6
for _name in ("mcp", "httpx2", "mcp_types"):  # never let the SDK print into the UI
    logging.getLogger(_name).addHandler(logging.NullHandler())


class McpSetupError(Exception):
    """A server's settings cannot be used (e.g. a ``${VAR}`` that is not set)."""


@dataclass(frozen=True)
class McpServerStatus:
    """What ``/mcp``, ``hermes mcp list`` and ``hermes doctor`` show for one server."""

    name: str
    transport: Literal["stdio", "http"]
    target: str  # the command line or URL as configured (secrets never expanded here)
    state: ServerState
    tools: tuple[McpToolInfo, ...] = ()
    detail: str = ""  # why it failed, or who answered
    stderr_tail: str = ""
    pid: int | None = None


@dataclass(eq=False)
class Connection:
    """One attempt to run one server; lives on the loop."""

    name: str
    config: McpServerConfig
    state: ServerState = "starting"
    detail: str = ""
    tools: tuple[McpToolInfo, ...] = ()
    client: Any = None
    proc: StdioServerProcess | None = None
    task: asyncio.Task[None] | None = None
    scope: anyio.CancelScope | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    connected: bool = False
    timed_out: bool = False
    lost: bool = False
    http_error: str = ""  # the last HTTP error status the server answered
    secrets: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        """``text`` with every expanded secret of this server's settings masked."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def expand(value: str, env: Mapping[str, str], where: str, secrets: list[str]) -> str:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) from ``env``; collect what was inserted."""

    def sub(m: re.Match[str]) -> str:
        got = env.get(m.group(1))
        if got is None:
            if m.group(2) is None:
                raise McpSetupError(f"{where} uses ${{{m.group(1)}}}, which is not set")
            got = m.group(2)
        if len(got) >= _SECRET_MIN:
            secrets.append(got)
        return got

    return _VAR.sub(sub, value)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [] if isinstance(exc, asyncio.CancelledError) else [exc]


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a failed connection or call (exception groups unwrapped)."""
    leaves = _leaves(exc) or [exc]
    leaf = leaves[0]
    if isinstance(leaf, FileNotFoundError | PermissionError) and leaf.filename:
        return f"cannot start {leaf.filename!r}: {leaf.strerror}"
    response = getattr(leaf, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        return f"HTTP {status} from {getattr(response, 'url', '')}"
    message = getattr(leaf, "message", None)
    text = message if isinstance(message, str) else str(leaf)
    return f"{type(leaf).__name__}: {text}" if text else type(leaf).__name__


_SDK_MODULES = (
    "mcp.client.client",
    "mcp.client.streamable_http",
    "mcp.shared._httpx_utils",
    "hermes.mcp.stdio",
)


def _import_sdk() -> None:
    import importlib

    for module in _SDK_MODULES:
        importlib.import_module(module)


async def load_sdk() -> None:
    """Import the MCP SDK in a worker thread (about half a second) unless it is loaded."""
    import sys

    if "hermes.mcp.stdio" not in sys.modules:
        await asyncio.to_thread(_import_sdk)


def _transport_settings(
    conn: Connection, environ: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Expanded (env, headers); the inserted values are remembered for scrubbing."""
    secrets: list[str] = []
    where = f"mcp.servers.{conn.name}"
    env = {k: expand(v, environ, f"{where}.env.{k}", secrets) for k, v in conn.config.env.items()}
    headers = {
        k: expand(v, environ, f"{where}.headers.{k}", secrets)
        for k, v in conn.config.headers.items()
    }
    conn.secrets = tuple(sorted(set(secrets), key=len, reverse=True))
    return env, headers


async def open_transport(
    conn: Connection,
    stack: AsyncExitStack,
    environ: Mapping[str, str],
    workspace: Path,
    sandbox: SandboxConfig | None = None,
) -> Any:
    """The SDK transport for ``conn`` (its HTTP client, if any, entered on ``stack``); a
    stdio server runs in ``sandbox`` (its network as ``mcp.servers.NAME.sandbox`` says)."""
    from mcp.client.stdio import get_default_environment
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    from hermes.mcp.stdio import StdioServerProcess, stdio_transport

    env, headers = _transport_settings(conn, environ)
    server = conn.config
    if server.url is not None:
        http = await stack.enter_async_context(create_mcp_http_client(headers=headers))

        async def on_response(response: Any) -> None:
            if response.status_code >= 400:
                conn.http_error = f"HTTP {response.status_code} {response.reason_phrase}"

        http.event_hooks["response"].append(on_response)
        return streamable_http_client(server.url, http_client=http)
    cwd = server_cwd(server, workspace)
    argv = [server.command or "", *server.args]
    if sandbox is not None:
        from hermes.sandbox.backends import SandboxError, open_sandbox

        try:  # in a thread: the first use tries bubblewrap once
            box = await asyncio.to_thread(
                open_sandbox, sandbox, workspace, network=server.sandbox.network
            )
        except SandboxError as exc:
            raise McpSetupError(str(exc)) from exc
        if box.confined:
            _check_program(argv[0], cwd, {**environ, **env})  # said here, not by the wrapper
        argv = box.command(argv, Path(cwd))
    conn.proc = StdioServerProcess(on_close=conn.wake.set)
    return stdio_transport(
        argv,
        env={**get_default_environment(), **env},
        cwd=cwd,
        proc=conn.proc,
        passthrough=tuple(server.env),  # what the server's own settings name, by name
    )


def _check_program(program: str, cwd: str, env: Mapping[str, str]) -> None:
    """FileNotFoundError (as starting it unwrapped would raise) when ``program`` is not
    there: wrapped in a sandbox, a missing program would only make the wrapper fail."""
    import shutil

    path = Path(cwd, program) if "/" in program else None
    found = path.is_file() if path is not None else shutil.which(program, path=env.get("PATH"))
    if not found:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


def server_cwd(server: McpServerConfig, workspace: Path) -> str:
    """The server's working directory: ``cwd`` (relative to the workspace) or the workspace."""
    cwd = Path(server.cwd).expanduser() if server.cwd else workspace
    return str(cwd if cwd.is_absolute() else workspace / cwd)
