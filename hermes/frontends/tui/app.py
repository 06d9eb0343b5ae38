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
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer

from hermes import protocol as p
from hermes.engine.startup import Setup
from hermes.frontends.common.attachments import split
from hermes.frontends.common.clipboard import tmux_buffer, wrapped_osc52
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
from hermes.frontends.common.signals import SignalStop, signal_name
from hermes.frontends.common.transcript import Transcript
from hermes.frontends.tui import gc_tuning
from hermes.frontends.tui.approval import ApprovalBar, KeyGuard, edit_action
from hermes.frontends.tui.blocks import StreamPacer
from hermes.frontends.tui.controls import Controls
from hermes.frontends.tui.conversation import Conversation
from hermes.frontends.tui.dialogs import ListDialog, ask_conflict
from hermes.frontends.tui.input_box import CompletionMenu, PromptInput
from hermes.frontends.tui.link import EngineLink
from hermes.frontends.tui.options import AppOptions
from hermes.frontends.tui.pending import PendingList
from hermes.frontends.tui.picker import SessionPicker
from hermes.frontends.tui.scrollbar import SessionScrollbar
from hermes.frontends.tui.search_bar import SearchBar
from hermes.frontends.tui.status import StatusBar
from hermes.frontends.tui.todo_panel import TodoPanel
from hermes.frontends.tui.tool_block import ToolBlock
from hermes.frontends.tui.trust_dialog import TrustDialog

if TYPE_CHECKING:
    from hermes.engine.engine import Engine

