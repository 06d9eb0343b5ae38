"""The conversation as data: protocol events folded into entries (no textual here).

The TUI keeps every entry of a session in this model and mounts widgets for only a
window of them, so a 10,000-message session costs little more than a short one. Each
``apply(event)`` returns which entries were added and which changed; widgets re-read
their entry when told. Replayed history goes through exactly the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hermes import protocol as p

LIVE_MAX_CHARS = 64_000
"""How much of a running command's live output is kept for display (the tail)."""

TOOL_DONE_STATES = ("done", "failed", "denied", "cancelled", "interrupted")

SLOW_HOOK_MS = 1_000.0
"""A hook that ran longer than this is called slow in its line."""


@dataclass(eq=False)
class Entry:
    """One block of the conversation."""


@dataclass(eq=False)
class UserEntry(Entry):
    """A user message."""

    text: str = ""


@dataclass(eq=False)
class AssistantEntry(Entry):
    """A model reply: streamed text, reasoning, and whether it was cut short."""

    text: str = ""
    reasoning: str = ""
    streaming: bool = False
    interrupted: bool = False
    generation: int = 0  # bumped when streamed text is thrown away (a retried request)
    stale: bool = False  # a retry is under way: the text stays until the new text comes
    failed: bool = False  # its request failed: shown, but not part of the conversation

    @property
    def empty(self) -> bool:
        """Nothing to show (a request that failed before any text): no block at all."""
        return not (self.text or self.reasoning or self.interrupted)


@dataclass(eq=False)
class ToolEntry(Entry):
    """A tool call, from the model's request to its result."""

    call_id: str = ""
    name: str = ""
    arguments: str = ""
    tool_class: str = ""
    state: str = "queued"
    live: str = ""
    output: str = ""
    diff: str = ""
    exit_code: int | None = None
    started: float | None = None
    ended: float | None = None
    approval: p.ApprovalRequested | None = None
    note: str = ""
    expanded: bool = False
    agent: str = ""  # a subagent's call: the task's description
    agent_usage: str = ""  # a task call: its subagent's tokens so far ("↑1.2k ↓40")
    agent_calls: list[str] = field(default_factory=list)  # a task call: what its subagent did
    duration: float | None = None  # seconds it ran, as the engine measured and stored it
    lines: int = 0  # output lines streamed live (the result may keep only head and tail)

    @property
    def finished(self) -> bool:
        """Whether the call has its result (or never will run)."""
        return self.state in TOOL_DONE_STATES


@dataclass(eq=False)
class NoticeEntry(Entry):
    """A line from hermes itself: an error, a warning, what a command says."""

    level: str = "info"  # info | warning | error
    text: str = ""
    kind: str = ""  # "retry": updated in place by the next retry of the same request


@dataclass
class Status:
    """What the status bar shows."""

    session_id: str = ""
    model: str = ""
    title: str = ""
    workspace: str = ""
    approval_mode: str = "ask"
    sandbox: str = ""
    context_tokens: int = 0
    context_window: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None  # USD the endpoint reported (None: it never did)
    usage_estimated: bool = False  # the server reported no usage: counted here ("≈")
    busy: bool = False
    streaming: bool = False


@dataclass
class Change:
    """What one event did to the transcript."""

    added: list[Entry] = field(default_factory=list)
    updated: list[Entry] = field(default_factory=list)
    status: bool = False
    approvals: bool = False
    todos: bool = False  # the to-do list changed (Transcript.todos)


