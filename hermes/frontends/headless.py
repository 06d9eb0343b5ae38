"""``hermes -p``: run one prompt with no human present and print the outcome.

Output formats: ``text`` (the final answer on stdout), ``json`` (one object at the end),
``stream-json`` (every event as one JSON line). Approvals are decided by policy: what
would need a human is denied, the model is told why, and stderr says how to allow it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Literal, TextIO

from hermes import protocol as p
from hermes.engine.engine import Engine

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
    tool_calls: list[tuple[str, bool]] = field(default_factory=list)
    stats: p.ExecutorStats | None = None

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
            "tool_calls": [{"name": n, "ok": ok} for n, ok in self.tool_calls],
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
    await engine.start()
    await engine.submit(p.UserTurn(prompt))
    async for event in engine.events():
        if fmt == "stream-json":
            out.write(p.to_json(event) + "\n")
            out.flush()
        if getattr(event, "replay", False):
            continue
        if isinstance(event, p.SessionStarted):
            outcome.session_id = event.session_id
        elif isinstance(event, p.AssistantMessage):
            outcome.num_turns += 1
        elif isinstance(event, p.TokenUsage):
            outcome.prompt_tokens = event.session_prompt_tokens
            outcome.completion_tokens = event.session_completion_tokens
        elif isinstance(event, p.ToolCallEnd):
            outcome.tool_calls.append((event.name, event.ok))
        elif isinstance(event, p.ApprovalResolved) and event.decision == "deny":
            err.write(f"hermes: {event.reason}\n")
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
            break
        elif isinstance(event, p.TurnAborted):
            outcome.is_error = True
            outcome.error = outcome.error or event.reason
            break
    outcome.stats = engine.executor_stats()
    await engine.submit(p.Shutdown())
    if fmt == "text":
        if outcome.result:
            out.write(outcome.result.rstrip("\n") + "\n")
    elif fmt == "json":
        out.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
    out.flush()
    return outcome
