"""The slash commands, one implementation for the TUI and the plain REPL (no textual here).

``/help /new /resume /sessions /compact /facts /model /approvals /skills /undo /redo
/rewind /diff /mcp /clear /quit``: each is a ``cmd_*`` method of :class:`SlashCommands`,
written against a :class:`Surface` -- what a front end offers: notices, a list to pick
from (a dialog in the TUI, a numbered list in the plain REPL), the open engine, session
switching. The TUI app and the plain REPL each implement it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hermes import protocol as p
from hermes.frontends.common.complete import SLASH_COMMANDS
from hermes.frontends.common.format import turn_rows
from hermes.frontends.common.sessions import NotReady
from hermes.skills.commands import CommandScan, Expanded, discover_commands, expand_line

if TYPE_CHECKING:
    from hermes.engine.engine import Engine
    from hermes.frontends.common.transcript import Transcript
    from hermes.store.sessions import Store

MODES: dict[str, p.ApprovalMode] = {m: m for m in p.APPROVAL_MODES}
"""The approval modes ``/approvals MODE`` switches to, by name."""

REWIND_SCOPES = ("files", "conversation", "both")


@dataclass(frozen=True)
class Choice:
    """A list to pick one row from; picking a row runs ``then`` with its value."""

    title: str
    rows: Sequence[tuple[str, str]]
    """``(value, label)`` pairs."""
    action: str
    """What picking does, e.g. ``revokes`` ("Enter revokes")."""
    then: Callable[[str], Awaitable[None]]
    more: str = ""
    """Another way to do it, shown with the list."""


class Surface(Protocol):
    """What the slash commands need from a front end."""

    @property
    def engine(self) -> Engine:
        """The open session's engine (NotReady while it is being opened)."""
        ...

    @property
    def transcript(self) -> Transcript:
        """What the front end shows; its ``status`` is the status line."""
        ...

    @property
    def keys_help(self) -> str:
        """The front end's keys, for ``/help``."""
        ...

    def say(self, text: str, level: str = "info") -> None:
        """Show a notice; ``level`` is ``info``, ``warning`` or ``error``."""
        ...

    def refresh_status(self) -> None:
        """Redraw the status line after a command changed it."""
        ...

    async def send(self, text: str) -> None:
        """Send ``text`` as a user message."""
        ...

    async def choose(self, choice: Choice) -> None:
        """Offer ``choice``; a picked row runs ``choice.then`` (maybe after this returns)."""
        ...

    async def switch_session(self, resume: str | None) -> None:
        """Leave this session for a new one (``None``) or for session ``resume``."""
        ...

    async def pick_session(self) -> None:
        """Let the user pick a session to resume."""
        ...

    async def clear(self) -> None:
        """Clear what the screen shows (the session is kept)."""
        ...

    def copy_to_clipboard(self, text: str) -> None:
        """Put ``text`` on the system clipboard (through the terminal)."""
        ...

    async def quit(self) -> None:
        """End the session and leave."""
        ...

    def show_todos(self) -> None:
        """``/todos``: show the to-do list (the TUI folds or unfolds its panel)."""
        ...


