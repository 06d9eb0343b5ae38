"""Hooks through the engine, with real hook scripts (bash and Python) and the scripted model.

Hooks are configured in the user's own ``$HERMES_HOME/config.yaml`` (as a person would),
except where a test is about another source.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from hermes import protocol as p
from hermes.config import Overrides
from hermes.engine.engine import Engine
from hermes.engine.hook_calls import MAX_STOP_CONTINUATIONS
from hermes.store.hook_runs import HookRunRecord, hook_runs
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from hermes.trust.workspace import load_workspace
from tests.support import drive, make_config, make_engine, of_type, run_prompt

PY = sys.executable


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


def hook(command: str, matcher: str = "", timeout: float | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "command", "command": command}
    if timeout is not None:
        entry["timeout"] = timeout
    return {"matcher": matcher, "hooks": [entry]} if matcher else {"hooks": [entry]}


def user_hooks(home: Path, **events: list[dict[str, Any]]) -> None:
    """Write ``hooks:`` into the user's own config file."""
    (home / "config.yaml").write_text(yaml.safe_dump({"hooks": events}))


def script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def engine_for(
    server: ScriptedServer,
    workspace: Path,
    store: Store,
    *,
    interactive: bool = False,
    **flags: Any,
) -> Engine:
    return make_engine(
        make_config(server.base_url, workspace, **flags), workspace, store, interactive=interactive
    )


def runs(store: Store, engine: Engine) -> list[tuple[str, int | None, str, str]]:
    """(event, exit code, outcome, decision) of each stored hook run."""
    return [
        (r.event, r.exit_code, r.outcome, r.decision) for r in hook_runs(store, engine.state.id)
    ]


def first_line(output: str) -> str:
    """A command's output without the notes hermes adds under it (exit code, sandbox)."""
    return output.splitlines()[0] if output else ""


def sent(server: ScriptedServer, request: int) -> list[dict[str, Any]]:
    """The messages of one model request, system prompt left out."""
    return [m for m in server.requests[request].messages if m["role"] != "system"]


# --------------------------------------------------------------------------- PreToolUse

GUARD_SH = """#!/usr/bin/env bash
# Block git push; everything else goes on.
input=$(cat)
case "$input" in
  *'"git push'*) echo "pushing is not allowed from an agent session" >&2; exit 2 ;;
esac
exit 0
"""


