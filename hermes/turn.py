"""One turn: stream the model, commit, dispatch tools, commit each result, repeat.

The persistence contract (DESIGN.md) is kept here: the assistant message carrying tool
calls is committed before any tool runs; each result is committed as it is produced;
results reach the model in call order; an interrupt keeps the partial answer (marked)
and gives every unfinished call a result saying so.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

from hermes import checkpoints
from hermes import compaction_hooks as ctx
from hermes import protocol as p
from hermes.approvals import CallFacts, headless_denial
from hermes.classify import classify
from hermes.drafts import DraftSaver
from hermes.executor import GateOutcome, PreparedCall, TurnAbort
from hermes.messages import Message, ToolCall
from hermes.model import ModelAuthError, ModelError, ModelReply
from hermes.schema_check import ArgumentError, parse_arguments
from hermes.session import SessionState
from hermes.store import ModelCallRecord, StoreError
from hermes.toolspec import ToolContext, ToolResult


class _Stream:
    """What the model has streamed so far in this step (kept if interrupted)."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.active = False
        self.draft: DraftSaver | None = None  # saves the text as it streams (kill -9)


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


def default_title(text: str) -> str:
    """A session title from the first user message: its first line, shortened."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 60 else line[:57].rstrip() + "..."


async def run_turn(state: SessionState, text: str) -> None:
    """Run one user turn to completion, interruption or failure; emits events throughout."""
    state.turns += 1
    emit = state.emit
    await state.commit(Message(role="user", content=text))
    state.history.append(Message(role="user", content=text))
    if not state.title:
        state.title = default_title(text)
        await asyncio.to_thread(state.store.update_session, state.id, title=state.title)
    emit(p.TurnStarted(turn=state.turns, text=text))
    stream = _Stream()
    model_calls = 0
    repairs = 0
    try:
        while True:
            await _deliver_queued(state)
            if model_calls >= state.config.session.max_turns:
                emit(
                    p.Error(
                        f"stopped after {model_calls} model requests in one turn "
                        f"(session.max_turns = {state.config.session.max_turns})"
                    )
                )
                emit(p.TurnAborted(reason="max_turns"))
                return
            reply = await _stream_reply(state, stream)
            model_calls += 1
            calls = () if reply.truncated else reply.tool_calls
            if reply.truncated and reply.tool_calls:
                emit(
                    p.Warning(
                        f"the reply was cut off by the output limit; its {len(reply.tool_calls)} "
                        "tool call(s) were not run"
                    )
                )
            message = Message(
                role="assistant",
                content=(reply.content or None) if calls else reply.content,
                tool_calls=calls,
            )
            await state.commit(message)
            state.history.append(message)
            stream.text.clear()
            emit(
                p.AssistantMessage(
                    text=reply.content,
                    tool_calls=tuple(p.ToolCallView(c.id, c.name, c.arguments) for c in calls),
                    reasoning=reply.reasoning,
                )
            )
            if not calls:
                if state.queued_user:
                    continue
                emit(p.TurnComplete(text=reply.content, model_calls=model_calls))
                return
            prepared, facts = prepare_calls(state, calls)
            await _run_calls(state, prepared, facts)
            emit(state.executor.snapshot())
            if all(pc.error is not None for pc in prepared):
                repairs += 1
                if repairs > state.config.session.max_repairs:
                    emit(
                        p.Error(
                            f"gave up: the model sent invalid tool calls {repairs} times in a row"
                        )
                    )
                    emit(p.TurnAborted(reason="invalid tool calls"))
                    return
            else:
                repairs = 0
    except asyncio.CancelledError:
        await _keep_partial(state, stream)
        emit(p.TurnAborted(reason="interrupted by user"))
        raise
    except TurnAbort as exc:
        emit(p.TurnAborted(reason=exc.reason))
    except ModelAuthError as exc:
        emit(p.Error(str(exc), fatal=True))
        emit(p.TurnAborted(reason="model error"))
    except ModelError as exc:
        await _record_failure(state, exc)
        emit(p.Error(str(exc)))
        emit(p.TurnAborted(reason="model error"))


async def _deliver_queued(state: SessionState) -> None:
    """Messages typed during the turn reach the model before its next request."""
    while state.queued_user:
        text = state.queued_user.pop(0)
        await state.commit(Message(role="user", content=text))
        state.history.append(Message(role="user", content=text))
        state.emit(p.UserMessage(text=text))


async def _stream_reply(state: SessionState, stream: _Stream) -> ModelReply:
    emit = state.emit
    await ctx.before_request(state)  # compaction at the threshold, digests if it cannot fit

    draft = stream.draft = DraftSaver(state.store, state.id, on_error=lambda m: emit(p.Warning(m)))

    def on_text(piece: str) -> None:
        stream.text.append(piece)
        draft.update(stream.text)
        emit(p.AssistantDelta(piece))

    def on_reasoning(piece: str) -> None:
        stream.reasoning.append(piece)
        emit(p.ReasoningDelta(piece))

    def on_retry(attempt: int, delay: float, reason: str) -> None:
        stream.text.clear()
        stream.reasoning.clear()
        draft.update(stream.text)
        emit(p.Warning(f"{reason}; retrying in {delay:.1f} s (attempt {attempt})", kind="retry"))

    stream.active = True
    view = state.model_view()
    try:
        reply = await state.model.complete(
            view,
            state.tool_schemas(),
            on_text=on_text,
            on_reasoning=on_reasoning,
            on_retry=on_retry,
        )
    except ModelError:
        await draft.finish(discard=True)  # a failed request's text is not kept
        raise
    await draft.finish()
    stream.active = False
    usage = reply.usage
    prompt_tokens = usage.prompt_tokens if usage else 0
    completion_tokens = usage.completion_tokens if usage else 0
    state.prompt_tokens += prompt_tokens
    state.completion_tokens += completion_tokens
    if prompt_tokens:
        state.context_tokens = prompt_tokens + completion_tokens
    ctx.note_usage(state, len(view), prompt_tokens)
    record = ModelCallRecord(
        model=state.model.config.name,
        request_bytes=reply.request_bytes,
        message_count=len(view),
        latency_ms=reply.latency_ms,
        retries=reply.retries,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        finish_reason=reply.finish_reason,
        response=_response_text(reply),
    )
    await asyncio.to_thread(state.store.record_model_call, state.id, record)
    emit(
        p.TokenUsage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            session_prompt_tokens=state.prompt_tokens,
            session_completion_tokens=state.completion_tokens,
            context_tokens=state.context_tokens,
            context_window=state.context_window,
        )
    )
    return reply


def _response_text(reply: ModelReply) -> str:
    import json

    return json.dumps(
        {
            "content": reply.content,
            "tool_calls": [c.to_openai() for c in reply.tool_calls],
            "finish_reason": reply.finish_reason,
        },
        ensure_ascii=False,
    )


async def _record_failure(state: SessionState, exc: ModelError) -> None:
    record = ModelCallRecord(
        model=state.model.config.name,
        request_bytes=exc.request_bytes,
        message_count=len(state.history) + 1,
        latency_ms=0.0,
        retries=exc.retries,
        error=str(exc),
    )
    await asyncio.to_thread(state.store.record_model_call, state.id, record)


async def _keep_partial(state: SessionState, stream: _Stream) -> None:
    """An interrupted stream's text is kept in the history, marked interrupted."""
    if not stream.active:
        return
    stream.active = False
    if stream.draft is not None:
        await asyncio.shield(stream.draft.finish())
    text = "".join(stream.text)
    message = Message(role="assistant", content=text)
    await asyncio.shield(state.commit(message, interrupted=True))
    state.history.append(message)
    state.emit(p.AssistantMessage(text=text, interrupted=True, reasoning="".join(stream.reasoning)))


