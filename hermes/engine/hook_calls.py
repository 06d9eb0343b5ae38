"""Where hooks meet the engine: each event's call site, what its hooks decided, and what
that changes.

- :func:`start_session` (``Engine.start``): ``SessionStart`` in the background; its
  context is added before the first prompt (:func:`before_turn` waits for it).
- :func:`before_turn` (engine, before a turn): ``UserPromptSubmit``; a block drops the
  prompt (the user is told why), added context follows the prompt.
- :func:`pre_tool` / :func:`decide` (tool-call gate, before the approval gate):
  ``PreToolUse`` may deny (the model is told why), stop the turn, force a prompt, or
  (only from the user's own config, never for a catastrophic call) skip one.
- :func:`post_tool` (after each result is committed): ``PostToolUse``; exit 2 sends
  stderr to the model.
- :func:`flush_context`: what hooks added reaches the model as user messages, committed
  (marked synthetic) and shown as ``HookContext`` events.
- :func:`stop` (turn loop, when the model is done): ``Stop`` may ask for one more step,
  at most :data:`MAX_STOP_CONTINUATIONS` times a turn.
- :func:`notify` (every event): ``Notification`` when an approval waits or a turn ends.
- :func:`pre_compact`, :func:`end_session`: ``PreCompact``, ``SessionEnd``.

Every run is stored (:mod:`hermes.store.hook_runs`) and reported as ``HookStarted`` /
``HookFinished``; a failing hook is a warning and the session goes on.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hermes import protocol as p
from hermes.engine.state import SessionState
from hermes.execution.executor import GateOutcome, PreparedCall, TurnAbort
from hermes.execution.spec import ToolResult
from hermes.messages import Message
from hermes.redact import child_environment
from hermes.safety.policy import CallFacts, Decision
from hermes.store.sessions import StoreError

# hermes.hooks loads when a session has hooks: `hermes -p` without any never pays for it.
if TYPE_CHECKING:
    from hermes.hooks.outcome import Combined, Verdict
    from hermes.hooks.table import HookSpec
    from hermes.store.hook_runs import HookRunRecord

MAX_STOP_CONTINUATIONS = 3
"""How many extra steps ``Stop`` hooks may ask for in one turn."""


class HookSession:
    """The hooks of one session and what they left to do."""

    def __init__(self, state: SessionState) -> None:
        from hermes.hooks.table import HookTable
        from hermes.hooks.transcript import TranscriptFile

        self.table = HookTable(state.config.hooks)
        self.transcript = TranscriptFile(state.store, state.id)
        self.pending: list[tuple[str, str]] = []  # (event, text) for the model
        self.start: asyncio.Task[list[str]] | None = None
        self.background: set[asyncio.Task[Any]] = set()
        self.stop_turn = 0
        self.stop_count = 0
        self._ids = itertools.count(1)

    def run_id(self) -> str:
        """A fresh id for one hook run (``HookStarted``/``HookFinished`` pairs)."""
        return f"hook-{next(self._ids)}"


def hooks(state: SessionState) -> HookSession:
    """The session's hooks (made on first use)."""
    if state.hooks is None:
        state.hooks = HookSession(state)
    return state.hooks


def configured(state: SessionState, event: str) -> bool:
    """Whether the session's config has hooks for ``event`` (cheap, no matching)."""
    return bool(getattr(state.config.hooks, event, ()))


def _environment(state: SessionState) -> dict[str, str]:
    env = child_environment(os.environ, state.config.tools.env_passthrough)
    workspace = str(state.workspace)
    # Claude Code scripts find their project with CLAUDE_PROJECT_DIR.
    env |= {
        "HERMES_PROJECT_DIR": workspace,
        "CLAUDE_PROJECT_DIR": workspace,
        "HERMES_SESSION_ID": state.id,
    }
    return env


async def _transcript_path(state: SessionState, hs: HookSession) -> str:
    try:
        return await asyncio.to_thread(hs.transcript.write)
    except (StoreError, OSError) as exc:
        state.emit(p.Warning(f"hooks get no transcript_path: cannot write it: {exc}"))
        return ""


