"""What makes the TUI a daily driver, kept out of the app module: the first screen,
moving through long sessions, search, the transcript view, copying, Shift+Tab modes,
editing a previous message, queued messages, ``@path`` attachments, the input draft
and the resume hint on exit.

:class:`Controls` holds the app and does each of these on its behalf; the app's key
bindings and event handler call in here.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from textual.widgets import Input, TextArea

from hermes import protocol as p
from hermes.frontends.common import local_state
from hermes.frontends.common.attachments import expand
from hermes.frontends.common.clipboard import clean_selection
from hermes.frontends.common.modes import next_mode
from hermes.frontends.common.transcript import NoticeEntry, UserEntry
from hermes.frontends.common.welcome import (
    Welcome,
    WelcomeEntry,
    endpoint_label,
    git_branch,
    resume_hint,
    short_path,
)
from hermes.frontends.tui import gc_tuning
from hermes.frontends.tui.dialogs import ListDialog
from hermes.frontends.tui.status_line import Places
from hermes.frontends.tui.transcript_view import TranscriptView

if TYPE_CHECKING:
    from hermes.frontends.tui.app import HermesApp

DOUBLE_ESC_SECONDS = 0.8
"""Two Esc presses this close together (input empty, nothing running) edit a message."""
PRUNE_COLLECT_DELAY = 1.0
"""Seconds after the last widgets were let go before the collector frees them."""
PRUNE_COLLECT_WIDGETS = 300
"""...or, when scrolling does not pause (PageUp held down outruns the paging), as soon
as this many widgets wait to be freed: ~130 blocks, ~1 MB."""


class Controls:
    """The app's daily-driver behaviour."""

    def __init__(self, app: HermesApp) -> None:
        self.app = app
        self.welcome = WelcomeEntry(welcome=Welcome(short_path(app.workspace, 60)))
        self._last_escape = float("-inf")
        self._collect_timer: object | None = None
        self._released = 0  # widgets let go of since the last collection
        self.resume_line = ""  # printed on the terminal after hermes leaves

    # ------------------------------------------------------------------ first screen

    def first_screen(self) -> None:
        """Put the first screen in the conversation and the last draft in the input."""
        app = self.app
        branch = git_branch(app.workspace)
        self.welcome.welcome = Welcome(short_path(app.workspace, 60), branch)
        app.transcript.entries.insert(0, self.welcome)
        app.conversation.added()
        app.status_bar.places = Places(short_path(app.workspace, 30), branch)
        draft = local_state.load_input_draft(app.workspace)
        if draft and not app.prompt_input.text:
            app.prompt_input.load_text(draft)
            app.prompt_input.move_cursor(app.prompt_input.document.end)

    async def session_ready(self) -> None:
        """The session is open: name the model, endpoint, mode, sandbox, what to resume."""
        app = self.app
        setup = app.setup
        workspace = str(app.workspace)
        hint = await asyncio.to_thread(
            resume_hint, setup.store, workspace, app.engine.state.id, app.options.now()
        )
        status = app.transcript.status
        model = setup.config.model
        branch = await asyncio.to_thread(git_branch, workspace)
        self.welcome.welcome = Welcome(
            short_path(workspace, 60),
            branch,
            status.model or model.name,
            endpoint_label(model.base_url) if model.provider != "local" else "local model",
            status.approval_mode,
            status.sandbox,
            hint,
        )
        app.status_bar.places = Places(short_path(workspace, 30), branch, dict(model.pricing))
        if not status.context_window and model.context_window:  # known before any request
            status.context_window = model.context_window
        app.conversation.flush_now(self.welcome)
        app.refresh_status()

    # ------------------------------------------------------------------ events

    def wanted(self, event: p.Event) -> bool:
        """False for an event not worth showing: a notice said before (the context window
        of a model that never reports one is said once, not in every session)."""
        if isinstance(event, p.Warning) and event.kind == "context_window":
            return local_state.first_time(event.message)
        return True

    async def after(self, event: p.Event) -> None:
        """What an event means beyond the transcript."""
        app = self.app
        if isinstance(event, p.SessionStarted):
            app.run_worker(self.session_ready(), group="welcome", exclusive=True)
        elif isinstance(event, p.TurnComplete):
            if app.pending.items:
                await self.send_pending()
        elif isinstance(event, p.TurnAborted):
            app.pending.hold()  # Esc stops the turn, not the messages typed meanwhile
        elif isinstance(event, p.RewindDone) and event.conversation:
            await self._cut_after_rewind(event)

    # ------------------------------------------------------------------ sending

    async def send(self, text: str) -> None:
        """Send ``text`` now, or hold it while a turn runs (editable until it goes).
        Messages held after an interrupt were typed first: they go first."""
        app = self.app
        if app.link.busy:
            app.pending.add(text)
            return
        if app.pending.items:
            await self.send_pending()
        await self.submit(text)

    async def submit(self, text: str) -> None:
        """Hand the engine a message, ``@path`` attachments included."""
        app = self.app
        expanded = await asyncio.to_thread(expand, text, app.workspace)
        for problem in expanded.problems:
            app.say(problem, "warning")
        await app.engine.submit(p.UserTurn(expanded.text))
        await app.conversation.jump_to_end()

    async def send_pending(self) -> None:
        """Send every queued message, oldest first (the first starts the turn, the engine
        delivers the others before its first request)."""
        for text in self.app.pending.take_all():
            await self.submit(text)

    def edit_pending(self) -> bool:
        """Take the newest queued message back into the (empty) input; False if none."""
        app = self.app
        if app.prompt_input.text or not app.pending.items:
            return False
        text = app.pending.take_last()
        if text is not None:
            app.prompt_input.load_text(text)
            app.prompt_input.move_cursor(app.prompt_input.document.end)
        return True

    # ------------------------------------------------------------------ moving around

    async def home(self) -> None:
        """The session's first message."""
        await self.app.conversation.jump_to_start()

    async def end(self) -> None:
        """The session's last message, following new ones again."""
        await self.app.conversation.jump_to_end()

    async def jump_to_fraction(self, fraction: float) -> None:
        """Show the entry ``fraction`` of the way through the session (the scrollbar)."""
        entries = self.app.transcript.entries
        if entries:
            await self.app.conversation.show_entry(
                min(len(entries) - 1, int(fraction * len(entries)))
            )

    def open_search(self) -> None:
        """Ctrl+F."""
        self.app.search_bar.open()

    def open_transcript(self) -> None:
        """Ctrl+T: every call in full, as plain text."""
        app = self.app
        entries = [e for e in app.transcript.entries if e is not self.welcome]
        app.push_screen(TranscriptView(entries, app.transcript.status.title), self._closed)

    def _closed(self, _: object = None) -> None:
        self.app.focus_input()

    def pruned(self, widgets: int) -> None:
        """``widgets`` widgets left the window: free them once scrolling pauses, or as
        soon as this page is drawn if many wait (they are cycles, and the tuned collector
        would not look at them for a long while)."""
        app = self.app
        if not app.options.tune_gc:
            return
        timer = self._collect_timer
        if timer is not None:
            timer.stop()  # type: ignore[attr-defined]
            self._collect_timer = None
        self._released += widgets
        if self._released >= PRUNE_COLLECT_WIDGETS:
            # Even mid-turn: one pause per ~130 blocks scrolled past beats memory that
            # grows for as long as the user scrolls.
            self._released = 0
            app.call_after_refresh(gc_tuning.collect_idle)
        else:
            self._collect_timer = app.set_timer(PRUNE_COLLECT_DELAY, self._collect)

    def _collect(self) -> None:
        self._collect_timer = None
        if not self.app.link.busy:
            self._released = 0
            gc_tuning.collect_idle()

    # ------------------------------------------------------------------ modes, copying

    async def cycle_mode(self) -> None:
        """Shift+Tab: the next approval mode (``auto`` only where commands are sandboxed)."""
        app = self.app
        if not app.link.ready:
            return
        state = app.engine.state
        mode = next_mode(state.policy.mode, bool(getattr(state.policy, "sandboxed", False)))
        await app.engine.submit(p.SetApprovalMode(mode))
        app.transcript.status.approval_mode = mode
        app.refresh_status()
        app.notify(f"approval mode: {mode}", timeout=2)

    def copy_selection(self) -> bool:
        """Copy the selected text (answers, code, tool output); False when none is."""
        app = self.app
        focused = app.focused
        if isinstance(focused, TextArea | Input) and focused.selected_text:  # input, Ctrl+T
            app.copy_to_clipboard(focused.selected_text)
            app.notify(f"copied {len(focused.selected_text):,} characters", timeout=2)
            return True
        selected = app.screen.get_selected_text()
        if not selected:
            return False
        text = clean_selection(selected)
        app.copy_to_clipboard(text)
        app.screen.clear_selection()
        app.notify(f"copied {len(text):,} characters", timeout=2)
        return True

    # ------------------------------------------------------------------ editing a message

    def escape(self) -> bool:
        """Esc with an empty input and nothing running: the second one within a moment
        lists the user's messages to go back to. True when it did."""
        app = self.app
        if app.prompt_input.text or app.link.busy or not app.link.ready:
            self._last_escape = float("-inf")
            return False
        now = time.monotonic()
        if now - self._last_escape <= DOUBLE_ESC_SECONDS:
            self._last_escape = float("-inf")
            app.run_worker(self.edit_previous(), group="commands")
            return True
        self._last_escape = now
        return False

    async def edit_previous(self) -> None:
        """List the user's messages (newest first); choosing one rewinds the conversation
        to before it, the files too if the user says so, and puts it in the input."""
        from hermes.engine.checkpoint_hooks import list_turns

        app = self.app
        turns = [t for t in await list_turns(app.engine.state) if not t.rewound]
        if not turns:
            app.say("no message of yours to go back to in this session", "warning")
            return
        rows = [(str(t.turn), f"{t.turn:>3}  {_first_line(t.prompt)}") for t in reversed(turns)]

        async def chosen(value: str) -> None:
            turn = int(value)
            changed = sorted({f for t in turns if t.turn >= turn for f in t.files})
            if not changed:
                await app.engine.submit(p.Rewind(turn, files=False, conversation=True))
                return
            listing = ", ".join(changed[:6]) + (" …" if len(changed) > 6 else "")
            answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            app.push_screen(
                ListDialog(
                    f"Since then the agent changed {len(changed)} file(s): {listing}",
                    [
                        ("both", "rewind the conversation and restore those files"),
                        ("conversation", "rewind the conversation only (files stay as they are)"),
                    ],
                    "Enter chooses · Esc cancels",
                ),
                lambda value: answer.set_result(value),
            )
            scope = await answer
            app.focus_input()
            if scope is not None:
                await app.engine.submit(p.Rewind(turn, files=scope == "both", conversation=True))

        def picked(value: str | None) -> None:
            app.focus_input()
            if value:
                app.run_worker(chosen(value), group="commands")

        app.push_screen(
            ListDialog(
                "Go back to which message? (the conversation rewinds to before it, "
                "and it comes back to the input to edit)",
                rows,
                "Enter chooses · Esc closes",
            ),
            picked,
        )

    async def _cut_after_rewind(self, event: p.RewindDone) -> None:
        """The conversation went back to before a message: so does the screen."""
        app = self.app
        entries = app.transcript.entries
        cut = None
        for i in range(len(entries) - 1, -1, -1):
            entry = entries[i]
            if isinstance(entry, UserEntry) and entry.text == event.prompt:
                cut = i
                break
        if cut is None:
            return
        said = entries[-1] if isinstance(entries[-1], NoticeEntry) else None  # the rewind's
        del entries[cut:]
        if said is not None:
            entries.append(said)
        app.transcript.current = None
        await app.conversation.reset()
        app.conversation.added()

    # ------------------------------------------------------------------ leaving

    def leaving(self) -> None:
        """Keep the input as a draft for the next start here; remember what to print."""
        app = self.app
        local_state.save_input_draft(app.workspace, app.prompt_input.text)
        if app.link.ready and _said_anything(app):
            self.resume_line = f"resume this session: hermes --resume {app.engine.state.id}"


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 90 else line[:89] + "…"


def _said_anything(app: HermesApp) -> bool:
    """Whether the session holds a message (an empty one is discarded on the way out)."""
    return bool(app.engine.state.history)
