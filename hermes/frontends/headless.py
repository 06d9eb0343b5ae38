"""``hermes -p``: run one prompt with no human present and print the outcome.

Output formats: ``text`` (the final answer on stdout), ``json`` (one object at the end),
``stream-json`` (every event as one JSON line). Approvals are decided by policy: what
would need a human is denied, the model is told why, and stderr says how to allow it.
SIGTERM, SIGHUP and SIGQUIT interrupt the turn like Ctrl+C would (running commands are
killed with their process groups, their statuses recorded); the exit code is then
``128 + signal``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from typing import Literal, TextIO

from hermes import protocol as p
from hermes.engine.engine import Engine
from hermes.frontends.common.signals import SignalStop, signal_name

OutputFormat = Literal["text", "json", "stream-json"]


@dataclass
class HeadlessOutcome:
    """What a headless run produced; decides the exit code."""

    session_id: str = ""
    result: str = ""
    is_error: bool = False
    error: str = ""
    num_turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_estimated: bool = False  # counted here: the server reported no usage
    tool_calls: list[tuple[str, bool]] = field(default_factory=list)
    stats: p.ExecutorStats | None = None
    signal: int | None = None  # the stop signal that ended the run, if any
    todos: tuple[p.TodoItem, ...] = ()  # the session's to-do list at the end

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "session_id": self.session_id,
            "result": self.result,
            "is_error": self.is_error,
            "num_turns": self.num_turns,
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
            },
            "usage_estimated": self.usage_estimated,
            "tool_calls": [{"name": n, "ok": ok} for n, ok in self.tool_calls],
            "todos": [{"content": t.content, "status": t.status} for t in self.todos],
        }
        if self.error:
            out["error"] = self.error
        if self.stats is not None:
            out["executor"] = p.to_dict(self.stats)
        return out


async def run_headless(
    engine: Engine,
    prompt: str,
    fmt: OutputFormat = "text",
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> HeadlessOutcome:
    """Submit ``prompt``, print as asked, and return the outcome when the turn ends."""
    out = out or sys.stdout
    err = err or sys.stderr
    outcome = HeadlessOutcome()
    stopped = asyncio.Event()
    with SignalStop(lambda signum: stopped.set()) as signals:
        await engine.start()
        await engine.submit(p.UserTurn(prompt))
        consumer = asyncio.create_task(_consume(engine, outcome, fmt, out, err))
        stop_wait = asyncio.create_task(stopped.wait())
        await asyncio.wait({consumer, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        if signals.received is not None:
            outcome.signal = signals.received
            outcome.is_error = True
            outcome.error = f"stopped by {signal_name(signals.received)}"
            err.write(f"hermes: {outcome.error}: interrupting the turn\n")
            # Like Ctrl+C: running commands' process groups are killed and every call's
            # status recorded before this returns.
            await engine.submit(p.Interrupt())
            if not consumer.done():
                await asyncio.wait({consumer}, timeout=5)
                consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        outcome.stats = engine.executor_stats()
        await engine.submit(p.Shutdown())  # a second signal meanwhile changes nothing
    if fmt == "text":
        if outcome.result:
            out.write(outcome.result.rstrip("\n") + "\n")
    elif fmt == "json":
        out.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
    out.flush()
    return outcome


async def _consume(
    engine: Engine, outcome: HeadlessOutcome, fmt: OutputFormat, out: TextIO, err: TextIO
) -> None:
    """Print and fold events into ``outcome`` until the turn ends."""
    async for event in engine.events():
        if fmt == "stream-json":
            out.write(p.to_json(event) + "\n")
            out.flush()
        if isinstance(event, p.TodoUpdated):  # a resumed session's list counts too
            outcome.todos = event.items
        if getattr(event, "replay", False):
            continue
        if isinstance(event, p.SessionStarted):
            outcome.session_id = event.session_id
        elif isinstance(event, p.AssistantMessage):
            outcome.num_turns += 1
        elif isinstance(event, p.TokenUsage):
            outcome.prompt_tokens = event.session_prompt_tokens
            outcome.completion_tokens = event.session_completion_tokens
            outcome.usage_estimated = outcome.usage_estimated or event.estimated
        elif isinstance(event, p.ToolCallEnd):
            outcome.tool_calls.append((event.name, event.ok))
        elif isinstance(event, p.ApprovalResolved) and event.decision == "deny":
            err.write(f"hermes: {event.reason}\n")
        elif isinstance(event, p.SubagentEvent):
            inner = event.event
            if isinstance(inner, p.ApprovalResolved) and inner.decision == "deny":
                err.write(f"hermes: [{event.agent}] {inner.reason}\n")
        elif isinstance(event, p.Warning):
            err.write(f"hermes: warning: {event.message}\n")
        elif isinstance(event, p.Error):
            outcome.is_error = True
            outcome.error = event.message
            err.write(f"hermes: error: {event.message}\n")
        elif isinstance(event, p.ExecutorStats):
            outcome.stats = event
        elif isinstance(event, p.TurnComplete):
            outcome.result = event.text
            return
        elif isinstance(event, p.TurnAborted):
            outcome.is_error = True
            outcome.error = outcome.error or event.reason
            return


def failure_json(message: str, fmt: OutputFormat) -> str:
    """The one JSON line a run that failed before or outside its turn prints (a config,
    database or usage error): the ``json`` result object with ``is_error``, or for
    ``stream-json`` a fatal ``Error`` event."""
    if fmt == "stream-json":
        return p.to_json(p.Error(message, fatal=True))
    return json.dumps(HeadlessOutcome(is_error=True, error=message).to_json(), ensure_ascii=False)
