"""The state of one live session, shared by the engine and the turn loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermes.config import Config
from hermes.execution.executor import Executor
from hermes.execution.spec import ToolRegistry
from hermes.messages import Message
from hermes.model.base import ModelClient
from hermes.model.endpoint import DEFAULT_CONTEXT_WINDOW
from hermes.protocol import ApprovalDecision, ApprovalMode, Event
from hermes.safety.policy import ApprovalPolicy
from hermes.store.sessions import Store, StoredMessage

if TYPE_CHECKING:
    from hermes.engine.checkpoint_hooks import CheckpointTracker
    from hermes.engine.endpoint_hooks import EndpointState
    from hermes.engine.hook_calls import HookSession
    from hermes.engine.todos import ToolSession
    from hermes.memory.compaction import ContextTracker


@dataclass
class SessionState:
    """Everything a turn needs. Owned by one Engine; touched only on its event loop."""

    id: str
    title: str
    workspace: Path
    config: Config
    store: Store
    model: ModelClient
    registry: ToolRegistry
    executor: Executor
    policy: ApprovalPolicy
    interactive: bool
    emit: Callable[[Event], None]
    system_prompt: str = ""
    history: list[Message] = field(default_factory=list)
    queued_user: list[str] = field(default_factory=list)
    approvals: dict[str, asyncio.Future[ApprovalDecision]] = field(default_factory=dict)
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    context_tokens: int = 0
    context_window: int = DEFAULT_CONTEXT_WINDOW
    cost: float | None = None  # USD the endpoint reported for this session (None: never)
    usage_estimated: bool = False  # some usage was counted locally (the server sent none)
    endpoint: EndpointState | None = None  # hermes.engine.endpoint_hooks (on first use)
    outputs_dir: Path | None = None
    # Created on first use by memory_hooks.tracker / checkpoint_hooks.tracker.
    context: ContextTracker | None = None
    checkpoints: CheckpointTracker | None = None
    tool_session: ToolSession | None = None  # hermes.engine.todos: what tools reach
    # hermes.engine.plan: the mode a plan's acceptance goes back to (set while planning).
    mode_before_plan: ApprovalMode | None = None
    # hermes.engine.subagents: running subagents by the parent's task call id.
    children: dict[str, SessionState] = field(default_factory=dict)
    # A tool ended the turn with this text (a plan handed over in a headless run).
    finish_turn: str | None = None
    hooks: HookSession | None = None  # hook_calls.hooks

    def tool_schemas(self) -> list[dict[str, Any]]:
        return self.registry.schemas()

    def model_view(self) -> list[Message]:
        """What the next request sends: the system prompt, then the history."""
        system = Message(role="system", content=self.system_prompt)
        return [system, *self.history]

    async def commit(self, message: Message, **flags: Any) -> StoredMessage:
        """Commit one message durably, in a worker thread. The caller updates the history."""
        stored = await asyncio.to_thread(self.store.append_message, self.id, message, **flags)
        return stored
