"""The Textual app: a front end over the engine's protocol.

It runs the engine's event stream as an asyncio worker, folds each event into the
transcript and lets the conversation show it; replayed history (resume) takes the same
path. What the user does becomes ops: ``UserTurn`` (queued by the engine while a turn
runs), ``ApprovalReply``, ``Interrupt``, ``Compact``, ``SetModel``, ``Shutdown``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from hermes import protocol as p
from hermes.engine.startup import Setup
from hermes.frontends.common.commands import Choice, SlashCommands
from hermes.frontends.common.complete import (
    Completion,
    parse_slash,
    path_completions,
    slash_completions,
)
from hermes.frontends.common.complete import workspace_files as list_files
from hermes.frontends.common.format import describe
from hermes.frontends.common.input_history import InputHistory
from hermes.frontends.common.sessions import Launcher
from hermes.frontends.common.transcript import Transcript
from hermes.frontends.tui import gc_tuning
from hermes.frontends.tui.approval import ApprovalBar
from hermes.frontends.tui.conversation import Conversation
from hermes.frontends.tui.dialogs import ListDialog, ask_conflict
from hermes.frontends.tui.input_box import CompletionMenu, PromptInput
from hermes.frontends.tui.link import EngineLink
from hermes.frontends.tui.options import AppOptions
from hermes.frontends.tui.picker import SessionPicker
from hermes.frontends.tui.status import QueuedLine, StatusBar
from hermes.frontends.tui.tool_block import ToolBlock

if TYPE_CHECKING:
    from hermes.engine.engine import Engine

KEYS_HELP = """Keys:
  Enter send · Shift+Enter or Ctrl+J newline · Up/Down history · Tab complete
  Esc interrupt the turn (then Enter sends what you typed) · Ctrl+C twice quit · Ctrl+D quit
  PageUp/PageDown scroll · Ctrl+End back to the end · Ctrl+O expand the last output
  Approvals: y once · a always (this session) · n deny · Esc deny and stop the turn"""


class HermesApp(App[int]):
    """hermes in the terminal (the slash commands' Surface: notices, dialogs)."""

    CSS_PATH = str(Path(__file__).with_name("hermes.tcss"))
    TITLE = "hermes"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("escape", "escape", "Interrupt", show=False),
        Binding("ctrl+c", "ctrl_c", "Quit", show=False, priority=True),
        Binding("pageup", "page(-1)", "Page up", show=False, priority=True),
        Binding("pagedown", "page(1)", "Page down", show=False, priority=True),
        Binding("ctrl+end", "jump_end", "End", show=False, priority=True),
        Binding("ctrl+o", "expand_last", "Expand", show=False, priority=True),
    ]
    keys_help = KEYS_HELP

    def __init__(
        self,
        setup: Setup | None = None,
        *,
        launcher: Launcher | None = None,
        pick: bool = False,
        options: AppOptions | None = None,
    ) -> None:
        """Open ``setup``'s session, or (``setup=None``) the launcher's first session
        once the screen is up."""
        super().__init__()
        if setup is None and launcher is None:
            raise ValueError("HermesApp needs a session or a launcher")
        self.link = EngineLink(self, setup, launcher)
        self.launcher = launcher
        self.options = options or AppOptions()
        self.pick_on_start = pick
        self.transcript = Transcript(self.options.clock)
        self.history = self.options.history or InputHistory()
        self.queued: list[str] = []
        self._files = self.options.files
        self._last_ctrl_c = float("-inf")
        self._quitting = False
        self._early: list[str] = []  # sent before the session was open
        self._status_pending = False
        self.last_keystroke = 0.0  # the input sets it; streaming slows down while typing
        self.commands = SlashCommands(self)

    @property
    def setup(self) -> Setup:
        """The open session (config, store, engine)."""
        return self.link.setup

    @property
    def engine(self) -> Engine:
        """The open session's engine."""
        return self.link.engine

    @property
    def workspace(self) -> Path:
        """The session's workspace (the flags' until it is open)."""
        if self.link.ready:
            return self.engine.state.workspace
        return self.launcher.workspace if self.launcher is not None else Path.cwd()

    @property
    def conversation(self) -> Conversation:
        """The conversation view."""
        return self._conversation

    @property
    def prompt_input(self) -> PromptInput:
        """The input box."""
        return self._input

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # Widgets are kept as attributes: a query walks the whole DOM, which holds every
        # mounted Markdown block, and events arrive hundreds of times a second.
        self._conversation = Conversation(
            self.transcript, clock=self.options.clock, id="conversation"
        )
        menu = CompletionMenu(id="completions")
        menu.display = False
        self._queued_line = QueuedLine(id="queued")
        self._queued_line.display = False
        self._input = PromptInput(self.history, menu, self.complete, id="input")
        self._status_bar = StatusBar(id="status")
        yield self._conversation
        with Vertical(id="bottom"):
            yield menu
            yield self._queued_line
            yield self._input
            yield self._status_bar

    def on_mount(self) -> None:
        if self.options.tune_gc:
            gc_tuning.tune()
        self.begin_capture_print(self, stdout=True, stderr=True)
        self.prompt_input.cursor_blink = self.options.cursor_blink
        self.prompt_input.focus()
        self.refresh_status()
        if self.link.ready:
            self.link.start()
            self.call_later(self.session_opened)

    def on_ready(self) -> None:
        """The first frame is on screen: now load the engine (it would slow that frame)."""
        if not self.link.ready:
            self.run_worker(self.link.open_first(), group="open")

    async def session_opened(self) -> None:
        """The first session is open: the picker if asked, then what was typed early."""
        if self.options.tune_gc:  # once the history is painted, not in its way
            self.set_timer(2.0, gc_tuning.freeze_loaded)
        self.refresh_status()
        if self.pick_on_start:
            await self.pick_session()
        early, self._early = self._early, []
        for text in early:
            await self.send(text)

    def on_print(self, event: events.Print) -> None:
        """Stray prints (warnings of the modules below) become notices, not screen junk."""
        text = event.text.strip()
        if text:
            self.say(text.removeprefix("hermes: "), "warning" if event.stderr else "info")

    # ------------------------------------------------------------------ engine

    async def handle_event(self, event: p.Event) -> None:
        """Fold one engine event into the transcript and the screen."""
        change = self.transcript.apply(event)
        if isinstance(event, p.TurnStarted | p.UserMessage) and not getattr(event, "replay", False):
            self._delivered(event.text)
        if change.added:
            self.conversation.added()
        seen: set[int] = set()
        for entry in change.updated:
            if id(entry) not in seen:
                seen.add(id(entry))
                await self.conversation.changed(entry)
        if change.status:
            self.refresh_status()
        if change.approvals:
            self._show_approvals()
        if isinstance(event, p.UndoDone | p.RewindDone):
            self.say(describe(event))
            if isinstance(event, p.RewindDone) and event.prompt and not self.prompt_input.text:
                self.prompt_input.text = event.prompt  # edit and resend the rewound prompt
        elif isinstance(event, p.ConflictFound):
            path = event.path
            ask_conflict(self, event, lambda choice: self._conflict_answered(path, choice))
        if isinstance(event, p.TurnComplete | p.TurnAborted):
            if self.queued:
                self._refresh_queued()
            self.set_timer(1.0, self._collect_if_idle)

    async def switch_session(self, resume: str | None) -> None:
        """Leave this session for a new one (``None``) or for session ``resume``."""
        fresh = Transcript(self.options.clock)
        if not await self.link.switch(resume):
            return
        # No await since the switch: the new session's first event finds the new transcript.
        self.transcript = fresh
        self.conversation.transcript = fresh
        await self.conversation.reset()
        self.queued.clear()
        self._refresh_queued()
        self.refresh_status()
        self.focus_input()

    async def on_unmount(self) -> None:
        """Any other way out (an error, a test harness) still ends the session cleanly."""
        if not self._quitting:
            self._quitting = True
            await self.link.close_quietly()

    async def quit(self) -> None:
        """Shut the engine down, close the session, leave."""
        if self._quitting:
            return
        self._quitting = True
        self.link.closing = True
        await self.link.stop()
        self.exit(1 if self.link.failed is not None else 0)

    def _collect_if_idle(self) -> None:
        if self.options.tune_gc and not self.link.busy:
            gc_tuning.collect_idle()

    # ------------------------------------------------------------------ input

    async def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        text = message.text
        command = parse_slash(text)
        if command is not None:
            await self.commands.run(*command)
            return
        await self.send(text)

    async def send(self, text: str) -> None:
        """Send a user message; while a turn runs it is queued for the next step."""
        if not self.link.ready:
            self._early.append(text)
            self.queued.append(text)
            self._refresh_queued()
            return
        busy = self.engine.busy
        await self.engine.submit(p.UserTurn(text))
        if busy:
            self.queued.append(text)
            self._refresh_queued()
        await self.conversation.jump_to_end()

    async def on_prompt_input_quit_requested(self, message: PromptInput.QuitRequested) -> None:
        await self.quit()

    def complete(self, text: str, cursor: int) -> list[Completion]:
        """Completions for the input: slash commands, then ``@`` workspace paths."""
        found = slash_completions(text, cursor)
        if found or "@" not in text:
            return found
        if self._files is None:
            self._files = []
            self.run_worker(self._load_files(), group="files", exclusive=True)
        return path_completions(text, cursor, self._files)

    async def _load_files(self) -> None:
        self._files = await asyncio.to_thread(list_files, self.workspace)
        self.prompt_input.refresh_menu()

    def focus_input(self) -> None:
        """Give the input the keys (unless a dialog is open)."""
        if not isinstance(self.screen, ModalScreen):
            self.prompt_input.focus()

    def _delivered(self, text: str) -> None:
        if text in self.queued:
            self.queued.remove(text)
            self._refresh_queued()

    def _refresh_queued(self) -> None:
        self._queued_line.show(self.queued)

    # ------------------------------------------------------------------ approvals

    def _show_approvals(self) -> None:
        for call_id in self.transcript.approvals:
            entry = self.transcript.tools.get(call_id)
            if entry is not None:
                self.conversation.flush_now(entry)
        self.call_after_refresh(self._focus_approval, 0)

    def _focus_approval(self, attempt: int) -> None:
        pending = self.transcript.approvals
        if not pending:
            if isinstance(self.focused, ApprovalBar | ToolBlock) or self.focused is None:
                self.focus_input()
            return
        bars: list[ApprovalBar | None] = []
        for call_id in pending:
            block = self.conversation.tool_block(call_id)
            bars.append(block.bar if block is not None else None)
        first = bars[0]
        if first is None:
            if attempt == 0:
                self.run_worker(self.conversation.jump_to_end(), group="window")
            if attempt < 50:
                self.set_timer(0.02, lambda: self._focus_approval(attempt + 1))
            return
        for i, bar in enumerate(bars):
            if bar is not None:
                bar.arm_seconds = self.options.approval_arm_seconds
                bar.position = i
                bar.active = i == 0
        if not isinstance(self.screen, ModalScreen):
            first.focus()
            first.scroll_visible(animate=False)

    async def on_approval_bar_answered(self, message: ApprovalBar.Answered) -> None:
        await self.link.submit(p.ApprovalReply(message.call_id, message.decision))
        if len(self.transcript.approvals) <= 1:
            self.focus_input()

    # ------------------------------------------------------------------ keys

    async def action_escape(self) -> None:
        """Esc: interrupt the running turn (the input keeps what was typed)."""
        if self.link.busy:
            await self.link.submit(p.Interrupt())

    async def action_ctrl_c(self) -> None:
        """Ctrl+C: interrupt; twice within a moment: quit."""
        now = self.options.clock()
        if now - self._last_ctrl_c <= self.options.quit_window:
            await self.quit()
            return
        self._last_ctrl_c = now
        if self.link.busy:
            await self.link.submit(p.Interrupt())
        self.notify("Press Ctrl+C again to quit.", timeout=self.options.quit_window)

    def action_page(self, direction: int) -> None:
        conv = self.conversation
        if direction < 0:
            conv.scroll_page_up(animate=False)
        else:
            conv.scroll_page_down(animate=False)

    async def action_jump_end(self) -> None:
        await self.conversation.jump_to_end()

    def action_expand_last(self) -> None:
        """Expand (or collapse) the most recent finished tool output."""
        for block in reversed(list(self.conversation.children)):
            if isinstance(block, ToolBlock) and block.entry.finished:
                block.action_expand()
                block.scroll_visible(animate=False)
                return

    # ------------------------------------------------------------------ screens

    async def pick_session(self) -> None:
        """The session picker; choosing resumes that session."""
        if not self.link.ready:
            self.say("hermes is still starting; try again in a moment", "warning")
            return
        picker = SessionPicker(
            self.setup.store,
            self.workspace,
            exclude=self.engine.state.id,
            now=self.options.now,
            cursor_blink=self.options.cursor_blink,
        )
        self.push_screen(picker, self._picked)

    def _picked(self, session_id: str | None) -> None:
        self.focus_input()
        if session_id:
            self.run_worker(self.switch_session(session_id), group="commands")

    async def choose(self, choice: Choice) -> None:
        """A list dialog; Enter runs ``choice.then`` with the row, Esc closes."""
        hint = " · ".join(x for x in (f"Enter {choice.action}", "Esc closes", choice.more) if x)

        def chosen(value: str | None) -> None:
            self.focus_input()
            if value:
                self.run_worker(choice.then(value), group="commands")

        self.push_screen(ListDialog(choice.title, list(choice.rows), hint), chosen)

    def _conflict_answered(self, path: str, choice: p.ConflictChoice) -> None:
        self.focus_input()
        self.run_worker(self.engine.submit(p.ConflictReply(path, choice)), group="commands")

    # ------------------------------------------------------------------ output

    def say(self, text: str, level: str = "info") -> None:
        """Show a notice in the conversation."""
        self.transcript.notice(text, level)
        self.conversation.added()

    async def clear(self) -> None:
        """Empty the conversation view (the session keeps its history)."""
        self.transcript.clear()
        await self.conversation.reset()

    def refresh_status(self) -> None:
        """Redraw the status bar soon (once, however many events asked for it)."""
        if not self._status_pending:
            self._status_pending = True
            self.call_later(self._draw_status)

    def _draw_status(self) -> None:
        self._status_pending = False
        running, approvals = self.transcript.lanes()
        self._status_bar.show(self.transcript.status, running, approvals)
