"""The stdio transport's process: hermes' credentials never reach an MCP server unless
its settings name the variable (issue 15, finding 5)."""

from __future__ import annotations

import json
import secrets
import sys

import anyio

from hermes.mcp.stdio import StdioServerProcess, stdio_transport
from hermes.redact import register_credentials

DUMP_ENV = (
    "import json, os, sys; sys.stderr.write(json.dumps(dict(os.environ)) + '\\n'); "
    "sys.stderr.flush(); sys.stdin.read()"
)


async def test_a_server_gets_no_credential_it_was_not_given_by_name() -> None:
    key = "gsk_" + secrets.token_hex(20)
    register_credentials(key, "GROQ_API_KEY", {"GROQ_API_KEY": key})
    env = {
        "PATH": "/usr/bin:/bin",
        "HERMES_API_KEY": key,
        "GROQ_API_KEY": key,
        "OPENAI_API_KEY": "sk-other-" + secrets.token_hex(12),
        "UNRELATED_COPY": key,
        "SERVER_TOKEN": key,  # named in the server's own settings: passed on purpose
        "PLAIN": "value",
    }
    proc = StdioServerProcess()
    with anyio.fail_after(30):
        async with stdio_transport(
            [sys.executable, "-c", DUMP_ENV],
            env=env,
            cwd=None,
            proc=proc,
            passthrough=("SERVER_TOKEN",),
        ):
            while not proc.stderr_tail().endswith("}"):  # noqa: ASYNC110  (a child's output)
                await anyio.sleep(0.02)
    seen = json.loads(proc.stderr_tail().splitlines()[0])
    assert {k: seen[k] for k in env if k in seen} == {
        "PATH": "/usr/bin:/bin",
        "SERVER_TOKEN": key,
        "PLAIN": "value",
    }
