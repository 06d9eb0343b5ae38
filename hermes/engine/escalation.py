"""Leaving the sandbox: when it blocked a command's network access or a write outside the
workspace, a human may let that one command run again outside it.

Interactive: the engine asks with an ``ApprovalRequested`` whose reason starts "run
outside the sandbox" (the front ends' usual approval UI: the exact command, ``y`` / ``n``,
Esc, no "always"; Enter never approves). After ``y`` the call runs again unconfined and
its result holds both runs; anything else keeps the sandboxed result. Headless: nobody
can say yes, so the model gets the sandboxed result (it says what was blocked) and the
user a warning on stderr saying how to allow it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass

from hermes import protocol as p
from hermes.engine.state import SessionState
from hermes.execution.executor import PreparedCall
from hermes.execution.spec import ToolContext, ToolResult
from hermes.safety.policy import CallFacts

REASON_PREFIX = "run outside the sandbox"
_WHAT = {
    "network": "the sandbox blocked its network access",
    "write": "the sandbox blocked a write outside the workspace",
}
_HOW = {
    "network": "set sandbox.network: on in $HERMES_HOME/config.yaml",
    "write": "add the folder to sandbox.writable_roots in $HERMES_HOME/config.yaml",
}

ContextFactory = Callable[[threading.Event], ToolContext]


@dataclass(frozen=True)
class Review:
    """The result to commit, and whether the turn must stop after it (``abort``: the
    user pressed Esc; ``cancelled``: the turn was interrupted meanwhile)."""

    result: ToolResult
    abort: bool = False
    cancelled: bool = False


def how_to_allow(blocked: str, command: str) -> str:
    """The stderr line of a headless run whose command the sandbox blocked."""
    what = _WHAT.get(blocked, "the sandbox blocked it")
    how = _HOW.get(blocked, "see sandbox in the README")
    return f"{what} ({command}). To allow it, {how}, or run with --no-sandbox."


def _merge(first: ToolResult, second: ToolResult) -> ToolResult:
    content = (
        f"{first.content}\n[the user approved running it again outside the sandbox]\n"
        f"{second.content}"
    )
    return dataclasses.replace(second, content=content, sandbox_blocked="")


def _declined(first: ToolResult, answer: p.ApprovalDecision) -> ToolResult:
    said = "stopped the turn" if answer == "abort" else "declined"
    note = f"[the user {said} instead of running it outside the sandbox]"
    return dataclasses.replace(first, content=f"{first.content}\n{note}")


async def review(
    state: SessionState,
    pc: PreparedCall,
    facts: CallFacts,
    result: ToolResult,
    make_context: ContextFactory,
) -> Review:
    """What to commit for a finished call whose command the sandbox may have blocked."""
    blocked = result.sandbox_blocked
    if not blocked or pc.spec is None or pc.args is None or facts.command is None:
        return Review(result)
    command = facts.command
    if not state.interactive:
        state.emit(p.Warning(how_to_allow(blocked, command), kind="sandbox"))
        return Review(result)
    call = pc.call
    future: asyncio.Future[p.ApprovalDecision] = asyncio.get_running_loop().create_future()
    state.approvals[call.id] = future
    state.emit(
        p.ApprovalRequested(
            call_id=call.id,
            name=call.name,
            arguments=call.arguments,
            reason=f"{REASON_PREFIX}: {_WHAT[blocked]}",
            catastrophic=facts.catastrophic is not None,
            preview=command,
        )
    )
    try:
        answer = await future
    except asyncio.CancelledError:
        return Review(_declined(result, "deny"), cancelled=True)
    finally:
        state.approvals.pop(call.id, None)
    state.emit(p.ApprovalResolved(call.id, answer, by="user"))
    if answer not in ("once", "always"):
        return Review(_declined(result, answer), abort=answer == "abort")
    return await _run_outside(state, pc, result, make_context)


async def _run_outside(
    state: SessionState, pc: PreparedCall, first: ToolResult, make_context: ContextFactory
) -> Review:
    assert pc.spec is not None and pc.args is not None
    spec, args = pc.spec, pc.args
    cancel = threading.Event()
    ctx = make_context(cancel)
    ctx = dataclasses.replace(ctx, sandbox=dataclasses.replace(state.config.sandbox, mode="off"))
    state.emit(
        p.ToolCallBegin(pc.call.id, pc.call.name, pc.call.arguments, pc.tool_class, REASON_PREFIX)
    )
    job = asyncio.ensure_future(asyncio.to_thread(spec.handler, ctx, args))
    try:
        second = await asyncio.shield(job)
    except asyncio.CancelledError:
        cancel.set()  # the handler kills the command's process group and returns
        try:
            second = await asyncio.wait_for(asyncio.shield(job), 10)
        except (Exception, asyncio.CancelledError):
            second = ToolResult(ok=False, content="")
        note = "[interrupted by user before it finished]"
        text = f"{second.content}\n{note}" if second.content else note
        return Review(_merge(first, dataclasses.replace(second, content=text)), cancelled=True)
    except Exception as exc:  # a tool bug must not take the session down
        second = ToolResult(ok=False, content=f"{pc.call.name} failed: {type(exc).__name__}: {exc}")
    return Review(_merge(first, second))
