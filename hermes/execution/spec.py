"""What a tool is: its schema, its handler, and what it gets and gives back.

Tools live in ``tools/`` (installed as ``hermes.tools``); the engine knows them only
through these types. Handlers are blocking and run in worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hermes.config import SandboxConfig, ToolLimits
from hermes.protocol import TodoItem, ToolClass


class SessionAccess(Protocol):
    """What a tool may ask of the session it runs in (the engine provides it). Called
    from worker threads: implementations are thread-safe."""

    def read_todos(self) -> tuple[TodoItem, ...]:
        """The session's to-do list."""
        ...

    def write_todos(self, items: Sequence[TodoItem]) -> None:
        """Replace the session's to-do list (stored before it returns)."""
        ...


@dataclass(frozen=True)
class ToolContext:
    """Everything a handler may use besides its arguments."""

    workspace: Path
    limits: ToolLimits = field(default_factory=ToolLimits)
    output_dir: Path | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    on_output: Callable[[str], None] | None = None
    call_id: str = ""
    # The OS sandbox commands run in (hermes.sandbox builds it); None: no sandbox asked
    # for (direct callers, benches). The engine always passes the session's.
    sandbox: SandboxConfig | None = None
    # The session the call belongs to (its to-do list); None outside a session.
    session: SessionAccess | None = None

    def resolve(self, path: str) -> Path:
        """Resolve a path argument against the workspace (absolute paths stay absolute)."""
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = self.workspace / p
        return p


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one call. ``content`` is exactly what the model receives."""

    ok: bool
    content: str
    diff: str = ""
    exit_code: int | None = None
    full_output_path: str | None = None
    sandbox_blocked: str = ""  # "network" or "write": the sandbox stopped the command


class ToolError(Exception):
    """Raised by a handler for an expected failure; the message goes to the model."""


Handler = Callable[[ToolContext, Mapping[str, Any]], ToolResult]
AsyncHandler = Callable[[ToolContext, Mapping[str, Any]], Awaitable[ToolResult]]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model can call."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    tool_class: ToolClass
    handler: Handler
    # Tools the engine itself carries out (task, exit_plan_mode) run on the event loop:
    # the executor awaits this instead of running ``handler`` in a worker thread, and
    # cancels it with the batch.
    run_async: AsyncHandler | None = None
    # True for arguments that must take the serialized lane although the class is
    # read (a subagent that may write must not run beside another one).
    serial: Callable[[Mapping[str, Any]], bool] | None = None

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


class ToolRegistry:
    """The tools offered to the model, by name, in a stable order."""

    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ToolSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"tool registered twice: {spec.name}")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def names(self) -> list[str]:
        return list(self._specs)

    def schemas(self) -> list[dict[str, Any]]:
        return [s.schema() for s in self._specs.values()]

    def __len__(self) -> int:
        return len(self._specs)
