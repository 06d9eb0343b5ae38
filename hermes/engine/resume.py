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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from hermes import protocol as p
from hermes.engine.calls import prepare_calls, run_calls
from hermes.engine.state import SessionState
from hermes.engine.view import (
    Unanswered,
    insert_results,
    order_results,
    plan_resume,
    rebuild_view,
    replay_events,
)
from hermes.messages import Message
from hermes.store.sessions import StoredMessage


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
    plan = plan_resume(view, states)
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


async def run_pending(state: SessionState, pending: Sequence[Unanswered]) -> None:
    """Run calls that never started through the gate and executor; results are committed
    as each is produced and the history keeps them in call order."""
    if not pending:
        return
    prepared, facts = prepare_calls(state, [u.call for u in pending])
    try:
        await run_calls(state, prepared, facts)
    finally:
        state.history = order_results(state.history)
