"""The engine's own tools and what they need from the Engine: the glue between
:mod:`hermes.engine.engine` and the to-do list, plan mode and subagents.

- :func:`install` offers ``exit_plan_mode`` and ``task`` (with the session's agents);
- :func:`start` restores the to-do list and plan mode of a resumed session;
- :func:`handle` takes the ops these features answer: an approval for a subagent's call,
  a message typed while a plan waits (feedback: keep planning), a mode switch.
"""

from __future__ import annotations

from hermes import protocol as p
from hermes.engine import plan, subagents, todos
from hermes.engine.agents import load_agents, workspace_agents_dir, workspace_trusted
from hermes.engine.state import SessionState
from hermes.paths import hermes_home


def install(state: SessionState) -> tuple[str, ...]:
    """Offer the engine's tools in this session; returns warnings about agent files."""
    if state.registry.get("exit_plan_mode") is None:
        state.registry.add(plan.EXIT_PLAN_MODE)
    local = workspace_agents_dir(state.workspace).is_dir()  # trust is asked only then
    catalog = load_agents(
        hermes_home(), state.workspace, trusted=local and workspace_trusted(state.workspace)
    )
    subagents.install(state, catalog)
    return catalog.warnings


async def start(state: SessionState, resumed: bool, warnings: tuple[str, ...] = ()) -> None:
    """After ``SessionStarted``: say what agent files were skipped; on resume, show the
    stored to-do list and restore plan mode's memory."""
    for warning in warnings:
        state.emit(p.Warning(f"agents: {warning}"))
    if resumed:
        await todos.restore_todos(state)
        await plan.restore(state)


async def handle(state: SessionState, op: p.Op) -> bool:
    """Take ``op`` if it is one of these features'; True when it needs nothing more."""
    if isinstance(op, p.ApprovalReply) and op.call_id not in state.approvals:
        return subagents.route_reply(state, op)
    if isinstance(op, p.UserTurn):
        plan.typed_feedback(state)  # the message itself is queued as usual
        return False
    if isinstance(op, p.SetApprovalMode):
        await plan.set_mode(state, op.mode)
        return True
    return False
