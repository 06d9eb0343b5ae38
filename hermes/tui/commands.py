"""Slash commands of the TUI: ``/help /new /resume /sessions /compact /facts /model
/approvals /skills /clear /quit`` (``/undo /redo /rewind /diff /mcp`` live in
:mod:`hermes.tui.commands_undo`).

Each one is a method of :class:`Commands`, which works on the app it was given; what
a command says appears as a notice in the conversation.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hermes import protocol as p
from hermes.tui.commands_undo import UndoCommands
from hermes.tui.complete import SLASH_COMMANDS
from hermes.tui.dialogs import ListDialog
from hermes.tui.facts_view import facts_command
from hermes.tui.link import NotReady

if TYPE_CHECKING:
    from hermes.tui.app import HermesApp

KEYS_HELP = """Keys:
  Enter send · Shift+Enter or Ctrl+J newline · Up/Down history · Tab complete
  Esc interrupt the turn (then Enter sends what you typed) · Ctrl+C twice quit · Ctrl+D quit
  PageUp/PageDown scroll · Ctrl+End back to the end · Ctrl+O expand the last output
  Approvals: y once · a always (this session) · n deny · Esc deny and stop the turn"""


_MODES: dict[str, p.ApprovalMode] = {m: m for m in p.APPROVAL_MODES}


class Commands:
    """The slash commands of one app."""

    def __init__(self, app: HermesApp) -> None:
        self.app = app
        self.undo = UndoCommands(app)

    async def run(self, name: str, arg: str) -> None:
        """Run ``/name arg``; unknown names get a notice pointing at /help."""
        method = f"cmd_{name[1:]}"
        handler = None
        if name in SLASH_COMMANDS:
            handler = getattr(self, method, None) or getattr(self.undo, method, None)
        if handler is None:
            self.app.say(f"unknown command {name}; try /help", "warning")
            return
        try:
            await handler(arg)
        except NotReady:
            self.app.say(f"hermes is still starting; try {name} again in a moment", "warning")

    async def cmd_help(self, arg: str) -> None:
        width = max(len(n) for n in SLASH_COMMANDS)
        lines = [f"  {n.ljust(width)}  {h}" for n, h in SLASH_COMMANDS.items()]
        self.app.say("Commands:\n" + "\n".join(lines) + "\n" + KEYS_HELP)

    async def cmd_new(self, arg: str) -> None:
        await self.app.switch_session(None)

    async def cmd_resume(self, arg: str) -> None:
        if arg:
            await self.app.switch_session(arg)
        else:
            self.app.open_picker()

    async def cmd_sessions(self, arg: str) -> None:
        self.app.open_picker()

    async def cmd_compact(self, arg: str) -> None:
        self.app.say("compacting the conversation…")
        await self.app.engine.submit(p.Compact())

    async def cmd_facts(self, arg: str) -> None:
        store, workspace = self.app.setup.store, self.app.workspace
        self.app.say(await asyncio.to_thread(facts_command, store, workspace, arg))

    async def cmd_model(self, arg: str) -> None:
        if not arg:
            self.app.say(f"model: {self.app.transcript.status.model} (switch with /model NAME)")
            return
        await self.app.engine.submit(p.SetModel(arg))
        self.app.transcript.status.model = arg
        self.app.refresh_status()
        self.app.say(f"model switched to {arg} from the next request on")

    async def cmd_approvals(self, arg: str) -> None:
        policy = self.app.engine.state.policy
        words = arg.split(maxsplit=1)
        if words and words[0] in p.APPROVAL_MODES:
            await self.app.engine.submit(p.SetApprovalMode(_MODES[words[0]]))
            self.app.transcript.status.approval_mode = words[0]
            self.app.refresh_status()
            self.app.say(f"approval mode: {words[0]}")
            return
        if len(words) == 2 and words[0] == "revoke":
            self._revoke(words[1])
            return
        if words:
            self.app.say(
                "usage: /approvals [ask|auto-edit|yolo] or /approvals revoke RULE", "warning"
            )
            return
        grants = [str(rule) for rule in policy.grants]
        title = f"Approval mode: {policy.mode}. 'Always' grants of this session:"
        items = [(g, f"revoke  {g}") for g in grants]
        self.app.push_screen(
            ListDialog(title, items, "Enter revokes · Esc closes · /approvals MODE switches mode"),
            self._revoke_chosen,
        )

    def _revoke_chosen(self, rule: str | None) -> None:
        if rule:
            self._revoke(rule)
        self.app.focus_input()

    def _revoke(self, rule: str) -> None:
        if self.app.engine.state.policy.revoke(rule):
            self.app.say(f"revoked '{rule}': matching calls ask again")
        else:
            self.app.say(f"no grant '{rule}' in this session", "warning")

    async def cmd_skills(self, arg: str) -> None:
        from hermes.skills import discover_skills

        scan = await asyncio.to_thread(discover_skills, self.app.workspace)
        if arg:
            if scan.get(arg) is None:
                self.app.say(
                    f"no skill '{arg}'; installed: {', '.join(scan.names()) or 'none'}", "warning"
                )
            else:
                await self.use_skill(arg)
            return
        items = [(s.name, f"{s.name}  —  {s.description}") for s in scan.skills]
        self.app.push_screen(
            ListDialog("Skills: pick one to use it", items, "Enter uses the skill · Esc closes"),
            self._skill_chosen,
        )

    def _skill_chosen(self, name: str | None) -> None:
        self.app.focus_input()
        if name:
            self.app.run_worker(self.use_skill(name), group="commands")

    async def use_skill(self, name: str) -> None:
        """Ask the model to use skill ``name`` (as a user message)."""
        from hermes.skills import skill_request_text

        await self.app.send(skill_request_text(name))

    async def cmd_clear(self, arg: str) -> None:
        self.app.transcript.clear()
        await self.app.conversation.reset()

    async def cmd_quit(self, arg: str) -> None:
        await self.app.quit_app()
