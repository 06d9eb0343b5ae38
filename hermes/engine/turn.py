"""One turn: stream the model, commit, dispatch tools, commit each result, repeat.

The persistence contract (DESIGN.md) is kept here and in the tool-call phase
(:mod:`hermes.engine.calls`): the assistant message carrying tool
calls is committed before any tool runs; each result is committed as it is produced;
results reach the model in call order; an interrupt keeps the partial answer (marked)
and gives every unfinished call a result saying so.
"""

from __future__ import annotations

import asyncio

from hermes import protocol as p
from hermes.engine import endpoint_hooks, hook_calls, memory_hooks
from hermes.engine.calls import prepare_calls, run_calls
from hermes.engine.state import SessionState
from hermes.execution.executor import TurnAbort
from hermes.messages import Message, ToolCall
from hermes.model.base import (
    ModelAuthError,
    ModelContextOverflow,
    ModelEmptyStream,
    ModelError,
    ModelReply,
    rejected_calls_note,
)
from hermes.store.drafts import DraftSaver
from hermes.store.sessions import ModelCallRecord


class _DoesNotFit(Exception):
    """The request does not fit the model's window, even after folding once."""


class _Stream:
    """What the model has streamed so far in this step (kept if interrupted)."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.active = False
        self.draft: DraftSaver | None = None  # saves the text as it streams (kill -9)


def default_title(text: str) -> str:
    """A session title from the first user message: its first line, shortened."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 60 else line[:57].rstrip() + "..."


async def run_turn(state: SessionState, text: str) -> None:
    """Run one user turn to completion, interruption or failure; emits events throughout."""
    state.turns += 1
    emit = state.emit
    last = state.history[-1] if state.history else None
    if last is None or last.role != "user" or last.content != text:
        await state.commit(Message(role="user", content=text))
        state.history.append(Message(role="user", content=text))
    # else: the same message again after its turn failed before any reply (a resend):
    # the model sees it once, not twice in a row.
    if not state.title:
        state.title = default_title(text)
        await asyncio.to_thread(state.store.update_session, state.id, title=state.title)
    emit(p.TurnStarted(turn=state.turns, text=text))
    await hook_calls.flush_context(state)  # what UserPromptSubmit hooks added
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
            reply = await _ask(state, stream)
            model_calls += 1
            calls = () if reply.truncated else reply.tool_calls
            rejected = () if reply.truncated else reply.rejected_calls
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
            await state.commit(message, reasoning=reply.reasoning)
            state.history.append(message)
            stream.text.clear()
            emit(
                p.AssistantMessage(
                    text=reply.content,
                    tool_calls=tuple(p.ToolCallView(c.id, c.name, c.arguments) for c in calls),
                    reasoning=reply.reasoning,
                )
            )
            if rejected and not calls:  # only calls the strict API would refuse: ask again
                repairs += 1
                if repairs > state.config.session.max_repairs:
                    emit(
                        p.Error(
                            f"gave up: the model sent invalid tool calls {repairs} times in a row"
                        )
                    )
                    emit(p.TurnAborted(reason="invalid tool calls"))
                    return
                await _ask_again(state, rejected)
                continue
            if not calls:
                if state.queued_user:
                    continue
                if await hook_calls.stop(state, reply.content):  # a Stop hook wants more
                    continue
                emit(p.TurnComplete(text=reply.content, model_calls=model_calls))
                return
            prepared, facts = prepare_calls(state, calls)
            await run_calls(state, prepared, facts, note=_rejected_note(state, rejected))
            emit(state.executor.snapshot())
            if state.finish_turn is not None:  # a tool ended the turn (hermes.engine.plan)
                text, state.finish_turn = state.finish_turn, None
                emit(p.TurnComplete(text=text, model_calls=model_calls))
                return
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
    except _DoesNotFit as exc:
        emit(p.Error(str(exc)))
        emit(p.TurnAborted(reason="context overflow"))
    except ModelError as exc:
        await _record_failure(state, exc)
        emit(p.Error(str(exc)))
        emit(p.TurnAborted(reason="model error"))


