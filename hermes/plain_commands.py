"""Slash commands of the plain REPL: the same set as the TUI, answered as printed lines.

The session picker is a numbered list: type a number to resume, words to search
(full-text when the store can), or an empty line to stay.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.text import Text

from hermes import protocol as p
from hermes.startup import StartupError
from hermes.tui.complete import SLASH_COMMANDS
from hermes.tui.facts_view import facts_command
from hermes.tui.format import age_label, one_line, short_rule
from hermes.tui.sessions import SessionRow, find_sessions

if TYPE_CHECKING:
    from hermes.plain import PlainRepl

PICKER_ROWS = 20
KEYS = (
    "Keys: Enter send · Ctrl+J newline · Up/Down history · Tab complete · Esc interrupt · "
    "Ctrl+C twice or Ctrl+D quit\n"
    "Approvals: y once · a always (this session) · n deny · Esc deny and stop the turn"
)
_MODES: dict[str, p.ApprovalMode] = {m: m for m in p.APPROVAL_MODES}


class PlainCommands:
    """Runs ``/name arg`` for one REPL."""

    def __init__(self, repl: PlainRepl) -> None:
        self.repl = repl

    def say(self, text: str, style: str = "") -> None:
        """Print one line."""
        self.repl.console.print(Text(text, style=style))

    async def run(self, name: str, arg: str) -> None:
        """Run one command; unknown names point at /help."""
        handler = getattr(self, f"cmd_{name[1:]}", None) if name in SLASH_COMMANDS else None
        if handler is None:
            self.say(f"unknown command {name}; try /help", "yellow")
            return
        await handler(arg)

    async def cmd_help(self, arg: str) -> None:
        width = max(len(n) for n in SLASH_COMMANDS)
        for name, text in SLASH_COMMANDS.items():
            self.say(f"  {name.ljust(width)}  {text}")
        self.say(KEYS, "dim")

    async def cmd_new(self, arg: str) -> None:
        await self._open(None)

    async def cmd_resume(self, arg: str) -> None:
        if arg:
            await self._open(arg)
        else:
            await self.pick_session()

    async def cmd_sessions(self, arg: str) -> None:
        await self.pick_session()

    async def cmd_compact(self, arg: str) -> None:
        await self.repl.engine.submit(p.Compact())

    async def cmd_facts(self, arg: str) -> None:
        store, workspace = self.repl.setup.store, self.repl.engine.state.workspace
        self.say(await asyncio.to_thread(facts_command, store, workspace, arg))

    async def cmd_model(self, arg: str) -> None:
        status = self.repl.transcript.status
        if not arg:
            self.say(f"model: {status.model} (switch with /model NAME)")
            return
        await self.repl.engine.submit(p.SetModel(arg))
        status.model = arg
        self.say(f"model switched to {arg} from the next request on")

    async def cmd_approvals(self, arg: str) -> None:
        policy = self.repl.engine.state.policy
        words = arg.split(maxsplit=1)
        if words and words[0] in _MODES:
            await self.repl.engine.submit(p.SetApprovalMode(_MODES[words[0]]))
            self.repl.transcript.status.approval_mode = words[0]
            self.say(f"approval mode: {words[0]}")
        elif len(words) == 2 and words[0] == "revoke":
            done = policy.revoke(words[1])
            self.say(f"revoked '{words[1]}'" if done else f"no grant '{words[1]}'")
        elif words:
            self.say("usage: /approvals [ask|auto-edit|yolo] or /approvals revoke RULE", "yellow")
        else:
            workspace = str(self.repl.engine.state.workspace)
            grants = [short_rule(str(rule), workspace) for rule in policy.grants]
            self.say(f"approval mode: {policy.mode}")
            self.say("'always' grants: " + (", ".join(grants) if grants else "none"))
            if policy.grants:
                self.say("revoke one with /approvals revoke RULE", "dim")

    async def cmd_skills(self, arg: str) -> None:
        from hermes.skills import discover_skills, skill_request_text

        scan = await asyncio.to_thread(discover_skills, self.repl.engine.state.workspace)
        if arg:
            if scan.get(arg) is None:
                self.say(f"no skill '{arg}'", "yellow")
            else:
                await self.repl.send(skill_request_text(arg))
            return
        if not scan.skills:
            self.say("no skills installed")
        for skill in scan.skills:
            self.say(f"  {skill.name}  —  {one_line(skill.description, 90)}")
        if scan.skills:
            self.say("use one with /skills NAME", "dim")

    async def cmd_clear(self, arg: str) -> None:
        self.repl.console.clear()

    async def cmd_quit(self, arg: str) -> None:
        self.repl.quitting = True

    # ------------------------------------------------------------------ sessions

    async def pick_session(self) -> None:
        """List sessions by number; a number resumes, words search, Enter stays."""
        repl = self.repl
        query = ""
        while True:
            rows = await asyncio.to_thread(
                find_sessions,
                repl.setup.store,
                repl.engine.state.workspace,
                query,
                exclude=repl.engine.state.id,
            )
            rows = rows[:PICKER_ROWS]
            self._list(rows)
            try:
                answer = await repl.session.prompt_async("resume # (words search, Enter to stay): ")
            except (EOFError, KeyboardInterrupt):
                return
            answer = answer.strip()
            if not answer:
                return
            if answer.isdigit() and 1 <= int(answer) <= len(rows):
                await self._open(rows[int(answer) - 1].record.id)
                return
            query = answer

    def _list(self, rows: list[SessionRow]) -> None:
        if not rows:
            self.say("no sessions found")
        now = time.time()
        for i, row in enumerate(rows, 1):
            r = row.record
            line = Text(f"{i:>3}  ")
            line.append(one_line(r.title or "(untitled)", 60), style="bold")
            line.append(f"  {age_label(r.updated_at, now)} · {r.message_count} msg", style="dim")
            if not row.here:
                line.append(f" · {r.workspace}", style="dim italic")
            self.repl.console.print(line)
            if row.snippet:
                self.say("       " + one_line(row.snippet, 90), "dim")

    async def _open(self, resume: str | None) -> None:
        launcher = self.repl.launcher
        if launcher is None:
            self.say("switching sessions is not available here", "yellow")
            return
        try:
            setup = await asyncio.to_thread(launcher.open, resume)
        except StartupError as exc:
            self.say(str(exc), "red")
            return
        await self.repl.switch(setup)

    # ------------------------------------------------------------------ checkpoints, MCP

    async def cmd_undo(self, arg: str) -> None:
        turns = int(arg) if arg.strip().isdigit() else 1
        await self.repl.engine.submit(p.Undo(turns=max(1, turns)))

    async def cmd_redo(self, arg: str) -> None:
        await self.repl.engine.submit(p.Redo())

    async def cmd_rewind(self, arg: str) -> None:
        from hermes.checkpoints import list_turns
        from hermes.tui.undo_text import turn_rows

        words = arg.split()
        scope = words[1] if len(words) > 1 else "both"
        if not words or not words[0].isdigit() or scope not in ("files", "conversation", "both"):
            for _, label in turn_rows(await list_turns(self.repl.engine.state)):
                self.say(label)
            self.say("/rewind TURN [files|conversation|both] rewinds to before TURN", "dim")
            return
        await self.repl.engine.submit(
            p.Rewind(int(words[0]), files=scope != "conversation", conversation=scope != "files")
        )

    async def cmd_diff(self, arg: str) -> None:
        from hermes.checkpoints import diff

        turn = int(arg) if arg.strip().isdigit() else None
        text = await diff(self.repl.engine.state, turn)
        self.say(text or "no file changes by the agent")

    async def cmd_mcp(self, arg: str) -> None:
        from hermes.mcp_status import mcp_status_lines

        words = arg.split()
        manager = self.repl.engine.mcp
        if len(words) == 2 and words[0] == "reconnect":
            try:
                status = await manager.reconnect(words[1])
            except ValueError as exc:
                self.say(str(exc), "yellow")
                return
            self.say(f"{words[1]}: {status.state}")
            return
        for line in mcp_status_lines(manager):
            self.say(line)
