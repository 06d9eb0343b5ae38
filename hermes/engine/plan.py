"""Plan mode: look before touching anything, then have the user accept a plan.

Plan mode is the approval mode ``plan`` (Shift+Tab's last stop, ``/plan``, ``--plan``):
the policy refuses every call that is not read-class, telling the model to plan
instead. The model ends planning with ``exit_plan_mode(plan)``, which asks the user
like any approval (the plan is the preview): ``y`` accepts and goes back to the mode
chosen before planning; ``n``, or typing a message, keeps planning (the message is the
feedback); Esc stops the turn. Enter never accepts. With nobody to ask (``hermes -p
--plan``) the plan ends the turn as its answer, and the mode stays ``plan``.

The mode to go back to is stored with the session (``hermes.store.todos``), so a
session resumed while planning still knows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hermes import protocol as p
from hermes.engine.todos import ToolSession, tool_session
from hermes.execution.executor import TurnAbort
from hermes.execution.spec import ToolContext, ToolError, ToolResult, ToolSpec
from hermes.store.todos import mode_before_plan, save_mode_before_plan

if TYPE_CHECKING:
    from hermes.engine.state import SessionState

PLAN_REASON = "accept this plan and leave plan mode?"

ACCEPTED = (
    "The user accepted the plan. Plan mode is off (approval mode: {mode}). Carry out the "
    "plan now; if it has several steps, keep the to-do list (todo_write) current as you go."
)
KEEP_PLANNING = (
    "The user did not accept the plan and wants you to keep planning (still in plan mode: "
    "only reads run). If they wrote feedback it follows as their message; otherwise ask "
    "what to change. Call exit_plan_mode again with the revised plan."
)
HANDED_OVER = (
    "The plan was handed to the user for review (a run with no one to accept it). "
    "Stop here: nothing else runs in this turn."
)
NOT_PLANNING = "Plan mode is not on, so there is nothing to leave; go ahead with the work."


def _state(ctx: ToolContext) -> SessionState:
    if not isinstance(ctx.session, ToolSession):
        raise ToolError("exit_plan_mode runs only inside a hermes session")
    return ctx.session.state


async def set_mode(state: SessionState, mode: p.ApprovalMode, reason: str = "") -> None:
    """Switch the approval mode (stored with the session), remembering the mode before
    planning when entering plan mode; announces the change. ``plan`` while already
    planning toggles plan mode off (``/plan`` twice)."""
    previous = state.policy.mode
    if mode == "plan" and previous == "plan":
        mode = state.mode_before_plan or "ask"
    if mode == previous:
        return
    before: p.ApprovalMode | None = None
    if mode == "plan":
        before = previous
    state.mode_before_plan = before
    state.policy.mode = mode
    await asyncio.to_thread(_store_mode, state, mode, before)
    state.emit(p.ApprovalModeChanged(mode, previous, reason))


def _store_mode(state: SessionState, mode: str, before: str | None) -> None:
    state.store.update_session(state.id, approval_mode=mode)
    save_mode_before_plan(state.store, state.id, before)


def enter_now(state: SessionState) -> None:
    """Start the session in plan mode (``--plan``), before the engine runs."""
    if state.policy.mode == "plan":
        return
    state.mode_before_plan = state.policy.mode
    state.policy.mode = "plan"
    _store_mode(state, "plan", state.mode_before_plan)


async def restore(state: SessionState) -> None:
    """On resume in plan mode: the mode to go back to, as stored."""
    if state.policy.mode != "plan":
        return
    stored = await asyncio.to_thread(mode_before_plan, state.store, state.id)
    found = next((m for m in p.APPROVAL_MODES if m == stored and m != "plan"), None)
    state.mode_before_plan = found or "ask"


def pending_plan(state: SessionState) -> str | None:
    """The call id of an ``exit_plan_mode`` waiting for the user, if any."""
    session = state.tool_session
    call_id = session.plan_call if session is not None else None
    future = state.approvals.get(call_id) if call_id is not None else None
    return call_id if future is not None and not future.done() else None


def typed_feedback(state: SessionState) -> bool:
    """The user typed a message while a plan waits for an answer: that means "keep
    planning", with the message as feedback (it is queued and reaches the model next)."""
    call_id = pending_plan(state)
    if call_id is None:
        return False
    state.approvals[call_id].set_result("deny")
    return True


async def _ask(state: SessionState, call_id: str, arguments: str, plan: str) -> p.ApprovalDecision:
    await asyncio.to_thread(
        state.store.set_call_status, state.id, call_id, "pending_approval", PLAN_REASON
    )
    future: asyncio.Future[p.ApprovalDecision] = asyncio.get_running_loop().create_future()
    state.approvals[call_id] = future
    session = tool_session(state)
    session.plan_call = call_id
    state.emit(
        p.ApprovalRequested(
            call_id=call_id,
            name="exit_plan_mode",
            arguments=arguments,
            reason=PLAN_REASON,
            preview=plan,
        )
    )
    try:
        answer = await future
    finally:
        state.approvals.pop(call_id, None)
        session.plan_call = None
    state.emit(p.ApprovalResolved(call_id, answer, by="user"))
    return answer


async def _exit_plan_mode(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    state = _state(ctx)
    plan = args.get("plan")
    if not isinstance(plan, str) or not plan.strip():
        raise ToolError("'plan' is empty: write the plan (Markdown) the user should accept")
    if state.policy.mode != "plan":
        return ToolResult(ok=True, content=NOT_PLANNING)
    if not state.interactive:
        state.finish_turn = plan.strip()
        return ToolResult(ok=True, content=HANDED_OVER)
    import json

    answer = await _ask(state, ctx.call_id, json.dumps({"plan": plan}, ensure_ascii=False), plan)
    if answer in ("once", "always"):
        back = state.mode_before_plan or "ask"
        await set_mode(state, back, "plan accepted")
        return ToolResult(ok=True, content=ACCEPTED.format(mode=back))
    if answer == "abort":
        raise TurnAbort("the user stopped the turn instead of accepting the plan")
    return ToolResult(ok=False, content=KEEP_PLANNING)


def _not_in_thread(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    return ToolResult(ok=False, content="exit_plan_mode runs on the engine, not in a thread")


EXIT_PLAN_MODE = ToolSpec(
    name="exit_plan_mode",
    description=(
        "In plan mode, when your plan is ready: hand it to the user to accept. Explore "
        "first (reads only; writes and commands are refused while planning), then call "
        "this once with the whole plan in Markdown: the steps, the files to change, how "
        "to verify. If the user accepts, plan mode ends and you carry the plan out; if "
        "not, you keep planning with their feedback."
    ),
    parameters={
        "type": "object",
        "properties": {
            "plan": {"type": "string", "description": "The plan, in Markdown."},
        },
        "required": ["plan"],
        "additionalProperties": False,
    },
    tool_class="read",
    handler=_not_in_thread,
    run_async=_exit_plan_mode,
)
