"""A streamable HTTP MCP server on 127.0.0.1 for tests.

Prints ``READY <url>`` once listening. Every request must carry
``Authorization: Bearer $MCP_TEST_TOKEN``; others get 401.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations


class RequireToken:
    """A pure ASGI middleware: 401 unless the bearer token matches."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and dict(scope["headers"]).get(b"authorization") != self.expected
        ):
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        await self.app(scope, receive, send)


def main() -> None:
    app = MCPServer("hermes-test-http", version="2.0")

    @app.tool(annotations=ToolAnnotations(read_only_hint=True))
    def hello(name: str) -> str:
        """Greet someone."""
        return f"hello, {name}"

    @app.tool()
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    asgi = RequireToken(app.streamable_http_app(), os.environ["MCP_TEST_TOKEN"])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    print(f"READY http://127.0.0.1:{sock.getsockname()[1]}/mcp", flush=True)
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning"))
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
