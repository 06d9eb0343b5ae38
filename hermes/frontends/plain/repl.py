"""``hermes --plain``: a prompt-toolkit line REPL with rich output, over the same engine.

For SSH sessions, dumb terminals and people who want their scrollback. The prompt stays
live while the agent works (a message sent then is queued by the engine); output is
printed above it. Keys: Enter sends, Ctrl+J or Alt+Enter inserts a newline, Esc
interrupts a running turn, Ctrl+C twice or Ctrl+D on an empty line quits. When a call
waits for approval: ``y`` once, ``a`` always (this session), ``n`` deny, ``Esc`` deny and
stop the turn -- Enter never approves. The slash commands are the shared ones; where the
TUI shows a dialog this prints a numbered list and asks for a number.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Coroutine, Iterable
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import HTML
from prompt_toolkit.history import History
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output
from prompt_toolkit.patch_stdout import patch_stdout
from rich.console import Console
from rich.text import Text

from hermes import protocol as p
from hermes.engine.engine import Engine
from hermes.engine.startup import Setup, StartupError
from hermes.frontends.common.attachments import expand
from hermes.frontends.common.clipboard import osc52, tmux_buffer, wrapped_osc52
from hermes.frontends.common.commands import Choice, SlashCommands
from hermes.frontends.common.complete import path_completions, slash_completions, workspace_files
from hermes.frontends.common.format import (
    age_label,
    context_label,
    diff_text,
    lanes_label,
    looks_like_diff,
    one_line,
    usage_label,
)
from hermes.frontends.common.input_history import InputHistory
from hermes.frontends.common.local_state import first_time
from hermes.frontends.common.sessions import (
    Launcher,
    SessionRow,
    discard_if_empty,
    find_sessions,
)
from hermes.frontends.common.signals import SignalStop, signal_name
from hermes.frontends.common.transcript import Transcript
from hermes.frontends.common.welcome import cost_label
from hermes.frontends.plain.render import PlainRenderer

PICKER_ROWS = 20
KEYS_HELP = (
    "Keys: Enter send · Ctrl+J newline · Up/Down history · Tab complete · Esc interrupt · "
    "Ctrl+C twice or Ctrl+D quit\n"
    "Approvals: y once · a always (this session) · n deny · Esc deny and stop the turn"
)
LEVEL_STYLES = {"info": "", "warning": "yellow", "error": "red"}


def run_plain(setup: Setup, launcher: Launcher | None = None) -> int:
    """Run the REPL until the user quits; returns the exit code."""
    repl = PlainRepl(setup, launcher)
    return asyncio.run(repl.run(pick=launcher is not None and launcher.wants_picker))


class _History(History):
    """prompt-toolkit's view of the shared input history file."""

    def __init__(self, history: InputHistory) -> None:
        super().__init__()
        self.shared = history

    def load_history_strings(self) -> Iterable[str]:
        """Newest first, as prompt-toolkit wants them."""
        return list(reversed(self.shared.entries))

    def store_string(self, string: str) -> None:
        """Remember a submitted line in the shared file."""
        self.shared.add(string)


class _Completer(Completer):
    def __init__(self, repl: PlainRepl) -> None:
        self.repl = repl

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Any:
        """Slash commands, then ``@`` workspace paths."""
        text, cursor = document.text, document.cursor_position
        found = slash_completions(text, cursor, self.repl.commands.custom_help())
        if not found and "@" in text:
            found = path_completions(text, cursor, self.repl.files())
        for c in found:
            yield Completion(c.value, start_position=c.start - cursor, display_meta=c.help)