async def test_a_pre_tool_hook_blocks_git_push_and_the_model_is_told_why(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    guard = script(tmp_path / "guard.sh", GUARD_SH)
    user_hooks(hermes_home, PreToolUse=[hook(str(guard), "Bash")])
    server.add(
        ScriptedReply(
            tool_calls=(
                call("terminal", "c1", command="git push origin main"),
                call("terminal", "c2", command="echo still-here"),
            )
        ),
        ScriptedReply(text="ok"),
    )
    engine = engine_for(server, workspace, store, approval_mode="yolo")
    events = await run_prompt(engine, "push it")

    ends = {e.call_id: (e.status, first_line(e.output)) for e in of_type(events, p.ToolCallEnd)}
    reason = "denied by a PreToolUse hook: pushing is not allowed from an agent session"
    assert ends == {"c1": ("denied", reason), "c2": ("done", "still-here")}
    assert of_type(events, p.ApprovalResolved) == [
        p.ApprovalResolved("c1", "deny", by="hook", reason=reason)
    ]
    told = [m for m in sent(server, 1) if m["role"] == "tool"]
    assert told[0] == {"role": "tool", "content": reason, "tool_call_id": "c1"}
    assert runs(store, engine) == [
        ("PreToolUse", 2, "blocked", "deny"),
        ("PreToolUse", 0, "ok", ""),
    ]
    stored = hook_runs(store, engine.state.id)[0]
    assert (stored.command, stored.source, stored.call_id, stored.tool_name) == (
        str(guard),
        str(hermes_home / "config.yaml"),
        "c1",
        "terminal",
    )
    assert stored.message == "pushing is not allowed from an agent session"


# A PreToolUse script written for Claude Code's documented input: it reads
# tool_input.command from the JSON on stdin and exits 2 with the reason on stderr.
CLAUDE_CODE_VALIDATOR = """#!/usr/bin/env python3
import json
import re
import sys

RULES = [
    (r"\\bgrep\\b(?!.*\\|)", "Use 'rg' (ripgrep) instead of 'grep' for better performance"),
    (r"\\bfind\\s+\\S+\\s+-name\\b", "Use 'rg --files -g pattern' instead of 'find -name'"),
]

try:
    data = json.load(sys.stdin)
except json.JSONDecodeError as e:
    print(f"Error: Invalid JSON input: {e}", file=sys.stderr)
    sys.exit(1)

if data.get("tool_name") != "Bash":
    sys.exit(0)
command = data.get("tool_input", {}).get("command", "")
issues = [message for pattern, message in RULES if re.search(pattern, command)]
if issues:
    for message in issues:
        print(f"• {message}", file=sys.stderr)
    sys.exit(2)
"""


async def test_a_claude_code_hook_script_works_unchanged(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    validator = script(tmp_path / "bash_command_validator.py", CLAUDE_CODE_VALIDATOR)
    user_hooks(hermes_home, PreToolUse=[hook(f"{PY} {validator}", "Bash")])
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "c1", command="grep -r TODO ."),)),
        ScriptedReply(tool_calls=(call("terminal", "c2", command="echo fine"),)),
        ScriptedReply(text="done"),
    )
    engine = engine_for(server, workspace, store, approval_mode="yolo")
    events = await run_prompt(engine, "find the TODOs")

    ends = [(e.call_id, e.status, first_line(e.output)) for e in of_type(events, p.ToolCallEnd)]
    assert ends == [
        (
            "c1",
            "denied",
            "denied by a PreToolUse hook: • Use 'rg' (ripgrep) instead of 'grep' for better "
            "performance",
        ),
        ("c2", "done", "fine"),
    ]
    assert [m["content"] for m in sent(server, 1) if m["role"] == "tool"] == [ends[0][2]]


ASK_FOR_READS = """import json, sys
data = json.load(sys.stdin)
print(json.dumps({
    "hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": "ask",
        "permissionDecisionReason": "reading " + data["tool_input"]["file_path"],
    }
}))
"""


