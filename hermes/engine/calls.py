"""The tool-call phase of a turn: check and classify the calls, gate each one, run them.

:func:`prepare_calls` checks arguments against the schemas and classifies each call;
:func:`run_calls` hands them to the executor with the gate (policy, then the user) and
commits each result as it is produced. The persistence contract they keep is written at
the top of :mod:`hermes.engine.turn`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

from hermes import protocol as p
from hermes.engine import checkpoint_hooks, escalation, hook_calls
from hermes.engine.state import SessionState
from hermes.engine.todos import tool_session
from hermes.execution.arguments import ArgumentError, parse_arguments
from hermes.execution.executor import GateOutcome, PreparedCall, TurnAbort
from hermes.execution.spec import ToolContext, ToolResult
from hermes.messages import Message, ToolCall
from hermes.safety.classify import classify
from hermes.safety.policy import CallFacts, headless_denial
from hermes.store.sessions import CallState, StoreError

TAKEN_RESULT = (
    "[not run here: another hermes process resuming this session took this call first; "
    "that process runs it and records its result]"
)


class CallTaken(TurnAbort):
    """A call this process was about to run (or ask about) was already taken by another
    process resuming the same session: the batch, and the turn, stop here; the other
    process goes on and records the results."""

    def __init__(self, call_id: str, name: str, holder: str) -> None:
        super().__init__(
            f"call {call_id} ({name}) was already taken by another hermes process resuming "
            f"this session ({holder}); it was not run here"
        )
        self.call_id = call_id
        self.holder = holder


def claim_owner() -> str:
    """Who claims a call: this process, as ``hermes pid N on HOST since T`` (T: when the
    process started, so a later process that reuses the pid is not taken for it)."""
    return _owner(os.getpid())


@functools.cache
def _owner(pid: int) -> str:
    return f"hermes pid {pid} on {socket.gethostname()} since {_started(pid) or '?'}"


_OWNER = re.compile(r"hermes pid (\d+) on (\S+) since (\S+)")


def owner_alive(owner: str) -> bool:
    """Whether the process named by :func:`claim_owner` text still runs (on this host;
    a claim from another host, or one that cannot be read, counts as gone)."""
    m = _OWNER.fullmatch(owner)
    if m is None or m.group(2) != socket.gethostname():
        return False
    pid = int(m.group(1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _started(pid)
    return started is None or m.group(3) in ("?", started)


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks after boot (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def prepare_calls(
    state: SessionState, calls: Sequence[ToolCall]
) -> tuple[list[PreparedCall], dict[int, CallFacts]]:
    """Check arguments against schemas and classify each call."""
    prepared: list[PreparedCall] = []
    facts: dict[int, CallFacts] = {}
    names = ", ".join(state.registry.names())
    for i, call in enumerate(calls):
        spec = state.registry.get(call.name)
        error = None
        args = None
        if spec is None:
            error = f"error: unknown tool {call.name!r}. Available tools: {names}."
        else:
            try:
                args = parse_arguments(call.arguments, spec.parameters)
            except ArgumentError as exc:
                error = f"error: invalid arguments for {call.name}: {exc}. Nothing was run."
        c = classify(spec, call.name, args, state.workspace)
        facts[i] = c.facts
        lane = False
        if error is None:
            lane = state.policy.decide(c.facts).action == "ask"
        prepared.append(PreparedCall(i, call, spec, args, c.tool_class, error, c.paths, lane))
    return prepared, facts


async def run_calls(
    state: SessionState,
    prepared: list[PreparedCall],
    facts: dict[int, CallFacts],
    *,
    note: str = "",
) -> None:
    """Gate and run prepared calls, committing each result as it is produced; the
    history receives the results in call order, even when the batch stops early.
    ``note`` is appended to the last call's result (what the model must hear besides,
    e.g. that some of its calls had invalid names)."""
    last_index = prepared[-1].index if prepared else -1
    emit = state.emit
    loop = asyncio.get_running_loop()
    results: dict[int, Message] = {}
    store_failed: list[StoreError] = []
    claimed: set[str] = set()  # started (or decided) here
    taken: set[str] = set()  # found started (or decided) by another process
    lost: list[CallTaken] = []  # why this batch stops: the first call found taken

    async def claim(pc: PreparedCall, status: str) -> str | None:
        """Claim ``pc`` in the database; None when it is this process's now, else who
        holds it. Cancellation waits for the answer, so a claim made is never lost."""
        owner = claim_owner()
        job = asyncio.ensure_future(
            asyncio.to_thread(state.store.claim_call, state.id, pc.call.id, owner, status)
        )
        try:
            found = await asyncio.shield(job)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # a second cancel still gets through
                _settle(pc, await job, owner)
            raise
        return _settle(pc, found, owner)

    def _settle(pc: PreparedCall, found: CallState | None, owner: str) -> str | None:
        if found is None or found.reason == owner:  # claimed now, or earlier by this process
            claimed.add(pc.call.id)
            return None
        return f"{found.status} ({found.reason})" if found.reason else found.status

    def lose(pc: PreparedCall, holder: str) -> CallTaken:
        taken.add(pc.call.id)
        lost.append(CallTaken(pc.call.id, pc.call.name, holder))
        return lost[0]

    began: dict[str, float] = {}  # call id -> when it started (its duration is stored)

    def make_context(pc: PreparedCall, cancel: threading.Event) -> ToolContext:
        def on_output(text: str) -> None:
            loop.call_soon_threadsafe(emit, p.ToolOutputDelta(pc.call.id, text))

        return ToolContext(
            workspace=state.workspace,
            limits=state.config.tools.limits(),
            output_dir=state.outputs_dir,
            cancel=cancel,
            on_output=on_output,
            call_id=pc.call.id,
            sandbox=state.config.sandbox,
            session=tool_session(state),  # the to-do list; engine tools find the state
        )

    async def on_begin(pc: PreparedCall) -> None:
        # Nothing with effects runs unless its start is on disk, and nothing runs once an
        # earlier result failed to commit. A read that never reported can simply run
        # again on resume, so it costs no extra commit. The start is a claim: of several
        # processes resuming this session, only one runs the call.
        if lost:  # another process has this batch: nothing more starts here
            raise lost[0]
        if pc.tool_class != "read" or pc.lane:
            holder = await claim(pc, "running")
            if holder is not None:
                raise lose(pc, holder)
        if store_failed:
            raise store_failed[0]
        if pc.tool_class != "read":  # a restorable checkpoint, committed before it runs
            await checkpoint_hooks.before_call(state, pc)
        summary = facts[pc.index].classification_reason
        began[pc.call.id] = loop.time()
        emit(p.ToolCallBegin(pc.call.id, pc.call.name, pc.call.arguments, pc.tool_class, summary))

    async def on_result(pc: PreparedCall, result: ToolResult, status: str) -> None:
        if taken and pc.call.id not in claimed:
            # Another process owns this batch now: it records these calls' results and
            # statuses. This one keeps a result in memory only, so its history stays valid.
            _report_taken(pc)
            return
        if pc.call.id not in claimed and (pc.tool_class != "read" or pc.lane):
            # Decided here without running (denied, invalid, cancelled): the decision is
            # a claim too, so no result is ever recorded for a call another process took.
            holder = await claim(pc, status)
            if holder is not None:
                lose(pc, holder)
                _report_taken(pc)
                return
        review = None
        if result.sandbox_blocked and status == "failed":  # may ask to run it unconfined
            review = await escalation.review(
                state, pc, facts[pc.index], result, lambda c: make_context(pc, c)
            )
            result = review.result
            status = "interrupted" if review.cancelled else "done" if result.ok else "failed"
        content = result.content
        if note and pc.index == last_index:
            content = f"{content}\n\n[hermes: {note}]"
        message = Message(role="tool", content=content, tool_call_id=pc.call.id)
        start = began.get(pc.call.id)
        duration = round(loop.time() - start, 3) if start is not None else None
        try:
            await asyncio.shield(
                state.commit(
                    message, diff=result.diff, exit_code=result.exit_code, duration=duration
                )
            )
        except StoreError as exc:
            store_failed.append(exc)
            raise
        if status != "done":
            await asyncio.shield(
                asyncio.to_thread(state.store.set_call_status, state.id, pc.call.id, status)
            )
        results[pc.index] = message
        emit(
            p.ToolCallEnd(
                call_id=pc.call.id,
                name=pc.call.name,
                status=status,  # type: ignore[arg-type]
                output=result.content,
                diff=result.diff,
                exit_code=result.exit_code,
                duration=duration,
            )
        )
        await hook_calls.post_tool(state, pc, result, status)  # PostToolUse (committed first)
        if review is not None and review.cancelled:
            raise asyncio.CancelledError
        if review is not None and review.abort:
            raise TurnAbort("denied by the user, who stopped the turn")

    def _report_taken(pc: PreparedCall) -> None:
        message = Message(role="tool", content=TAKEN_RESULT, tool_call_id=pc.call.id)
        results[pc.index] = message
        emit(p.ToolCallEnd(pc.call.id, pc.call.name, "cancelled", TAKEN_RESULT))

    async def gate(pc: PreparedCall) -> GateOutcome:
        if lost:
            raise lost[0]
        try:
            hooked = await hook_calls.pre_tool(state, pc)  # PreToolUse, before the approval
            if hooked.outcome is not None:
                return hooked.outcome
            return await _gate(state, pc, facts[pc.index], hooked)
        except CallTaken as exc:
            raise lose(pc, exc.holder) from None

    try:
        await state.executor.run_batch(
            prepared,
            make_context=make_context,
            gate=gate,
            on_begin=on_begin,
            on_result=on_result,
            session=state.id,
        )
        if lost:
            raise lost[0]
    except CallTaken as exc:
        emit(p.Warning(exc.reason))
        raise
    finally:
        state.history.extend(results[i] for i in sorted(results))
        await hook_calls.flush_context(state)  # PostToolUse feedback, after the results


async def _persist_grant(state: SessionState, rules: tuple[str, ...]) -> None:
    from hermes.config import ConfigError
    from hermes.safety.saved_rules import persist_allow_rules

    try:
        path = await asyncio.to_thread(persist_allow_rules, state.workspace, rules)
    except (ConfigError, OSError) as exc:
        state.emit(p.Warning(f"could not save the rule to the workspace config: {exc}"))
        return
    state.emit(p.Warning(f"saved {', '.join(rules)} to {path} (approvals.persist)"))


def _edit_preview(pc: PreparedCall, workspace: Path) -> str:
    """The diff an edit call would make, shown with its approval request."""
    # Lazy, as in default_registry: importing hermes.tools loads every built-in tool.
    from hermes.tools.files import preview_edit

    if not pc.paths:
        return ""
    return preview_edit(pc.call.name, pc.args or {}, pc.paths[0], workspace)


def _edit_problem(pc: PreparedCall, workspace: Path) -> str:
    """Why an edit cannot apply now ("" when it can): such a call is not offered for
    approval, it fails at once with the tool's own message."""
    from hermes.tools.files import edit_problem

    return edit_problem(pc.call.name, pc.args or {}, workspace)


