"""Subagents: the ``task`` tool runs a child session in this process.

A child is a session of its own in the database (linked to the parent's session and
``task`` call: ``hermes.store.children``), with a fresh context (its agent's system
prompt and the task's prompt), the parent's approval policy (the same object: plan
mode and "always" grants apply to both), sandbox, workspace, model endpoint and
executor, and at most :data:`MAX_REQUESTS` model requests. Its final answer, capped,
is the ``task`` call's result.

Every event of a child reaches the parent's front end wrapped in ``SubagentEvent``
(its text deltas aside), call ids prefixed ``<task call id>/``. An approval a child
asks for is answered like any other, with ``ApprovalReply`` on the prefixed id
(:func:`route_reply`). Interrupting the parent's turn cancels its ``task`` calls, and
so every child (each keeps what it produced and reports its calls interrupted); a
child's "deny and stop" stops the parent's turn too. With no human (headless), a
child's approvals are denied by policy like the parent's.

Several ``task`` calls of one reply run together when their agents only read; an
agent that may write takes the serialized lane, and the parent's turn records a
workspace checkpoint before it starts (so ``/undo`` covers its edits). Resume: a
``task`` call with no result is offered again like any unfinished call, and its child
session continues where it stopped (its own unfinished calls settled as on any
resume), or hands back the answer it had already given.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from hermes import protocol as p
from hermes.engine import checkpoint_hooks, memory_hooks
from hermes.engine.agents import SUBAGENT_PREAMBLE, AgentCatalog, AgentDef
from hermes.engine.resume import restore, run_pending
from hermes.engine.state import SessionState
from hermes.engine.todos import ToolSession
from hermes.engine.turn import run_turn
from hermes.execution.executor import PreparedCall, TurnAbort
from hermes.execution.output import cap_text
from hermes.execution.spec import ToolContext, ToolError, ToolRegistry, ToolResult, ToolSpec
from hermes.messages import ToolCall
from hermes.store.children import ChildLink, child_for_call, create_child
from hermes.store.sessions import SessionRecord, StoredMessage

MAX_REQUESTS = 25
"""Model requests one subagent may make (never more than the session's max_turns)."""
ANSWER_MAX_BYTES = 24_000
"""How much of a subagent's final answer reaches the parent (head and tail kept)."""
CONTINUE_PROMPT = (
    "hermes was stopped while you were working on this task, and has restarted. Go on "
    "with it: check the current state of anything you were changing before you redo it, "
    "then give your final answer."
)


# ---------------------------------------------------------------------------- the tool


def may_write(agent: AgentDef, registry: ToolRegistry) -> bool:
    """Whether a subagent of this kind can change anything (then it runs on the lane)."""
    for name in registry.names():
        spec = registry.get(name)
        if spec is not None and agent.allows(name) and spec.tool_class != "read":
            return True
    return False


def task_spec(catalog: AgentCatalog, registry: ToolRegistry) -> ToolSpec:
    """The ``task`` tool of a session: its agents named and described for the model."""
    listing = "\n".join(f"- {a.name}: {a.description}" for a in catalog.agents.values())

    def serial(args: Mapping[str, Any]) -> bool:
        agent = catalog.get(str(args.get("agent") or "general"))
        return agent is not None and may_write(agent, registry)

    async def run(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        return await run_task(ctx, args, catalog)

    return ToolSpec(
        name="task",
        description=(
            "Start a subagent for a side task: it works alone, with a fresh context and "
            "its own tools, and its final answer comes back as this call's result. Use it "
            "for searches and investigations whose details you do not need, or for work "
            "that splits into independent parts (several task calls in one reply run in "
            "parallel). Give it everything it needs in the prompt: it sees nothing of "
            "this conversation.\nAgents:\n" + listing
        ),
        parameters={
            "type": "object",
            "properties": {
                "description": {
                    "type": "string",
                    "description": "A short label for the task (3-6 words), shown to the user.",
                },
                "prompt": {
                    "type": "string",
                    "description": "The whole task: what to do, what to look at, what to report.",
                },
                "agent": {
                    "type": "string",
                    "enum": catalog.names(),
                    "description": "Which agent (default: general).",
                },
            },
            "required": ["description", "prompt"],
            "additionalProperties": False,
        },
        tool_class="read",
        handler=_not_in_thread,
        run_async=run,
        serial=serial,
    )


def _not_in_thread(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    return ToolResult(ok=False, content="task runs on the engine, not in a thread")


def install(state: SessionState, catalog: AgentCatalog) -> None:
    """Offer ``task`` in the session (unless its registry already has one)."""
    if state.registry.get("task") is None:
        state.registry.add(task_spec(catalog, state.registry))


# ---------------------------------------------------------------------------- approvals


def route_reply(state: SessionState, op: p.ApprovalReply) -> bool:
    """Hand an answer on a prefixed call id to the subagent asking; False when no
    running subagent of this session waits for it."""
    prefix, sep, rest = op.call_id.partition("/")
    child = state.children.get(prefix) if sep else None
    if child is None:
        return False
    future = child.approvals.get(rest)
    if future is None or future.done():
        return route_reply(child, p.ApprovalReply(rest, op.decision)) if "/" in rest else False
    future.set_result(op.decision)
    return True


# ---------------------------------------------------------------------------- a run


@dataclass
class _Outcome:
    """What the parent learns of a child's turn from its events."""

    answer: str | None = None
    aborted: str | None = None
    stopped_by_user: bool = False
    errors: list[str] = field(default_factory=list)
    last_text: str = ""


def _prefixed(prefix: str, event: p.Event) -> p.Event:
    """``event`` with its call ids prefixed, so they never collide with the parent's."""
    if isinstance(event, p.AssistantMessage) and event.tool_calls:
        calls = tuple(
            dataclasses.replace(c, call_id=f"{prefix}/{c.call_id}") for c in event.tool_calls
        )
        return dataclasses.replace(event, tool_calls=calls)
    call_id = getattr(event, "call_id", None)
    if isinstance(call_id, str) and call_id:
        tagged: p.Event = dataclasses.replace(cast(Any, event), call_id=f"{prefix}/{call_id}")
        return tagged
    return event


def _observe(outcome: _Outcome, event: p.Event) -> None:
    if isinstance(event, p.TurnComplete):
        outcome.answer = event.text
    elif isinstance(event, p.TurnAborted):
        outcome.aborted = event.reason
    elif isinstance(event, p.Error):
        outcome.errors.append(event.message)
    elif isinstance(event, p.AssistantMessage) and event.text.strip():
        outcome.last_text = event.text
    elif isinstance(event, p.ApprovalResolved) and event.by == "user" and event.decision == "abort":
        outcome.stopped_by_user = True


def _state(ctx: ToolContext) -> SessionState:
    if not isinstance(ctx.session, ToolSession):
        raise ToolError("task runs only inside a hermes session")
    return ctx.session.state


async def run_task(ctx: ToolContext, args: Mapping[str, Any], catalog: AgentCatalog) -> ToolResult:
    """The ``task`` call ``ctx.call_id`` of a session: run (or resume) its subagent."""
    parent = _state(ctx)
    name = str(args.get("agent") or "general")
    agent = catalog.get(name)
    if agent is None:
        raise ToolError(f"unknown agent {name!r}; the agents are: {', '.join(catalog.names())}")
    description = " ".join(str(args.get("description") or "").split())[:80] or agent.name
    prompt = str(args.get("prompt") or "").strip()
    if not prompt:
        raise ToolError("'prompt' is empty: say what the subagent should do and report")
    link = await asyncio.to_thread(child_for_call, parent.store, parent.id, ctx.call_id)
    if may_write(agent, parent.registry):
        await _checkpoint(parent, ctx, args)
    child = Child(parent, ctx.call_id, agent, description)
    return await child.run(prompt, link)


async def _checkpoint(parent: SessionState, ctx: ToolContext, args: Mapping[str, Any]) -> None:
    """A workspace checkpoint in the parent's turn before a writing subagent starts."""
    call = ToolCall(ctx.call_id, "task", json.dumps(dict(args), ensure_ascii=False))
    await checkpoint_hooks.before_call(parent, PreparedCall(0, call, None, None, "exec"))


class Child:
    """One subagent run: its session state, wired to the parent."""

    def __init__(
        self, parent: SessionState, call_id: str, agent: AgentDef, description: str
    ) -> None:
        self.parent = parent
        self.call_id = call_id
        self.agent = agent
        self.description = description
        self.outcome = _Outcome()
        self.session_id = ""

    def _registry(self) -> ToolRegistry:
        parent = self.parent.registry
        return ToolRegistry(
            spec
            for name in parent.names()
            if self.agent.allows(name) and (spec := parent.get(name)) is not None
        )

    def _system_prompt(self) -> str:
        where = f"Workspace: {self.parent.workspace}"
        if self.agent.source == "built-in":
            return f"{SUBAGENT_PREAMBLE}\n\n{self.agent.prompt}\n\n{where}"
        return f"{self.agent.prompt}\n\n{where}".strip()

    def _state(self, record: SessionRecord) -> SessionState:
        parent = self.parent
        config = parent.config
        config = dataclasses.replace(
            config,
            session=dataclasses.replace(
                config.session, max_turns=min(MAX_REQUESTS, config.session.max_turns)
            ),
            # The parent's turn checkpoints the workspace before a writing subagent.
            checkpoints=dataclasses.replace(config.checkpoints, enabled=False),
        )
        model = parent.model
        if self.agent.model and self.agent.model != model.config.name:
            model = model.with_model(self.agent.model)
        return SessionState(
            id=record.id,
            title=self.description,
            workspace=parent.workspace,
            config=config,
            store=parent.store,
            model=model,
            registry=self._registry(),
            executor=parent.executor,
            policy=parent.policy,
            interactive=parent.interactive,
            emit=self._forward,
            system_prompt=self._system_prompt(),
            context_window=parent.context_window,
            outputs_dir=parent.outputs_dir,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
        )

    def _forward(self, event: p.Event) -> None:
        _observe(self.outcome, event)
        if isinstance(event, p.AssistantDelta | p.ReasoningDelta):
            return  # every delta has its final event; the parent shows those
        self.parent.emit(
            p.SubagentEvent(
                self.call_id,
                self.description,
                self.session_id,
                _prefixed(self.call_id, event),
            )
        )

    async def _open(self, link: ChildLink | None) -> tuple[SessionRecord, list[StoredMessage]]:
        store = self.parent.store
        if link is not None:
            record = await asyncio.to_thread(store.get_session, link.session_id)
            return record, await asyncio.to_thread(store.load_messages, record.id)
        record = await asyncio.to_thread(
            create_child,
            store,
            self.parent.id,
            self.call_id,
            self.description,
            workspace=str(self.parent.workspace),
            model=self.agent.model or self.parent.model.config.name,
            approval_mode=self.parent.policy.mode,
        )
        return record, []

    async def run(self, prompt: str, link: ChildLink | None) -> ToolResult:
        """Run the subagent to its answer; cancelled, hand back what it had."""
        record, stored = await self._open(link)
        self.session_id = record.id
        child = self._state(record)
        self.parent.children[self.call_id] = child
        try:
            text: str | None = prompt
            if stored:
                text = await self._resume(child, stored)
            if text is not None:
                await run_turn(child, text)
        except asyncio.CancelledError:
            # The child kept its partial answer and reported its calls interrupted; the
            # parent's executor records this call as interrupted with what it had.
            return ToolResult(ok=False, content=self._partial("interrupted"))
        except TurnAbort as exc:  # from its resumed calls
            self.outcome.aborted = exc.reason
        finally:
            self.parent.children.pop(self.call_id, None)
            if child.model is not self.parent.model:
                await child.model.aclose()
        return self._result(child)

    async def _resume(self, child: SessionState, stored: list[StoredMessage]) -> str | None:
        """Continue a child session cut short (hermes stopped): settle its calls as
        resume does; None when it had already answered."""
        answer = _answer_of(stored)
        if answer is not None:
            self.outcome.answer = answer
            return None
        self._forward(p.Warning(f"subagent '{self.description}' resumes where it stopped"))
        pending = await restore(child, stored, emit=self._forward, replay=False)
        await memory_hooks.restore(child, stored)
        if pending:
            await run_pending(child, pending)
        return CONTINUE_PROMPT

    def _partial(self, what: str) -> str:
        last = self.outcome.last_text.strip()
        head = f"[subagent '{self.description}' {what}; session {self.session_id}]"
        return f"{head}\nIts last message:\n{cap_text(last, ANSWER_MAX_BYTES)}" if last else head

    def _result(self, child: SessionState) -> ToolResult:
        o = self.outcome
        if o.stopped_by_user:
            raise TurnAbort(
                f"denied by the user, who stopped the turn (in subagent '{self.description}')"
            )
        if o.answer is not None and o.aborted is None:
            answer = o.answer.strip() or "(the subagent finished without a final message)"
            return ToolResult(ok=True, content=cap_text(answer, ANSWER_MAX_BYTES))
        why = o.aborted or "it stopped"
        if o.errors:
            why += f" ({o.errors[-1]})"
        return ToolResult(ok=False, content=self._partial(f"stopped without an answer: {why}"))


def _answer_of(stored: list[StoredMessage]) -> str | None:
    """The final answer of a child session that had finished: its last message is a
    complete assistant reply without calls."""
    visible = [s for s in stored if not s.rewound]
    if not visible:
        return None
    last = visible[-1]
    msg = last.message
    if msg.role == "assistant" and not msg.tool_calls and not last.interrupted:
        return msg.content or ""
    return None