KEYS_HELP = """Keys:
  Enter send · Shift+Enter or Ctrl+J newline · Up/Down history · Tab complete, then tool blocks
  Esc interrupt the turn (messages typed meanwhile stay queued) · Esc Esc edit a message
  Ctrl+C copy the selection, else interrupt; twice quit · Ctrl+D quit · Shift+Tab approval mode
  PageUp/PageDown scroll · Home/End (empty input) first/last message · Ctrl+F search
  Ctrl+T transcript (every call in full) · Ctrl+O expand the last output · /copy, /copy code
  @path attaches a file (@dir/ a listing) · Up on an empty input edits a queued message
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
        Binding("home", "jump_start", "First message", show=False, priority=True),
        Binding("end", "jump_end", "Last message", show=False, priority=True),
        Binding("ctrl+f", "search", "Search", show=False, priority=True),
        Binding("ctrl+t", "transcript", "Transcript", show=False, priority=True),
        Binding("shift+tab", "cycle_mode", "Approval mode", show=False, priority=True),
        Binding("up", "edit_pending", "Edit queued", show=False, priority=True),
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
        self._files = self.options.files
        self._last_ctrl_c = float("-inf")
        self._quitting = False
        self._early: list[str] = []  # sent before the session was open
        self._status_pending = False
        self.stream_pacer = StreamPacer()  # streaming draws between the keys typed
        # Approvals take keys only once typing has stopped (and they were seen).
        self.key_guard = KeyGuard(self.options.clock, self.options.approval_arm_seconds)
        self._arm_timer: Timer | None = None
        # SIGTERM, SIGHUP, SIGQUIT: interrupt and quit, exit code 128 + signal.
        self._signals = SignalStop(self._stop_signal)
        trust_flag = getattr(getattr(self.launcher, "args", None), "trust_workspace", False)
        self.commands = SlashCommands(self, assume_trusted=bool(trust_flag))
        self.controls = Controls(self)

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
            self.transcript,
            clock=self.options.clock,
            on_pruned=self.controls.pruned,
            on_moved=self._moved,
            id="conversation",
        )
        self._scrollbar = SessionScrollbar(
            self._conversation.position, self.controls.jump_to_fraction, id="session-scrollbar"
        )
        menu = CompletionMenu(id="completions")
        menu.display = False
        self.pending = PendingList(id="queued")
        self.search_bar = SearchBar(
            self._conversation, cursor_blink=self.options.cursor_blink, id="search"
        )
        self.search_bar.display = False
        self._input = PromptInput(
            self.history, menu, self.complete, on_keystroke=self._keystroke, id="input"
        )
        self._status_bar = StatusBar(id="status")
        self.todo_panel = TodoPanel(id="todos")
        with Horizontal(id="main"):
            yield self._conversation
            yield self._scrollbar
        with Vertical(id="bottom"):
            yield menu
            yield self.search_bar
            yield self.pending
            yield self.todo_panel
            yield self._input
            yield self._status_bar

    @property
    def status_bar(self) -> StatusBar:
        """The status line."""
        return self._status_bar

    def _moved(self) -> None:
        self._scrollbar.update_position()

    def on_mount(self) -> None:
        if self.options.tune_gc:
            gc_tuning.tune()
        self.begin_capture_print(self, stdout=True, stderr=True)
        self._signals.install()
        self.prompt_input.cursor_blink = self.options.cursor_blink
        self.prompt_input.focus()
        self.controls.first_screen()
        self.refresh_status()
        if self.link.ready:
            self.link.start()
            self.call_later(self.session_opened)

    def on_ready(self) -> None:
        """The first frame is on screen: now load the engine (it would slow that frame)."""
        if not self.link.ready:
            self.run_worker(self._open_first(), group="open")

    async def _open_first(self) -> None:
        """Ask about an untrusted workspace config (if it would change anything), then
        open the first session with the answer."""
        if self.launcher is not None:
            await self._ask_trust(self.launcher)
        await self.link.open_first()
        if self.link.ready and self.setup.trust is not None:  # changed since it was asked
            self.say(self.setup.trust.notice(), "warning")

    async def _ask_trust(self, launcher: Launcher) -> None:
        from hermes.engine.startup import StartupError

        try:
            question = await asyncio.to_thread(launcher.first_question)
        except StartupError:
            return  # opening the session says what is wrong
        if question is None:
            return
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.push_screen(
            TrustDialog(question, self.options.approval_arm_seconds),
            lambda trusted: answer.set_result(bool(trusted)),
        )
        trusted = await answer  # a worker: the app goes on handling keys meanwhile
        try:
            launcher.answer_trust(question, trusted)
        except StartupError as exc:
            self.say(str(exc), "error")
            return
        if trusted:
            self.say(f"trusted {question.folder}: its .hermes config applies")
        else:
            self.say(question.notice(), "warning")
        self.focus_input()

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
        if not self.controls.wanted(event):
            return
        change = self.transcript.apply(event)
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
        if change.todos:
            self.todo_panel.show(self.transcript.todos)
        if isinstance(event, p.UndoDone | p.RewindDone):
            self.say(describe(event))
            if isinstance(event, p.RewindDone) and event.prompt and not self.prompt_input.text:
                self.prompt_input.text = split(event.prompt)[0]  # edit and resend it
        elif isinstance(event, p.ConflictFound):
            path = event.path
            ask_conflict(self, event, lambda choice: self._conflict_answered(path, choice))
        if isinstance(event, p.TurnComplete | p.TurnAborted):
            self.set_timer(1.0, self._collect_if_idle)
        await self.controls.after(event)

    async def switch_session(self, resume: str | None) -> None:
        """Leave this session for a new one (``None``) or for session ``resume``."""
        fresh = Transcript(self.options.clock)
        if not await self.link.switch(resume):
            return
        if self.setup.trust is not None:  # asked at start only; here it is just said
            self.say(self.setup.trust.notice(), "warning")
        # No await since the switch: the new session's first event finds the new transcript.
        self.transcript = fresh
        self.conversation.transcript = fresh
        await self.conversation.reset()
        fresh.entries.append(self.controls.welcome)
        self.conversation.added()
        self.todo_panel.show(())
        self.refresh_status()
        self.focus_input()

    async def on_unmount(self) -> None:
        """Any other way out (an error, a test harness) still ends the session cleanly."""
        self._signals.uninstall()
        if not self._quitting:
            self._quitting = True
            await self.link.close_quietly()

    async def quit(self) -> None:
        """Shut the engine down, close the session, leave."""
        if self._quitting:
            return
        self._quitting = True
        self.link.closing = True
        self.controls.leaving()
        await self.link.stop()
        signalled = self._signals.exit_code
        self.exit(signalled if signalled is not None else 1 if self.link.failed is not None else 0)

    def _stop_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP or SIGQUIT: like Ctrl+C twice. Shutting the engine down
        interrupts the turn: commands' process groups are killed, statuses recorded."""
        self.say(f"stopped by {signal_name(signum)}: interrupting and closing the session")
        self.call_later(self.quit)

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
        """Send a user message; while a turn runs it waits (editable) for the turn's end."""
        if not self.link.ready:
            self._early.append(text)
            return
        await self.controls.send(text)

    async def on_prompt_input_quit_requested(self, message: PromptInput.QuitRequested) -> None:
        await self.quit()

    def complete(self, text: str, cursor: int) -> list[Completion]:
        """Completions for the input: slash commands, then ``@`` workspace paths."""
        found = slash_completions(text, cursor, self.commands.custom_help())
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

    # ------------------------------------------------------------------ approvals

    def _show_approvals(self) -> None:
        for call_id in self.transcript.approvals:
            entry = self.transcript.tools.get(call_id)
            if entry is not None:
                self.conversation.flush_now(entry)
        self.call_after_refresh(self._focus_approval, 0)

    def _focus_approval(self, attempt: int) -> None:
        if self._arm_timer is not None:
            self._arm_timer.stop()
            self._arm_timer = None
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
        shown = first.active
        for i, bar in enumerate(bars):
            if bar is not None:
                bar.guard = self.key_guard
                bar.position = i
                bar.active = i == 0
        if not shown and not isinstance(self.screen, ModalScreen):
            first.scroll_visible(animate=False)
        self._arm_approval(first)

    def _arm_approval(self, bar: ApprovalBar) -> None:
        """Give the oldest approval the keys once it is armed: until then typing goes on
        in the input (nothing typed there answers it); check again when it may be."""
        if not bar.is_attached or not bar.active or bar.answered is not None:
            return
        bar.refresh_arming()
        wait = bar.wait()
        modal = isinstance(self.screen, ModalScreen)
        if wait <= 0 and not modal:
            if self.focused is not bar:
                bar.focus()
            return
        if wait > 0 and (
            self.focused is bar or self.focused is None or isinstance(self.focused, ToolBlock)
        ):
            self.focus_input()
        # Polled, not only timed: the guard's clock need not be the timer's (tests).
        self._arm_timer = self.set_timer(min(max(wait, 0.02), 0.1), lambda: self._focus_approval(1))

    def _keystroke(self) -> None:
        """A key in the input: typing goes on, so a shown approval waits to take keys,
        and a streaming reply draws just after the key is on screen."""
        self.stream_pacer.keystroke(self.call_after_refresh)
        self.key_guard.keystroke()
        if self.transcript.approvals and self._arm_timer is None:
            self._arm_timer = self.set_timer(0.1, lambda: self._focus_approval(1))

    def on_approval_bar_typed(self, message: ApprovalBar.Typed) -> None:
        """A key typed at an approval that does not answer it: it is text for the input."""
        box = self.prompt_input
        self.focus_input()
        if message.key == "enter":
            box.submit()
        elif message.character is not None:
            box.insert(message.character)
        elif (action := edit_action(message.key)) is not None:
            getattr(box, f"action_{action}")()
        self.call_after_refresh(self._focus_approval, 1)  # arms again once typing stops

    async def on_approval_bar_answered(self, message: ApprovalBar.Answered) -> None:
        await self.link.submit(p.ApprovalReply(message.call_id, message.decision))
        if len(self.transcript.approvals) <= 1:
            self.focus_input()

    # ------------------------------------------------------------------ keys

    async def action_escape(self) -> None:
        """Esc: interrupt the running turn (the input keeps what was typed); twice on an
        empty input with nothing running: edit a previous message."""
        if self.link.busy:
            await self.link.submit(p.Interrupt())
        else:
            self.controls.escape()

    async def action_ctrl_c(self) -> None:
        """Ctrl+C: copy the selected text if there is any; else interrupt; twice within a
        moment: quit."""
        if self.controls.copy_selection():
            return
        now = self.options.clock()
        if now - self._last_ctrl_c <= self.options.quit_window:
            await self.quit()
            return
        self._last_ctrl_c = now
        if self.link.busy:
            await self.link.submit(p.Interrupt())
        self.notify("Press Ctrl+C again to quit.", timeout=self.options.quit_window)

    def action_page(self, direction: int) -> None:
        """PageUp/PageDown: every press counts, however fast they come."""
        self.conversation.page(direction)

    def action_jump_end(self) -> None:
        self.run_worker(self.controls.end(), group="window", exclusive=True)

    def action_jump_start(self) -> None:
        self.run_worker(self.controls.home(), group="window", exclusive=True)

    def action_search(self) -> None:
        self.controls.open_search()

    def action_transcript(self) -> None:
        self.controls.open_transcript()

    async def action_cycle_mode(self) -> None:
        await self.controls.cycle_mode()

    def action_edit_pending(self) -> None:
        self.controls.edit_pending()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Home/End move the conversation only from an empty input; Up edits a queued
        message only then; screen keys wait while a dialog is open."""
        if action in ("jump_start", "jump_end", "edit_pending", "page", "search", "transcript"):
            if self.screen is not self.screen_stack[0]:
                return False
        if action in ("jump_start", "jump_end") and parameters == ():
            return self.focused is self.prompt_input and not self.prompt_input.text
        if action == "edit_pending":
            return (
                self.focused is self.prompt_input
                and not self.prompt_input.text
                and bool(self.pending.items)
            )
        if action == "cycle_mode":
            return not isinstance(self.screen, ModalScreen)
        return True

    def on_tool_block_typed(self, message: ToolBlock.Typed) -> None:
        """A key typed on a focused tool block: it goes to the input, nothing is lost."""
        self.focus_input()
        self.prompt_input.insert(message.character)

    def on_tool_block_left(self, message: ToolBlock.Left) -> None:
        self.focus_input()

    def on_prompt_input_tab_out(self, message: PromptInput.TabOut) -> None:
        """Tab with nothing to complete: the tool block in view (not one pages away)."""
        block = self.conversation.visible_tool_block()
        if block is not None:
            block.focus()

    async def on_prompt_input_send_queued(self, message: PromptInput.SendQueued) -> None:
        """Enter on an empty input: send what was queued and held (after an interrupt)."""
        if self.pending.items and self.link.ready and not self.link.busy:
            await self.controls.send_pending()

    def on_search_bar_closed(self, message: SearchBar.Closed) -> None:
        self.focus_input()

    def copy_to_clipboard(self, text: str) -> None:
        """OSC 52, also wrapped for tmux and screen (which swallow it otherwise); tmux
        gets it as its paste buffer too."""
        super().copy_to_clipboard(text)
        wrapped = wrapped_osc52(text)
        if wrapped and self._driver is not None:
            self._driver.write(wrapped)
            self.run_worker(asyncio.to_thread(tmux_buffer, text), group="copy")

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

    def show_todos(self) -> None:
        """``/todos``: fold or unfold the to-do panel."""
        if not self.transcript.todos:
            self.say("no to-do list in this session")
            return
        self.todo_panel.toggle()

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