async def _run_calls(
    state: SessionState, prepared: list[PreparedCall], facts: dict[int, CallFacts]
) -> None:
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
            await checkpoints.before_call(state, pc)
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
    from hermes.approvals_rules import persist_allow_rules
    from hermes.config import ConfigError

    try:
        path = await asyncio.to_thread(persist_allow_rules, state.workspace, rules)
    except (ConfigError, OSError) as exc:
        state.emit(p.Warning(f"could not save the rule to the workspace config: {exc}"))
        return
    state.emit(p.Warning(f"saved {', '.join(rules)} to {path} (approvals.persist)"))


def edit_preview(pc: PreparedCall, workspace: Path) -> str:
    """The unified diff a write_file/patch call would make ("" when it cannot tell)."""
    from hermes.tools.output import decode, unified_diff

    args = pc.args or {}
    if pc.call.name not in ("write_file", "patch") or not pc.paths:
        return ""
    path = pc.paths[0]
    shown = str(path.relative_to(workspace)) if path.is_relative_to(workspace) else str(path)
    try:
        old = decode(path.read_bytes()) if path.is_file() else None
    except OSError:
        return ""
    old_s, new_s = args.get("old_string"), args.get("new_string")
    if pc.call.name == "write_file":
        new = args.get("content")
    elif old is not None and isinstance(old_s, str) and old_s and isinstance(new_s, str):
        new = old.replace(old_s, new_s, -1 if args.get("replace_all") is True else 1)
    else:
        return ""
    return unified_diff(old, new, shown) if isinstance(new, str) and new != old else ""


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
            else await asyncio.to_thread(edit_preview, pc, state.workspace),
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