class PlainRepl:
    """The line REPL (the slash commands' Surface: printed lines, numbered lists).
    ``input``/``output``/``console`` are for tests."""

    keys_help = KEYS_HELP

    def __init__(
        self,
        setup: Setup,
        launcher: Launcher | None = None,
        *,
        console: Console | None = None,
        input: Input | None = None,
        output: Output | None = None,
        history: InputHistory | None = None,
        patch: bool = True,
        clock: Any = time.monotonic,
    ) -> None:
        self.setup = setup
        self.launcher = launcher
        self.console = console or Console(highlight=False, force_terminal=sys.stdout.isatty())
        self.transcript = Transcript(clock)
        self.renderer = PlainRenderer(self.console, self.transcript)
        self.history = history or InputHistory()
        self.patch = patch
        self.clock = clock
        self.queued: list[str] = []
        self.quitting = False
        trust_flag = getattr(getattr(self.launcher, "args", None), "trust_workspace", False)
        self.commands = SlashCommands(self, assume_trusted=bool(trust_flag))
        self._files: list[str] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._last_ctrl_c = float("-inf")
        self._tasks: set[asyncio.Future[None]] = set()
        self.session: PromptSession[str] = PromptSession(
            history=_History(self.history),
            completer=_Completer(self),
            key_bindings=self._bindings(),
            bottom_toolbar=self._toolbar,
            complete_while_typing=True,
            input=input,
            output=output,
        )

    @property
    def engine(self) -> Engine:
        """The open session's engine."""
        return self.setup.engine

    # ------------------------------------------------------------------ loop

    async def run(self, *, pick: bool = False) -> int:
        """Read and run lines until the user quits."""
        if not await self.settle_trust():
            return 1
        self.start_engine()
        ctx = patch_stdout(raw=True) if self.patch else contextlib.nullcontext()
        with ctx, SignalStop(self._stop_signal) as signals:
            if pick:
                await self.pick_session()
            while not self.quitting:
                try:
                    text = await self.session.prompt_async(self._message)
                except EOFError:
                    break
                except KeyboardInterrupt:
                    if await self._ctrl_c():
                        break
                    continue
                await self.handle_line(text)
            # Also after SIGTERM, SIGHUP or SIGQUIT: shutting down interrupts the turn, so
            # commands' process groups are killed and every call's status is recorded.
            kept = bool(self.engine.state.history)
            await self.stop_engine()
        if kept:
            self.console.print(
                Text(f"resume this session: hermes --resume {self.engine.state.id}", "dim")
            )
        return signals.exit_code or 0

    def _stop_signal(self, signum: int) -> None:
        """A stop signal: quit as Ctrl+D would (the exit code is ``128 + signum``)."""
        self.quitting = True
        with contextlib.suppress(Exception):  # after SIGHUP the terminal may be gone
            self.console.print(f"[yellow]stopped by {signal_name(signum)}[/]")
        app = self.session.app
        if app.is_running:
            app.exit(exception=EOFError())

    async def handle_line(self, text: str) -> None:
        """Run a slash command, or send the line to the model."""
        from hermes.frontends.common.complete import parse_slash

        if not text.strip():
            return
        command = parse_slash(text)
        if command is not None:
            await self.commands.run(*command)
            return
        await self.send(text)

    async def send(self, text: str) -> None:
        """Send a user message (queued by the engine while a turn runs); ``@path``
        attaches that file."""
        busy = self.engine.busy
        expanded = await asyncio.to_thread(expand, text, self.engine.state.workspace)
        for problem in expanded.problems:
            self.say(problem, "warning")
        for chip in expanded.chips:
            self.console.print(Text(f"  @ {chip.label}", "dim"))
        await self.engine.submit(p.UserTurn(expanded.text))
        if busy:
            self.queued.append(text)
            self.console.print(f"[yellow]queued[/] [dim]{len(self.queued)} message(s)[/]")

    async def _ctrl_c(self) -> bool:
        now = self.clock()
        if now - self._last_ctrl_c <= 2.0:
            return True
        self._last_ctrl_c = now
        if self.engine.busy:
            await self.engine.submit(p.Interrupt())
        self.console.print("[dim]Press Ctrl+C again to quit.[/]")
        return False

    # ------------------------------------------------------------------ engine

    def start_engine(self) -> None:
        """Run the engine's event stream in the background."""
        self._consumer = asyncio.create_task(self._consume(self.engine))

    async def _consume(self, engine: Engine) -> None:
        try:
            await engine.start()
            async for event in engine.events():
                if isinstance(event, p.Warning) and event.kind == "context_window":
                    if not first_time(event.message):  # said once, not every session
                        continue
                self.transcript.apply(event)
                if isinstance(event, p.TurnStarted | p.UserMessage) and not getattr(
                    event, "replay", False
                ):
                    if event.text in self.queued:
                        self.queued.remove(event.text)
                if not isinstance(event, p.TurnStarted):
                    self.renderer.render(event)
                if isinstance(event, p.ConflictFound):
                    # No dialog in line mode: never overwrite the user's edit.
                    await engine.submit(p.ConflictReply(event.path, "skip"))
                self._invalidate()
        except Exception as exc:  # shown, never a traceback
            self.console.print(f"[bold red]✗ the session stopped: {type(exc).__name__}: {exc}")

    async def stop_engine(self) -> None:
        """Shut the engine down and close (or discard, when empty) the session."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.engine.submit(p.Shutdown()), 10)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                await asyncio.wait_for(consumer, 5)
            except (Exception, asyncio.CancelledError):
                consumer.cancel()
        await asyncio.to_thread(discard_if_empty, self.setup)

    async def switch(self, setup: Setup) -> None:
        """Leave this session for ``setup``'s."""
        await self.stop_engine()
        self.setup = setup
        self.transcript = Transcript(self.clock)
        self.renderer = PlainRenderer(self.console, self.transcript)
        self.queued.clear()
        self._files = None
        self.start_engine()

    async def switch_session(self, resume: str | None) -> None:
        """Leave this session for a new one (``None``) or for session ``resume``."""
        if self.launcher is None:
            self.say("switching sessions is not available here", "warning")
            return
        try:
            setup = await asyncio.to_thread(self.launcher.open, resume)
        except StartupError as exc:
            self.say(str(exc), "error")
            return
        await self.switch(setup)
        if setup.trust is not None:  # asked at start only; here it is just said
            self.say(setup.trust.notice(), "warning")

    trust_arm_seconds = 0.25  # a "y" typed ahead of the trust question does not count

    async def settle_trust(self) -> bool:
        """Before the engine starts: ask whether to trust a workspace config that would
        change something; ``y`` reopens the session with it. False: nothing to run."""
        from hermes.frontends.plain.trust_prompt import ask_trust

        question = self.setup.trust
        if question is None or self.launcher is None:
            return True
        trusted = await ask_trust(
            question,
            self.console,
            input=self.session.input,
            output=self.session.output,
            arm_seconds=self.trust_arm_seconds,
        )
        try:
            self.launcher.answer_trust(question, trusted)
        except StartupError as exc:  # not recorded: run as it is, untrusted
            self.say(str(exc), "error")
            trusted = False
        if not trusted:
            self.say(question.notice(), "warning")
            return True
        await self.stop_engine()  # never started: its empty session is discarded
        try:
            self.setup = await asyncio.to_thread(self.launcher.first)
        except StartupError as exc:
            self.say(str(exc), "error")
            return False
        self.say(f"trusted {question.folder}: its .hermes config applies")
        return True

    def files(self) -> list[str]:
        """Workspace files for ``@`` completion (listed once)."""
        if self._files is None:
            self._files = workspace_files(self.engine.state.workspace)
        return self._files

    # ------------------------------------------------------------------ keys

    def pending_approval(self) -> p.ApprovalRequested | None:
        """The oldest call waiting for an answer."""
        for call_id in self.transcript.approvals:
            tool = self.transcript.tools.get(call_id)
            if tool is not None and tool.approval is not None:
                return tool.approval
        return None

    def _bindings(self) -> KeyBindings:
        kb = KeyBindings()
        asking = Condition(
            lambda: self.pending_approval() is not None and not self.session.default_buffer.text
        )
        busy = Condition(lambda: self.engine.busy)
        decisions: dict[str, p.ApprovalDecision] = {"y": "once", "a": "always", "n": "deny"}

        for key, decision in decisions.items():

            @kb.add(key, filter=asking, eager=True)
            def _answer(event: KeyPressEvent, decision: p.ApprovalDecision = decision) -> None:
                self._answer(decision)

        @kb.add("escape", filter=asking, eager=True)
        def _abort(event: KeyPressEvent) -> None:
            self._answer("abort")

        @kb.add("enter", filter=asking)
        def _enter(event: KeyPressEvent) -> None:
            self.console.print("[yellow]Enter never approves: press y, a or n (Esc stops).[/]")

        @kb.add("escape", filter=busy & ~asking, eager=True)
        def _interrupt(event: KeyPressEvent) -> None:
            self._background(self.engine.submit(p.Interrupt()))

        @kb.add("c-j")
        @kb.add("escape", "enter")
        def _newline(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text("\n")

        return kb

    def _background(self, op: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(op)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _answer(self, decision: p.ApprovalDecision) -> None:
        request = self.pending_approval()
        if request is None:
            return
        if decision == "always" and (not request.always_rules or request.catastrophic):
            self.console.print("[yellow]'always' is not offered for this call.[/]")
            return
        tool = self.transcript.tools.get(request.call_id)
        if tool is not None:
            tool.approval = None  # answered: the keys go back to the prompt at once
        self._background(self.engine.submit(p.ApprovalReply(request.call_id, decision)))
        self._invalidate()

    # ------------------------------------------------------------------ prompt

    def _message(self) -> HTML:
        if self.pending_approval() is not None:
            return HTML("<b><style fg='ansiyellow'>approve? [y/a/n/Esc]</style></b> ")
        if self.engine.busy:
            return HTML("<style fg='ansicyan'>…</style> ")
        return HTML("<b>›</b> ")

    def _toolbar(self) -> str:
        s = self.transcript.status
        running, approvals = self.transcript.lanes()
        lanes = lanes_label(running, approvals, s.streaming) or ("working" if s.busy else "")
        parts = [
            s.model,
            context_label(s.context_tokens, s.context_window, s.usage_estimated),
            usage_label(s.prompt_tokens, s.completion_tokens, s.usage_estimated),
            cost_label(
                s.prompt_tokens, s.completion_tokens, s.cost, self.setup.config.model.pricing
            ),
            s.approval_mode,
            s.sandbox,
        ]
        if self.queued:
            parts.append(f"{len(self.queued)} queued")
        if lanes:
            parts.append(lanes)
        return " " + " · ".join(x for x in parts if x)

    def _invalidate(self) -> None:
        app = self.session.app
        if app.is_running:
            app.invalidate()

    def refresh_status(self) -> None:
        """Redraw the toolbar."""
        self._invalidate()

    # ------------------------------------------------------------------ output

    def say(self, text: str, level: str = "info") -> None:
        """Print a notice (``warning`` yellow, ``error`` red; a diff in it coloured)."""
        head, sep, rest = text.partition("\n")
        if sep and looks_like_diff(rest):  # /diff
            self.console.print(Text(head, style=LEVEL_STYLES.get(level, "")))
            self.console.print(diff_text(rest))
            return
        self.console.print(Text(text, style=LEVEL_STYLES.get(level, "")))

    def copy_to_clipboard(self, text: str) -> None:
        """OSC 52 to the terminal (and the tmux/screen wrapped form, tmux's buffer)."""
        sequence = osc52(text) + wrapped_osc52(text)
        out = sys.__stdout__
        if out is not None and out.isatty():
            out.write(sequence)
            out.flush()
        tmux_buffer(text)

    async def clear(self) -> None:
        """Clear the terminal."""
        self.console.clear()

    def show_todos(self) -> None:
        """``/todos``: print the to-do list."""
        from hermes.frontends.plain.work_render import todo_block

        items = self.transcript.todos
        if items:
            self.console.print(todo_block(items))
        else:
            self.say("no to-do list in this session")

    async def quit(self) -> None:
        """Leave after this line (the loop shuts the engine down)."""
        self.quitting = True

    async def choose(self, choice: Choice) -> None:
        """The rows numbered, then a number runs ``choice.then``; Enter stays. Rows that
        already start with a number (turns) are picked by that number."""
        self.console.print(Text(choice.title, style="bold"))
        rows = list(choice.rows)
        if not rows:
            self.console.print(Text("  nothing here", style="dim"))
            return
        by_value = all(v.isdigit() and label.lstrip().startswith(v) for v, label in rows)
        for i, (_, label) in enumerate(rows, 1):
            self.say(label if by_value else f"{i:>3}  {label}")
        if choice.more:
            self.console.print(Text(choice.more, style="dim"))
        try:
            answer = await self.session.prompt_async(f"# {choice.action} (Enter to stay): ")
        except (EOFError, KeyboardInterrupt):
            return
        answer = answer.strip()
        if not answer:
            return
        values = [v for v, _ in rows]
        if by_value and answer in values:
            await choice.then(answer)
        elif not by_value and answer.isdigit() and 1 <= int(answer) <= len(rows):
            await choice.then(values[int(answer) - 1])
        else:
            self.say(f"no row {answer}; nothing done", "warning")

    # ------------------------------------------------------------------ sessions

    async def pick_session(self) -> None:
        """List sessions by number; a number resumes, words search, Enter stays."""
        query = ""
        while True:
            rows = await asyncio.to_thread(
                find_sessions,
                self.setup.store,
                self.engine.state.workspace,
                query,
                exclude=self.engine.state.id,
            )
            rows = rows[:PICKER_ROWS]
            self._list(rows)
            try:
                answer = await self.session.prompt_async("resume # (words search, Enter to stay): ")
            except (EOFError, KeyboardInterrupt):
                return
            answer = answer.strip()
            if not answer:
                return
            if answer.isdigit() and 1 <= int(answer) <= len(rows):
                await self.switch_session(rows[int(answer) - 1].record.id)
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
            self.console.print(line)
            if row.snippet:
                self.console.print(Text("       " + one_line(row.snippet, 90), style="dim"))
