"""Running one batch task: workspace, setup, a headless session, the check, the record.

Used by both runners (local asyncio and Ray workers). A task runs as a non-interactive
session (``interactive=False``): whatever would ask a human is denied and the model is
told why, so catastrophic commands never run. The session is journalled before the
model is asked anything, so an interrupted task resumes from its session on the next
run (through the engine's own resume path). A crash of the session, a broken
workspace or a failed setup ends the task as ``error`` with the reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hermes import protocol as p
from hermes.batch.http_pool import SharedHttp
from hermes.batch.results import Journal, Mark, Status, TaskOutcome, TaskResult
from hermes.batch.tasks import Task
from hermes.batch.workspace import prepare_workspace, run_command
from hermes.config import Config
from hermes.engine.engine import Engine
from hermes.execution.executor import Executor
from hermes.store.sessions import SessionNotFound, Store, StoredMessage

CONTINUE_PROMPT = (
    "The run was interrupted and has now resumed. Continue the task from where you left "
    "off; check the workspace before redoing anything."
)
_CRASHES = ("model error", "internal error", "store error")

AgentKind = Literal["complete", "aborted", "error", "timeout", "stopped"]


@dataclass(frozen=True)
class RunSettings:
    """What every task of a run shares. Picklable (sent to Ray workers)."""

    run_dir: Path
    config: Config
    task_timeout: float = 600.0
    command_timeout: float = 600.0


@dataclass(frozen=True)
class AgentEnd:
    """How the agent's session ended."""

    kind: AgentKind
    reason: str = ""


@dataclass
class WorkerContext:
    """One process's (or Ray worker's) share of a run: its store, executor and journal."""

    settings: RunSettings
    store: Store
    database: str
    executor: Executor
    journal: Journal
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    http: SharedHttp = field(default_factory=SharedHttp)
    _stores: dict[str, Store] = field(default_factory=dict)

    def store_for(self, database: str) -> Store:
        """The store of ``database`` (a file in RUN_DIR), opened once."""
        if database == self.database:
            return self.store
        if database not in self._stores:
            self._stores[database] = Store(self.settings.run_dir / database)
        return self._stores[database]

    async def aclose(self) -> None:
        """Close every store this context opened, the executor and the HTTP pool."""
        for store in self._stores.values():
            store.close()
        self.store.close()
        self.executor.close()
        await self.http.aclose()


def task_config(base: Config, task: Task) -> Config:
    """The run's config with the task's own model and turn limit."""
    model = dataclasses.replace(base.model, name=task.model) if task.model else base.model
    session = base.session
    if task.max_turns is not None:
        session = dataclasses.replace(session, max_turns=task.max_turns)
    return dataclasses.replace(base, model=model, session=session)


def _command_env(task: Task, settings: RunSettings) -> dict[str, str]:
    return {"HERMES_BATCH_TASK_ID": task.id, "HERMES_BATCH_RUN_DIR": str(settings.run_dir)}


async def run_task(task: Task, mark: Mark | None, ctx: WorkerContext) -> TaskOutcome | None:
    """Run (or resume) ``task`` to its result; None when the run was stopped (Ctrl+C)
    before it finished, leaving it to be resumed."""
    started = time.monotonic()
    runner = _TaskRun(task, ctx)
    try:
        return await runner.run(mark, started)
    except Exception as exc:  # a crash ends this task, never the run
        reason = f"{type(exc).__name__}: {exc}"
        return await runner.finish("error", reason, None, started)


