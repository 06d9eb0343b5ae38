"""Rebuilding the model's view of a stored session so the API always accepts it.

Tool results are committed in completion order; the model must see them in call order,
directly after the assistant message that asked for them. A call with no stored result
(the process died) is reported so the caller can synthesize one or offer it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hermes.messages import Message, ToolCall
from hermes import protocol as p
from hermes.store import CallState, StoredMessage

INTERRUPTED_RESULT = (
    "[interrupted: hermes stopped before this call reported a result. Its effects are "
    "unknown; check the current state before running it again.]"
)


@dataclass(frozen=True)
class Unanswered:
    """A call of the assistant message at ``position`` in the view that has no result."""

    call: ToolCall
    position: int


@dataclass(frozen=True)
class RebuiltView:
    messages: tuple[Message, ...]
    unanswered: tuple[Unanswered, ...]


def rebuild_view(stored: Sequence[StoredMessage]) -> RebuiltView:
    """Order results by call, drop orphans, list calls that never got a result.

    Unanswered calls are left out of ``messages``; the caller inserts their results
    (synthesized or newly produced) at ``position + 1`` onwards in call order.
    """
    out: list[Message] = []
    unanswered: list[Unanswered] = []
    i = 0
    items = [s for s in stored if not s.folded and s.message.role != "system"]
    while i < len(items):
        msg = items[i].message
        i += 1
        if msg.role == "tool":
            continue  # an orphan result (its call is not directly before it): never sent
        out.append(msg)
        if msg.role != "assistant" or not msg.tool_calls:
            continue
        results: dict[str, Message] = {}
        while i < len(items) and items[i].message.role == "tool":
            r = items[i].message
            if r.tool_call_id is not None and r.tool_call_id not in results:
                results[r.tool_call_id] = r
            i += 1
        position = len(out) - 1
        for call in msg.tool_calls:
            if call.id in results:
                out.append(results[call.id])
            else:
                unanswered.append(Unanswered(call, position))
    return RebuiltView(tuple(out), tuple(unanswered))


def insert_results(
    view: Sequence[Message], results: Sequence[tuple[Unanswered, Message]]
) -> list[Message]:
    """Place each new result right after the other results of its assistant message, in
    call order."""
    out = list(view)
    # Work from the back so earlier positions stay valid.
    for unanswered, result in sorted(results, key=lambda r: r[0].position, reverse=True):
        pos = unanswered.position
        calls = out[pos].tool_calls
        order = {c.id: k for k, c in enumerate(calls)}
        j = pos + 1
        while (
            j < len(out)
            and out[j].role == "tool"
            and order.get(out[j].tool_call_id or "", -1) < order[unanswered.call.id]
        ):
            j += 1
        out.insert(j, result)
    return out


def replay_events(
    stored: Sequence[StoredMessage], states: dict[str, CallState]
) -> list[p.Event]:
    """The stored transcript as protocol events marked ``replay``, in stored order."""
    events: list[p.Event] = []
    names: dict[str, str] = {}
    for item in stored:
        msg = item.message
        if msg.role == "user":
            events.append(p.UserMessage(msg.content or "", replay=True))
        elif msg.role == "assistant":
            calls = tuple(p.ToolCallView(c.id, c.name, c.arguments) for c in msg.tool_calls)
            names.update((c.id, c.name) for c in msg.tool_calls)
            events.append(
                p.AssistantMessage(
                    msg.content or "", calls, interrupted=item.interrupted, replay=True
                )
            )
        elif msg.role == "tool" and msg.tool_call_id is not None:
            state = states.get(msg.tool_call_id)
            status = state.status if state is not None else "done"
            if item.synthetic or status not in ("done", "failed", "denied", "cancelled"):
                status = "interrupted" if item.synthetic else "done"
            events.append(
                p.ToolCallEnd(
                    call_id=msg.tool_call_id,
                    name=names.get(msg.tool_call_id, ""),
                    status=status,  # type: ignore[arg-type]
                    output=msg.content or "",
                    replay=True,
                )
            )
    return events
