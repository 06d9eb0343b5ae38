"""Rebuilding the model's view of a stored session so the API always accepts it.

Tool results are committed in completion order; the model must see them in call order,
directly after the assistant message that asked for them. A call with no stored result
(the process died) is reported so the caller can synthesize one or offer it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

from hermes import protocol as p
from hermes.hooks.context import parse_context_message
from hermes.messages import Message, ToolCall
from hermes.model.base import VALID_TOOL_NAME
from hermes.redact import MARK
from hermes.store.records import CallState, StoredMessage

RERUNNABLE = frozenset({"requested", "pending_approval"})
FINAL_STATUSES: frozenset[str] = frozenset(get_args(p.CallStatus))
"""Stored call states that are a call's final status, replayed as they are (interrupted
included: a command stopped by Esc shows as interrupted again)."""
"""Stored call states that mean the call never started: resume may offer it again."""

NOT_RERUN_SECRET = (
    "[not run: hermes stopped before this call started, and its arguments held a secret "
    "that hermes does not store, so it cannot be offered again. Ask for it again if it is "
    "still needed.]"
)

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


def _valid_calls_only(message: Message) -> Message:
    """``message`` without calls whose name the strict API refuses (stored by an older
    hermes): sent once, such a call makes every later request fail, resume included.
    Their results are left without a call, so they are dropped as orphans."""
    if all(VALID_TOOL_NAME.match(c.name) for c in message.tool_calls):
        return message  # the stored object itself (compaction finds positions by it)
    calls = tuple(c for c in message.tool_calls if VALID_TOOL_NAME.match(c.name))
    return Message(message.role, message.content or ("" if not calls else None), calls)


def rebuild_view(stored: Sequence[StoredMessage]) -> RebuiltView:
    """Order results by call, drop orphans, list calls that never got a result.

    A result belongs to the latest assistant message before it that asked for its call
    id (so a result committed late, after other messages, still pairs; ids reused by a
    later reply pair with that reply). The first result of a call wins. Unanswered calls
    are left out of ``messages``; the caller inserts their results (synthesized or newly
    produced) at ``position + 1`` onwards in call order.
    """
    items = [
        _valid_calls_only(s.message)
        for s in stored
        if not s.folded and not s.rewound and s.message.role != "system"  # rewound: /rewind
    ]
    owner: dict[str, int] = {}
    answers: dict[int, dict[str, Message]] = {}
    for k, msg in enumerate(items):
        if msg.role == "assistant" and msg.tool_calls:
            answers[k] = {}
            owner.update((c.id, k) for c in msg.tool_calls)
        elif msg.role == "tool" and msg.tool_call_id is not None:
            k_owner = owner.get(msg.tool_call_id)
            if k_owner is not None:
                answers[k_owner].setdefault(msg.tool_call_id, msg)
    out: list[Message] = []
    unanswered: list[Unanswered] = []
    for k, msg in enumerate(items):
        if msg.role == "tool":
            continue  # placed with its call below, or an orphan that is never sent
        out.append(msg)
        results = answers.get(k)
        if results is None:
            continue
        position = len(out) - 1
        for call in msg.tool_calls:
            if call.id in results:
                out.append(results[call.id])
            else:
                unanswered.append(Unanswered(call, position))
    return RebuiltView(tuple(out), tuple(unanswered))


@dataclass(frozen=True)
class ResumePlan:
    """What resume does with each unanswered call.

    ``reoffer``: committed calls that never started (``requested``) or were waiting for
    approval, in the last reply; they go through the gate and executor again exactly as
    the model asked. ``synthesize``: every other unanswered call with the result text
    to commit for it (interrupted, effects unknown).
    """

    reoffer: tuple[Unanswered, ...]
    synthesize: tuple[tuple[Unanswered, str], ...]


def plan_resume(view: RebuiltView, states: Mapping[str, CallState]) -> ResumePlan:
    """Split ``view.unanswered`` into calls to offer again and calls to report interrupted."""
    last = max((k for k, m in enumerate(view.messages) if m.tool_calls), default=-1)
    tail_is_results = all(m.role == "tool" for m in view.messages[last + 1 :])
    reoffer: list[Unanswered] = []
    synthesize: list[tuple[Unanswered, str]] = []
    for missing in view.unanswered:
        state = states.get(missing.call.id)
        status = state.status if state is not None else "running"
        if missing.position == last and tail_is_results and status in RERUNNABLE:
            if MARK in missing.call.arguments:
                synthesize.append((missing, NOT_RERUN_SECRET))
            else:
                reoffer.append(missing)
        else:
            synthesize.append((missing, INTERRUPTED_RESULT))
    return ResumePlan(tuple(reoffer), tuple(synthesize))


def order_results(messages: Sequence[Message]) -> list[Message]:
    """Each run of results directly after an assistant message, sorted into call order."""
    out = list(messages)
    for k, msg in enumerate(out):
        if msg.role != "assistant" or not msg.tool_calls:
            continue
        end = k + 1
        while end < len(out) and out[end].role == "tool":
            end += 1
        order = {c.id: i for i, c in enumerate(msg.tool_calls)}
        out[k + 1 : end] = sorted(
            out[k + 1 : end], key=lambda m: order.get(m.tool_call_id or "", len(order))
        )
    return out


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


def replay_events(stored: Sequence[StoredMessage], states: dict[str, CallState]) -> list[p.Event]:
    """The stored transcript as protocol events marked ``replay``, in stored order."""
    events: list[p.Event] = []
    names: dict[str, str] = {}
    for item in stored:
        if item.rewound:  # cut by /rewind: kept in the database, not shown again
            continue
        msg = item.message
        hooked = parse_context_message(msg.content or "") if item.synthetic else None
        if msg.role == "user" and hooked is not None:  # added by a hook, not typed
            events.append(p.HookContext(*hooked, replay=True))
        elif msg.role == "user":
            events.append(p.UserMessage(msg.content or "", replay=True))
        elif msg.role == "assistant":
            calls = tuple(p.ToolCallView(c.id, c.name, c.arguments) for c in msg.tool_calls)
            names.update((c.id, c.name) for c in msg.tool_calls)
            events.append(
                p.AssistantMessage(
                    msg.content or "",
                    calls,
                    interrupted=item.interrupted,
                    reasoning=item.reasoning,
                    replay=True,
                )
            )
        elif msg.role == "tool" and msg.tool_call_id is not None:
            state = states.get(msg.tool_call_id)
            status = state.status if state is not None else "done"
            if item.synthetic:
                status = "interrupted"
            elif status not in FINAL_STATUSES:  # its result is stored: it ended, as "done"
                status = "done"
            events.append(
                p.ToolCallEnd(
                    call_id=msg.tool_call_id,
                    name=names.get(msg.tool_call_id, ""),
                    status=status,  # type: ignore[arg-type]
                    output=msg.content or "",
                    diff=state.diff if state is not None else "",
                    exit_code=state.exit_code if state is not None else None,
                    replay=True,
                    duration=state.duration if state is not None else None,
                )
            )
    return events