class _TaskRun:
    def __init__(self, task: Task, ctx: WorkerContext) -> None:
        self.task = task
        self.ctx = ctx
        self.settings = ctx.settings
        self.config = task_config(ctx.settings.config, task)
        self.store = ctx.store
        self.database = ctx.database
        self.session_id = ""
        self.workspace = ctx.settings.run_dir / "workspaces" / task.slug
        self.engine: Engine | None = None
        self.resumed = False

    async def run(self, mark: Mark | None, started: float) -> TaskOutcome | None:
        if mark is not None and not await self._reattach(mark):
            mark = None
        if mark is None:
            failed = await self._prepare()
            if failed is not None:
                return None if failed == "" else await self.finish("error", failed, None, started)
        if self.ctx.stop.is_set():
            return None
        assert mark is None or self.session_id
        if mark is not None and mark.phase == "agent_done":
            kind: AgentKind = "complete" if mark.agent_status == "complete" else "aborted"
            end = AgentEnd(kind, mark.reason)
        else:
            end = await self._agent()
            if end.kind == "stopped":
                return None
            if end.kind in ("complete", "aborted"):
                await asyncio.to_thread(self.ctx.journal.append, self._mark("agent_done", end))
        if end.kind == "error":
            return await self.finish("error", end.reason, None, started)
        if end.kind == "timeout":
            return await self.finish("timeout", end.reason, None, started)
        if self.task.check is None:
            status: Status = "passed" if end.kind == "complete" else "failed"
            return await self.finish(status, end.reason, None, started)
        check = await run_command(
            self.task.check,
            self.workspace,
            limit=self.settings.command_timeout,
            env=_command_env(self.task, self.settings),
            stop=self.ctx.stop,
        )
        if check.stopped:
            return None
        if check.timed_out:
            reason = f"the check timed out after {self.settings.command_timeout:g} s"
            return await self.finish("failed", reason, (None, check.output), started)
        status = "passed" if check.exit_code == 0 else "failed"
        reason = end.reason if end.kind == "aborted" else ""
        return await self.finish(status, reason, (check.exit_code, check.output), started)

    def _mark(self, phase: Literal["session", "agent_done"], end: AgentEnd | None = None) -> Mark:
        return Mark(
            id=self.task.id,
            session_id=self.session_id,
            database=self.database,
            workspace=str(self.workspace),
            phase=phase,
            agent_status=end.kind if end else "",
            reason=end.reason if end else "",
        )

    async def _reattach(self, mark: Mark) -> bool:
        """Pick up the session of an earlier run; False to start the task afresh."""
        workspace = Path(mark.workspace)
        if not await asyncio.to_thread(workspace.is_dir):
            return False
        store = self.ctx.store_for(mark.database)
        try:
            await asyncio.to_thread(store.get_session, mark.session_id)
        except SessionNotFound:
            return False
        self.store, self.database = store, mark.database
        self.session_id, self.workspace, self.resumed = mark.session_id, workspace, True
        return True

    async def _prepare(self) -> str | None:
        """Fresh workspace and setup; an error text, "" when stopped, None when ready."""
        await asyncio.to_thread(
            prepare_workspace, self.task, self.workspace, self.settings.command_timeout
        )
        if self.task.setup is not None:
            setup = await run_command(
                self.task.setup,
                self.workspace,
                limit=self.settings.command_timeout,
                env=_command_env(self.task, self.settings),
                stop=self.ctx.stop,
            )
            if setup.stopped:
                return ""
            if setup.exit_code != 0:
                how = (
                    f"timed out after {self.settings.command_timeout:g} s"
                    if setup.timed_out
                    else f"exit code {setup.exit_code}"
                )
                return f"setup failed ({how}): {setup.output.strip()[-2000:]}"
        return None

    async def _engine(self) -> Engine:
        from hermes.prompt.system import build_system_prompt

        prompt = await asyncio.to_thread(
            build_system_prompt, self.workspace, self.config, None, self.store
        )
        record = None
        if self.session_id:
            record = await asyncio.to_thread(self.store.get_session, self.session_id)
        engine = Engine.create(
            config=self.config,
            store=self.store,
            workspace=self.workspace,
            interactive=False,
            resume=record,
            executor=self.ctx.executor,
            system_prompt=prompt,
        )
        self.ctx.http.attach(engine.state.model)
        if not self.session_id:
            self.session_id = engine.state.id
            await asyncio.to_thread(self.ctx.journal.append, self._mark("session"))
        return engine

    async def _agent(self) -> AgentEnd:
        engine = self.engine = await self._engine()
        text = self.task.prompt
        if self.resumed:
            stored = await asyncio.to_thread(self.store.load_messages, self.session_id)
            if any(m.message.role == "user" for m in stored):
                text = CONTINUE_PROMPT
        await engine.start()
        try:
            await engine.submit(p.UserTurn(text))
            end = await _drive(engine, self.settings.task_timeout, self.ctx.stop)
            if end.kind in ("timeout", "stopped"):
                await engine.submit(p.Interrupt())
        finally:
            await engine.submit(p.Shutdown())
            await engine.wait_idle()
        return end

    async def _view(self) -> tuple[str, list[dict[str, Any]]]:
        """The system prompt and tool schemas the session ran with."""
        if self.engine is not None:
            return self.engine.state.system_prompt, self.engine.state.tool_schemas()
        from hermes.engine.engine import default_registry
        from hermes.prompt.system import build_system_prompt

        prompt = await asyncio.to_thread(
            build_system_prompt, self.workspace, self.config, None, self.store
        )
        return prompt, default_registry().schemas()

    async def finish(
        self,
        status: Status,
        reason: str,
        check: tuple[int | None, str] | None,
        started: float,
    ) -> TaskOutcome:
        """The result (and trajectory, once a session exists) of this task."""
        turns = prompt_tokens = completion_tokens = 0
        trajectory: dict[str, Any] | None = None
        if self.session_id:
            stored = await asyncio.to_thread(self.store.load_messages, self.session_id)
            record = await asyncio.to_thread(self.store.get_session, self.session_id)
            turns = sum(1 for m in stored if _is_reply(m))
            prompt_tokens, completion_tokens = record.prompt_tokens, record.completion_tokens
            system, tools = await self._view()
            messages = [{"role": "system", "content": system}] if system else []
            messages += [m.message.to_openai() for m in stored]
            trajectory = {
                "id": self.task.id,
                "session_id": self.session_id,
                "status": status,
                "model": record.model,
                "messages": messages,
                "tools": tools,
            }
        result = TaskResult(
            id=self.task.id,
            status=status,
            reason=reason,
            check_exit_code=check[0] if check else None,
            check_output=check[1] if check else "",
            turns=turns,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            wall_time_s=round(time.monotonic() - started, 3),
            session_id=self.session_id,
            database=self.database if self.session_id else "",
            workspace=str(self.workspace),
            model=self.config.model.name,
            resumed=self.resumed,
            metadata=self.task.metadata,
        )
        return TaskOutcome(result, trajectory)


