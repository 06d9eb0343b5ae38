"""The Engine: one session's loop behind the protocol. ``submit(op)`` in, ``events()`` out.

The engine knows nothing of terminals or widgets. Every front end (TUI, plain REPL,
headless printer, tests) drives it the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from hermes import protocol as p
from hermes.approvals import ApprovalPolicy
from hermes.config import Config
from hermes.executor import Executor
from hermes.history import INTERRUPTED_RESULT, insert_results, rebuild_view, replay_events
from hermes.messages import Message
from hermes.model import ModelClient
from hermes.paths import outputs_dir
from hermes.session import SessionState
from hermes.store import SessionRecord, Store, StoredMessage
from hermes.toolspec import ToolRegistry
from hermes.turn import run_turn

_CLOSED = object()


def default_registry() -> ToolRegistry:
    """The built-in tools."""
    from hermes.tools import builtin_tools
    from hermes.tools.skills import skill_tools

    return ToolRegistry([*builtin_tools(), *skill_tools()])


class Engine:
    """Runs one session. Create with :meth:`create`; then ``start()``."""

    def __init__(self, state: SessionState, *, resumed: bool, model_name: str) -> None:
        self.state = state
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._turn: asyncio.Task[None] | None = None
        self._resumed = resumed
        self._closed = False
        self._model_name = model_name
        state.emit = self._emit

    @classmethod
    def create(
        cls,
        *,
        config: Config,
        store: Store,
        workspace: Path,
        interactive: bool,
        resume: SessionRecord | None = None,
        registry: ToolRegistry | None = None,
        executor: Executor | None = None,
        system_prompt: str = "",
    ) -> Engine:
        """Build an engine for a new session, or for ``resume``."""
        registry = registry if registry is not None else default_registry()
        executor = executor or Executor(config.tools.read_pool_size)
        model = ModelClient(config.model, config.api_key)
        record = resume or store.create_session(
            str(workspace), config.model.name, config.approvals.mode
        )
        policy = ApprovalPolicy.from_config(
            config.approvals.mode, config.approvals.allow, config.approvals.deny
        )
        state = SessionState(
            id=record.id,
            title=record.title,
            workspace=workspace,
            config=config,
            store=store,
            model=model,
            registry=registry,
            executor=executor,
            policy=policy,
            interactive=interactive,
            emit=lambda ev: None,
            system_prompt=system_prompt,
            context_window=config.model.context_window or 128_000,
            outputs_dir=outputs_dir(),
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
        )
        return cls(state, resumed=resume is not None, model_name=model.config.name)

    # ------------------------------------------------------------------ events

    def _emit(self, event: p.Event) -> None:
        if not self._closed:
            self._queue.put_nowait(event)

    async def events(self) -> AsyncIterator[p.Event]:
        """Every event in order, until the session shuts down."""
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                return
            yield item  # type: ignore[misc]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Announce the session; on resume, rebuild the model's view and replay the stored
        transcript as events marked ``replay`` (front ends paint it with their usual
        handlers)."""
        s = self.state
        stored = await asyncio.to_thread(s.store.load_messages, s.id) if self._resumed else []
        self._emit(
            p.SessionStarted(
                session_id=s.id,
                model=self._model_name,
                workspace=str(s.workspace),
                approval_mode=s.policy.mode,
                resumed=self._resumed,
                title=s.title,
            )
        )
        if self._resumed:
            await self._restore(stored)

    async def _restore(self, stored: list[StoredMessage]) -> None:
        s = self.state
        states = await asyncio.to_thread(s.store.call_states, s.id)
        for event in replay_events(stored, states):
            self._emit(event)
        view = rebuild_view(stored)
        filled = []
        for missing in view.unanswered:
            result = Message(role="tool", content=INTERRUPTED_RESULT, tool_call_id=missing.call.id)
            await s.commit(result, synthetic=True)
            filled.append((missing, result))
        s.history = insert_results(view.messages, filled) if filled else list(view.messages)
        if filled:
            self._emit(
                p.Warning(
                    f"{len(filled)} tool call(s) from the last run never reported a result; "
                    "the model was told their effects are unknown"
                )
            )

    @property
    def busy(self) -> bool:
        return self._turn is not None and not self._turn.done()

    async def submit(self, op: p.Op) -> None:
        """Hand the engine one op. Never blocks on a running turn."""
        s = self.state
        if isinstance(op, p.UserTurn):
            if self.busy:
                s.queued_user.append(op.text)
            else:
                self._turn = asyncio.create_task(self._run(op.text))
        elif isinstance(op, p.Interrupt):
            await self._interrupt()
        elif isinstance(op, p.ApprovalReply):
            future = s.approvals.get(op.call_id)
            if future is None or future.done():
                self._emit(p.Warning(f"no approval is pending for call {op.call_id}"))
            else:
                future.set_result(op.decision)
        elif isinstance(op, p.SetModel):
            s.model = s.model.with_model(op.name)
            self._model_name = op.name
            await asyncio.to_thread(s.store.update_session, s.id, model=op.name)
        elif isinstance(op, p.SetApprovalMode):
            s.policy.mode = op.mode
            await asyncio.to_thread(s.store.update_session, s.id, approval_mode=op.mode)
        elif isinstance(op, p.Compact):
            self._emit(p.Warning("compaction is not available in this build"))
        elif isinstance(op, p.Shutdown):
            await self._interrupt()
            self._closed = True
            self._queue.put_nowait(_CLOSED)

    async def _run(self, text: str) -> None:
        try:
            await run_turn(self.state, text)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a bug or a disk fault: visible, never silent
            self._emit(p.Error(f"the turn failed: {type(exc).__name__}: {exc}"))
            self._emit(p.TurnAborted(reason="internal error"))

    async def _interrupt(self) -> None:
        turn = self._turn
        if turn is None or turn.done():
            return
        turn.cancel()
        await asyncio.gather(turn, return_exceptions=True)

    def executor_stats(self) -> p.ExecutorStats | None:
        """The shared executor's counters, as an event."""
        st = self.state.executor.stats
        return p.ExecutorStats(
            requests=st.requests,
            errors=st.errors,
            p50_ms=round(st.percentile(0.5), 3),
            p95_ms=round(st.percentile(0.95), 3),
            queue_depth=dict(st.queued),
        )

    async def wait_idle(self) -> None:
        """Wait for the running turn (if any) to end."""
        if self._turn is not None:
            await asyncio.gather(self._turn, return_exceptions=True)