class SlashCommands:
    """Runs ``/name arg`` on one front end."""

    def __init__(self, surface: Surface, *, assume_trusted: bool = False) -> None:
        self.surface = surface
        # --trust-workspace: the workspace's .hermes/commands count as trusted this run.
        self.assume_trusted = assume_trusted
        self._custom: CommandScan | None = None

    async def run(self, name: str, arg: str) -> None:
        """Run ``/name arg``: a built-in command, else a custom command file; unknown names
        get a notice pointing at /help."""
        handler = getattr(self, f"cmd_{name[1:]}", None) if name in SLASH_COMMANDS else None
        if handler is None:
            try:
                scan = await asyncio.to_thread(self.custom_commands, refresh=True)
                expanded = expand_line(scan, name, arg)
                if expanded is not None:
                    await self.run_custom(expanded)
                    return
            except NotReady:
                pass
            self.surface.say(f"unknown command {name}; try /help", "warning")
            return
        try:
            await handler(arg)
        except NotReady:
            self.surface.say(f"hermes is still starting; try {name} again in a moment", "warning")

    # ------------------------------------------------------------------ sessions

    async def cmd_help(self, arg: str) -> None:
        """``/help``: the commands (built-in, then custom command files) and the keys."""
        scan = await asyncio.to_thread(self.custom_commands, refresh=True)
        custom = scan.help()
        width = max(len(n) for n in (*SLASH_COMMANDS, *custom))
        lines = [f"  {n.ljust(width)}  {h}" for n, h in SLASH_COMMANDS.items()]
        if custom:
            lines.append("Your commands:")
            lines.extend(f"  {n.ljust(width)}  {h}" for n, h in custom.items())
        lines.extend(f"  ! {w}" for w in scan.warnings)
        self.surface.say("Commands:\n" + "\n".join(lines) + "\n" + self.surface.keys_help)

    # ------------------------------------------------------------------ custom commands

    def custom_commands(self, *, refresh: bool = False) -> CommandScan:
        """The custom command files of this session's workspace (read again when
        ``refresh``); blocking: call it in a thread. NotReady while the session opens."""
        if self._custom is None or refresh:
            self._custom = discover_commands(
                self.surface.engine.state.workspace,
                reserved=SLASH_COMMANDS,
                trusted=True if self.assume_trusted else None,
            )
        return self._custom

    def custom_help(self) -> dict[str, str]:
        """``{name: description}`` of the custom commands for completion (as last read)."""
        try:
            return self.custom_commands().help()
        except NotReady:
            return {}

    async def run_custom(self, expanded: Expanded) -> None:
        """Send a custom command's prompt; its ``model`` runs that turn only."""
        from hermes.frontends.common.attachments import expand

        command = expanded.command
        engine = self.surface.engine
        if command.model and not engine.busy:
            self.surface.say(f"{command.name}: this turn uses model {command.model}")
            attached = await asyncio.to_thread(expand, expanded.prompt, engine.state.workspace)
            for problem in attached.problems:
                self.surface.say(problem, "warning")
            await engine.submit(p.UserTurn(attached.text, model=command.model))
            return
        await self.surface.send(expanded.prompt)  # @path attaches, as typed text does

    async def cmd_hooks(self, arg: str) -> None:
        """``/hooks``: what hooks are configured, and from which file."""
        from hermes.hooks.listing import hooks_lines

        self.surface.say("\n".join(hooks_lines(self.surface.engine.state.config.hooks)))

    async def cmd_new(self, arg: str) -> None:
        """``/new``: a new session."""
        await self.surface.switch_session(None)

    async def cmd_resume(self, arg: str) -> None:
        """``/resume [ID]``: session ID, or the picker."""
        if arg:
            await self.surface.switch_session(arg)
        else:
            await self.surface.pick_session()

    async def cmd_sessions(self, arg: str) -> None:
        """``/sessions``: the picker."""
        await self.surface.pick_session()

    async def cmd_compact(self, arg: str) -> None:
        """``/compact``: summarize the older part of the conversation now."""
        self.surface.say("compacting the conversation…")
        await self.surface.engine.submit(p.Compact())

    async def cmd_facts(self, arg: str) -> None:
        """``/facts [forget ID]``."""
        state = self.surface.engine.state
        self.surface.say(await asyncio.to_thread(facts_command, state.store, state.workspace, arg))

    async def cmd_model(self, arg: str) -> None:
        """``/model [NAME]``: show or switch the model."""
        status = self.surface.transcript.status
        if not arg:
            self.surface.say(f"model: {status.model} (switch with /model NAME)")
            return
        await self.surface.engine.submit(p.SetModel(arg))
        status.model = arg
        self.surface.refresh_status()
        self.surface.say(f"model switched to {arg} from the next request on")

    # ------------------------------------------------------------------ approvals, skills

    async def cmd_approvals(self, arg: str) -> None:
        """``/approvals [MODE | revoke RULE]``; bare: the grants, pick one to revoke it."""
        engine = self.surface.engine
        words = arg.split(maxsplit=1)
        if words and words[0] in MODES:
            await engine.submit(p.SetApprovalMode(MODES[words[0]]))
            self.surface.transcript.status.approval_mode = words[0]
            self.surface.refresh_status()
            self.surface.say(f"approval mode: {words[0]}")
            return
        if len(words) == 2 and words[0] == "revoke":
            await self.revoke(words[1])
            return
        if words:
            self.surface.say(
                "usage: /approvals [ask|auto-edit|auto|yolo] or /approvals revoke RULE", "warning"
            )
            return
        policy = engine.state.policy
        grants = [str(rule) for rule in policy.grants]
        await self.surface.choose(
            Choice(
                f"Approval mode: {policy.mode}. 'Always' grants of this session:",
                [(g, f"revoke  {g}") for g in grants],
                "revokes",
                self.revoke,
                "/approvals MODE switches mode",
            )
        )

    async def revoke(self, rule: str) -> None:
        """Take back the "always" grant ``rule``, in memory and in the session's database
        (so it stays gone on resume)."""
        if await self.surface.engine.revoke_grant(rule):
            self.surface.say(f"revoked '{rule}': matching calls ask again")
        else:
            self.surface.say(f"no grant '{rule}' in this session", "warning")

    async def cmd_skills(self, arg: str) -> None:
        """``/skills [NAME]``: use skill NAME; bare: the skills, pick one to use it."""
        from hermes.skills.catalog import discover_skills

        scan = await asyncio.to_thread(discover_skills, self.surface.engine.state.workspace)
        if arg:
            if scan.get(arg) is None:
                installed = ", ".join(scan.names()) or "none"
                self.surface.say(f"no skill '{arg}'; installed: {installed}", "warning")
            else:
                await self.use_skill(arg)
            return
        await self.surface.choose(
            Choice(
                "Skills: pick one to use it",
                [(s.name, f"{s.name}  —  {s.description}") for s in scan.skills],
                "uses the skill",
                self.use_skill,
            )
        )

    async def use_skill(self, name: str) -> None:
        """Ask the model to use skill ``name`` (as a user message)."""
        from hermes.skills.catalog import skill_request_text

        await self.surface.send(skill_request_text(name))

    # ------------------------------------------------------------------ checkpoints

    async def cmd_undo(self, arg: str) -> None:
        """``/undo [N]``: undo the last N turns' file changes."""
        turns = int(arg) if arg.strip().isdigit() else 1
        await self.surface.engine.submit(p.Undo(turns=max(1, turns)))

    async def cmd_redo(self, arg: str) -> None:
        """``/redo``: redo the last undo."""
        await self.surface.engine.submit(p.Redo())

    async def cmd_rewind(self, arg: str) -> None:
        """``/rewind [TURN [files|conversation|both]]``; bare: the turns, pick one."""
        words = arg.split()
        if words and words[0].isdigit():
            scope = words[1] if len(words) > 1 else "both"
            if scope not in REWIND_SCOPES:
                self.surface.say("usage: /rewind [TURN [files|conversation|both]]", "warning")
                return
            await self.rewind(int(words[0]), scope)
            return
        from hermes.engine.checkpoint_hooks import list_turns

        await self.surface.choose(
            Choice(
                "Rewind files and conversation to before which turn?",
                turn_rows(await list_turns(self.surface.engine.state)),
                "rewinds both",
                self._rewind_both,
                "/rewind TURN files|conversation for one",
            )
        )

    async def _rewind_both(self, turn: str) -> None:
        await self.rewind(int(turn), "both")

    async def rewind(self, turn: int, scope: str) -> None:
        """Rewind the files, the conversation or both to before ``turn``."""
        await self.surface.engine.submit(
            p.Rewind(
                turn,
                files=scope in ("files", "both"),
                conversation=scope in ("conversation", "both"),
            )
        )

    async def cmd_diff(self, arg: str) -> None:
        """``/diff [TURN]``: what the agent changed in a turn or in this session."""
        from hermes.engine.checkpoint_hooks import diff

        turn = int(arg) if arg.strip().isdigit() else None
        text = await diff(self.surface.engine.state, turn)
        scope = f"turn {turn}" if turn is not None else "this session"
        self.surface.say(
            f"changes by the agent in {scope}:\n{text}" if text else f"no file changes in {scope}"
        )

    # ------------------------------------------------------------------ MCP, screen

    async def cmd_mcp(self, arg: str) -> None:
        """``/mcp [reconnect NAME]``: the MCP servers' state."""
        from hermes.mcp.status import mcp_status_lines

        manager = self.surface.engine.mcp
        words = arg.split()
        if len(words) == 2 and words[0] == "reconnect":
            try:
                status = await manager.reconnect(words[1])
            except ValueError as exc:
                self.surface.say(str(exc), "warning")
                return
            self.surface.say(f"{words[1]}: {status.state}")
            return
        lines = mcp_status_lines(manager)
        self.surface.say(
            "\n".join(lines) if lines else "no MCP servers configured (mcp.servers in config)"
        )

    async def cmd_copy(self, arg: str) -> None:
        """``/copy [code]``: the last answer, or its last code block, to the clipboard."""
        from hermes.frontends.common.clipboard import copy_command

        text, message = copy_command(self.surface.transcript.entries, arg)
        if text is not None:
            self.surface.copy_to_clipboard(text)
        self.surface.say(message, "info" if text is not None else "warning")

    # ------------------------------------------------------------------ plan mode, to-dos

    async def cmd_plan(self, arg: str) -> None:
        """``/plan``: plan mode on (only reads run until you accept a plan); again: off."""
        engine = self.surface.engine
        await engine.submit(p.SetApprovalMode("plan"))  # toggles when already planning
        mode = engine.state.policy.mode
        self.surface.transcript.status.approval_mode = mode
        self.surface.refresh_status()
        if mode == "plan":
            self.surface.say(
                "plan mode: only reads run. The model ends planning with a plan: y accepts "
                "it, n (or a message) keeps planning. /plan again leaves."
            )
        else:
            self.surface.say(f"plan mode off: approval mode {mode}")

    async def cmd_todos(self, arg: str) -> None:
        """``/todos``: the session's to-do list."""
        self.surface.show_todos()

    async def cmd_clear(self, arg: str) -> None:
        """``/clear``: clear the screen."""
        await self.surface.clear()

    async def cmd_quit(self, arg: str) -> None:
        """``/quit``: leave."""
        await self.surface.quit()


# ---------------------------------------------------------------------- /facts


def facts_lines(store: Store, workspace: Path) -> list[str]:
    """One line per fact (``#id [category] content · scope``); [] when there are none."""
    try:
        from hermes.memory.facts.store import list_facts
    except ImportError:  # a build without the fact store
        return []
    return [f"#{f.id} [{f.category}] {f.content} · {f.scope}" for f in list_facts(store, workspace)]


def facts_command(store: Store, workspace: Path, arg: str) -> str:
    """What ``/facts [forget ID]`` answers: the facts that apply in this workspace, or
    the outcome of forgetting one."""
    words = arg.split()
    if not words:
        lines = facts_lines(store, workspace)
        if not lines:
            return "no facts yet"
        return "\n".join([*lines, "(forget one with /facts forget ID)"])
    if words[0] == "forget" and len(words) == 2 and words[1].lstrip("#").isdigit():
        from hermes.memory.facts.store import forget_fact

        fact_id = int(words[1].lstrip("#"))
        if forget_fact(store, fact_id):
            return f"forgot fact #{fact_id}"
        return f"no fact #{fact_id}"
    return "usage: /facts, or /facts forget ID"
