"""A stdio MCP server for tests: one tool of each kind hermes must handle.

Flags: ``--exit-at-start`` (print to stderr and exit 1 before serving), ``--delay S``
(sleep S seconds before serving: a slow server), ``--wait-for PATH`` (serve only once
PATH exists: a server a test lets start when it chooses), ``--child`` (start a
grandchild ``sleep`` in the server's process group, to check that stopping ends it too),
``--connect HOST:PORT`` (try a TCP connection at start and say on stderr how it went:
the sandbox tests).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 1024


def build(child: subprocess.Popen[bytes] | None) -> MCPServer:
    app = MCPServer("hermes-test-tools", version="1.0")

    @app.tool(annotations=ToolAnnotations(read_only_hint=True))
    def read_thing(key: str) -> str:
        """Read the value stored under a key. Never changes anything."""
        path = Path(f"thing-{key}.txt")
        return f"{key} = {path.read_text() if path.exists() else 'unset'}"

    @app.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    def write_thing(key: str, value: str) -> str:
        """Store a value under a key (writes a file in the server's directory)."""
        Path(f"thing-{key}.txt").write_text(value)
        return f"stored {key}"

    @app.tool()
    async def slow(seconds: float = 30.0) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "finally done"

    @app.tool()
    def fail(reason: str = "it broke") -> str:
        """Always fails."""
        raise ToolError(reason)

    @app.tool()
    def picture() -> Image:
        """Return a small PNG image."""
        return Image(data=PNG, format="png")

    @app.tool()
    def pids() -> str:
        """The server's pid and its child's pid (0 if none)."""
        return f"{os.getpid()} {child.pid if child else 0}"

    @app.tool()
    def secret_echo(name: str) -> str:
        """Echo an environment variable of the server."""
        return os.environ.get(name, "unset")

    @app.tool()
    def die() -> str:
        """Exit the server at once, mid-session."""
        print("dying on request", file=sys.stderr, flush=True)
        os._exit(3)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit-at-start", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--wait-for", metavar="PATH")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--connect", metavar="HOST:PORT")
    args = parser.parse_args()
    print("tools_server starting", file=sys.stderr, flush=True)
    if args.connect:
        import socket

        host, port = args.connect.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=30).close()
            print("connect: connected", file=sys.stderr, flush=True)
        except OSError as exc:
            print(f"connect: errno {exc.errno}", file=sys.stderr, flush=True)
    if args.exit_at_start:
        print("fatal: cannot open the database (on purpose)", file=sys.stderr, flush=True)
        sys.exit(1)
    if args.delay:
        time.sleep(args.delay)
    while args.wait_for and not Path(args.wait_for).exists():
        time.sleep(0.02)
    child = None
    if args.child:
        child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL)
    build(child).run()


if __name__ == "__main__":
    main()
