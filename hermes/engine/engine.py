"""The Engine: one session's loop behind the protocol. ``submit(op)`` in, ``events()`` out.

The engine knows nothing of terminals or widgets. Every front end (TUI, plain REPL,
headless printer, tests) drives it the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from hermes import protocol as p
from hermes.config import Config
from hermes.engine import (
    checkpoint_hooks,
    endpoint_hooks,
    hook_calls,
    memory_hooks,
    session_tools,
)
from hermes.engine.resume import restore, run_pending
from hermes.engine.state import SessionState
from hermes.engine.turn import run_turn
from hermes.engine.turn_model import model_for_turn
from hermes.engine.view import Unanswered
from hermes.execution.executor import Executor, TurnAbort
from hermes.execution.spec import ToolRegistry
from hermes.mcp.client import McpManager
from hermes.model import make_model_client
from hermes.paths import outputs_dir
from hermes.safety.policy import ApprovalPolicy
from hermes.sandbox.backends import sandbox_status
from hermes.store.sessions import SessionRecord, Store, StoredMessage, StoreError

_CLOSED = object()


def default_registry() -> ToolRegistry:
    """The built-in tools."""
    from hermes.skills.tools import skill_tools
    from hermes.tools import builtin_tools

    return ToolRegistry([*builtin_tools(), *skill_tools()])


class Engine:
    """Runs one session. Create with :meth:`create`; then ``start()``."""

    def __init__(self, state: SessionState, *, resumed: bool, model_name: str) -> None:
        self.state = state
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._turn: asyncio.Task[None] | None = None
        self._resumed = resumed
        self._pending: tuple[Unanswered, ...] = ()  # calls to offer again (resume)
        self._resync = False  # a commit failed: rebuild from the store before going on
        # A turn that has emitted its last event and only records what it left
        # (checkpoints): an undo may follow it, an interrupt waits for it.
        self._ending: asyncio.Task[None] | None = None
        self._closed = False
        self._model_name = model_name
        state.emit = self._emit
        self._agent_notes = session_tools.install(state)  # exit_plan_mode, task
        self.mcp = McpManager(
            state.config.mcp,
            state.registry,
            workspace=state.workspace,
            notify=lambda message: self._emit(p.Warning(message)),
            sandbox=state.config.sandbox,
        )

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
        executor = executor or Executor(
            config.tools.read_pool_size, batch_window_ms=config.tools.batch_window_ms
        )
        # What earlier sessions learned about this endpoint (hermes.engine.endpoint_hooks).
        profile = endpoint_hooks.cached_profile(config.model)
        model = make_model_client(config.model, config.api_key, profile)
        record = resume or store.create_session(
            str(workspace), model.config.name, config.approvals.mode
        )
        policy = ApprovalPolicy.from_config(
            config.approvals.mode, config.approvals.allow, config.approvals.deny
        )
        if resume is not None:
            policy.grant(tuple(store.session_grants(record.id)))
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
            context_window=endpoint_hooks.initial_window(model.config),
            outputs_dir=outputs_dir(),
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
        )
        return cls(state, resumed=resume is not None, model_name=model.config.name)

    # ------------------------------------------------------------------ events

    def _emit(self, event: p.Event) -> None:
        if not self._closed:
            self._queue.put_nowait(event)
            hook_calls.notify(self.state, event)  # Notification hooks: approval, turn end

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
        handlers). MCP servers start in the background and never delay this."""
        s = self.state
        self.mcp.start()
        stored = await asyncio.to_thread(s.store.load_messages, s.id) if self._resumed else []
        sandbox = await asyncio.to_thread(sandbox_status, s.config.sandbox, s.workspace)
        s.policy.sandboxed = sandbox.confined
        self._emit(
            p.SessionStarted(
                session_id=s.id,
                model=self._model_name,
                workspace=str(s.workspace),
                approval_mode=s.policy.mode,
                resumed=self._resumed,
                title=s.title,
                sandbox=sandbox.label,
            )
        )
        if not sandbox.confined:  # never silently: every front end shows warnings
            self._emit(p.Warning(sandbox.detail, kind="sandbox"))
        await session_tools.start(s, self._resumed, self._agent_notes)  # to-dos, plan mode
        if self._resumed:
            await self._restore(stored)
            if self._pending and s.interactive:
                # Calls that never ran are offered again now, before any new message.
                self._turn = asyncio.create_task(self._run(None))
        hook_calls.start_session(s, resumed=self._resumed)  # SessionStart, in the background

    async def _restore(self, stored: list[StoredMessage], *, replay: bool = True) -> None:
        self._pending = await restore(self.state, stored, emit=self._emit, replay=replay)
        # the compacted view: summary + unfolded turns
        await memory_hooks.restore(self.state, stored)

    @property
    def busy(self) -> bool:
        return self._turn is not None and not self._turn.done()

    async def submit(self, op: p.Op) -> None:
        """Hand the engine one op. Never blocks on a running turn."""
        s = self.state
        if await session_tools.handle(s, op):  # subagents' approvals, plan mode
            return
        if isinstance(op, p.UserTurn):
            if self.busy or s.queued_user:  # leftovers of a stopped turn were typed first
                s.queued_user.append(op.text)
            if op.model and (self.busy or s.queued_user):
                self._emit(p.Warning(f"queued with the session's model, not {op.model}"))
            if not self.busy:
                text = None if s.queued_user else op.text
                self._turn = asyncio.create_task(self._run(text, op.model))
        elif isinstance(op, p.Interrupt):
            await self._interrupt()
            if s.queued_user and not self._closed:  # messages typed during the turn go now
                self._turn = asyncio.create_task(self._run(None))
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
            if self.busy:
                memory_hooks.request_compaction(s)
            else:
                self._turn = asyncio.create_task(self._compact())
        elif isinstance(op, p.Undo | p.Redo | p.Rewind):
            self._checkpoint_op(op)
        elif isinstance(op, p.ConflictReply):
            checkpoint_hooks.reply_conflict(s, op)
        elif isinstance(op, p.Shutdown):
            await self._interrupt()
            await memory_hooks.finish_session(s)  # facts from the last turns
            await hook_calls.end_session(s)
            await self.mcp.stop()
            await s.model.aclose()
            self._closed = True
            self._queue.put_nowait(_CLOSED)

    async def _run(self, text: str | None, model: str = "") -> None:
        s = self.state
        interrupted = False
        try:
            if not s.interactive or any(u.call.name.startswith("mcp__") for u in self._pending):
                await self.mcp.wait_settled()  # a one-shot run or a resumed MCP call needs it
            if self._resync:  # the last turn stopped on a failed commit: the store is truth
                await self._restore(
                    await asyncio.to_thread(s.store.load_messages, s.id), replay=False
                )
                self._resync = False
            if self._pending:
                pending, self._pending = self._pending, ()
                try:
                    await run_pending(s, pending)
                except asyncio.CancelledError:
                    self._emit(p.TurnAborted(reason="interrupted by user"))
                    raise
                except TurnAbort as exc:
                    self._emit(p.TurnAborted(reason=exc.reason))
                    return
            if text is None and s.queued_user:
                text = s.queued_user.pop(0)
            if text is not None:  # UserPromptSubmit hooks may drop it
                text = await hook_calls.before_turn(s, text)
            if text is not None:
                await checkpoint_hooks.begin_turn(s, text)
                async with model_for_turn(s, model):  # a custom command's model: this turn
                    await run_turn(s, text)
                memory_hooks.schedule_fact_scan(s)
        except asyncio.CancelledError:
            interrupted = True
        except StoreError as exc:  # disk full, read-only, I/O error: visible, never silent
            self._resync = True
            self._emit(p.Error(f"the turn was stopped because it could not be saved: {exc}"))
            self._emit(p.TurnAborted(reason="store error"))
        except Exception as exc:  # a bug or a disk fault: visible, never silent
            self._emit(p.Error(f"the turn failed: {type(exc).__name__}: {exc}"))
            self._emit(p.TurnAborted(reason="internal error"))
        finally:
            self._ending = asyncio.current_task()  # record what the agent left: let it finish
            try:
                await asyncio.shield(checkpoint_hooks.end_turn(s))
            finally:
                self._ending = None
            chained = self._turn is not asyncio.current_task()  # an undo waits to go next
            if s.queued_user and not interrupted and not self._closed and not chained:
                # typed while the turn was ending: it would wait for the next message
                self._turn = asyncio.create_task(self._run(None))

    def _checkpoint_op(self, op: p.Undo | p.Redo | p.Rewind) -> None:
        """Undo/redo/rewind run like a turn (one at a time), after a turn's bookkeeping."""
        if self.busy and not self._finishing:
            self._emit(p.Warning("a turn is running: wait for it to end, or interrupt it first"))
            return
        previous = self._turn

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])  # never cancels it
            await checkpoint_hooks.run_op(self.state, op, rebuild=self._reload_view)
            if self.state.queued_user and not self._closed:  # typed meanwhile
                await self._run(None)

        self._turn = asyncio.create_task(run())

    @property
    def _finishing(self) -> bool:
        return self._turn is not None and self._turn is self._ending

    async def _reload_view(self) -> None:
        """The model's view from the store, as resume builds it (after a rewind)."""
        stored = await asyncio.to_thread(self.state.store.load_messages, self.state.id)
        await self._restore(stored, replay=False)

    async def _compact(self) -> None:
        """``Compact`` while idle; messages typed meanwhile run afterwards."""
        try:
            await memory_hooks.compact_now(self.state)
        except asyncio.CancelledError:
            return
        except Exception as exc:  # visible, never silent
            self._emit(p.Error(f"compaction failed: {type(exc).__name__}: {exc}"))
        if self.state.queued_user:
            await self._run(None)

    async def _interrupt(self) -> None:
        turn = self._turn
        if turn is None or turn.done():
            return
        if self._finishing:  # the turn is over; only its checkpoint record is being written
            await asyncio.wait([turn])
            return
        turn.cancel()
        await asyncio.gather(turn, return_exceptions=True)

    async def revoke_grant(self, rule: str) -> bool:
        """Take back an "always" grant of this session (memory and database)."""
        s = self.state
        found = s.policy.revoke(rule)
        stored = await asyncio.to_thread(s.store.revoke_grant, s.id, rule)
        return found or stored

    def executor_stats(self) -> p.ExecutorStats:
        """The shared executor's counters, as an event."""
        return self.state.executor.snapshot()

    async def wait_idle(self) -> None:
        """Wait for the running turn (if any) to end."""
        if self._turn is not None:
            await asyncio.gather(self._turn, return_exceptions=True)