class Transcript:
    """Every entry of the session, plus the indexes the event handlers need."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.entries: list[Entry] = []
        self.tools: dict[str, ToolEntry] = {}
        self.current: AssistantEntry | None = None
        self.approvals: list[str] = []  # call ids waiting for an answer, oldest first
        self.active: dict[str, str] = {}  # call id -> tool class, for calls now running
        self.hooks: dict[str, p.HookStarted] = {}  # hook runs now running, by run id
        self.status = Status()
        self.todos: tuple[p.TodoItem, ...] = ()  # the session's to-do list
        self.child_calls: dict[str, str] = {}  # subagents' calls: prefixed id -> arguments

    # ------------------------------------------------------------------ queries

    def running(self) -> list[str]:
        """The tool class of every call now running, and ``hook`` for each running hook."""
        return [*self.active.values(), *("hook" for _ in self.hooks)]

    def lanes(self) -> tuple[list[str], int]:
        """Running calls' tool classes and the number of approvals waiting."""
        return self.running(), len(self.approvals)

    # ------------------------------------------------------------------ changes

    def clear(self) -> None:
        """Forget what is shown (``/clear``); calls still open keep their entries indexed."""
        self.entries = []
        self.current = None

    def add(self, entry: Entry, change: Change) -> None:
        """Append ``entry`` and record it in ``change``."""
        self.entries.append(entry)
        change.added.append(entry)

    def notice(self, text: str, level: str = "info") -> Change:
        """Add a notice (what a slash command says, an error...)."""
        change = Change()
        self.add(NoticeEntry(level=level, text=text), change)
        return change

    def apply(self, ev: p.Event) -> Change:
        """Fold one event in."""
        change = Change()
        match ev:
            case p.SessionStarted():
                self._session(ev, change)
            case p.TurnStarted():
                self._turn_started(ev, change)
            case p.UserMessage():
                self._user(ev, change)
            case p.AssistantDelta():
                entry = self._stream_entry(change)
                entry.text += ev.text
                change.updated.append(entry)
            case p.ReasoningDelta():
                entry = self._stream_entry(change)
                entry.reasoning += ev.text
                change.updated.append(entry)
            case p.AssistantMessage():
                self._assistant(ev, change)
            case p.ToolCallBegin():
                self._begin(ev, change)
            case p.ToolOutputDelta():
                self._output(ev, change)
            case p.ToolCallEnd():
                self._end(ev, change)
            case p.ApprovalRequested():
                self._approval(ev, change)
            case p.ApprovalResolved():
                self._resolved(ev, change)
            case p.TokenUsage():
                self._usage(ev, change)
            case p.Warning():
                self._warning(ev, change)
            case p.Error():
                self._finish_stream(change)
                self.add(NoticeEntry(level="error", text=ev.message), change)
            case p.TurnComplete():
                self._end_turn(change)
            case p.TurnAborted():
                self._end_turn(change)
                self.add(NoticeEntry(level="warning", text=f"turn stopped: {ev.reason}"), change)
            case p.CompactionDone():
                self._compacted(ev, change)
            case p.FactsExtracted() if ev.count:
                self.add(NoticeEntry(text=f"remembered {ev.count} fact(s)"), change)
            case p.HookStarted() | p.HookFinished() | p.HookContext():
                self._hook(ev, change)
            case p.TodoUpdated() | p.ApprovalModeChanged() | p.SubagentEvent():
                from hermes.frontends.common.work import apply_work

                apply_work(self, ev, change)
        return change

    # ------------------------------------------------------------------ handlers

    def _session(self, ev: p.SessionStarted, change: Change) -> None:
        s = self.status
        s.session_id, s.model, s.workspace = ev.session_id, ev.model, ev.workspace
        s.approval_mode, s.title = ev.approval_mode, ev.title
        s.sandbox = ev.sandbox
        change.status = True

    def _turn_started(self, ev: p.TurnStarted, change: Change) -> None:
        self.status.busy = True
        change.status = True
        if not self.status.title:
            self.status.title = _title(ev.text)
        self._finish_stream(change)
        if not self._resent(ev.text):
            self.add(UserEntry(text=ev.text), change)

    def _resent(self, text: str) -> bool:
        """Whether ``text`` repeats the last message, which got no reply (its turn failed):
        the engine keeps it once, and so does the screen."""
        for entry in reversed(self.entries):
            if isinstance(entry, NoticeEntry) or (
                isinstance(entry, AssistantEntry) and (entry.empty or entry.failed)
            ):
                continue
            return isinstance(entry, UserEntry) and entry.text == text
        return False

    def _user(self, ev: p.UserMessage, change: Change) -> None:
        self._finish_stream(change)
        if not ev.replay and not self.status.title:
            self.status.title = _title(ev.text)
            change.status = True
        self.add(UserEntry(text=ev.text), change)

    def _stream_entry(self, change: Change) -> AssistantEntry:
        entry = self.current
        if entry is not None and entry.stale:  # the retry streams: its text replaces the old
            entry.text = entry.reasoning = ""
            entry.stale = False
            entry.generation += 1
        if entry is None:
            entry = AssistantEntry(streaming=True)
            self.current = entry
            self.add(entry, change)
            self.status.streaming = True
            change.status = True
        return entry

    def _finish_stream(self, change: Change) -> None:
        if self.current is not None:
            if self.current.stale:  # retried, and the retries failed: keep what came
                self.current.stale = False
                self.current.failed = True
            self.current.streaming = False
            change.updated.append(self.current)
            self.current = None
        if self.status.streaming:
            self.status.streaming = False
            change.status = True

    def _assistant(self, ev: p.AssistantMessage, change: Change) -> None:
        entry = self.current
        if entry is None and (ev.text or ev.reasoning or ev.interrupted):
            entry = AssistantEntry()
            self.add(entry, change)
        if entry is not None:
            entry.text = ev.text
            entry.reasoning = ev.reasoning or entry.reasoning
            entry.interrupted = ev.interrupted
            entry.streaming = entry.stale = False
            if entry not in change.added:
                change.updated.append(entry)
        self.current = None
        if self.status.streaming:
            self.status.streaming = False
            change.status = True
        for call in ev.tool_calls:
            tool = ToolEntry(call_id=call.call_id, name=call.name, arguments=call.arguments)
            self.tools[call.call_id] = tool
            self.add(tool, change)

    def _tool(self, call_id: str, name: str, change: Change) -> ToolEntry:
        tool = self.tools.get(call_id)
        if tool is None:  # an event for a call we never saw announced: show it anyway
            tool = ToolEntry(call_id=call_id, name=name)
            self.tools[call_id] = tool
            self.add(tool, change)
        else:
            change.updated.append(tool)
        return tool

    def _begin(self, ev: p.ToolCallBegin, change: Change) -> None:
        tool = self._tool(ev.call_id, ev.name, change)
        tool.arguments = tool.arguments or ev.arguments
        tool.tool_class = ev.tool_class
        tool.state = "running"
        tool.started = self.clock()
        self.active[ev.call_id] = ev.tool_class
        change.status = True

    def _output(self, ev: p.ToolOutputDelta, change: Change) -> None:
        tool = self._tool(ev.call_id, "", change)
        tool.lines += ev.text.count("\n")
        live = tool.live + ev.text
        tool.live = live[-LIVE_MAX_CHARS:] if len(live) > LIVE_MAX_CHARS else live

    def _end(self, ev: p.ToolCallEnd, change: Change) -> None:
        tool = self._tool(ev.call_id, ev.name, change)
        tool.name = tool.name or ev.name
        tool.state = ev.status
        tool.output, tool.diff, tool.exit_code = ev.output, ev.diff, ev.exit_code
        tool.duration = ev.duration
        tool.note = ""  # who approved it said while it waited; the result says the rest
        tool.live = ""
        tool.ended = self.clock() if not ev.replay else None
        if tool.approval is not None:
            tool.approval = None
            self._drop_approval(ev.call_id, change)
        if self.active.pop(ev.call_id, None) is not None:
            change.status = True
        if ev.replay:  # history: nothing more will happen to this call
            self.tools.pop(ev.call_id, None)

    def _approval(self, ev: p.ApprovalRequested, change: Change) -> None:
        tool = self._tool(ev.call_id, ev.name, change)
        tool.arguments = tool.arguments or ev.arguments
        tool.state = "approval"
        tool.approval = ev
        if ev.call_id not in self.approvals:
            self.approvals.append(ev.call_id)
        change.approvals = change.status = True

    def _resolved(self, ev: p.ApprovalResolved, change: Change) -> None:
        tool = self.tools.get(ev.call_id)
        if tool is not None:
            tool.approval = None
            tool.note = _resolution_note(ev)
            if tool.state == "approval":
                tool.state = "queued"
            change.updated.append(tool)
        self._drop_approval(ev.call_id, change)

    def _drop_approval(self, call_id: str, change: Change) -> None:
        if call_id in self.approvals:
            self.approvals.remove(call_id)
            change.approvals = change.status = True

    def _usage(self, ev: p.TokenUsage, change: Change) -> None:
        s = self.status
        s.context_tokens, s.context_window = ev.context_tokens, ev.context_window
        s.prompt_tokens, s.completion_tokens = (
            ev.session_prompt_tokens,
            ev.session_completion_tokens,
        )
        s.cost = ev.session_cost
        s.usage_estimated = ev.estimated
        change.status = True

    def _warning(self, ev: p.Warning, change: Change) -> None:
        if ev.kind == "retry" and self.current is not None:
            self.current.stale = True  # wiped only when the retry brings new text
            change.updated.append(self.current)
        last = self.entries[-1] if self.entries else None
        if ev.kind == "retry" and isinstance(last, NoticeEntry) and last.kind == "retry":
            last.text = ev.message  # one line per failing request, not one per attempt
            change.updated.append(last)
            return
        self.add(NoticeEntry(level="warning", text=ev.message, kind=ev.kind), change)

    def _end_turn(self, change: Change) -> None:
        self._finish_stream(change)
        for tool in self.tools.values():
            if not tool.finished:
                tool.state = "cancelled"
                tool.approval = None
                change.updated.append(tool)
        self.tools = {k: t for k, t in self.tools.items() if not t.finished}
        self.active.clear()
        self.approvals.clear()
        self.status.busy = False
        change.status = change.approvals = True

    def _compacted(self, ev: p.CompactionDone, change: Change) -> None:
        text = (
            f"compacted {ev.turns_folded} turn(s): {ev.tokens_before:,} → "
            f"{ev.tokens_after:,} tokens"
        )
        self.add(NoticeEntry(text=text), change)

    def _hook(self, ev: p.HookStarted | p.HookFinished | p.HookContext, change: Change) -> None:
        if isinstance(ev, p.HookStarted):
            self.hooks[ev.run_id] = ev
            change.status = True
        elif isinstance(ev, p.HookFinished):
            if self.hooks.pop(ev.run_id, None) is not None:
                change.status = True
            if ev.outcome not in ("error", "timeout"):  # those come as warnings too
                level = "warning" if ev.outcome == "blocked" or ev.decision else "info"
                self.add(NoticeEntry(level=level, text=hook_line(ev), kind="hook"), change)
        else:
            self._finish_stream(change)
            text = f"{ev.hook_event} hook added context:\n{ev.text}"
            self.add(NoticeEntry(text=text, kind="hook"), change)


def hook_line(ev: p.HookFinished) -> str:
    """One line for a finished hook run: ``hook PreToolUse ./guard.sh: denied (0.1 s)``."""
    what = {
        "deny": "denied the call",
        "ask": "asked for approval",
        "allow": "allowed the call",
        "block": "blocked",
        "stop": "stopped the turn",
    }.get(ev.decision) or ("blocked" if ev.outcome == "blocked" else ev.outcome)
    took = f"{ev.duration_ms / 1000:.1f} s"
    if ev.duration_ms > SLOW_HOOK_MS:
        took += ", slow"
    line = f"hook {ev.hook_event} '{ev.command}': {what} ({took})"
    return f"{line}: {ev.message}" if ev.message and ev.decision else line


def _title(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 60 else line[:57].rstrip() + "..."


def _resolution_note(ev: p.ApprovalResolved) -> str:
    if ev.by == "user":
        return {
            "once": "approved once",
            "always": "approved always (this session)",
            "deny": "denied by you",
            "abort": "denied by you; turn stopped",
        }[ev.decision]
    if ev.decision == "deny":
        return ev.reason or "denied by policy"
    return ev.reason or f"allowed by {ev.by}"