async def test_a_pre_tool_hook_makes_a_read_ask(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    (workspace / "notes.txt").write_text("secret plan\n")
    asker = script(tmp_path / "ask.py", ASK_FOR_READS)
    user_hooks(hermes_home, PreToolUse=[hook(f"{PY} {asker}", "Read")])
    server.add(
        ScriptedReply(tool_calls=(call("read_file", "r1", path="notes.txt"),)),
        ScriptedReply(text="read it"),
    )
    engine = engine_for(server, workspace, store, interactive=True)
    events = await run_prompt(engine, "read notes", answer=lambda ev: "once")

    asked = of_type(events, p.ApprovalRequested)
    assert [(a.call_id, a.name, a.reason) for a in asked] == [
        ("r1", "read_file", f"a PreToolUse hook asks: reading {workspace / 'notes.txt'}")
    ]
    assert asked[0].always_rules == ()
    end = of_type(events, p.ToolCallEnd)[0]
    assert end.status == "done" and "secret plan" in end.output


async def test_a_hook_ask_is_a_denial_when_nobody_can_answer(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    (workspace / "notes.txt").write_text("secret plan\n")
    asker = script(tmp_path / "ask.py", ASK_FOR_READS)
    user_hooks(hermes_home, PreToolUse=[hook(f"{PY} {asker}", "read_file")])
    server.add(
        ScriptedReply(tool_calls=(call("read_file", "r1", path="notes.txt"),)),
        ScriptedReply(text="could not"),
    )
    events = await run_prompt(engine_for(server, workspace, store), "read notes")
    end = of_type(events, p.ToolCallEnd)[0]
    assert (end.status, end.output) == (
        "denied",
        f"denied: a PreToolUse hook asks for approval of read_file (reading "
        f"{workspace / 'notes.txt'}) and this run has no one to ask",
    )
    assert "secret plan" not in json.dumps(server.requests[1].messages)


ALLOW_ALL = """import json
print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
    "permissionDecision": "allow", "permissionDecisionReason": "trusted by my hook"}}))
"""


async def test_allow_skips_the_prompt_only_from_the_users_config_and_never_for_catastrophic(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    allow = script(tmp_path / "allow.py", ALLOW_ALL)
    user_hooks(hermes_home, PreToolUse=[hook(f"{PY} {allow}", "Bash")])
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "c1", command="mkdir made"),)),
        ScriptedReply(tool_calls=(call("terminal", "c2", command="rm -rf /"),)),
        ScriptedReply(text="ok"),
    )
    engine = engine_for(server, workspace, store, interactive=True)
    events = await run_prompt(engine, "go", answer=lambda ev: "deny")

    assert (workspace / "made").is_dir()
    asked = of_type(events, p.ApprovalRequested)
    assert [(a.call_id, a.catastrophic) for a in asked] == [("c2", True)]
    assert of_type(events, p.ApprovalResolved)[0] == p.ApprovalResolved(
        "c1",
        "once",
        by="hook",
        reason="allowed by a PreToolUse hook in your config: trusted by my hook",
    )


async def test_allow_from_a_trusted_workspace_config_is_ignored(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path
) -> None:
    allow = script(tmp_path / "allow.py", ALLOW_ALL)
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text(
        yaml.safe_dump({"hooks": {"PreToolUse": [hook(f"{PY} {allow}", "Bash")]}})
    )
    config = load_workspace(
        workspace, Overrides(base_url=server.base_url), env={}, assume_trusted=True
    ).report.config
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "c1", command="mkdir made"),)),
        ScriptedReply(text="ok"),
    )
    engine = make_engine(config, workspace, store, interactive=True)
    events = await run_prompt(engine, "go", answer=lambda ev: "deny")

    assert [a.call_id for a in of_type(events, p.ApprovalRequested)] == ["c1"]
    assert not (workspace / "made").exists()
    warnings = [w.message for w in of_type(events, p.Warning) if "allowed a call" in w.message]
    assert warnings == [
        f"hook '{PY} {allow}' allowed a call; ignored: only hooks in your own config may "
        "skip an approval"
    ]