async def _run(
    state: SessionState,
    event: str,
    fields: dict[str, Any],
    targets: Sequence[str] | None = None,
    *,
    call_id: str = "",
    tool: str = "",
) -> Combined | None:
    """Run ``event``'s matching hooks in parallel; None when none matched."""
    from hermes.hooks.outcome import combine
    from hermes.hooks.payload import base_payload, encode

    hs = hooks(state)
    specs = hs.table.select(event, targets)
    if not specs:
        return None
    payload = base_payload(
        event,
        session_id=state.id,
        transcript_path=await _transcript_path(state, hs),
        cwd=state.workspace,
        approval_mode=state.policy.mode,
    )
    data = encode(payload | fields)
    env = _environment(state)
    verdicts = await asyncio.gather(
        *(_run_one(state, hs, spec, data, env, call_id, tool) for spec in specs)
    )
    return combine(verdicts)


async def _run_one(
    state: SessionState,
    hs: HookSession,
    spec: HookSpec,
    data: bytes,
    env: dict[str, str],
    call_id: str,
    tool: str,
) -> Verdict:
    from hermes.hooks.outcome import interpret, interrupted
    from hermes.hooks.runner import run_hook

    run_id = hs.run_id()
    state.emit(p.HookStarted(run_id, spec.event, spec.command, call_id))
    t0, started = time.monotonic(), time.time()
    try:
        result = await run_hook(spec, data, cwd=state.workspace, env=env)
    except asyncio.CancelledError:
        took = (time.monotonic() - t0) * 1000
        record = _record(spec, None, took, interrupted(), started, call_id, tool)
        await asyncio.shield(_report(state, run_id, record))
        raise
    verdict = interpret(spec.event, result, user_level=hs.table.user_level(spec))
    record = _record(
        spec, result.exit_code, result.duration_ms, verdict, result.started_at, call_id, tool
    )
    await _report(state, run_id, record)
    if verdict.warning:  # a failure, a timeout, a systemMessage: every front end shows it
        state.emit(p.Warning(verdict.warning))
    return verdict


def _record(
    spec: HookSpec,
    exit_code: int | None,
    duration_ms: float,
    verdict: Verdict,
    started_at: float,
    call_id: str,
    tool: str,
) -> HookRunRecord:
    from hermes.store.hook_runs import HookRunRecord

    message = verdict.reason or verdict.stop_reason or verdict.warning
    return HookRunRecord(
        event=spec.event,
        command=spec.command,
        duration_ms=round(duration_ms, 1),
        exit_code=exit_code,
        outcome=verdict.outcome,
        decision=verdict.decision,
        message=message,
        source=spec.source,
        call_id=call_id,
        tool_name=tool,
        started_at=started_at,
    )


async def _report(state: SessionState, run_id: str, run: HookRunRecord) -> None:
    """Store one run and say it ended."""
    from hermes.hooks.outcome import short
    from hermes.store.hook_runs import record_hook_run

    try:
        await asyncio.to_thread(record_hook_run, state.store, state.id, run)
    except StoreError as exc:
        state.emit(p.Warning(f"could not record a hook run: {exc}"))
    state.emit(
        p.HookFinished(
            run_id,
            run.event,
            run.command,
            run.exit_code,
            run.duration_ms,
            run.outcome,
            run.decision,
            short(run.message),
            run.call_id,
        )
    )


# ---------------------------------------------------------------------- context


async def flush_context(state: SessionState) -> None:
    """Commit what hooks added for the model (user messages marked synthetic), in order."""
    hs = state.hooks
    if hs is None or not hs.pending:
        return
    from hermes.hooks.context import context_message

    items, hs.pending = hs.pending, []
    for event, text in items:
        message = Message(role="user", content=context_message(event, text))
        try:
            await asyncio.shield(state.commit(message, synthetic=True))
        except StoreError as exc:
            state.emit(p.Warning(f"could not save what a {event} hook added: {exc}"))
            continue
        state.history.append(message)
        state.emit(p.HookContext(event, text.strip()))


# ---------------------------------------------------------------------- session, prompt


def start_session(state: SessionState, *, resumed: bool) -> None:
    """Start the ``SessionStart`` hooks (in the background: the session opens at once)."""
    if configured(state, "SessionStart"):
        source = "resume" if resumed else "startup"
        hooks(state).start = asyncio.create_task(_session_start(state, source))


async def _session_start(state: SessionState, source: str) -> list[str]:
    combined = await _run(state, "SessionStart", {"source": source}, (source,))
    return list(combined.context) if combined is not None else []