def _is_reply(stored: StoredMessage) -> bool:
    """An assistant message that says or asks something (not an empty interrupted one)."""
    m = stored.message
    return m.role == "assistant" and bool(m.content or m.tool_calls or not stored.interrupted)


async def _drive(engine: Engine, limit: float, stop: asyncio.Event) -> AgentEnd:
    """Follow the session's events to the end of its turn, the time limit, or a stop."""
    ender = asyncio.create_task(_turn_end(engine))
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {ender, stopper}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopper.cancel()
        if not ender.done():
            ender.cancel()
    if ender in done:
        return ender.result()
    if stopper in done:
        return AgentEnd("stopped", "the run was stopped")
    return AgentEnd("timeout", f"the task took longer than {limit:g} s")


async def _turn_end(engine: Engine) -> AgentEnd:
    last_error = ""
    async for event in engine.events():
        if getattr(event, "replay", False):
            continue
        if isinstance(event, p.Error):
            last_error = event.message
        elif isinstance(event, p.TurnComplete):
            return AgentEnd("complete")
        elif isinstance(event, p.TurnAborted):
            if event.reason in _CRASHES:
                return AgentEnd("error", last_error or event.reason)
            return AgentEnd("aborted", last_error or event.reason)
    return AgentEnd("error", "the session ended before its turn did")