async def test_continue_false_stops_the_turn(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    stopper = script(
        tmp_path / "stop.sh",
        """#!/bin/sh\necho '{"continue": false, "stopReason": "maintenance window"}'\n""",
    )
    user_hooks(hermes_home, PreToolUse=[hook(str(stopper))])
    server.add(
        ScriptedReply(
            tool_calls=(
                call("write_file", "w1", path="a.txt", content="a"),
                call("write_file", "w2", path="b.txt", content="b"),
            )
        ),
        ScriptedReply(text="never"),
    )
    events = await run_prompt(engine_for(server, workspace, store, approval_mode="yolo"), "go")
    why = "stopped by a PreToolUse hook: maintenance window"
    assert of_type(events, p.TurnAborted) == [p.TurnAborted(why)]
    assert [(e.call_id, e.status) for e in of_type(events, p.ToolCallEnd)] == [
        ("w1", "denied"),
        ("w2", "cancelled"),
    ]
    assert os.listdir(workspace) == [] and len(server.requests) == 1


# --------------------------------------------------------------------------- PostToolUse

FORMAT_SH = f"""#!/usr/bin/env bash
# A formatter: strip trailing whitespace from the file the agent edited.
file=$({PY} -c 'import json, sys; print(json.load(sys.stdin)["tool_input"]["file_path"])')
sed -i -e 's/[[:space:]]*$//' "$file"
"""


async def test_a_post_tool_hook_formats_an_edited_file(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    fmt = script(tmp_path / "format.sh", FORMAT_SH)
    user_hooks(hermes_home, PostToolUse=[hook(str(fmt), "Edit|Write")])
    (workspace / "app.py").write_text("x = 1\n")
    server.add(
        ScriptedReply(
            tool_calls=(call("write_file", "w1", path="new.py", content="a = 1   \nb = 2\t\n"),)
        ),
        ScriptedReply(
            tool_calls=(
                call("patch", "p1", path="app.py", old_string="x = 1", new_string="x = 2    "),
            )
        ),
        ScriptedReply(tool_calls=(call("read_file", "r1", path="app.py"),)),
        ScriptedReply(text="done"),
    )
    engine = engine_for(server, workspace, store, approval_mode="yolo")
    events = await run_prompt(engine, "edit")

    assert (workspace / "new.py").read_text() == "a = 1\nb = 2\n"
    assert (workspace / "app.py").read_text() == "x = 2\n"
    assert runs(store, engine) == [("PostToolUse", 0, "ok", ""), ("PostToolUse", 0, "ok", "")]
    assert [e.hook_event for e in of_type(events, p.HookFinished)] == ["PostToolUse", "PostToolUse"]


async def test_post_tool_exit_2_sends_stderr_to_the_model(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    lint = script(tmp_path / "lint.sh", "#!/bin/sh\necho 'line 1: missing docstring' >&2\nexit 2\n")
    user_hooks(hermes_home, PostToolUse=[hook(str(lint), "write_file")])
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w1", path="m.py", content="x = 1\n"),)),
        ScriptedReply(text="fixed"),
    )
    engine = engine_for(server, workspace, store, approval_mode="yolo")
    events = await run_prompt(engine, "write it")

    feedback = "PostToolUse hook on write_file (call w1):\nline 1: missing docstring"
    assert sent(server, 1)[-2:] == [
        {"role": "tool", "content": of_type(events, p.ToolCallEnd)[0].output, "tool_call_id": "w1"},
        {
            "role": "user",
            "content": f'<hook_context event="PostToolUse">\n{feedback}\n</hook_context>',
        },
    ]
    assert of_type(events, p.HookContext) == [p.HookContext("PostToolUse", feedback)]
    stored = store.load_messages(engine.state.id)
    assert [(m.message.role, m.synthetic) for m in stored] == [
        ("user", False),
        ("assistant", False),
        ("tool", False),
        ("user", True),
        ("assistant", False),
    ]


# --------------------------------------------------------------------------- prompts


async def test_user_prompt_submit_adds_context(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    ctx = script(tmp_path / "context.sh", "#!/bin/sh\necho 'current sprint: hooks'\n")
    user_hooks(hermes_home, UserPromptSubmit=[hook(str(ctx))])
    server.add(ScriptedReply(text="noted"))
    engine = engine_for(server, workspace, store)
    events = await run_prompt(engine, "what are we doing?")

    assert sent(server, 0) == [
        {"role": "user", "content": "what are we doing?"},
        {
            "role": "user",
            "content": '<hook_context event="UserPromptSubmit">\ncurrent sprint: hooks\n'
            "</hook_context>",
        },
    ]
    names = [type(e).__name__ for e in events if isinstance(e, p.TurnStarted | p.HookContext)]
    assert names == ["TurnStarted", "HookContext"]


async def test_user_prompt_submit_exit_2_blocks_the_prompt(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    block = script(
        tmp_path / "block.py",
        "import json, sys\n"
        "if 'password' in json.load(sys.stdin)['prompt']:\n"
        "    print('prompts must not contain passwords', file=sys.stderr)\n"
        "    sys.exit(2)\n",
    )
    user_hooks(hermes_home, UserPromptSubmit=[hook(f"{PY} {block}")])
    server.add(ScriptedReply(text="second prompt answered"))
    engine = engine_for(server, workspace, store)
    await engine.start()
    first = await drive(engine, "my password is hunter2")
    second = await drive(engine, "hello")
    await engine.submit(p.Shutdown())

    assert first[-1] == p.TurnAborted(
        "the prompt was blocked by a UserPromptSubmit hook: prompts must not contain passwords"
    )
    assert not of_type(first, p.TurnStarted)
    assert second[-1] == p.TurnComplete("second prompt answered", model_calls=1)
    assert sent(server, 0) == [{"role": "user", "content": "hello"}]
    assert "hunter2" not in json.dumps(
        [m.message.content for m in store.load_messages(engine.state.id)]
    )


# --------------------------------------------------------------------------- Stop

STOP_ONCE = """import json, sys
data = json.load(sys.stdin)
if not data["stop_hook_active"]:
    print(json.dumps({"decision": "block", "reason": "run the tests before you finish"}))
"""


async def test_a_stop_hook_forces_one_more_step(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    gate = script(tmp_path / "stop.py", STOP_ONCE)
    user_hooks(hermes_home, Stop=[hook(f"{PY} {gate}")])
    server.add(ScriptedReply(text="all done"), ScriptedReply(text="tests pass, done"))
    events = await run_prompt(engine_for(server, workspace, store), "fix it")

    assert len(server.requests) == 2
    assert sent(server, 1)[-2:] == [
        {"role": "assistant", "content": "all done"},
        {
            "role": "user",
            "content": '<hook_context event="Stop">\nrun the tests before you finish\n'
            "</hook_context>",
        },
    ]
    assert events[-1] == p.TurnComplete("tests pass, done", model_calls=2)


async def test_stop_hooks_that_always_block_are_bounded(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    nag = script(tmp_path / "nag.sh", "#!/bin/sh\necho 'not yet' >&2\nexit 2\n")
    user_hooks(hermes_home, Stop=[hook(str(nag))])
    server.add(*(ScriptedReply(text=f"done {i}") for i in range(MAX_STOP_CONTINUATIONS + 1)))
    events = await run_prompt(engine_for(server, workspace, store), "go")

    assert len(server.requests) == MAX_STOP_CONTINUATIONS + 1
    assert events[-1] == p.TurnComplete(
        f"done {MAX_STOP_CONTINUATIONS}", MAX_STOP_CONTINUATIONS + 1
    )
    assert any("the turn ends here" in w.message for w in of_type(events, p.Warning))


# --------------------------------------------------------------------------- failures


def _processes_with(token: str) -> list[int]:
    """Live processes whose command line holds ``token`` (zombies have none)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(int(entry))
    return found


HANG_PY = """import subprocess, sys, time
# A child in the same process group, then hang: the whole group must be killed.
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", sys.argv[1]])
time.sleep(1000)
"""


async def test_a_hook_that_hangs_is_killed_at_its_timeout_and_the_session_goes_on(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    token = f"hang-{uuid.uuid4().hex}"
    hang = script(tmp_path / "hang.py", HANG_PY)
    user_hooks(hermes_home, PreToolUse=[hook(f"{PY} {hang} {token}", "Bash", timeout=0.5)])
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "c1", command="echo ran"),)),
        ScriptedReply(text="ok"),
    )
    engine = engine_for(server, workspace, store, approval_mode="yolo")
    events = await run_prompt(engine, "go")

    finished = of_type(events, p.HookFinished)[0]
    assert (finished.outcome, finished.exit_code) == ("timeout", None)
    assert f"hook '{PY} {hang} {token}' was killed after its timeout of 0.5 s" in [
        w.message for w in of_type(events, p.Warning)
    ]
    assert [(e.status, first_line(e.output)) for e in of_type(events, p.ToolCallEnd)] == [
        ("done", "ran")
    ]
    assert events[-1] == p.TurnComplete("ok", model_calls=2)
    for _ in range(200):  # the group was signalled before HookFinished; reaping may lag
        if not _processes_with(token):
            break
        await asyncio.sleep(0.05)
    assert _processes_with(token) == []


async def test_a_hook_that_crashes_gives_a_warning_and_the_session_goes_on(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    crash = script(tmp_path / "crash.py", "raise RuntimeError('hook bug')\n")
    user_hooks(hermes_home, PostToolUse=[hook(f"{PY} {crash}")])
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w1", path="a.txt", content="a"),)),
        ScriptedReply(text="ok"),
    )
    engine = engine_for(server, workspace, store, approval_mode="yolo")
    events = await run_prompt(engine, "go")

    warning = next(w.message for w in of_type(events, p.Warning) if "crash.py" in w.message)
    assert warning.startswith(f"hook '{PY} {crash}' failed (exit 1): Traceback")
    assert warning.endswith("RuntimeError: hook bug")
    assert (workspace / "a.txt").read_text() == "a"
    assert events[-1] == p.TurnComplete("ok", model_calls=2)
    assert runs(store, engine) == [("PostToolUse", 1, "error", "")]


async def test_an_interrupt_kills_a_running_hook(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    token = f"hang-{uuid.uuid4().hex}"
    hang = script(tmp_path / "hang.py", HANG_PY)
    user_hooks(hermes_home, PreToolUse=[hook(f"{PY} {hang} {token}", "Bash")])
    server.add(ScriptedReply(tool_calls=(call("terminal", "c1", command="echo never"),)))
    engine = engine_for(server, workspace, store, approval_mode="yolo")
    await engine.start()
    await engine.submit(p.UserTurn("go"))
    events: list[p.Event] = []
    async for ev in engine.events():
        events.append(ev)
        if isinstance(ev, p.HookStarted):
            await engine.submit(p.Interrupt())
        if isinstance(ev, p.TurnAborted):
            break
    await engine.submit(p.Shutdown())

    assert events[-1] == p.TurnAborted("interrupted by user")
    assert of_type(events, p.HookFinished)[0].outcome == "interrupted"
    assert of_type(events, p.ToolCallEnd)[0].status == "cancelled"
    assert runs(store, engine) == [("PreToolUse", None, "interrupted", "")]
    for _ in range(200):
        if not _processes_with(token):
            break
        await asyncio.sleep(0.05)
    assert _processes_with(token) == []


# --------------------------------------------------------------------------- trust


async def test_a_workspace_hook_in_an_untrusted_folder_never_runs(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    touch = f"touch {marker}"
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "hooks": {
                    "SessionStart": [hook(touch)],
                    "UserPromptSubmit": [hook(touch)],
                    "PreToolUse": [hook(touch)],
                    "PostToolUse": [hook(touch)],
                    "Stop": [hook(touch)],
                    "SessionEnd": [hook(touch)],
                }
            }
        )
    )
    loaded = load_workspace(workspace, Overrides(base_url=server.base_url), env={})
    assert loaded.question is not None
    assert sorted(i.key for i in loaded.question.ignored) == [
        "hooks.PostToolUse",
        "hooks.PreToolUse",
        "hooks.SessionEnd",
        "hooks.SessionStart",
        "hooks.Stop",
        "hooks.UserPromptSubmit",
    ]
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "c1", command="echo hi"),)),
        ScriptedReply(text="ok"),
    )
    engine = make_engine(loaded.report.config, workspace, store)
    events = await run_prompt(engine, "go")

    assert not of_type(events, p.HookStarted)
    assert not marker.exists()
    assert hook_runs(store, engine.state.id) == []

    trusted = load_workspace(
        workspace, Overrides(base_url=server.base_url), env={}, assume_trusted=True
    )
    server.add(ScriptedReply(text="ok"))
    await run_prompt(make_engine(trusted.report.config, workspace, store), "go")
    assert marker.exists()  # the same file, trusted: its hooks run


# --------------------------------------------------------------------------- the rest

RECORD_INPUT = """import json, os, sys
data = json.load(sys.stdin)
with open(os.environ["OUT"], "a") as out:
    out.write(json.dumps(data) + "\\n")
if data["hook_event_name"] == "SessionStart":
    print("the build uses make")
"""


async def test_every_event_gets_its_documented_input(
    server: ScriptedServer,
    store: Store,
    workspace: Path,
    tmp_path: Path,
    hermes_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "inputs.jsonl"
    monkeypatch.setenv("OUT", str(out))
    rec = script(tmp_path / "record.py", RECORD_INPUT)
    every = [hook(f"{PY} {rec}")]
    user_hooks(
        hermes_home,
        SessionStart=every,
        UserPromptSubmit=every,
        PreToolUse=every,
        PostToolUse=every,
        Notification=every,
        Stop=every,
        SessionEnd=every,
    )
    server.add(
        ScriptedReply(
            tool_calls=(call("patch", "p1", path="a.txt", old_string="a", new_string="b"),)
        ),
        ScriptedReply(text="done"),
    )
    (workspace / "a.txt").write_text("a\n")
    engine = engine_for(server, workspace, store, approval_mode="yolo")
    events = await run_prompt(engine, "edit a")
    inputs = [json.loads(line) for line in out.read_text().splitlines()]

    assert [i["hook_event_name"] for i in inputs] == [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
        "Notification",
        "SessionEnd",
    ]
    sid = engine.state.id
    transcript = str(hermes_home / "transcripts" / f"{sid}.jsonl")
    common = {
        "session_id": sid,
        "transcript_path": transcript,
        "cwd": str(workspace),
        "permission_mode": "bypassPermissions",
        "hermes_approval_mode": "yolo",
    }
    tool = {
        "tool_name": "Edit",
        "tool_input": {
            "path": "a.txt",
            "old_string": "a",
            "new_string": "b",
            "file_path": str(workspace / "a.txt"),
        },
        "tool_use_id": "p1",
        "hermes_tool_name": "patch",
    }
    by_event = {i.pop("hook_event_name"): i for i in inputs}
    assert by_event["SessionStart"] == common | {"source": "startup"}
    assert by_event["UserPromptSubmit"] == common | {"prompt": "edit a"}
    assert by_event["PreToolUse"] == common | tool
    response = by_event["PostToolUse"].pop("tool_response")
    assert by_event["PostToolUse"] == common | tool
    assert (response["success"], response["filePath"]) == (True, str(workspace / "a.txt"))
    assert by_event["Stop"] == common | {
        "stop_hook_active": False,
        "last_assistant_message": "done",
    }
    assert by_event["Notification"] == common | {
        "message": "hermes is waiting for your input",
        "notification_type": "idle_prompt",
    }
    assert by_event["SessionEnd"] == common | {"reason": "exit"}
    # SessionStart's stdout is context before the prompt; the transcript file holds the
    # session as far as it went when the last hook ran.
    assert sent(server, 0)[:2] == [
        {
            "role": "user",
            "content": '<hook_context event="SessionStart">\nthe build uses make\n</hook_context>',
        },
        {"role": "user", "content": "edit a"},
    ]
    text = await asyncio.to_thread(Path(transcript).read_text)
    rows = [json.loads(line) for line in text.splitlines()]
    assert rows[0]["id"] == sid and [r.get("role") for r in rows[1:]] == [
        "user",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert [e.hook_event for e in of_type(events, p.HookContext)] == ["SessionStart"]


async def test_hook_context_is_replayed_as_hook_context_on_resume(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    ctx = script(tmp_path / "context.sh", "#!/bin/sh\necho 'on call: alice'\n")
    user_hooks(hermes_home, UserPromptSubmit=[hook(str(ctx))])
    server.add(ScriptedReply(text="noted"))
    engine = engine_for(server, workspace, store)
    await run_prompt(engine, "who is on call?")

    (hermes_home / "config.yaml").unlink()
    record = store.get_session(engine.state.id)
    resumed = make_engine(make_config(server.base_url, workspace), workspace, store, resume=record)
    await resumed.start()
    await resumed.submit(p.Shutdown())
    replayed = [e async for e in resumed.events()]
    messages = (p.UserMessage, p.HookContext, p.AssistantMessage)
    assert [e for e in replayed if isinstance(e, messages)] == [
        p.UserMessage("who is on call?", replay=True),
        p.HookContext("UserPromptSubmit", "on call: alice", replay=True),
        p.AssistantMessage("noted", replay=True),
    ]
    assert [m.role for m in resumed.state.history] == ["user", "user", "assistant"]


def test_hook_runs_are_kept_in_the_store(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    run = HookRunRecord(
        "PreToolUse",
        "./guard.sh",
        12.5,
        2,
        "blocked",
        "deny",
        "no",
        "/h/c.yaml",
        "c1",
        "terminal",
        1.0,
    )
    from hermes.store.hook_runs import record_hook_run

    record_hook_run(store, sid, run)
    assert hook_runs(store, sid) == [run]
    store.delete_session(sid)
    assert hook_runs(store, sid) == []


async def test_a_message_typed_during_a_turn_goes_through_user_prompt_submit(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path, hermes_home: Path
) -> None:
    block = script(
        tmp_path / "block.py",
        "import json, sys\n"
        "if 'password' in json.load(sys.stdin)['prompt']:\n"
        "    print('no passwords', file=sys.stderr)\n"
        "    sys.exit(2)\n",
    )
    user_hooks(hermes_home, UserPromptSubmit=[hook(f"{PY} {block}")])
    server.add(ScriptedReply(text="hi"))
    engine = engine_for(server, workspace, store)
    await engine.start()
    await engine.submit(p.UserTurn("hello"))
    await engine.submit(p.UserTurn("my password is hunter2"))  # the turn runs: queued
    events = await drive(engine, "and the weather?")  # queued too, delivered
    await engine.submit(p.Shutdown())

    assert [m["content"] for m in sent(server, 0)] == ["hello", "and the weather?"]
    assert "a UserPromptSubmit hook dropped your message: no passwords" in [
        w.message for w in of_type(events, p.Warning)
    ]


async def test_notification_when_an_approval_waits_and_pre_compact(
    server: ScriptedServer,
    store: Store,
    workspace: Path,
    tmp_path: Path,
    hermes_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "inputs.jsonl"
    monkeypatch.setenv("OUT", str(out))
    rec = script(tmp_path / "record.py", RECORD_INPUT)
    user_hooks(
        hermes_home,
        Notification=[hook(f"{PY} {rec}", "permission_prompt")],
        PreCompact=[hook(f"{PY} {rec}")],
    )
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w1", path="a.txt", content="a"),)),
        ScriptedReply(text="ok"),
    )
    engine = engine_for(server, workspace, store, interactive=True)
    await engine.start()
    await drive(engine, "write", answer=lambda ev: "once")
    await engine.wait_idle()
    await engine.submit(p.Compact())
    async for ev in engine.events():
        if isinstance(ev, p.Warning) and ev.message.startswith("nothing to compact"):
            break
    await engine.submit(p.Shutdown())

    inputs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [
        (i["hook_event_name"], i.get("notification_type") or i.get("trigger")) for i in inputs
    ] == [("Notification", "permission_prompt"), ("PreCompact", "manual")]
    assert inputs[0]["message"] == "hermes needs your approval to run write_file"
