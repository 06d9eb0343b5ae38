"""TUI commands and events for checkpoints and MCP: ``/undo /redo /rewind /diff /mcp``,
and the conflict question an undo can ask."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hermes import protocol as p
from hermes.tui.dialogs import ListDialog
from hermes.tui.undo_text import CONFLICT_CHOICES, turn_rows

if TYPE_CHECKING:
    from hermes.tui.app import HermesApp


class UndoCommands:
    """``/undo [N]``, ``/redo``, ``/rewind [TURN [files|conversation|both]]``, ``/diff
    [TURN]``, ``/mcp [reconnect NAME]``."""

    def __init__(self, app: HermesApp) -> None:
        self.app = app

    async def cmd_undo(self, arg: str) -> None:
        turns = int(arg) if arg.strip().isdigit() else 1
        await self.app.engine.submit(p.Undo(turns=max(1, turns)))

    async def cmd_redo(self, arg: str) -> None:
        await self.app.engine.submit(p.Redo())

    async def cmd_rewind(self, arg: str) -> None:
        words = arg.split()
        if words and words[0].isdigit():
            scope = words[1] if len(words) > 1 else "both"
            if scope not in ("files", "conversation", "both"):
                self.app.say("usage: /rewind [TURN [files|conversation|both]]", "warning")
                return
            await self._rewind(int(words[0]), scope)
            return
        from hermes.checkpoints import list_turns

        items = turn_rows(await list_turns(self.app.engine.state))
        self.app.push_screen(
            ListDialog(
                "Rewind files and conversation to before which turn?",
                items,
                "Enter rewinds both · Esc closes · /rewind TURN files|conversation for one",
            ),
            self._rewind_chosen,
        )

    def _rewind_chosen(self, turn: str | None) -> None:
        self.app.focus_input()
        if turn:
            self.app.run_worker(self._rewind(int(turn), "both"), group="commands")

    async def _rewind(self, turn: int, scope: str) -> None:
        await self.app.engine.submit(
            p.Rewind(
                turn,
                files=scope in ("files", "both"),
                conversation=scope in ("conversation", "both"),
            )
        )

    async def cmd_diff(self, arg: str) -> None:
        from hermes.checkpoints import diff

        turn = int(arg) if arg.strip().isdigit() else None
        text = await diff(self.app.engine.state, turn)
        scope = f"turn {turn}" if turn is not None else "this session"
        self.app.say(
            f"changes by the agent in {scope}:\n{text}" if text else f"no file changes in {scope}"
        )

    async def cmd_mcp(self, arg: str) -> None:
        from hermes.mcp_status import mcp_status_lines

        manager = self.app.engine.mcp
        words = arg.split()
        if len(words) == 2 and words[0] == "reconnect":
            try:
                status = await manager.reconnect(words[1])
            except ValueError as exc:
                self.app.say(str(exc), "warning")
                return
            self.app.say(f"{words[1]}: {status.state}")
            return
        lines = mcp_status_lines(manager)
        self.app.say(
            "\n".join(lines) if lines else "no MCP servers configured (mcp.servers in config)"
        )


def ask_conflict(app: HermesApp, event: p.ConflictFound) -> None:
    """Ask what to do with a file the user changed since the agent left it."""
    title = f"{event.path} changed since the agent left it ({event.reason})"
    if event.user_diff:
        title += "\n" + event.user_diff[:1500]

    def chosen(choice: str | None) -> None:
        picked: p.ConflictChoice = "skip"
        for value, _ in CONFLICT_CHOICES:
            if value == choice:
                picked = value
        app.focus_input()
        app.run_worker(app.engine.submit(p.ConflictReply(event.path, picked)), group="commands")

    app.push_screen(
        ListDialog(title, list(CONFLICT_CHOICES), "Enter chooses · Esc skips the file"), chosen
    )