async def before_turn(state: SessionState, text: str) -> str | None:
    """Before a prompt becomes a turn: ``SessionStart``'s context (once), then the
    ``UserPromptSubmit`` hooks. None: a hook blocked the prompt (``TurnAborted`` says why;
    nothing of it reaches the model). Their context follows the prompt (:func:`flush_context`)."""
    hs = state.hooks
    if hs is None and not configured(state, "UserPromptSubmit"):
        return text
    hs = hooks(state)
    try:
        if hs.start is not None:
            task, hs.start = hs.start, None
            hs.pending.extend(("SessionStart", c) for c in await task)
            await flush_context(state)
        combined = await _run(state, "UserPromptSubmit", {"prompt": text})
    except asyncio.CancelledError:
        state.emit(p.TurnAborted(reason="interrupted by user"))
        raise
    if combined is None:
        return text
    if combined.blocked or combined.stop_reason:
        why = combined.stop_reason or combined.reason
        state.emit(
            p.TurnAborted(reason=f"the prompt was blocked by a UserPromptSubmit hook: {why}")
        )
        return None
    hs.pending.extend(("UserPromptSubmit", c) for c in combined.context)
    return text


async def queued_prompt(state: SessionState, text: str) -> bool:
    """A message typed during a turn, before it reaches the model: False when a
    ``UserPromptSubmit`` hook dropped it (a warning says why; the turn goes on)."""
    if not configured(state, "UserPromptSubmit"):
        return True
    hs = hooks(state)
    combined = await _run(state, "UserPromptSubmit", {"prompt": text})
    if combined is None:
        return True
    if combined.blocked or combined.stop_reason:
        why = combined.stop_reason or combined.reason
        state.emit(p.Warning(f"a UserPromptSubmit hook dropped your message: {why}"))
        return False
    hs.pending.extend(("UserPromptSubmit", c) for c in combined.context)
    return True


# ---------------------------------------------------------------------- tool calls


@dataclass(frozen=True)
class PreToolVerdict:
    """What ``PreToolUse`` hooks said about a call: ``outcome`` ends it (deny, abort)
    before any approval; else ``permission`` (ask, allow or "") goes to :func:`decide`."""

    outcome: GateOutcome | None = None
    permission: str = ""
    reason: str = ""


NO_VERDICT = PreToolVerdict()


async def pre_tool(state: SessionState, pc: PreparedCall) -> PreToolVerdict:
    """Run the ``PreToolUse`` hooks of a checked call, before its approval."""
    if not configured(state, "PreToolUse"):
        return NO_VERDICT
    from hermes.hooks.names import matcher_names
    from hermes.hooks.payload import tool_fields

    hs = hooks(state)
    name, args = pc.call.name, pc.args
    combined = await _run(
        state,
        "PreToolUse",
        tool_fields(name, args, pc.call.id, state.workspace),
        matcher_names(name, args),
        call_id=pc.call.id,
        tool=name,
    )
    if combined is None:
        return NO_VERDICT
    hs.pending.extend(("PreToolUse", c) for c in combined.context)
    if combined.stop_reason:
        why = f"stopped by a PreToolUse hook: {combined.stop_reason}"
        state.emit(p.ApprovalResolved(pc.call.id, "abort", by="hook", reason=why))
        return PreToolVerdict(GateOutcome("abort", why))
    reason = combined.reason or "no reason given"
    if combined.permission == "deny":
        why = f"denied by a PreToolUse hook: {reason}"
    elif combined.permission == "ask" and not state.interactive:  # no flag can answer it
        why = (
            f"denied: a PreToolUse hook asks for approval of {name} ({reason}) and this "
            "run has no one to ask"
        )
    else:
        return PreToolVerdict(None, combined.permission, combined.reason)
    state.emit(p.ApprovalResolved(pc.call.id, "deny", by="hook", reason=why))
    return PreToolVerdict(GateOutcome("deny", why))


def decide(
    state: SessionState, call_id: str, facts: CallFacts, hooked: PreToolVerdict = NO_VERDICT
) -> Decision:
    """The policy's decision, made stricter by a hook's ``ask``, or let through by a hook's
    ``allow`` when only a prompt stood in the way (never a deny rule, never a
    catastrophic call)."""
    decision = state.policy.decide(facts)
    why = hooked.reason or "no reason given"
    if hooked.permission == "ask" and decision.action == "allow":
        return Decision("ask", f"a PreToolUse hook asks: {why}")
    if hooked.permission == "allow" and decision.action == "ask" and not decision.catastrophic:
        reason = f"allowed by a PreToolUse hook in your config: {why}"
        state.emit(p.ApprovalResolved(call_id, "once", by="hook", reason=reason))
        return Decision("allow", reason)
    return decision


