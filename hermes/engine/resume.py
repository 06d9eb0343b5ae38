"""Resuming a stored session: rebuild the model's view, settle unfinished calls.

After a crash (kill -9, power loss) or a failed commit the database holds everything
that was acknowledged. :func:`restore` turns that into a history the API accepts:

- a reply cut off mid-stream (its draft survived) becomes an assistant message marked
  interrupted;
- a call that was running, or whose result was lost, gets a synthesized result: it was
  interrupted and its effects are unknown, so the model checks before redoing it;
- a call that never started (committed, or waiting for approval) is handed back to be
  run through the normal gate and executor, exactly as the model asked, by
  :func:`run_pending`, before any new user message is committed.

Several processes may resume the same session at once. Each call is claimed in the
database before it runs (:meth:`hermes.store.sessions.Store.claim_call`), so it runs at
most once; a process that finds a call of the batch taken, or running in another live
hermes process, says so and stops the turn without recording anything for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace

from hermes import protocol as p
from hermes.engine.calls import (
    TAKEN_RESULT,
    CallTaken,
    claim_owner,
    owner_alive,
    prepare_calls,
    run_calls,
)
from hermes.engine.state import SessionState
from hermes.engine.view import (
    RERUNNABLE,
    Unanswered,
    insert_results,
    order_results,
    plan_resume,
    rebuild_view,
    replay_events,
)
from hermes.messages import Message
from hermes.store.sessions import CallState, StoredMessage


async def restore(
    state: SessionState,
    stored: Sequence[StoredMessage],
    *,
    emit: Callable[[p.Event], None],
    replay: bool = True,
) -> tuple[Unanswered, ...]:
    """Set ``state.history`` from the store; return the calls to offer again.

    With ``replay`` the stored transcript is emitted first as events marked ``replay``.
    """
    stored = list(stored)
    draft = await asyncio.to_thread(state.store.recover_draft, state.id)
    if draft is not None:
        stored.append(draft)
    states = await asyncio.to_thread(state.store.call_states, state.id)
    if replay:
        for event in replay_events(stored, states):
            emit(event)
    view = rebuild_view(stored)
    # A call running in another live hermes process is not "interrupted": it is offered
    # like one that never started, and run_pending finds it taken.
    plan = plan_resume(view, {k: _as_planned(s) for k, s in states.items()})
    filled = []
    for missing, text in plan.synthesize:
        result = Message(role="tool", content=text, tool_call_id=missing.call.id)
        await state.commit(result, synthetic=True)
        filled.append((missing, result))
        if replay:
            emit(
                p.ToolCallEnd(missing.call.id, missing.call.name, "interrupted", text, replay=True)
            )
    state.history = insert_results(view.messages, filled) if filled else list(view.messages)
    prompt, completion, cost = await asyncio.to_thread(state.store.usage_summary, state.id)
    if prompt:  # what the context held at the last request, as the status line showed it
        state.context_tokens = prompt + completion
    state.cost = cost
    if replay and (prompt or state.prompt_tokens or cost is not None):
        emit(
            p.TokenUsage(
                prompt_tokens=0,
                completion_tokens=0,
                session_prompt_tokens=state.prompt_tokens,
                session_completion_tokens=state.completion_tokens,
                context_tokens=state.context_tokens,
                context_window=state.context_window,
                session_cost=cost,
                replay=True,
            )
        )
    if draft is not None:
        emit(p.Warning("the last reply was cut off when hermes stopped; its text is kept"))
    if filled:
        emit(
            p.Warning(
                f"{len(filled)} tool call(s) from the last run never reported a result; "
                "the model was told their effects are unknown"
            )
        )
    if plan.reoffer:
        names = ", ".join(u.call.name for u in plan.reoffer)
        emit(
            p.Warning(
                f"{len(plan.reoffer)} tool call(s) from the last run had not started "
                f"({names}); they go through approval again as the model asked",
                kind="resume",
            )
        )
    return plan.reoffer


def _as_planned(call: CallState) -> CallState:
    """A call running in another live process, seen as one that never started here."""
    running_elsewhere = (
        call.status == "running" and call.reason != claim_owner() and owner_alive(call.reason)
    )
    return replace(call, status="requested") if running_elsewhere else call


async def run_pending(state: SessionState, pending: Sequence[Unanswered]) -> None:
    """Run calls that never started through the gate and executor; results are committed
    as each is produced and the history keeps them in call order. When another process
    has taken one of them meanwhile, nothing runs: this raises :class:`CallTaken` (a
    ``TurnAbort``) after a warning, with results for them kept in memory only."""
    if not pending:
        return
    states = await asyncio.to_thread(state.store.call_states, state.id)
    for u in pending:
        found = states.get(u.call.id)
        if found is not None and found.status not in RERUNNABLE:
            holder = f"{found.status} ({found.reason})" if found.reason else found.status
            taken = CallTaken(u.call.id, u.call.name, holder)
            state.emit(p.Warning(taken.reason))
            kept = [
                Message(role="tool", content=TAKEN_RESULT, tool_call_id=x.call.id) for x in pending
            ]
            state.history = order_results([*state.history, *kept])
            for x in pending:
                state.emit(p.ToolCallEnd(x.call.id, x.call.name, "cancelled", TAKEN_RESULT))
            raise taken
    prepared, facts = prepare_calls(state, [u.call for u in pending])
    try:
        await run_calls(state, prepared, facts)
    finally:
        state.history = order_results(state.history)
