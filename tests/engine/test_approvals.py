"""Approvals through the engine: replies as ops, grants, path escapes, persistence."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from hermes import protocol as p
from hermes.engine.engine import Engine
from hermes.safety.saved_rules import list_rules, revoke_rule
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import Answer, make_config, make_engine, of_type, run_prompt


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


async def interactive_run(engine: Engine, prompt: str, answer: Answer) -> list[p.Event]:
    """Run one prompt on an interactive engine, answering each approval with ``answer``."""
    return await run_prompt(engine, prompt, answer=answer)


async def test_once_always_and_deny(server: ScriptedServer, store: Store, workspace: Path) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "c1", command="mkdir one"),)),
        ScriptedReply(tool_calls=(call("terminal", "c2", command="mkdir -p two"),)),
        ScriptedReply(tool_calls=(call("terminal", "c3", command="mkdir three"),)),
        ScriptedReply(tool_calls=(call("terminal", "c4", command="touch four.txt"),)),
        ScriptedReply(text="done"),
    )
    answers = {"c1": "once", "c2": "always", "c4": "deny"}
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    events = await interactive_run(engine, "go", lambda ev: answers[ev.call_id])  # type: ignore[return-value]
    asked = [e.call_id for e in of_type(events, p.ApprovalRequested)]
    # c3 is covered by the "always" grant for `mkdir` made at c2; c4 (touch) asks again.
    assert asked == ["c1", "c2", "c4"]
    req = of_type(events, p.ApprovalRequested)[1]
    assert req.always_rules == ("terminal:mkdir",)
    assert req.reason == "approval mode ask: asks: mkdir is not read-only"
    assert sorted(os.listdir(workspace)) == ["one", "three", "two"]
    ends = {e.call_id: e.status for e in of_type(events, p.ToolCallEnd)}
    assert ends == {"c1": "done", "c2": "done", "c3": "done", "c4": "denied"}
    denied_msg = next(m for m in server.requests[4].messages if m.get("tool_call_id") == "c4")
    assert denied_msg["content"] == "denied by the user"
    assert engine.state.policy.grants[0].pattern == "mkdir"


async def test_always_is_not_offered_for_a_redirect(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "c1", command="echo hi > out.txt"),)),
        ScriptedReply(text="ok"),
    )
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    events = await interactive_run(engine, "go", lambda ev: "always")
    req = of_type(events, p.ApprovalRequested)[0]
    assert (req.always_rules, req.reason) == ((), "approval mode ask: asks: redirect into out.txt")
    assert (workspace / "out.txt").read_text() == "hi\n"
    assert engine.state.policy.grants == []


async def test_abort_stops_the_turn_and_reports_every_call(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=(
                call("write_file", "w1", path="a.txt", content="a"),
                call("write_file", "w2", path="b.txt", content="b"),
            )
        ),
        ScriptedReply(text="never"),
    )
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    events = await interactive_run(engine, "go", lambda ev: "abort")
    assert of_type(events, p.TurnAborted) == [
        p.TurnAborted("denied by the user, who stopped the turn")
    ]
    assert [(e.call_id, e.status) for e in of_type(events, p.ToolCallEnd)] == [
        ("w1", "denied"),
        ("w2", "cancelled"),
    ]
    assert os.listdir(workspace) == []
    # The stored history is one the API accepts: every call has a result.
    roles = [(m.message.role, m.message.tool_call_id) for m in store.load_messages(engine.state.id)]
    assert roles == [("user", None), ("assistant", None), ("tool", "w1"), ("tool", "w2")]


@pytest.mark.parametrize(
    "target",
    ["../outside.txt", "link/escaped.txt", "{abs}"],
    ids=["dotdot", "symlinked-dir", "absolute"],
)
async def test_writes_outside_the_workspace_ask_even_in_auto_edit(
    target: str, server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (workspace / "link").symlink_to(outside)
    path = target.replace("{abs}", str(outside / "abs.txt"))
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w", path=path, content="x"),)),
        ScriptedReply(text="ok"),
    )
    cfg = make_config(server.base_url, workspace, approval_mode="auto-edit")
    engine = make_engine(cfg, workspace, store)

    events = await run_prompt(engine, "go")
    end = of_type(events, p.ToolCallEnd)[0]
    assert end.status == "denied"
    assert "writes outside the workspace" in end.output
    assert list(outside.iterdir()) == [] and not (tmp_path / "outside.txt").exists()


async def test_symlink_as_last_component_is_outside(
    server: ScriptedServer, store: Store, workspace: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (workspace / "innocent.txt").symlink_to(victim)
    server.add(
        ScriptedReply(
            tool_calls=(
                call("patch", "p", path="innocent.txt", old_string="keep", new_string="lost"),
            )
        ),
        ScriptedReply(text="ok"),
    )
    cfg = make_config(server.base_url, workspace, approval_mode="yolo")

    events = await run_prompt(make_engine(cfg, workspace, store), "go")
    assert of_type(events, p.ToolCallEnd)[0].status == "denied"
    assert victim.read_text() == "keep"


async def test_deny_rule_beats_allow_rule_end_to_end(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t", command="git push origin main"),)),
        ScriptedReply(text="ok"),
    )
    cfg = make_config(
        server.base_url,
        workspace,
        {"approvals": {"allow": ["terminal:git"], "deny": ["terminal:git push"]}},
        approval_mode="yolo",
    )

    events = await run_prompt(make_engine(cfg, workspace, store), "go")
    end = of_type(events, p.ToolCallEnd)[0]
    assert end.status == "denied"
    assert "denied by rule 'terminal:git push' in approvals.deny" in end.output


async def test_always_with_persist_writes_the_workspace_config(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="mkdir -p build"),)),
        ScriptedReply(text="ok"),
        ScriptedReply(tool_calls=(call("terminal", "t2", command="mkdir -p dist"),)),
        ScriptedReply(text="ok"),
    )
    raw = {"approvals": {"persist": True}}
    engine = make_engine(
        make_config(server.base_url, workspace, raw), workspace, store, interactive=True
    )
    first = await interactive_run(engine, "one", lambda ev: "always")
    assert [a.always_rules for a in of_type(first, p.ApprovalRequested)] == [("terminal:mkdir",)]
    saved = yaml.safe_load((workspace / ".hermes" / "config.yaml").read_text())
    assert saved == {"approvals": {"allow": ["terminal:mkdir"]}}
    # A new session loads the workspace config: the saved rule now covers mkdir.
    engine2 = make_engine(
        make_config(server.base_url, workspace, raw), workspace, store, interactive=True
    )
    second = await interactive_run(engine2, "two", lambda ev: "deny")
    assert of_type(second, p.ApprovalRequested) == []
    assert (workspace / "dist").is_dir()
    assert [(r.rule, r.kind) for r in list_rules(workspace)] == [("terminal:mkdir", "allow")]
    assert revoke_rule(workspace, "terminal:mkdir") == workspace / ".hermes" / "config.yaml"
    assert list_rules(workspace) == []


async def test_grants_survive_resume_and_are_revocable(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="mkdir a"),)),
        ScriptedReply(text="ok"),
        ScriptedReply(tool_calls=(call("terminal", "t2", command="mkdir b"),)),
        ScriptedReply(text="ok"),
    )
    cfg = make_config(server.base_url, workspace)
    engine = make_engine(cfg, workspace, store, interactive=True)
    await interactive_run(engine, "one", lambda ev: "always")
    sid = engine.state.id
    assert store.session_grants(sid) == ["terminal:mkdir"]
    resumed = make_engine(cfg, workspace, store, interactive=True, resume=store.get_session(sid))
    events = await interactive_run(resumed, "two", lambda ev: "deny")
    assert of_type(events, p.ApprovalRequested) == []
    assert (workspace / "b").is_dir()
    assert await resumed.revoke_grant("terminal:mkdir")
    assert store.session_grants(sid) == [] and resumed.state.policy.grants == []


def test_cli_lists_and_revokes_session_grants(workspace: Path) -> None:
    import subprocess
    import sys

    from hermes.store.sessions import open_store

    home_store = open_store()
    other = home_store.create_session(str(workspace), "m", "ask")
    home_store.add_grants(other.id, ["terminal:npm test"])
    home_store.close()
    cli = [sys.executable, "-m", "hermes", "approvals"]
    listed = subprocess.run(
        [*cli, "list", "--session", other.id, "-C", str(workspace)], capture_output=True, text=True
    )
    assert (
        listed.returncode == 0
        and f"grant  terminal:npm test  [session {other.id}]" in listed.stdout
    )
    revoked = subprocess.run(
        [*cli, "revoke", "terminal:npm test", "--session", other.id[:8]],
        capture_output=True,
        text=True,
    )
    assert revoked.returncode == 0, revoked.stderr
    again = subprocess.run(
        [*cli, "revoke", "terminal:npm test", "--session", other.id], capture_output=True, text=True
    )
    assert again.returncode == 2 and "no rule 'terminal:npm test'" in again.stderr
