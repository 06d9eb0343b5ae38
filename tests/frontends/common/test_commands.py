"""The shared slash commands, driven through a recording Surface (no textual, no
prompt_toolkit); the grant revoke against a real engine and store, resumed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hermes import protocol as p
from hermes.cli.main import build_parser
from hermes.engine.engine import Engine
from hermes.engine.startup import Setup, prepare_session
from hermes.frontends.common.commands import Choice, SlashCommands, facts_command
from hermes.frontends.common.sessions import NotReady
from hermes.frontends.common.transcript import Transcript
from hermes.safety.policy import ApprovalPolicy
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply


@dataclass
class FakeState:
    workspace: Path
    policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)


class FakeEngine:
    """Records the ops; revokes grants from its policy."""

    def __init__(self, workspace: Path) -> None:
        self.state = FakeState(workspace)
        self.ops: list[p.Op] = []
        self.revoked: list[str] = []

    async def submit(self, op: p.Op) -> None:
        self.ops.append(op)

    async def revoke_grant(self, rule: str) -> bool:
        self.revoked.append(rule)
        return self.state.policy.revoke(rule)


class FakeSurface:
    """A Surface that remembers what the commands asked of it."""

    keys_help = "Keys: none here"

    def __init__(self, engine: Any = None) -> None:
        self._engine = engine
        self.transcript = Transcript(lambda: 0.0)
        self.said: list[tuple[str, str]] = []
        self.sent: list[str] = []
        self.choices: list[Choice] = []
        self.calls: list[str] = []
        self.copied: list[str] = []

    @property
    def engine(self) -> Any:
        if self._engine is None:
            raise NotReady("hermes is still starting")
        return self._engine

    def text(self) -> str:
        return "\n".join(t for t, _ in self.said)

    def say(self, text: str, level: str = "info") -> None:
        self.said.append((text, level))

    def refresh_status(self) -> None:
        self.calls.append("refresh_status")

    async def send(self, text: str) -> None:
        self.sent.append(text)

    async def choose(self, choice: Choice) -> None:
        self.choices.append(choice)

    async def switch_session(self, resume: str | None) -> None:
        self.calls.append(f"switch {resume}")

    async def pick_session(self) -> None:
        self.calls.append("pick")

    async def clear(self) -> None:
        self.calls.append("clear")

    def copy_to_clipboard(self, text: str) -> None:
        self.copied.append(text)

    async def quit(self) -> None:
        self.calls.append("quit")


@pytest.fixture
def engine(workspace: Path) -> FakeEngine:
    return FakeEngine(workspace)


@pytest.fixture
def surface(engine: FakeEngine) -> FakeSurface:
    return FakeSurface(engine)


async def test_unknown_command_points_at_help(surface: FakeSurface) -> None:
    await SlashCommands(surface).run("/nope", "")
    assert surface.said == [("unknown command /nope; try /help", "warning")]


async def test_help_lists_every_command_and_the_surface_keys(surface: FakeSurface) -> None:
    await SlashCommands(surface).run("/help", "")
    (text, level), *_ = surface.said
    assert text.startswith("Commands:\n") and text.endswith("\nKeys: none here")
    assert "/approvals" in text and "/rewind" in text and level == "info"


async def test_a_command_before_the_session_opens_says_so() -> None:
    surface = FakeSurface(engine=None)
    await SlashCommands(surface).run("/undo", "")
    assert surface.said == [("hermes is still starting; try /undo again in a moment", "warning")]


async def test_sessions_screen_and_quit_reach_the_surface(surface: FakeSurface) -> None:
    commands = SlashCommands(surface)
    for name, arg in [
        ("/new", ""),
        ("/resume", "abc123"),
        ("/resume", ""),
        ("/sessions", ""),
        ("/clear", ""),
        ("/quit", ""),
    ]:
        await commands.run(name, arg)
    assert surface.calls == ["switch None", "switch abc123", "pick", "pick", "clear", "quit"]


async def test_model_shows_then_switches(surface: FakeSurface, engine: FakeEngine) -> None:
    commands = SlashCommands(surface)
    surface.transcript.status.model = "first-model"
    await commands.run("/model", "")
    await commands.run("/model", "second-model")
    assert surface.said == [
        ("model: first-model (switch with /model NAME)", "info"),
        ("model switched to second-model from the next request on", "info"),
    ]
    assert engine.ops == [p.SetModel("second-model")]
    assert surface.transcript.status.model == "second-model"
    assert surface.calls == ["refresh_status"]


async def test_approvals_mode_usage_and_revoke(surface: FakeSurface, engine: FakeEngine) -> None:
    commands = SlashCommands(surface)
    engine.state.policy.grant(("terminal:touch",))
    await commands.run("/approvals", "auto-edit")
    await commands.run("/approvals", "sometimes")
    await commands.run("/approvals", "revoke terminal:touch")
    await commands.run("/approvals", "revoke terminal:touch")
    assert engine.ops == [p.SetApprovalMode("auto-edit")]
    assert surface.transcript.status.approval_mode == "auto-edit"
    assert surface.said == [
        ("approval mode: auto-edit", "info"),
        ("usage: /approvals [ask|auto-edit|auto|yolo] or /approvals revoke RULE", "warning"),
        ("revoked 'terminal:touch': matching calls ask again", "info"),
        ("no grant 'terminal:touch' in this session", "warning"),
    ]
    assert engine.revoked == ["terminal:touch", "terminal:touch"]


async def test_bare_approvals_offers_the_grants_and_picking_one_revokes_it(
    surface: FakeSurface, engine: FakeEngine
) -> None:
    engine.state.policy.grant(("terminal:touch", "terminal:ls"))
    await SlashCommands(surface).run("/approvals", "")
    (choice,) = surface.choices
    assert choice.title == "Approval mode: ask. 'Always' grants of this session:"
    assert list(choice.rows) == [
        ("terminal:touch", "revoke  terminal:touch"),
        ("terminal:ls", "revoke  terminal:ls"),
    ]
    assert (choice.action, choice.more) == ("revokes", "/approvals MODE switches mode")
    await choice.then("terminal:ls")
    assert [str(r) for r in engine.state.policy.grants] == ["terminal:touch"]
    assert engine.revoked == ["terminal:ls"]


async def test_undo_redo_rewind_parse_their_arguments(
    surface: FakeSurface, engine: FakeEngine
) -> None:
    commands = SlashCommands(surface)
    await commands.run("/undo", "3")
    await commands.run("/undo", "x")
    await commands.run("/redo", "")
    await commands.run("/rewind", "2")
    await commands.run("/rewind", "4 files")
    await commands.run("/rewind", "5 conversation")
    await commands.run("/rewind", "6 everything")
    assert engine.ops == [
        p.Undo(turns=3),
        p.Undo(turns=1),
        p.Redo(),
        p.Rewind(2, files=True, conversation=True),
        p.Rewind(4, files=True, conversation=False),
        p.Rewind(5, files=False, conversation=True),
    ]
    assert surface.said == [("usage: /rewind [TURN [files|conversation|both]]", "warning")]


async def test_skills_unknown_name_and_the_list(surface: FakeSurface) -> None:
    commands = SlashCommands(surface)
    await commands.run("/skills", "no-such-skill")
    text, level = surface.said[0]
    assert text.startswith("no skill 'no-such-skill'; installed: ") and level == "warning"
    await commands.run("/skills", "")
    (choice,) = surface.choices
    assert choice.title == "Skills: pick one to use it" and choice.action == "uses the skill"
    assert choice.rows, "the bundled skills are listed"
    name = choice.rows[0][0]
    await choice.then(name)
    assert len(surface.sent) == 1 and name in surface.sent[0]


def test_facts_command_lists_and_forgets(store: Store, workspace: Path) -> None:
    from hermes.memory.facts.store import FactStore

    added = FactStore(store).add(
        "tests run with make", workspace=str(workspace), category="project"
    )
    fact_id = added.added[0].id
    assert facts_command(store, workspace, "") == (
        f"#{fact_id} [project] tests run with make · {added.added[0].scope}\n"
        "(forget one with /facts forget ID)"
    )
    assert facts_command(store, workspace, f"forget #{fact_id}") == f"forgot fact #{fact_id}"
    assert facts_command(store, workspace, f"forget {fact_id}") == f"no fact #{fact_id}"
    assert facts_command(store, workspace, "") == "no facts yet"
    assert facts_command(store, workspace, "forget me") == "usage: /facts, or /facts forget ID"


# ---------------------------------------------------------------------- a real session


def _open(server: ScriptedServer, workspace: Path, *flags: str) -> Setup:
    args = build_parser().parse_args(["--base-url", server.base_url, "-C", str(workspace), *flags])
    return prepare_session(args, interactive=True)


async def _grant_always(engine: Engine, command: str) -> None:
    """Run one turn whose terminal call is answered "always"."""
    await engine.submit(p.UserTurn(f"run {command}"))
    async for event in engine.events():
        if isinstance(event, p.ApprovalRequested):
            await engine.submit(p.ApprovalReply(event.call_id, "always"))
        if isinstance(event, p.TurnComplete | p.TurnAborted):
            return


async def test_a_revoked_grant_stays_gone_on_resume(
    server: ScriptedServer, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("terminal", '{"command": "touch a.txt"}', "t1"),)),
        ScriptedReply(text="done"),
    )
    setup = _open(server, workspace)
    engine, store = setup.engine, setup.store
    try:
        await engine.start()
        await asyncio.wait_for(_grant_always(engine, "touch a.txt"), 20)
        sid = engine.state.id
        assert [str(r) for r in engine.state.policy.grants] == ["terminal:touch"]
        assert store.session_grants(sid) == ["terminal:touch"]

        surface = FakeSurface(engine)
        await SlashCommands(surface).run("/approvals", "revoke terminal:touch")
        assert surface.said == [("revoked 'terminal:touch': matching calls ask again", "info")]
        await engine.submit(p.Shutdown())

        resumed = Engine.create(
            config=engine.state.config,
            store=store,
            workspace=workspace,
            interactive=True,
            resume=store.get_session(sid),
        )
        assert resumed.state.id == sid
        assert resumed.state.policy.grants == []
        assert store.session_grants(sid) == []
        await resumed.state.model.aclose()
    finally:
        setup.close()


# ---------------------------------------------------------------------- custom commands, /hooks


class IdleEngine(FakeEngine):
    busy = False


def _command(home: Path, rel: str, text: str) -> Path:
    path = home / "commands" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


async def test_custom_commands_are_in_help_and_completion(
    surface: FakeSurface, hermes_home: Path
) -> None:
    from hermes.frontends.common.complete import slash_completions

    _command(
        hermes_home,
        "review.md",
        "---\ndescription: Review a PR\nargument-hint: [pr]\n---\nReview #$1\n",
    )
    _command(hermes_home, "git/sync.md", "Pull and rebase onto main\n")
    shadow = _command(hermes_home, "model.md", "Not the built-in\n")
    commands = SlashCommands(surface)
    await commands.run("/help", "")
    text = surface.text()
    assert "Your commands:\n" in text
    assert "/git:sync" in text and "Pull and rebase onto main (user)" in text
    assert "Review a PR [pr] (user)" in text
    assert (
        f"! refused command /model from {shadow}: it would shadow the built-in /model; "
        "rename the file"
    ) in text
    found = slash_completions("/rev", 4, commands.custom_help())
    assert [(c.value, c.help) for c in found] == [("/review", "Review a PR [pr] (user)")]
    found = slash_completions("/g", 2, commands.custom_help())
    assert [(c.value, c.help) for c in found] == [("/git:sync", "Pull and rebase onto main (user)")]


async def test_a_custom_command_sends_its_prompt(
    surface: FakeSurface, engine: FakeEngine, hermes_home: Path
) -> None:
    _command(hermes_home, "git/sync.md", "Pull $1 and rebase onto ${2}main\n")
    await SlashCommands(surface).run("/git:sync", "origin")
    assert surface.sent == ["Pull origin and rebase onto ${2}main"]
    assert surface.said == [] and engine.ops == []


async def test_a_custom_commands_model_runs_that_turn_only(
    workspace: Path, hermes_home: Path
) -> None:
    _command(hermes_home, "quick.md", "---\nmodel: small-model\n---\nAnswer briefly: $ARGUMENTS\n")
    engine = IdleEngine(workspace)
    surface = FakeSurface(engine)
    await SlashCommands(surface).run("/quick", "what is 2+2?")
    assert engine.ops == [p.UserTurn("Answer briefly: what is 2+2?", model="small-model")]
    assert surface.said == [("/quick: this turn uses model small-model", "info")]


async def test_workspace_commands_need_trust_or_the_flag(
    surface: FakeSurface, workspace: Path
) -> None:
    path = workspace / ".hermes" / "commands" / "ship.md"
    path.parent.mkdir(parents=True)
    path.write_text("Ship it\n")
    await SlashCommands(surface).run("/ship", "")
    assert surface.said == [("unknown command /ship; try /help", "warning")]
    await SlashCommands(surface, assume_trusted=True).run("/ship", "")
    assert surface.sent == ["Ship it"]


async def test_hooks_lists_what_is_configured_and_from_where(workspace: Path) -> None:
    from hermes.config import parse_config

    @dataclass
    class State(FakeState):
        config: Any = None

    engine = FakeEngine(workspace)
    engine.state = State(
        workspace,
        config=parse_config(
            {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"command": "./guard.sh"}]}]}},
            "/home/me/.hermes/config.yaml",
        ),
    )
    surface = FakeSurface(engine)
    await SlashCommands(surface).run("/hooks", "")
    assert surface.said == [
        (
            "PreToolUse  (matcher: tool name)\n"
            "  Bash  ./guard.sh  (timeout 60 s; from /home/me/.hermes/config.yaml)\n"
            "tool names (matchers and tool_name): terminal = Bash, read_file = Read, "
            "write_file = Write, patch = Edit, search_files = Grep (target content), "
            "Glob (target files)",
            "info",
        )
    ]


async def test_copy_copies_the_last_answer_or_its_code_block() -> None:
    from hermes import protocol as p

    surface = FakeSurface()
    surface.transcript.apply(p.AssistantMessage("Use this:\n\n```sh\nmake test\n```\n"))
    commands = SlashCommands(surface)
    await commands.run("/copy", "")
    await commands.run("/copy", "code")
    await commands.run("/copy", "everything")
    assert surface.copied == ["Use this:\n\n```sh\nmake test\n```\n", "make test"]
    assert surface.said == [
        ("copied the last answer (5 lines, 31 characters)", "info"),
        ("copied the last code block (1 line, 9 characters)", "info"),
        ("usage: /copy (the last answer) or /copy code (its last code block)", "warning"),
    ]
