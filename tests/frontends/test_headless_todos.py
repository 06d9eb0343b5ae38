"""`hermes -p`: stream-json emits the to-do list as it changes; json ends with it."""

from __future__ import annotations

import json
from pathlib import Path

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import run_hermes

ITEMS = [
    {"content": "read the code", "status": "completed"},
    {"content": "fix it", "status": "in_progress"},
]


def script(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("todo_write", json.dumps({"items": ITEMS}), "w1"),)),
        ScriptedReply(text="Fixing."),
    )


def test_json_output_includes_the_final_list(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    script(server)
    run = run_hermes(
        "-p",
        "fix it",
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        cwd=workspace,
        home=hermes_home,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert (out["result"], out["todos"]) == ("Fixing.", ITEMS)


def test_stream_json_emits_each_update(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    script(server)
    run = run_hermes(
        "-p",
        "fix it",
        "--base-url",
        server.base_url,
        "--output-format",
        "stream-json",
        cwd=workspace,
        home=hermes_home,
    )
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    updates = [e for e in events if e["type"] == "TodoUpdated"]
    assert updates == [{"type": "TodoUpdated", "items": ITEMS, "replay": False}]
