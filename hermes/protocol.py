"""The engine boundary: ops go in, events come out.

Front ends (TUI, plain REPL, headless printer, tests) talk to the engine only through
these frozen dataclasses. Each one serialises to a JSON object with a ``type`` field
naming its class, so a stream of events can be printed (``stream-json``) and read back.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, get_args

ApprovalDecision: TypeAlias = Literal["once", "always", "deny", "abort"]
ApprovalMode: TypeAlias = Literal["ask", "auto-edit", "auto", "yolo", "plan"]
ToolClass: TypeAlias = Literal["read", "write", "exec"]
CallStatus: TypeAlias = Literal["done", "failed", "denied", "cancelled", "interrupted"]

# "plan": only read-class tools run until the user accepts a plan (hermes.engine.plan).
APPROVAL_MODES: tuple[ApprovalMode, ...] = ("ask", "auto-edit", "auto", "yolo", "plan")
TodoStatus: TypeAlias = Literal["pending", "in_progress", "completed"]
TODO_STATUSES: tuple[TodoStatus, ...] = ("pending", "in_progress", "completed")
APPROVAL_DECISIONS: tuple[ApprovalDecision, ...] = ("once", "always", "deny", "abort")


# --------------------------------------------------------------------------- ops


@dataclass(frozen=True)
class UserTurn:
    """A message from the user. Submitted during a turn, it is queued for the next step.
    ``model``: run this turn (only) with that model (a custom command's ``model:``)."""

    text: str
    model: str = ""


@dataclass(frozen=True)
class Interrupt:
    """Stop the running turn: cancel the stream, kill the running command."""


@dataclass(frozen=True)
class ApprovalReply:
    """The answer to an ``ApprovalRequested`` event."""

    call_id: str
    decision: ApprovalDecision


@dataclass(frozen=True)
class Compact:
    """Compact the model's view of the conversation now."""


@dataclass(frozen=True)
class SetModel:
    """Switch the model used from the next request on."""

    name: str


@dataclass(frozen=True)
class SetApprovalMode:
    """Switch the approval mode from the next tool call on."""

    mode: ApprovalMode


@dataclass(frozen=True)
class Shutdown:
    """End the session: interrupt anything running and close the event stream."""


# -- checkpoints (hermes/checkpoints.py): /undo, /redo, /rewind


ConflictChoice: TypeAlias = Literal["keep_mine", "take_checkpoint", "skip"]


@dataclass(frozen=True)
class Undo:
    """Revert the file changes of the last ``turns`` turns that changed files."""

    turns: int = 1


@dataclass(frozen=True)
class Redo:
    """Re-apply the file changes of the most recently undone turn."""


@dataclass(frozen=True)
class Rewind:
    """Go back to before ``turn``: its files and later ones, and/or the conversation."""

    turn: int
    files: bool = True
    conversation: bool = True


@dataclass(frozen=True)
class ConflictReply:
    """The answer to a ``ConflictFound`` event."""

    path: str
    choice: ConflictChoice


Op: TypeAlias = (
    UserTurn
    | Interrupt
    | ApprovalReply
    | Compact
    | SetModel
    | SetApprovalMode
    | Shutdown
    | Undo
    | Redo
    | Rewind
    | ConflictReply
)

# ------------------------------------------------------------------------ events


@dataclass(frozen=True)
class SessionStarted:
    session_id: str
    model: str
    workspace: str
    approval_mode: ApprovalMode
    resumed: bool = False
    title: str = ""
    sandbox: str = ""  # what confines commands: "sandboxed", "sandbox off", "NO SANDBOX", ...


@dataclass(frozen=True)
class TurnStarted:
    turn: int
    text: str


@dataclass(frozen=True)
class UserMessage:  # replay=True: painted from the store on resume, not new
    """A user message entered the history (a queued message delivered mid-turn, or replay)."""

    text: str
    replay: bool = False


@dataclass(frozen=True)
class AssistantDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolCallView:
    """One tool call as the model asked for it."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class AssistantMessage:
    """The final form of one model reply; follows any ``AssistantDelta`` events."""

    text: str
    tool_calls: tuple[ToolCallView, ...] = ()
    interrupted: bool = False
    reasoning: str = ""
    replay: bool = False


@dataclass(frozen=True)
class ToolCallBegin:
    call_id: str
    name: str
    arguments: str
    tool_class: ToolClass
    summary: str = ""


@dataclass(frozen=True)
class ToolOutputDelta:
    call_id: str
    text: str


@dataclass(frozen=True)
class ToolCallEnd:
    """The result of a call, exactly as the model receives it."""

    call_id: str
    name: str
    status: CallStatus
    output: str
    diff: str = ""
    exit_code: int | None = None
    replay: bool = False
    duration: float | None = None  # seconds from its start to its result

    @property
    def ok(self) -> bool:
        return self.status == "done"


@dataclass(frozen=True)
class ApprovalRequested:
    call_id: str
    name: str
    arguments: str
    reason: str
    always_rules: tuple[str, ...] = ()
    catastrophic: bool = False
    preview: str = ""


@dataclass(frozen=True)
class ApprovalResolved:
    call_id: str
    decision: ApprovalDecision
    by: Literal["user", "policy", "grant", "hook"] = "user"
    reason: str = ""


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of the last request and of the session. ``estimated``: some of these were
    counted locally because the server reported no usage (shown with "≈")."""

    prompt_tokens: int
    completion_tokens: int
    session_prompt_tokens: int
    session_completion_tokens: int
    context_tokens: int
    context_window: int
    estimated: bool = False
    session_cost: float | None = None  # USD the endpoint reported for the session so far
    replay: bool = False  # the stored figures of a resumed session


@dataclass(frozen=True)
class CompactionDone:
    tokens_before: int
    tokens_after: int
    turns_folded: int
    summary: str = ""


@dataclass(frozen=True)
class FactsExtracted:
    count: int
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExecutorStats:
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    queue_depth: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Warning:
    message: str
    kind: str = ""  # "retry": a model request is being retried; discard streamed text


@dataclass(frozen=True)
class Error:
    message: str
    fatal: bool = False


@dataclass(frozen=True)
class TurnComplete:
    text: str
    model_calls: int = 0


@dataclass(frozen=True)
class TurnAborted:
    reason: str


@dataclass(frozen=True)
class ConflictFound:
    """Undo/redo/rewind found ``path`` changed since the agent (or the undo) left it.
    Answer with ``ConflictReply(path, choice)``; nothing is written until then."""

    path: str
    turn: int
    operation: str  # undo | redo | rewind
    reason: str
    user_diff: str = ""  # what the user changed since
    restore_diff: str = ""  # what taking the checkpoint would do to the file now


@dataclass(frozen=True)
class UndoDone:
    """An undo (or redo, ``redo=True``) finished; ``note`` is for the user as it is."""

    turns: tuple[int, ...]
    files_restored: tuple[str, ...]
    files_skipped: tuple[str, ...] = ()
    note: str = ""
    redo: bool = False
    details: tuple[str, ...] = ()  # "path: why it was skipped"


@dataclass(frozen=True)
class RewindDone:
    """A rewind finished; ``prompt`` is the chosen turn's prompt (to edit and resend)."""

    turn: int
    files: bool
    conversation: bool
    files_restored: tuple[str, ...] = ()
    files_skipped: tuple[str, ...] = ()
    prompt: str = ""
    note: str = ""


# -- hooks (hermes/hooks): user commands run on session, prompt and tool events


@dataclass(frozen=True)
class HookStarted:
    """A hook command started (front ends show a hook that runs long as running)."""

    run_id: str
    hook_event: str  # SessionStart, PreToolUse, ... (Claude Code's hook_event_name)
    command: str
    call_id: str = ""  # the tool call, for PreToolUse/PostToolUse


@dataclass(frozen=True)
class HookFinished:
    """A hook command ended. ``exit_code`` None: killed (timeout, interrupt) or it
    could not start. ``decision``: what it decided (deny, ask, allow, block, stop) or "".
    ``message``: what the user should see (a reason, a warning), or ""."""

    run_id: str
    hook_event: str
    command: str
    exit_code: int | None
    duration_ms: float
    outcome: str  # ok | blocked | error | timeout | interrupted
    decision: str = ""
    message: str = ""
    call_id: str = ""


@dataclass(frozen=True)
class HookContext:
    """Text a hook added to the conversation (the model sees it as a user message)."""

    hook_event: str
    text: str
    replay: bool = False


# -- to-do list, plan mode, subagents (hermes/engine/todos.py, plan.py, subagents.py)


@dataclass(frozen=True)
class TodoItem:
    """One entry of the session's to-do list."""

    content: str
    status: TodoStatus = "pending"


@dataclass(frozen=True)
class TodoUpdated:
    """The session's to-do list as it is now (the whole list, every time)."""

    items: tuple[TodoItem, ...]
    replay: bool = False


@dataclass(frozen=True)
class ApprovalModeChanged:
    """The engine changed the approval mode itself (a plan was accepted: back to the
    mode chosen before planning)."""

    mode: ApprovalMode
    previous: ApprovalMode
    reason: str = ""


@dataclass(frozen=True)
class SubagentEvent:
    """An event of a subagent: the child session ``session_id`` started by the parent's
    ``task`` call ``call_id``, tagged ``agent`` (the task's description). Call ids inside
    are prefixed ``call_id/`` so they never collide with the parent's; an approval asked
    inside is answered with ``ApprovalReply`` on that prefixed id, like any other."""

    call_id: str
    agent: str
    session_id: str
    event: Event


Event: TypeAlias = (
    SessionStarted
    | TurnStarted
    | UserMessage
    | AssistantDelta
    | ReasoningDelta
    | AssistantMessage
    | ToolCallBegin
    | ToolOutputDelta
    | ToolCallEnd
    | ApprovalRequested
    | ApprovalResolved
    | TokenUsage
    | CompactionDone
    | FactsExtracted
    | ExecutorStats
    | Warning
    | Error
    | TurnComplete
    | TurnAborted
    | ConflictFound
    | UndoDone
    | RewindDone
    | HookStarted
    | HookFinished
    | HookContext
    | TodoUpdated
    | ApprovalModeChanged
    | SubagentEvent
)

_BY_NAME: dict[str, type] = {t.__name__: t for t in (*get_args(Op), *get_args(Event))}


def to_dict(message: Op | Event) -> dict[str, Any]:
    """Serialise an op or event to a JSON-ready dict with a ``type`` field."""
    out: dict[str, Any] = {"type": type(message).__name__}
    for f in dataclasses.fields(message):
        value = getattr(message, f.name)
        if f.name in ("tool_calls", "items"):
            value = [dataclasses.asdict(c) for c in value]
        elif f.name == "event":  # SubagentEvent: the child's event, nested
            value = to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def to_json(message: Op | Event) -> str:
    """Serialise an op or event to one line of JSON."""
    return json.dumps(to_dict(message), ensure_ascii=False)


def from_dict(data: dict[str, Any]) -> Op | Event:
    """Rebuild an op or event from :func:`to_dict` output; raises ValueError when unknown."""
    kind = data.get("type")
    cls = _BY_NAME.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown message type: {kind!r}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "tool_calls":
            value = tuple(ToolCallView(**c) for c in value)
        elif f.name == "items":
            value = tuple(TodoItem(**c) for c in value)
        elif f.name == "event" and isinstance(value, dict):
            value = from_dict(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    result: Op | Event = cls(**kwargs)
    return result


def from_json(line: str) -> Op | Event:
    """Parse one line of JSON produced by :func:`to_json`."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("a protocol message must be a JSON object")
    return from_dict(data)
