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
from hermes.engine import memory_hooks
from hermes.engine.calls import prepare_calls, run_calls
from hermes.engine.state import SessionState
from hermes.execution.executor import TurnAbort
from hermes.messages import Message
from hermes.model.base import ModelAuthError, ModelError, ModelReply
from hermes.store.drafts import DraftSaver
from hermes.store.sessions import ModelCallRecord


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
            await run_calls(state, prepared, facts)
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
    usage = reply.usage
    prompt_tokens = usage.prompt_tokens if usage else 0
    completion_tokens = usage.completion_tokens if usage else 0
    state.prompt_tokens += prompt_tokens
    state.completion_tokens += completion_tokens
    if prompt_tokens:
        state.context_tokens = prompt_tokens + completion_tokens
    memory_hooks.note_usage(state, len(view), prompt_tokens)
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
