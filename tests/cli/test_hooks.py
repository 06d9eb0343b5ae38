"""``hermes hooks list``, ``hermes sessions show --hooks`` and custom commands in
``hermes -p``, as real ``hermes`` processes against the scripted server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import run_hermes as hermes

GUARD = """import json, sys
command = json.load(sys.stdin)["tool_input"]["command"]
if command.startswith("git push"):
    print("no pushing", file=sys.stderr)
    sys.exit(2)
"""


def _hooks(event: str, command: str, matcher: str = "") -> dict[str, object]:
    return {
        "hooks": {event: [{"matcher": matcher, "hooks": [{"type": "command", "command": command}]}]}
    }


def test_hooks_list_shows_each_hook_and_its_file(workspace: Path, hermes_home: Path) -> None:
    user_file = hermes_home / "config.yaml"
    user_file.write_text(yaml.safe_dump(_hooks("PreToolUse", "./guard.sh", "Bash")))
    (workspace / ".hermes").mkdir()
    ws_file = workspace / ".hermes" / "config.yaml"
    ws_file.write_text(yaml.safe_dump(_hooks("Stop", "make test")))

    run = hermes("hooks", "list", cwd=workspace, home=hermes_home)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "PreToolUse  (matcher: tool name)",
        f"  Bash  ./guard.sh  (timeout 60 s; from {user_file})",
        "not run, this folder is not trusted ('hermes trust' to allow):",
        f"  Stop  *  make test  (from {ws_file})",
        "tool names (matchers and tool_name): terminal = Bash, read_file = Read, "
        "write_file = Write, patch = Edit, search_files = Grep (target content), "
        "Glob (target files)",
    ]

    run = hermes("--trust-workspace", "hooks", "list", "--json", cwd=workspace, home=hermes_home)
    assert json.loads(run.stdout) == {
        "hooks": [
            {
                "event": "PreToolUse",
                "matcher": "Bash",
                "command": "./guard.sh",
                "timeout": 60.0,
                "source": str(user_file),
            },
            {
                "event": "Stop",
                "matcher": "",
                "command": "make test",
                "timeout": 60.0,
                "source": str(ws_file),
            },
        ],
        "ignored": [],
    }


def test_hooks_list_with_a_bad_hook_config_exits_2(workspace: Path, hermes_home: Path) -> None:
    (hermes_home / "config.yaml").write_text(yaml.safe_dump({"hooks": {"BeforeEverything": []}}))
    run = hermes("hooks", "list", cwd=workspace, home=hermes_home)
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"hermes: error: {hermes_home / 'config.yaml'}: unknown hook event "
        "'hooks.BeforeEverything' (hermes runs: SessionStart, UserPromptSubmit, PreToolUse, "
        "PostToolUse, Notification, PreCompact, Stop, SessionEnd)"
    )


def test_a_headless_run_records_its_hook_runs(
    server: ScriptedServer, workspace: Path, hermes_home: Path, tmp_path: Path
) -> None:
    guard = tmp_path / "guard.py"
    guard.write_text(GUARD)
    command = f"{sys.executable} {guard}"
    (hermes_home / "config.yaml").write_text(yaml.safe_dump(_hooks("PreToolUse", command, "Bash")))
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("terminal", '{"command": "git push"}', "c1"),)),
        ScriptedReply(text="I was not allowed to push."),
    )
    run = hermes(
        "-p",
        "push",
        "--base-url",
        server.base_url,
        "--approval-mode",
        "yolo",
        "--output-format",
        "json",
        cwd=workspace,
        home=hermes_home,
    )
    assert run.returncode == 0, run.stderr
    assert "hermes: denied by a PreToolUse hook: no pushing" in run.stderr
    sid = json.loads(run.stdout)["session_id"]

    shown = hermes("sessions", "show", sid, "--hooks", cwd=workspace, home=hermes_home)
    lines = shown.stdout.splitlines()
    assert lines[3].split() == ["when", "event", "took", "exit", "outcome", "decision", "command"]
    row = lines[4].split()
    assert row[2:3] + row[4:] == [
        "PreToolUse",
        "2",
        "blocked",
        "deny",
        *command.split(),
        "[terminal",
        "c1]",
    ]
    assert lines[5].strip() == "no pushing"

    data = json.loads(
        hermes("sessions", "show", sid, "--hooks", "--json", cwd=workspace, home=hermes_home).stdout
    )
    (stored,) = data["hook_runs"]
    assert {
        k: stored[k] for k in ("event", "command", "exit_code", "outcome", "decision", "message")
    } == {
        "event": "PreToolUse",
        "command": command,
        "exit_code": 2,
        "outcome": "blocked",
        "decision": "deny",
        "message": "no pushing",
    }


def test_a_custom_command_runs_headless(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    commands = hermes_home / "commands"
    (commands / "git").mkdir(parents=True)
    (commands / "git" / "review.md").write_text(
        "---\ndescription: Review a change\nmodel: review-model\n---\n"
        "Review commit $1 for $2. Rules: @RULES.md\n"
    )
    (workspace / "RULES.md").write_text("no globals\n")
    (commands / "quit.md").write_text("Not the built-in\n")
    server.add(ScriptedReply(text="Looks good."))
    run = hermes(
        "-p",
        "/git:review abc123 security",
        "--base-url",
        server.base_url,
        cwd=workspace,
        home=hermes_home,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "Looks good.\n"
    request = server.requests[0]
    assert request.body["model"] == "review-model"
    assert request.messages[-1] == {
        "role": "user",
        "content": "Review commit abc123 for security. Rules: @RULES.md\n\n"
        '<attachment path="RULES.md" kind="file" size="1 line">\nno globals\n</attachment>',
    }
    assert (
        f"hermes: warning: refused command /quit from {commands / 'quit.md'}: it would shadow "
        "the built-in /quit; rename the file"
    ) in run.stderr


def test_a_workspace_command_runs_headless_only_when_trusted(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    path = workspace / ".hermes" / "commands" / "ship.md"
    path.parent.mkdir(parents=True)
    path.write_text("Ship version $ARGUMENTS\n")
    server.add(ScriptedReply(text="one"), ScriptedReply(text="two"))
    base = ("--base-url", server.base_url)
    assert hermes("-p", "/ship 1.2", *base, cwd=workspace, home=hermes_home).returncode == 0
    assert server.requests[0].messages[-1]["content"] == "/ship 1.2"  # untrusted: just text
    run = hermes("-p", "/ship 1.2", *base, "--trust-workspace", cwd=workspace, home=hermes_home)
    assert run.returncode == 0, run.stderr
    assert server.requests[1].messages[-1]["content"] == "Ship version 1.2"
