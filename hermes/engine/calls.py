"""The tool-call phase of a turn: check and classify the calls, gate each one, run them.

:func:`prepare_calls` checks arguments against the schemas and classifies each call;
:func:`run_calls` hands them to the executor with the gate (policy, then the user) and
commits each result as it is produced. The persistence contract they keep is written at
the top of :mod:`hermes.engine.turn`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

from hermes import protocol as p
from hermes.engine import checkpoint_hooks
from hermes.engine.state import SessionState
from hermes.execution.arguments import ArgumentError, parse_arguments
from hermes.execution.executor import GateOutcome, PreparedCall
from hermes.execution.spec import ToolContext, ToolResult
from hermes.messages import Message, ToolCall
from hermes.safety.classify import classify
from hermes.safety.policy import CallFacts, headless_denial
from hermes.store.sessions import StoreError


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
    state: SessionState, prepared: list[PreparedCall], facts: dict[int, CallFacts]
) -> None:
    """Gate and run prepared calls, committing each result as it is produced; the
    history receives the results in call order, even when the batch stops early."""
    emit = state.emit
    loop = asyncio.get_running_loop()
    results: dict[int, Message] = {}
    store_failed: list[StoreError] = []

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
        )

    async def on_begin(pc: PreparedCall) -> None:
        # Nothing with effects runs unless its start is on disk, and nothing runs once an
        # earlier result failed to commit. A read that never reported can simply run
        # again on resume, so it costs no extra commit.
        if pc.tool_class != "read" or pc.lane:
            await asyncio.to_thread(state.store.set_call_status, state.id, pc.call.id, "running")
        if store_failed:
            raise store_failed[0]
        if pc.tool_class != "read":  # a restorable checkpoint, committed before it runs
            await checkpoint_hooks.before_call(state, pc)
        summary = facts[pc.index].classification_reason
        emit(p.ToolCallBegin(pc.call.id, pc.call.name, pc.call.arguments, pc.tool_class, summary))

    async def on_result(pc: PreparedCall, result: ToolResult, status: str) -> None:
        message = Message(role="tool", content=result.content, tool_call_id=pc.call.id)
        try:
            await asyncio.shield(state.commit(message))
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
            )
        )

    async def gate(pc: PreparedCall) -> GateOutcome:
        return await _gate(state, pc, facts[pc.index])

    try:
        await state.executor.run_batch(
            prepared,
            make_context=make_context,
            gate=gate,
            on_begin=on_begin,
            on_result=on_result,
            session=state.id,
        )
    finally:
        state.history.extend(results[i] for i in sorted(results))


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


async def _gate(state: SessionState, pc: PreparedCall, facts: CallFacts) -> GateOutcome:
    decision = state.policy.decide(facts)
    if decision.action == "allow":
        return GateOutcome("run")
    emit = state.emit
    call = pc.call
    if decision.action == "deny":
        emit(p.ApprovalResolved(call.id, "deny", by="policy", reason=decision.reason))
        return GateOutcome("deny", f"denied: {decision.reason}")
    if not state.interactive:
        message = headless_denial(decision, facts)
        emit(p.ApprovalResolved(call.id, "deny", by="policy", reason=message))
        return GateOutcome("deny", message)
    await asyncio.to_thread(
        state.store.set_call_status, state.id, call.id, "pending_approval", decision.reason
    )
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