async def _deliver_queued(state: SessionState) -> None:
    """Messages typed during the turn reach the model before its next request."""
    while state.queued_user:
        text = state.queued_user.pop(0)
        if not await hook_calls.queued_prompt(state, text):  # UserPromptSubmit dropped it
            continue
        await state.commit(Message(role="user", content=text))
        state.history.append(Message(role="user", content=text))
        state.emit(p.UserMessage(text=text))
        await hook_calls.flush_context(state)


async def _ask_again(state: SessionState, rejected: tuple[ToolCall, ...]) -> None:
    """The reply's only calls had empty or invalid names: they are not stored as calls
    (the strict API refuses every later request carrying one); a repair message tells
    the model, and it is asked again."""
    note = rejected_calls_note(rejected)
    state.emit(
        p.Warning(
            f"the model made {len(rejected)} tool call(s) with an empty or invalid name; "
            "they were not run and it is asked again"
        )
    )
    repair = Message(role="user", content=note)
    await state.commit(repair, synthetic=True)
    state.history.append(repair)


def _rejected_note(state: SessionState, rejected: tuple[ToolCall, ...]) -> str:
    """Beside valid calls, invalid ones are reported in the last result (no extra turn)."""
    if not rejected:
        return ""
    state.emit(
        p.Warning(f"the model made {len(rejected)} tool call(s) with an empty or invalid name")
    )
    return rejected_calls_note(rejected)


async def _ask(state: SessionState, stream: _Stream) -> ModelReply:
    """One reply. A request that does not fit the window (an overflow error, or an empty
    stream after a request at or over the budget) is answered by folding the history
    once and asking again, then by saying what does not fit (never by retrying as is)."""
    folded = False
    while True:
        try:
            return await _stream_reply(state, stream)
        except memory_hooks.RequestTooLarge as exc:
            raise _DoesNotFit(await memory_hooks.does_not_fit(state, exc.overflow)) from exc
        except (ModelContextOverflow, ModelEmptyStream) as exc:
            overflow = await memory_hooks.overflow_of(state, exc)
            if overflow is None:
                raise
            await _record_failure(state, exc)
            if folded or not await memory_hooks.fold_for_overflow(state, overflow):
                raise _DoesNotFit(await memory_hooks.does_not_fit(state, overflow)) from exc
            folded = True


async def _stream_reply(state: SessionState, stream: _Stream) -> ModelReply:
    emit = state.emit
    await memory_hooks.before_request(
        state
    )  # compaction at the threshold, digests if it cannot fit

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
    for warning in reply.warnings:
        emit(p.Warning(warning))
    await endpoint_hooks.note_reply(state)  # what the client learned, cached
    usage = reply.usage
    prompt_tokens = usage.prompt_tokens if usage else 0
    completion_tokens = usage.completion_tokens if usage else 0
    estimated = usage.estimated if usage else False
    state.usage_estimated = state.usage_estimated or estimated
    state.prompt_tokens += prompt_tokens
    state.completion_tokens += completion_tokens
    cost = usage.cost if usage else None
    if cost is not None:
        state.cost = (state.cost or 0.0) + cost
    if prompt_tokens:
        state.context_tokens = prompt_tokens + completion_tokens
    memory_hooks.note_usage(state, len(view), prompt_tokens, estimated=estimated)
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
        cost=cost,
        usage_estimated=estimated,
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
            estimated=state.usage_estimated,
            session_cost=state.cost,
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
    reasoning = "".join(stream.reasoning)
    await asyncio.shield(state.commit(message, interrupted=True, reasoning=reasoning))
    state.history.append(message)
    state.emit(p.AssistantMessage(text=text, interrupted=True, reasoning=reasoning))