async def _gate(
    state: SessionState,
    pc: PreparedCall,
    facts: CallFacts,
    hooked: hook_calls.PreToolVerdict = hook_calls.NO_VERDICT,
) -> GateOutcome:
    decision = hook_calls.decide(state, pc.call.id, facts, hooked)  # policy, then hooks
    if decision.action == "allow":
        return GateOutcome("run")
    emit = state.emit
    call = pc.call
    if decision.action == "deny":
        emit(p.ApprovalResolved(call.id, "deny", by="policy", reason=decision.reason))
        return GateOutcome("deny", f"denied: {decision.reason}")
    problem = await asyncio.to_thread(_edit_problem, pc, state.workspace)
    if problem:
        return GateOutcome("fail", problem)
    if not state.interactive:
        message = headless_denial(decision, facts)
        emit(p.ApprovalResolved(call.id, "deny", by="policy", reason=message))
        return GateOutcome("deny", message)
    if not await asyncio.to_thread(state.store.await_approval, state.id, call.id, decision.reason):
        states = await asyncio.to_thread(state.store.call_states, state.id)
        found = states.get(call.id)
        raise CallTaken(call.id, call.name, found.status if found is not None else "gone")
    future: asyncio.Future[p.ApprovalDecision] = asyncio.get_running_loop().create_future()
    state.approvals[call.id] = future
    emit(
        p.ApprovalRequested(
            call_id=call.id,
            name=call.name,
            arguments=call.arguments,
            reason=decision.reason,
            always_rules=decision.always_rules,
            catastrophic=decision.catastrophic,
            preview=facts.command
            if facts.command
            else await asyncio.to_thread(_edit_preview, pc, state.workspace),
        )
    )
    try:
        answer = await future
    finally:
        state.approvals.pop(call.id, None)
    emit(p.ApprovalResolved(call.id, answer, by="user"))
    if answer == "always" and decision.always_rules and not decision.catastrophic:
        state.policy.grant(decision.always_rules)
        await asyncio.to_thread(state.store.add_grants, state.id, decision.always_rules)
        if state.config.approvals.persist:
            await _persist_grant(state, decision.always_rules)
        return GateOutcome("run")
    if answer in ("once", "always"):
        return GateOutcome("run")
    if answer == "abort":
        return GateOutcome("abort", "denied by the user, who stopped the turn")
    return GateOutcome("deny", "denied by the user")