async def post_tool(state: SessionState, pc: PreparedCall, result: ToolResult, status: str) -> None:
    """Run the ``PostToolUse`` hooks of a call that ran (its result is committed). Their
    feedback reaches the model after the batch; ``continue: false`` stops the turn."""
    if status != "done" or not configured(state, "PostToolUse"):
        return
    from hermes.hooks.names import hook_tool_response, matcher_names
    from hermes.hooks.payload import tool_fields

    hs = hooks(state)
    name, args = pc.call.name, pc.args
    fields = tool_fields(name, args, pc.call.id, state.workspace)
    fields["tool_response"] = hook_tool_response(
        name,
        args,
        result.content,
        ok=result.ok,
        exit_code=result.exit_code,
        workspace=state.workspace,
    )
    combined = await _run(
        state, "PostToolUse", fields, matcher_names(name, args), call_id=pc.call.id, tool=name
    )
    if combined is None:
        return
    if combined.blocked:
        hs.pending.append(
            ("PostToolUse", f"PostToolUse hook on {name} (call {pc.call.id}):\n{combined.reason}")
        )
    hs.pending.extend(("PostToolUse", c) for c in combined.context)
    if combined.stop_reason:
        raise TurnAbort(f"stopped by a PostToolUse hook: {combined.stop_reason}")


# ---------------------------------------------------------------------- turn end, misc


async def stop(state: SessionState, last_text: str) -> bool:
    """When the model is done: True when a ``Stop`` hook blocked (its reason is now in
    the history and the turn takes one more step)."""
    if not configured(state, "Stop"):
        return False
    hs = hooks(state)
    if hs.stop_turn != state.turns:
        hs.stop_turn, hs.stop_count = state.turns, 0
    fields = {"stop_hook_active": hs.stop_count > 0, "last_assistant_message": last_text}
    combined = await _run(state, "Stop", fields)
    if combined is None or combined.stop_reason or not combined.blocked:
        return False
    if hs.stop_count >= MAX_STOP_CONTINUATIONS:
        state.emit(
            p.Warning(
                f"a Stop hook asked for more work {hs.stop_count + 1} times in this turn; "
                f"the turn ends here (at most {MAX_STOP_CONTINUATIONS})"
            )
        )
        return False
    hs.stop_count += 1
    hs.pending.append(("Stop", combined.reason or "a Stop hook asked you to go on"))
    await flush_context(state)
    return True


def notify(state: SessionState, event: p.Event) -> None:
    """``Notification`` hooks when an approval waits or a turn ends (in the background)."""
    if not configured(state, "Notification"):
        return
    if isinstance(event, p.ApprovalRequested):
        kind, message = "permission_prompt", f"hermes needs your approval to run {event.name}"
    elif isinstance(event, p.TurnComplete | p.TurnAborted):
        kind, message = "idle_prompt", "hermes is waiting for your input"
    else:
        return
    try:
        task = asyncio.get_running_loop().create_task(
            _run(state, "Notification", {"message": message, "notification_type": kind}, (kind,))
        )
    except RuntimeError:  # no loop: nothing runs
        return
    hs = hooks(state)
    hs.background.add(task)
    task.add_done_callback(hs.background.discard)


async def pre_compact(state: SessionState, *, manual: bool) -> None:
    """``PreCompact`` before a compaction (what they say is shown; compaction goes on)."""
    if not configured(state, "PreCompact"):
        return
    trigger = "manual" if manual else "auto"
    await _run(state, "PreCompact", {"trigger": trigger, "custom_instructions": ""}, (trigger,))


async def end_session(state: SessionState, reason: str = "exit") -> None:
    """At shutdown: stop a ``SessionStart`` still running, let notifications finish, then
    run ``SessionEnd``."""
    hs = state.hooks
    if hs is None:
        if not configured(state, "SessionEnd"):
            return
        hs = hooks(state)
    if hs.start is not None:
        hs.start.cancel()
        await asyncio.gather(hs.start, return_exceptions=True)
        hs.start = None
    if hs.background:
        await asyncio.gather(*list(hs.background), return_exceptions=True)
    await _run(state, "SessionEnd", {"reason": reason}, (reason,))
